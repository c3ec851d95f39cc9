"""The blocking detector against its corpus: every `expect:` line found exactly, nothing else."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from gate.blocking_triage import FAILING, LIBRARY, apart_summary, classify, triage
from gate.checks.blocking import blocking_check
from gate.database.address import ServerAddress
from gate.findings import BlockingFinding
from gate.results import build_results

if TYPE_CHECKING:
    # Names only: `conftest` as a module is whichever folder's conftest pytest imported last
    # (tests/server_errors has one too), so it is never imported at run time.
    from conftest import DetectorRun

Detector = Callable[..., "DetectorRun"]


def _assert_exact(run: DetectorRun) -> None:
    assert run.result.ret == 0, run.result.stdout.str()
    assert not [e for e in run.events if e.get("kind") == "detector-error"], run.events
    found = run.found()
    assert (run.expected - found, found - run.expected) == (set(), set()), "(missing, unexpected)"
    # Every finding of the corpus names a project line, so each one fails the gate.
    triaged = [
        (f["test"], f["line"], classify(BlockingFinding.from_event(f))) for f in run.findings
    ]
    assert [entry for entry in triaged if entry[2] != FAILING] == []
    assert {u["test"] for u in run.unwatched} == run.expected_unwatched


@pytest.mark.parametrize("coverage", [False, True], ids=["plain", "under-coverage"])
def test_blocking_calls_in_async_tests(detector: Detector, coverage: bool) -> None:
    run = detector({"corpus_calls.py": "test_calls.py"}, coverage=coverage)
    _assert_exact(run)
    assert len(run.expected) >= 25

    # A call and a stall at the same line are one finding: the call, with the stall's time.
    long_sleep = run.finding("test_calls.py::test_sleep_300ms")
    assert long_sleep["kind"] == "call"
    assert long_sleep["duration_ms"] >= 290
    assert 0.9 <= run.finding("test_calls.py::test_sleep_1ms")["duration_ms"] < 100

    # "file" is the innermost project frame; "stack" still shows the library beneath it.
    library = run.finding("test_calls.py::test_library_frames_are_not_blamed")
    assert library["stack"][0] == {
        "file": "fakelib/__init__.py",
        "line": 7,
        "function": "fetch",
        "project": False,
        "async": False,
    }
    assert library["stack"][1]["file"] == "test_calls.py"
    assert library["stack"][1]["project"] and library["stack"][1]["async"]

    helper = run.finding("test_calls.py::test_read_in_helper")
    functions = [f["function"] for f in helper["stack"]]
    at = functions.index("read_settings")
    assert functions[at + 1] == "test_read_in_helper"

    # spin() runs to a wall-clock deadline: on a crowded machine part of that is run-queue wait,
    # which the detector leaves out of duration_ms and shows in wall_ms.
    stall = run.finding("test_calls.py::test_cpu_loop")
    assert stall["call"] is None
    assert stall["wall_ms"] >= 290


def test_blocking_under_every_loop_and_runner(detector: Detector) -> None:
    run = detector({"corpus_loops.py": "test_loops.py"})
    _assert_exact(run)

    leaked = run.finding("test_loops.py::test_leaks_a_task")
    assert leaked["note"] == "in a task created by this test that outlived it"
    labels = {u["test"].split("::")[1]: u["unwatched"] for u in run.unwatched}
    assert labels["test_foreign_running_loop"] == "test_loops._ForeignLoop"
    assert "not asyncio's own" in labels["test_runner_without_asyncio"]


@pytest.mark.parametrize("coverage", [False, True], ids=["plain", "under-coverage"])
def test_clean_code_is_not_flagged(detector: Detector, coverage: bool) -> None:
    run = detector({"corpus_clean.py": "test_clean.py"}, coverage=coverage)
    assert run.result.ret == 0, run.result.stdout.str()
    assert run.result.parseoutcomes()["passed"] >= 10
    assert run.events == []


def test_sync_postgres_driver_in_async_tests(detector: Detector, pg_server: ServerAddress) -> None:
    run = detector(
        {"corpus_dbdriver.py": "test_dbdriver.py"}, extra_env={"CORPUS_PG_URL": pg_server.url()}
    )
    _assert_exact(run)
    assert run.result.parseoutcomes()["passed"] == 5


def test_allow_entries_drop_matching_findings(detector: Detector) -> None:
    run = detector(
        {"corpus_allow.py": "test_allow.py"},
        allow=["blocking_app.nap_allowed_by_name", "blocking_app.py:nap_allowed_by_path"],
    )
    _assert_exact(run)
    assert [f["test"] for f in run.findings] == ["test_allow.py::test_not_allowed"]


def test_trio_is_reported_unwatched(detector: Detector) -> None:
    run = detector({"corpus_trio.py": "test_trio.py"})
    _assert_exact(run)
    assert run.findings == []  # not watched is not clean: nothing is claimed about these tests
    labels = {u["test"].split("::")[1]: u["unwatched"] for u in run.unwatched}
    assert labels["test_trio_run_in_sync_test"] == "trio (trio.run)"
    assert labels["test_trio_run_without_a_blocking_call"] == "trio (trio.run)"
    assert labels["test_clean_on_trio"].startswith("trio (")  # anyio's runner or trio's own
    assert all("not detected" in u["reason"] for u in run.unwatched)


def test_uvloop_is_reported_unwatched(detector: Detector) -> None:
    run = detector(
        {
            "corpus_uvloop.py": "test_uvloop.py",
            "corpus_uvloop_factory_conftest.py": "on_uvloop/conftest.py",
            "corpus_uvloop_factory.py": "on_uvloop/test_uvloop_factory.py",
        }
    )
    _assert_exact(run)
    assert run.findings == []
    assert {u["unwatched"] for u in run.unwatched} <= {
        "uvloop",
        "uvloop (anyio asyncio backend with use_uvloop)",
    }


def test_blocking_inside_a_library_is_found_and_kept_apart(detector: Detector) -> None:
    run = detector({"corpus_apart.py": "test_apart.py"})
    assert run.result.ret == 0, run.result.stdout.str()
    reasons = {
        f["test"].split("::")[1]: classify(BlockingFinding.from_event(f)) for f in run.findings
    }
    assert reasons == {
        "test_awaits_a_library_that_blocks_inside": LIBRARY,  # the project only awaited it
        "test_a_library_callback_blocks": LIBRARY,  # no project frame at all
        "test_calls_a_sync_library_function": FAILING,  # a sync call the project chose
    }
    results = build_results(
        json.dumps({"event": "blocking", **finding}) for finding in run.findings
    )
    found = triage(results.blocking)
    check = blocking_check(found.failing, "fail", apart_summary(found))
    assert (check.passed, check.actual, found.apart_count) == (False, 1, 2)
    assert "test_apart.py:23" in check.message
    assert "2 more found inside libraries, warm-up or test tooling (2 library)" in check.message
