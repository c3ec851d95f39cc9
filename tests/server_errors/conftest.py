"""Runs the server-error corpus under gate's plugin and reads back what it recorded."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.inprocess import PLUGIN_NAME, PLUGIN_PATH, PLUGIN_SETTINGS_ENV
from gate.testrun import plugin_settings_alone

CORPUS = Path(__file__).parent / "corpus"

# Corpus file -> its name in the project the run lays out.
PROJECT_FILES = {
    "corpus_apps.py": "se_apps.py",
    "corpus_frameworks.py": "se_frameworks.py",
    "corpus_leaks.py": "test_leaks.py",
    "corpus_clean.py": "test_clean.py",
}

# `# expect: NODEID KIND` names a finding at its own line, or at the next line that is not a
# comment when the comment stands alone (several may stack above one line).
_EXPECT = re.compile(r"#\s*expect:\s*(?P<test>\S+)\s+(?P<kind>[a-z]+)")

Expected = tuple[str, str, str, int]  # (test, kind, file, line)


@dataclass
class RecorderRun:
    returncode: int
    output: str
    events: list[dict[str, Any]]
    expected: set[Expected]

    @property
    def findings(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("kind") != "detector-error"]

    def found(self) -> set[Expected]:
        return {(f["test"], f["kind"], f["file"], f["line"]) for f in self.findings}

    def outcomes(self) -> dict[str, int]:
        """The counts in pytest's last line: {"passed": 24, "warnings": 3}."""
        last = self.output.strip().splitlines()[-1]
        return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", last)}

    def finding(self, test: str) -> dict[str, Any]:
        matches = [f for f in self.findings if f["test"].endswith("::" + test)]
        assert len(matches) == 1, matches
        return matches[0]


def expectations(project: Path) -> set[Expected]:
    expected: set[Expected] = set()
    for path in sorted(project.glob("*.py")):
        lines = path.read_text().splitlines()
        for number, text in enumerate(lines, start=1):
            match = _EXPECT.search(text)
            if not match:
                continue
            line = number
            if text.lstrip().startswith("#"):
                while lines[line - 1].lstrip().startswith("#"):
                    line += 1
            expected.add((match["test"], match["kind"], path.name, line))
    return expected


def run_recorder(
    project: Path,
    files: Mapping[str, str] = PROJECT_FILES,
    *,
    mode: str = "fail",
    args: Sequence[str] = (),
) -> RecorderRun:
    """Lay out the corpus project and run it under gate's plugin with server errors on in its
    settings: the wiring `gate run` uses, without a database or a report."""
    for source, target in files.items():
        (project / target).write_text((CORPUS / source).read_text())
    (project / "pytest.ini").write_text(
        "[pytest]\n"
        "asyncio_mode = strict\n"
        "asyncio_default_fixture_loop_scope = function\n"
        "asyncio_default_test_loop_scope = function\n"
    )
    run_dir = project / ".gate-run"
    run_dir.mkdir()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GATE_", "PYTEST_XDIST_", "COV_CORE_"))  # this suite's own
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGIN_PATH), env.get("PYTHONPATH")]))
    settings = plugin_settings_alone(
        project, run_dir, server_errors=None if mode == "off" else project
    )
    env[PLUGIN_SETTINGS_ENV] = str(settings)
    command = [sys.executable, "-m", "pytest", "-p", PLUGIN_NAME, "-p", "no:cacheprovider", *args]
    done = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    events = [
        json.loads(line)
        for events_file in sorted(run_dir.glob("events-*.jsonl"))  # xdist: one per worker
        for line in events_file.read_text().splitlines()
    ]
    return RecorderRun(
        returncode=done.returncode,
        output=done.stdout + done.stderr,
        events=[e for e in events if e.get("event") == "server_error"],
        expected=expectations(project),
    )
