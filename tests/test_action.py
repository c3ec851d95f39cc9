"""action.yml, run: its steps go through bash the way a GitHub runner runs a composite action.

The runner's part is done here: `${{ inputs.* }}`, `${{ steps.*.outputs.* }}` and
`${{ github.action_path }}` are filled in, each step gets its `env:`, its working directory,
`bash --noprofile --norc -eo pipefail` (what `shell: bash` means) and a fresh $GITHUB_OUTPUT,
and the action's outputs are read back from what the steps wrote there. Nothing is skipped:
the install step really installs gate from the action's folder, a copy of this repository's
package (a fresh path, so nothing built earlier is reused).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate import __version__
from gate.database.address import ServerAddress
from tests.conftest import (
    CI_DOCS,
    CI_SERVICE_URL,
    GateRunner,
    Project,
    ci_docs_configs,
    uses_gate_action,
)

REPO = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((REPO / "action.yml").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")


def action_folder(target: Path) -> Path:
    """What `uses: owner/gate@ref` checks out, as far as the action reads it."""
    shutil.copytree(REPO / "src", target / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "action.yml"):
        shutil.copy2(REPO / name, target / name)
    return target


@dataclass
class ActionRun:
    """The runner's side of one use of the action."""

    path: Path
    workspace: Path
    temp: Path
    env: dict[str, str]
    context: dict[str, str] = field(default_factory=dict)

    def expand(self, text: str) -> str:
        def value(match: re.Match[str]) -> str:
            assert match[1] in self.context, f"action.yml uses {match[0]}, unknown here"
            return self.context[match[1]]

        return EXPRESSION.sub(value, text)

    def step(self, step: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        assert step["shell"] == "bash"
        output = self.temp / f"output-{step['id']}"
        output.write_text("")
        script = self.temp / f"step-{step['id']}.sh"
        script.write_text(self.expand(step["run"]))
        completed = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.workspace / self.expand(step.get("working-directory", ".")),
            env={
                **self.env,
                **{name: self.expand(str(text)) for name, text in step.get("env", {}).items()},
                "GITHUB_ACTION_PATH": str(self.path),
                "GITHUB_OUTPUT": str(output),
                "GITHUB_WORKSPACE": str(self.workspace),
                "RUNNER_TEMP": str(self.temp),
            },
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        for line in output.read_text().splitlines():
            name, _, text = line.partition("=")
            self.context[f"steps.{step['id']}.outputs.{name}"] = text
        return completed

    def use(
        self, inputs: dict[str, str], *, skip: tuple[str, ...] = ()
    ) -> tuple[list[subprocess.CompletedProcess[str]], dict[str, str]]:
        """Every step, stopping at the first that fails (as the runner does); then the outputs.

        skip: steps whose outputs an earlier use left (the install), to save its time."""
        unknown = set(inputs) - set(ACTION["inputs"])
        assert not unknown, f"not inputs of action.yml: {unknown}"
        for name, spec in ACTION["inputs"].items():
            self.context[f"inputs.{name}"] = inputs.get(name, str(spec.get("default", "")))
        self.context["github.action_path"] = str(self.path)
        done = []
        for step in ACTION["runs"]["steps"]:
            if step["id"] in skip:
                continue
            done.append(self.step(step))
            if done[-1].returncode != 0:
                break
        outputs = {
            name: EXPRESSION.sub(lambda m: self.context.get(m[1], ""), spec["value"])
            for name, spec in ACTION["outputs"].items()
        }
        return done, outputs


@pytest.fixture
def runner(gate: GateRunner, small_app: Project, tmp_path: Path) -> ActionRun:
    # The project's tests run in its own environment, which has pytest (this one's);
    # gate's environment, made by the action, does not.
    with (small_app.root / "gate.yaml").open("a") as config:
        config.write(f"  python: {sys.executable}\n")
    (tmp_path / "runner-temp").mkdir()
    env = {**gate.env, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "sum.md")}
    return ActionRun(
        action_folder(tmp_path / "action"), small_app.root, tmp_path / "runner-temp", env
    )


def documented_use() -> tuple[dict[str, Any], dict[str, Any]]:
    """docs/ci.md's workflow that uses the action: its job and its step of the action."""
    (workflow,) = [w for w in ci_docs_configs() if "jobs" in w and uses_gate_action(w)]
    (job,) = workflow["jobs"].values()
    # pinned to a tag of this version, like the pre-commit example's rev
    (step,) = [s for s in job["steps"] if str(s.get("uses", "")).endswith(f"/gate@v{__version__}")]
    return job, step


def test_the_documented_workflow_reads_what_the_action_gives() -> None:
    job, step = documented_use()
    assert set(step["with"]) <= set(ACTION["inputs"])
    read = {m[1] for s in job["steps"] for m in EXPRESSION.finditer(str(s.get("run", "")))}
    assert read == {f"steps.{step['id']}.outputs.{name}" for name in ACTION["outputs"]}
    table = re.findall(r"^\| `([\w-]+)` \|", CI_DOCS.read_text(), flags=re.MULTILINE)
    assert table == list(ACTION["inputs"]), "docs/ci.md's table of inputs"


def test_the_action_installs_its_own_gate_and_runs_it(
    runner: ActionRun, pg_server: ServerAddress
) -> None:
    _, step = documented_use()
    inputs = {name: str(value) for name, value in step["with"].items()}
    inputs["args"] = CI_SERVICE_URL.sub(pg_server.url(), inputs["args"])
    inputs["args"] += " -v -- -k 'add or database'"  # pytest's own, quoted as in a shell
    steps, outputs = runner.use({**inputs, "workers": "1"})

    assert [step.returncode for step in steps] == [0, 0], [s.stdout + s.stderr for s in steps]
    gate_bin = Path(runner.context["steps.install.outputs.gate"])
    assert gate_bin.parent.parent == runner.temp / "gate-venv"
    run = steps[-1].stdout
    # `gate --version` first: the gate of the action's folder, installed in its own venv
    assert run.startswith(
        f"gate {__version__}\n  installed as backend-gate in {gate_bin.parents[1]}"
    )
    # -v: each command gate runs, as a line a shell would run
    (pytest_line,) = [line for line in run.splitlines() if " -m pytest " in line]
    assert pytest_line.startswith(f"$ cd {runner.workspace} && ")
    assert "-k 'add or database'" in pytest_line
    report_path = runner.workspace / ".gate" / "report.json"
    assert outputs == {"verdict": "pass", "report": str(report_path)}
    report = json.loads(report_path.read_text())
    assert report["tests"]["passed"] == 2  # -k's quoted words reached pytest as one argument
    provision = next(step for step in report["steps"] if step["name"] == "provision")
    assert "private PostgreSQL" not in provision["detail"]  # --database-url from args

    # The same install, a run that cannot start: the step fails and still says why.
    steps, outputs = runner.use({"config": "missing.yaml", "json": "out/r.json"}, skip=("install",))
    assert steps[-1].returncode == 2, steps[-1].stdout + steps[-1].stderr
    assert "missing.yaml" in steps[-1].stderr
    assert outputs == {"verdict": "error", "report": str(runner.workspace / "out" / "r.json")}
