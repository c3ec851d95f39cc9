"""docs/ci.md's configs, run: each documented job's commands, as the provider would run them.

The YAML blocks are read out of docs/ci.md. Each job runs in a fresh copy of a small real
project, its `run:`/`script:` lines go through bash with the variables the provider sets
(GITHUB_ACTIONS, GITHUB_STEP_SUMMARY, GITLAB_CI, CI_NODE_INDEX, ...) and the job's own
`variables:`, and what the provider then reads (artifacts, reports, the coverage regex) is
checked. Three things differ from a real runner, each on purpose and nowhere else: `uv` is a
stand-in that runs the gate under test (`uv sync` has nothing to install here), the
documented service URL is swapped for this machine's test server, and the package-install
lines are skipped because this machine already has PostgreSQL and uv (they are listed below,
so no other line can be skipped unnoticed).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate import __version__
from gate.database.address import ServerAddress
from tests.conftest import (
    CI_SERVICE_URL,
    GateResult,
    GateRunner,
    Project,
    ci_docs_configs,
    uses_gate_action,
)

REPO = Path(__file__).resolve().parents[1]
INSTALL_LINES = {
    "sudo apt-get update && sudo apt-get install -y postgresql",
    "apt-get update && apt-get install -y postgresql",
    "pip install uv",
}
UV_STAND_IN = """\
#!/bin/sh
# uv, for these tests only: `uv sync` has nothing to install; `uv run gate ...` runs this gate.
if [ "$1" = sync ]; then exit 0; fi
if [ "$1" = run ] && [ "$2" = gate ]; then shift 2; exec "$DOCS_TEST_PYTHON" -m gate "$@"; fi
echo "uv stand-in: cannot run: uv $*" >&2
exit 99
"""


def documented() -> list[dict[str, Any]]:
    return ci_docs_configs()


def github_workflows() -> list[dict[str, Any]]:
    return [c for c in documented() if "jobs" in c and not uses_gate_action(c)]


def gitlab_pipelines() -> list[dict[str, Any]]:
    return [
        config
        for config in documented()
        if any(isinstance(job, dict) and "script" in job for job in config.values())
    ]


def gitlab_jobs(pipeline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    jobs = {name: job for name, job in pipeline.items() if isinstance(job, dict)}
    return {name: job for name, job in jobs.items() if "script" in job}


@dataclass
class Runner:
    """Runs one job's lines in its checkout, the way the provider's shell would."""

    gate: GateRunner
    server_url: str
    bin_dir: Path

    def run(self, lines: list[str], checkout: Path, env: dict[str, str]) -> list[GateResult]:
        results = []
        for line in lines:
            if line in INSTALL_LINES:
                continue
            assert line.startswith("uv "), f"docs/ci.md has a line the test cannot run: {line}"
            command = CI_SERVICE_URL.sub(self.server_url, line)
            completed = subprocess.run(
                ["bash", "-c", command],
                cwd=checkout,
                env={
                    **self.gate.env,
                    **env,
                    "PATH": f"{self.bin_dir}:{self.gate.env['PATH']}",
                    "DOCS_TEST_PYTHON": sys.executable,
                },
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            results.append(GateResult(completed.returncode, completed.stdout, completed.stderr))
        return results


@pytest.fixture
def runner(gate: GateRunner, pg_server: ServerAddress, tmp_path: Path) -> Runner:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "uv").write_text(UV_STAND_IN)
    (bin_dir / "uv").chmod(0o755)
    return Runner(gate, pg_server.url(), bin_dir)


def checkout(project: Project, tmp_path: Path, name: str) -> Path:
    """A fresh checkout of the project for one job, as each CI job gets."""
    target = tmp_path / "runners" / name
    shutil.copytree(project.root, target)
    return target


def service_job(jobs: dict[str, Any]) -> bool:
    return any("services" in job for job in jobs.values())


# --- GitHub Actions ---------------------------------------------------------------------------


def github_env(root: Path, summary: Path) -> dict[str, str]:
    return {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(root),
        "GITHUB_STEP_SUMMARY": str(summary),
    }


def run_lines(job: dict[str, Any], expressions: dict[str, str]) -> list[str]:
    lines = [step["run"] for step in job["steps"] if "run" in step]
    for expression, value in expressions.items():
        lines = [line.replace("${{ " + expression + " }}", value) for line in lines]
    assert not any("${{" in line for line in lines), lines
    return lines


def uploaded(job: dict[str, Any]) -> list[str]:
    return [
        step["with"]["path"]
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("actions/upload-artifact")
    ]


def test_the_documented_configs_are_all_here() -> None:
    workflows = github_workflows()
    pipelines = gitlab_pipelines()
    assert len(workflows) == 3 and len(pipelines) == 3
    sharded = [w for w in workflows if any("strategy" in job for job in w["jobs"].values())]
    assert len(sharded) == 1
    assert sum(any("parallel" in j for j in gitlab_jobs(p).values()) for p in pipelines) == 1


@pytest.mark.parametrize("with_service", [True, False], ids=["service", "ephemeral"])
def test_github_actions_single_job(
    runner: Runner, small_app: Project, tmp_path: Path, with_service: bool
) -> None:
    (workflow,) = [
        w
        for w in github_workflows()
        if len(w["jobs"]) == 1 and service_job(w["jobs"]) == with_service
    ]
    job = workflow["jobs"]["gate"]
    root = checkout(small_app, tmp_path, "gate")
    summary = tmp_path / "summary.md"
    results = runner.run(run_lines(job, {}), root, github_env(root, summary))
    assert [r.code for r in results] == [0, 0], [r.output for r in results]
    report = json.loads((root / ".gate/report.json").read_text())
    provision = next(step for step in report["steps"] if step["name"] == "provision")
    assert ("private PostgreSQL" in provision["detail"]) is not with_service, provision
    assert summary.read_text().startswith("## ✅ gate: PASS\n")
    for path in uploaded(job):
        assert (root / path / "report.json").is_file()
        assert (root / path / "htmlcov" / "index.html").is_file()


def test_github_actions_shards_and_merge(
    runner: Runner, small_app: Project, tmp_path: Path
) -> None:
    (workflow,) = [w for w in github_workflows() if "tests" in w["jobs"]]
    tests, merge = workflow["jobs"]["tests"], workflow["jobs"]["gate"]
    assert merge["needs"] == "tests" and merge["if"] == "always()"
    shards = tests["strategy"]["matrix"]["shard"]
    merged = checkout(small_app, tmp_path, "gate")
    download = next(s for s in merge["steps"] if "download-artifact" in str(s.get("uses")))
    assert download["with"]["merge-multiple"] is True
    for shard in shards:
        root = checkout(small_app, tmp_path, f"tests-{shard}")
        summary = tmp_path / f"summary-{shard}.md"
        expressions = {"matrix.shard": str(shard), "strategy.job-total": str(len(shards))}
        results = runner.run(run_lines(tests, expressions), root, github_env(root, summary))
        assert [r.code for r in results] == [0, 0], [r.output for r in results]
        assert not summary.exists()  # a shard's numbers are partial: the merge reports
        # upload-artifact then download-artifact with merge-multiple into one folder
        for path in uploaded(tests):
            shutil.copytree(root / path, merged / download["with"]["path"], dirs_exist_ok=True)
    summary = tmp_path / "summary-merge.md"
    results = runner.run(run_lines(merge, {}), merged, github_env(merged, summary))
    assert [r.code for r in results] == [0, 0], [r.output for r in results]
    assert "merged 1/2 (.gate/shards/1-of-2), 2/2 (.gate/shards/2-of-2)" in results[-1].stdout
    text = summary.read_text()
    assert text.startswith("## ✅ gate: PASS\n")
    assert "2 tests: 2 passed" in text and "| ✅ | coverage.fail_under | 100 | 100 |" in text
    cache = next(s for s in merge["steps"] if "cache/save" in str(s.get("uses")))
    assert (merged / cache["with"]["path"]).is_file()


# --- GitLab CI --------------------------------------------------------------------------------


def gitlab_env(root: Path, job: dict[str, Any]) -> dict[str, str]:
    variables = {name: str(value) for name, value in (job.get("variables") or {}).items()}
    return {"CI": "true", "GITLAB_CI": "true", "CI_PROJECT_DIR": str(root), **variables}


def check_gitlab_artifacts(job: dict[str, Any], root: Path, output: str) -> None:
    reports = job["artifacts"]["reports"]
    assert (root / reports["junit"]).read_text().startswith("<?xml")
    assert isinstance(yaml.safe_load((root / reports["codequality"]).read_text()), list)
    assert reports["coverage_report"]["coverage_format"] == "cobertura"
    assert "<coverage" in (root / reports["coverage_report"]["path"]).read_text()
    # GitLab takes the job's coverage from the first match of the regex in the job log
    assert re.findall(job["coverage"].strip("/"), output) == ["Coverage: 100.00%"]


@pytest.mark.parametrize("with_service", [True, False], ids=["service", "ephemeral"])
def test_gitlab_ci_single_job(
    runner: Runner, small_app: Project, tmp_path: Path, with_service: bool
) -> None:
    (pipeline,) = [
        p
        for p in gitlab_pipelines()
        if len(gitlab_jobs(p)) == 1 and service_job(gitlab_jobs(p)) == with_service
    ]
    job = pipeline["gate"]
    root = checkout(small_app, tmp_path, "gate")
    results = runner.run(job["script"], root, gitlab_env(root, job))
    assert [r.code for r in results] == [0, 0], [r.output for r in results]
    check_gitlab_artifacts(job, root, results[-1].stdout)


def test_gitlab_ci_parallel_shards_and_merge(
    runner: Runner, small_app: Project, tmp_path: Path
) -> None:
    (pipeline,) = [p for p in gitlab_pipelines() if "stages" in p]
    tests, merge = pipeline["tests"], pipeline["gate"]
    assert merge["needs"] == ["tests"] and merge["when"] == "always"
    assert [tests["stage"], merge["stage"]] == pipeline["stages"]
    merged = checkout(small_app, tmp_path, "gate")
    total = tests["parallel"]
    for index in range(1, total + 1):
        root = checkout(small_app, tmp_path, f"tests-{index}")
        env = {**gitlab_env(root, tests), "CI_NODE_INDEX": str(index), "CI_NODE_TOTAL": str(total)}
        results = runner.run(tests["script"], root, env)
        assert [r.code for r in results] == [0, 0], [r.output for r in results]
        assert "Coverage:" not in results[-1].stdout  # a shard's coverage is partial
        for path in tests["artifacts"]["paths"]:  # restored at the same path by needs:
            shutil.copytree(root / path, merged / path, dirs_exist_ok=True)
    results = runner.run(merge["script"], merged, gitlab_env(merged, merge))
    assert [r.code for r in results] == [0, 0], [r.output for r in results]
    check_gitlab_artifacts(merge, merged, results[-1].stdout)
    assert (merged / merge["cache"]["paths"][0]).is_file()  # the durations the cache keeps
    assert tests["cache"]["key"] == merge["cache"]["key"]


# --- pre-commit ------------------------------------------------------------------------------


def test_pre_commit_hook_definition() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert [hook["id"] for hook in hooks] == ["gate"]
    hook = hooks[0]
    assert hook["entry"] == "gate run"
    assert hook["language"] == "system"
    assert hook["stages"] == ["pre-push"]
    assert hook["pass_filenames"] is False
    assert hook["always_run"] is True
    local = next(c for c in documented() if "default_install_hook_types" in c)
    documented_hook = local["repos"][0]["hooks"][0]
    assert documented_hook["entry"] == "uv run gate run"
    for key in ("language", "stages", "pass_filenames", "always_run"):
        assert documented_hook[key] == hook[key]
    remote = next(c for c in documented() if "repos" in c and c["repos"][0]["repo"] != "local")
    assert remote["repos"][0]["rev"] == f"v{__version__}"  # a tag of this version
