"""The plugin's events: one `start` and one compact `test` event per test, read back by gate."""

from __future__ import annotations

import json
import os

import pytest

from gate.inprocess import PLUGIN_NAME, PLUGIN_PATH, PLUGIN_SETTINGS_ENV
from gate.results import build_results
from gate.testrun import plugin_settings_alone

pytest_plugins = ["pytester"]

TESTS = """\
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("no fixture")

def test_pass():
    pass

def test_fail():
    assert 1 == 2

def test_error(broken):
    pass

def test_skip():
    pytest.skip("not today")

@pytest.mark.xfail(reason="known")
def test_xfail():
    assert False

def test_output():
    print("said something")
    assert False
"""


def test_one_start_and_one_test_event_per_test_and_gate_folds_them(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_outcomes=TESTS)
    run_dir = pytester.path / "run"
    run_dir.mkdir()
    settings = plugin_settings_alone(pytester.path, run_dir, timeout_s=30.0)
    monkeypatch.setenv(PLUGIN_SETTINGS_ENV, str(settings))
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)  # when this suite itself runs under xdist
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join(filter(None, [str(PLUGIN_PATH), os.environ.get("PYTHONPATH")])),
    )
    pytester.runpytest_subprocess("-p", PLUGIN_NAME, "-p", "no:cacheprovider")

    text = (run_dir / "events-main.jsonl").read_text()
    events = [json.loads(line) for line in text.splitlines()]
    kinds = [event["event"] for event in events]
    assert kinds.count("start") == kinds.count("test") == 6
    passed = next(e for e in events if e["event"] == "test" and e["nodeid"].endswith("test_pass"))
    assert [phase["when"] for phase in passed["phases"]] == ["setup", "call", "teardown"]
    assert all(set(phase) == {"when", "outcome", "duration"} for phase in passed["phases"])

    cases = build_results([text]).cases
    outcomes = {nodeid.rpartition("::")[2]: case.outcome for nodeid, case in cases.items()}
    assert outcomes == {
        "test_pass": "passed",
        "test_fail": "failed",
        "test_error": "error",
        "test_skip": "skipped",
        "test_xfail": "xfailed",
        "test_output": "failed",
    }
    fail = cases["test_outcomes.py::test_fail"]
    assert (fail.phase, fail.line, fail.frames[0][1]) == ("call", 10, 11)
    assert "assert 1 == 2" in fail.message
    assert cases["test_outcomes.py::test_error"].phase == "setup"
    assert cases["test_outcomes.py::test_skip"].message == "Skipped: not today"
    assert "said something" in cases["test_outcomes.py::test_output"].output["Captured stdout call"]
