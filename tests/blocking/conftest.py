"""Runs corpus projects under gate's blocking detector and reads back what it reported."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gate.inprocess import PLUGIN_NAME, PLUGIN_PATH, PLUGIN_SETTINGS_ENV
from gate.testrun import BlockingPlan, plugin_settings_alone

CORPUS = Path(__file__).parent / "corpus"

# The interpreter the corpus projects run on: gate's own by default; point
# GATE_TEST_PYTHON at another one (3.9 ... 3.13, with pytest, pytest-asyncio, anyio,
# fastapi, httpx, trio and uvloop) to check the detector there.
TARGET_PYTHON = os.environ.get("GATE_TEST_PYTHON") or sys.executable

# Copied into every corpus project: corpus file -> its path in the project.
SUPPORT_FILES = {
    "corpus_conftest.py": "conftest.py",
    "corpus_app.py": "blocking_app.py",
    "corpus_importtime.py": "blocking_importtime.py",
    "corpus_fakelib.py": ".venv/lib/site-packages/fakelib/__init__.py",
    "corpus_page.html": "templates/page.html",
}

# `# expect: NODEID PHASE KIND CALL [outlived]` names a finding at its own line, or at the next
# line when the comment stands alone; CALL is "-" for a stall. `# unwatched: NODEID` names a
# test whose loop gate must report it cannot watch.
_EXPECT = re.compile(
    r"#\s*expect:\s*(?P<test>\S+)\s+(?P<phase>setup|call|teardown)\s+(?P<kind>call|slow)"
    r"\s+(?P<call>\S+)(?P<outlived>\s+outlived)?"
)
_UNWATCHED = re.compile(r"#\s*unwatched:\s*(?P<test>\S+)")

# (test, phase, kind, call, file, line, charged to the task's creator)
Expected = tuple[str, str, str, "str | None", str, int, bool]


def pytest_configure(config: pytest.Config) -> None:
    # A conftest below the rootdir may not set `pytest_plugins`; registering here works
    # both for `pytest tests/blocking` and for a whole-suite run.
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


@dataclass
class DetectorRun:
    """What one corpus project run produced, next to what its `expect:` comments promise."""

    result: pytest.RunResult
    events: list[dict[str, Any]]
    expected: set[Expected]
    expected_unwatched: set[str]

    @property
    def findings(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("kind") in ("call", "slow")]

    @property
    def unwatched(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("kind") == "unwatched"]

    def found(self) -> set[Expected]:
        return {
            (
                f["test"],
                f["phase"],
                f["kind"],
                f["call"],
                f["file"],
                f["line"],
                "outlived" in (f.get("note") or ""),
            )
            for f in self.findings
        }

    def finding(self, test: str, line: int | None = None) -> dict[str, Any]:
        matches = [f for f in self.findings if f["test"] == test and line in (None, f["line"])]
        assert len(matches) == 1, matches
        return matches[0]


def _project_files(project: Path) -> list[Path]:
    """The project's own .py files: not its .venv, nor gate's or pytest's working folders."""
    return sorted(
        path
        for path in project.rglob("*.py")
        if not any(
            part.startswith(".") or part == "basetemp" for part in path.relative_to(project).parts
        )
    )


def expectations(project: Path) -> tuple[set[Expected], set[str]]:
    """Every `expect:`/`unwatched:` comment in the project's own files, for tests it holds."""
    expected: set[Expected] = set()
    unwatched: set[str] = set()
    files = _project_files(project)
    for path in files:
        relative = path.relative_to(project).as_posix()
        lines = path.read_text().splitlines()
        for number, text in enumerate(lines, start=1):
            if match := _UNWATCHED.search(text):
                unwatched.add(match["test"])
            if not (match := _EXPECT.search(text)):
                continue
            line = number + 1 if text.lstrip().startswith("#") else number
            call = None if match["call"] == "-" else match["call"]
            expected.add(
                (
                    match["test"],
                    match["phase"],
                    match["kind"],
                    call,
                    relative,
                    line,
                    bool(match["outlived"]),
                )
            )
    present = {p.relative_to(project).as_posix() for p in files if p.name.startswith("test_")}
    return (
        {e for e in expected if e[0].split("::")[0] in present},
        {u for u in unwatched if u.split("::")[0] in present},
    )


def run_detector(
    pytester: pytest.Pytester,
    tests: dict[str, str],
    *,
    allow: Iterable[str] = (),
    slow_ms: float = 100.0,
    coverage: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> DetectorRun:
    """Lay out a corpus project (corpus file -> test file name), run it under gate's plugin.

    The one place that knows how the detector is wired: gate's `-p _gate_pytest` plugin,
    configured by the settings file gate writes, writing events to the run folder.
    """
    for source, target in {**SUPPORT_FILES, **tests}.items():
        path = pytester.path / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((CORPUS / source).read_text())
    pytester.makeini(
        "[pytest]\n"
        "asyncio_mode = strict\n"
        "asyncio_default_fixture_loop_scope = function\n"
        "asyncio_default_test_loop_scope = function\n"
    )
    run_dir = pytester.path / ".gate-run"
    run_dir.mkdir()
    (run_dir / "coverage").mkdir()
    coverage_rc = run_dir / "coveragerc"
    coverage_rc.write_text("[run]\nbranch = true\nsource = .\n")
    settings = plugin_settings_alone(
        pytester.path,
        run_dir,
        # gate measures coverage in the same process, as `gate run` does
        rcfile=coverage_rc if coverage else None,
        blocking=BlockingPlan("fail", slow_ms, tuple(allow), pytester.path),
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv(
            "PYTHONPATH",
            os.pathsep.join(filter(None, [str(PLUGIN_PATH), os.environ.get("PYTHONPATH")])),
        )
        env.setenv(PLUGIN_SETTINGS_ENV, str(settings))
        for name, value in (extra_env or {}).items():
            env.setenv(name, value)
        for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
            env.delenv(name, raising=False)  # when this suite itself runs under xdist
        args = ("-p", PLUGIN_NAME, "-p", "no:cacheprovider")
        if sys.executable == TARGET_PYTHON:
            result = pytester.runpytest_subprocess(*args, timeout=120)
        else:
            basetemp = f"--basetemp={pytester.path / 'basetemp'}"
            result = pytester.run(TARGET_PYTHON, "-m", "pytest", basetemp, *args, timeout=120)
    events_file = run_dir / "events-main.jsonl"
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    expected, expected_unwatched = expectations(pytester.path)
    return DetectorRun(
        result=result,
        events=[e for e in events if e.get("event") == "blocking"],
        expected=expected,
        expected_unwatched=expected_unwatched,
    )


@pytest.fixture
def detector(pytester: pytest.Pytester) -> Callable[..., DetectorRun]:
    """`detector({"corpus_calls.py": "test_calls.py"}, allow=[...])` runs that project."""

    def run(tests: dict[str, str], **options: Any) -> DetectorRun:
        return run_detector(pytester, tests, **options)

    return run
