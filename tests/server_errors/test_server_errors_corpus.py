"""The server-error recorder against its corpus: every leak at its line, no clean test flagged,
and every corpus test passing under plain pytest (only gate can catch these)."""

from __future__ import annotations

import json

import pytest
from conftest import RecorderRun, run_recorder

from gate.results import build_results
from gate.server_error_events import judge_server_errors, with_allowed

CLIENTS = {
    "test_loose_assert_passes_on_500": "httpx ASGITransport",
    "test_testclient_swallows_the_exception": "Starlette/FastAPI TestClient",
    "test_wsgi_transport": "httpx WSGITransport",
    "test_flask_client": "Flask test client",
    "test_django_client": "Django test client",
    "test_django_async_client": "Django async test client",
    "test_live_uvicorn_server_in_a_thread": "uvicorn in a thread",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> RecorderRun:
    # One run of the whole corpus serves every test here: it starts FastAPI, Django, Flask
    # and a uvicorn server, which is the slow part. Under two xdist workers, as `gate run`
    # with tests.workers runs it: each worker records into its own events file.
    return run_recorder(tmp_path_factory.mktemp("server-errors-corpus"), args=("-n", "2"))


def test_every_corpus_test_passes_under_pytest(corpus: RecorderRun) -> None:
    outcomes = corpus.outcomes()
    assert corpus.returncode == 0, corpus.output
    assert outcomes["passed"] == 27  # 17 leaking, 10 clean
    assert "failed" not in outcomes and "error" not in outcomes


def test_each_leak_is_found_at_its_line_and_nothing_else(corpus: RecorderRun) -> None:
    assert not [e for e in corpus.events if e.get("kind") == "detector-error"], corpus.events
    found = {f for f in corpus.found() if f[0].startswith("test_leaks.py")}
    assert (corpus.expected - found, found - corpus.expected) == (set(), set())
    assert len(corpus.expected) >= 12
    assert {f["worker"] for f in corpus.findings} == {"gw0", "gw1"}
    assert {kind for _, kind, _, _ in corpus.expected} == {
        "response",
        "exception",
        "task",
        "thread",
        "unraisable",
    }
    leaking_tests = {test.split("::")[1] for test, *_ in corpus.expected}
    assert set(CLIENTS) <= leaking_tests


def test_no_clean_test_is_flagged_except_the_allowed_503(corpus: RecorderRun) -> None:
    clean = [f for f in corpus.findings if f["test"].startswith("test_clean.py")]
    assert [(f["test"], f["method"], f["path"], f["status"]) for f in clean] == [
        ("test_clean.py::test_allowed_503", "GET", "/health", 503)
    ]
    results = build_results(["\n".join(json.dumps({"event": "server_error", **f}) for f in clean)])
    errors = with_allowed(results.server_errors, ["GET /health 503"])
    assert [e.allowed for e in errors] == [True]
    assert judge_server_errors(errors, "fail").passed


def test_what_a_finding_says(corpus: RecorderRun) -> None:
    loose = corpus.finding("test_loose_assert_passes_on_500")
    assert (loose["method"], loose["path"], loose["status"]) == ("POST", "/items", 500)
    assert loose["exception"] == "ValueError"
    assert loose["message"] == "negative price -1 for password=***"
    # The stack runs from the line that raised, through the framework, to the test line.
    assert loose["stack"][0] == {"file": "se_apps.py", "line": 47, "function": "create_item"}
    assert loose["stack"][-1]["file"] == "test_leaks.py"
    assert not any("_gate_pytest" in frame["file"] for frame in loose["stack"])

    # A handler that answered 500 without an exception: blamed on the test line.
    bare = corpus.finding("test_handler_returns_500")
    assert (bare["kind"], bare["exception"], bare["status"]) == ("response", None, 500)

    # An exception handler turned it into a tidy 500; Starlette cleared its traceback.
    handled = corpus.finding("test_handled_exception_answered_with_500")
    assert handled["exception"] == "se_apps.UpstreamDown"
    assert handled["exception_types"][:2] == ["se_apps.UpstreamDown", "Exception"]

    task = corpus.finding("test_dead_task")
    assert task["note"] == "Task exception was never retrieved"
    assert corpus.finding("test_dead_thread")["exception"] == "TimeoutError"


def test_pytest_still_warns_about_threads_and_unraisables(corpus: RecorderRun) -> None:
    # gate's hooks pass every call on to pytest's own, which still show their warnings.
    output = corpus.output
    assert "PytestUnhandledThreadExceptionWarning" in output
    assert "PytestUnraisableExceptionWarning" in output
