"""Folding the plugin's events into test outcomes, including a run that was killed."""

from __future__ import annotations

import json

from gate.results import ResultsBuilder, build_results, mark_stopped


def lines(*events: dict[str, object]) -> str:
    return "\n".join(json.dumps(event) for event in events) + "\n"


def report(nodeid: str, when: str, outcome: str, **extra: object) -> dict[str, object]:
    return {
        "event": "report",
        "nodeid": nodeid,
        "when": when,
        "outcome": outcome,
        "duration": 0.5,
        **extra,
    }


def test_setup_call_teardown_fold_into_one_outcome() -> None:
    results = build_results(
        [
            lines(
                {"event": "collected", "count": 4},
                report("t::a", "setup", "passed"),
                report("t::a", "call", "passed"),
                report("t::a", "teardown", "passed"),
                report("t::b", "setup", "passed"),
                report(
                    "t::b",
                    "call",
                    "failed",
                    longrepr="E assert 1 == 2",
                    crash={"path": "/p/t.py", "line": 7, "message": "assert 1 == 2"},
                ),
                report("t::b", "teardown", "passed"),
                report("t::c", "setup", "failed", longrepr="fixture broke"),
                report("t::c", "teardown", "passed"),
                report("t::d", "setup", "skipped", skip_reason="no redis"),
            )
        ]
    )
    assert {n: c.outcome for n, c in results.cases.items()} == {
        "t::a": "passed",
        "t::b": "failed",
        "t::c": "error",
        "t::d": "skipped",
    }
    assert results.cases["t::a"].duration_s == 1.5
    failed = results.cases["t::b"]
    assert (failed.message, failed.phase) == ("assert 1 == 2", "call")
    assert failed.frames == [("/p/t.py", 7)]  # no traceback frames: the crash's place
    assert results.cases["t::c"].phase == "setup"
    assert results.cases["t::d"].message == "no redis"
    assert results.totals == {"total": 4, "passed": 1, "failed": 1, "errors": 1, "skipped": 1}


def test_frames_and_library_dirs_come_from_the_events() -> None:
    results = build_results(
        [
            lines(
                {"event": "session_start", "rootdir": "/p", "library_dirs": ["/usr/lib/py"]},
                report(
                    "t::a",
                    "call",
                    "failed",
                    crash={"path": "<frozen os>", "line": 679, "message": "KeyError: 'X'"},
                    frames=[["<frozen os>", 679], ["/p/t.py", 3], ["bad"], ["/p/x.py", "2"]],
                ),
            )
        ]
    )
    assert results.library_dirs == ["/usr/lib/py"]
    # malformed pairs are dropped; the crash is not added when frames came
    assert results.cases["t::a"].frames == [("<frozen os>", 679), ("/p/t.py", 3)]


def test_xfail_and_xpass() -> None:
    results = build_results(
        [
            lines(
                report("t::x", "call", "skipped", xfail="known bug"),
                report("t::y", "call", "passed", xfail="known bug"),
            )
        ]
    )
    assert results.cases["t::x"].outcome == "xfailed"
    assert results.cases["t::y"].outcome == "xpassed"
    assert results.totals["skipped"] == 1 and results.totals["passed"] == 1


def test_a_line_cut_short_by_a_kill_is_ignored() -> None:
    builder = ResultsBuilder()
    builder.feed_lines([json.dumps({"event": "start", "nodeid": "t::a"}), '{"event": "rep'])
    assert list(builder.results.cases) == ["t::a"]
    assert builder.results.running[0].nodeid == "t::a"


def test_a_killed_process_turns_running_tests_into_errors() -> None:
    results = build_results(
        [
            lines(
                {"event": "start", "nodeid": "t::done"},
                report("t::done", "call", "passed"),
                report("t::done", "teardown", "passed"),
                {"event": "start", "nodeid": "t::hung"},
            )
        ]
    )
    mark_stopped(results, "hung past tests.timeout (1s) and was stopped", "Thread 0x1 ...")
    hung = results.cases["t::hung"]
    assert hung.outcome == "error"
    assert hung.longrepr.startswith("hung past tests.timeout (1s)")
    assert "Thread 0x1" in hung.longrepr
    assert results.timed_out == {"t::hung": "hung past tests.timeout (1s) and was stopped"}
    assert results.cases["t::done"].outcome == "passed"


def test_blocking_findings_and_unwatched_loops_are_kept_apart() -> None:
    results = build_results(
        [
            lines(
                {"event": "blocking", "test": "t::a", "kind": "call", "file": "a.py", "line": 3},
                {"event": "blocking", "kind": "unwatched", "test": "t::b", "loop": "trio"},
            )
        ]
    )
    assert [(f.test, f.kind, f.file, f.line) for f in results.blocking] == [
        ("t::a", "call", "a.py", 3)
    ]
    assert [(u.test, u.loop) for u in results.unwatched] == [("t::b", "trio")]
