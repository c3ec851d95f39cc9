"""Blocking findings in gate's reports: terminal groups, JUnit notes, JSON entries, merging."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from rich.console import Console

from gate.findings import BlockingFinding, UnwatchedLoop
from gate.outcome import RunOutcome
from gate.reporters.json_report import render_json
from gate.reporters.junit import render_junit
from gate.reporters.terminal import render_terminal
from gate.results import ResultsBuilder, TestCase, TestResults
from tests.conftest import with_findings

SLEEP = {"kind": "call", "call": "time.sleep", "file": "app/io.py", "line": 20, "worker": "gw0"}


def event(test: str, **changes: Any) -> dict[str, Any]:
    return {"test": test, "phase": "call", "duration_ms": 12.5, "stack": [], **SLEEP, **changes}


def finding(test: str, **changes: Any) -> BlockingFinding:
    return BlockingFinding.from_event(event(test, **changes))


def outcome_with_findings() -> RunOutcome:
    results = TestResults(rootdir="/proj")
    for n in range(1, 6):
        nodeid = f"tests/test_a.py::test_{n}"
        results.cases[nodeid] = TestCase(nodeid, "passed", file="tests/test_a.py", line=n)
    results.cases["tests/test_a.py::test_1"].output["Captured stdout call"] = "hello\n"
    results.blocking = [
        finding("tests/test_a.py::test_1", duration_ms=201.3, wall_ms=230.0, run_queue_ms=28.7),
        finding("tests/test_a.py::test_2", phase="setup"),
        finding("tests/test_a.py::test_3", worker="gw1"),
        finding("tests/test_a.py::test_4"),
        finding("tests/test_a.py::test_5"),
        finding(
            "tests/test_a.py::test_2",
            kind="slow",
            call=None,
            file="app/cpu.py",
            line=7,
            duration_ms=310.0,
            note="in a task created by this test that outlived it",
        ),
    ]
    results.unwatched = [
        UnwatchedLoop.from_event(
            {
                "kind": "unwatched",
                "unwatched": "trio (anyio backend)",
                "test": "tests/test_a.py::test_4",
                "phase": "call",
                "worker": "gw1",
                "reason": "gate times asyncio's own event loop only; ...",
            }
        )
    ]
    return RunOutcome(root=Path("/proj"), run_id="r1", results=results, verdict="fail")


def terminal_text(outcome: RunOutcome, *, verbose: bool = False) -> str:
    stream = io.StringIO()
    render_terminal(Console(file=stream, width=200, color_system=None), outcome, verbose=verbose)
    return stream.getvalue()


def test_terminal_groups_findings_by_line_with_counts_and_tests() -> None:
    text = terminal_text(with_findings(outcome_with_findings()))
    section = text[text.index("Blocking calls") :].splitlines()
    assert section[:7] == [
        "Blocking calls in the event loop (2 place(s))",
        "  app/io.py:20 time.sleep x5, up to 201.3 ms",
        "      in tests/test_a.py::test_1, tests/test_a.py::test_2 (setup), "
        "tests/test_a.py::test_3 (+2 more)",
        "  app/cpu.py:7 slow callback x1, up to 310.0 ms",
        "      in tests/test_a.py::test_2",
        "      in a task created by this test that outlived it",
        "",
    ]
    assert section[7:9] == [
        "Event loops gate cannot watch (1 test(s)): blocking calls in these tests were not checked",
        "  trio (anyio backend) in tests/test_a.py::test_4",
    ]


def test_terminal_names_every_test_when_verbose() -> None:
    text = terminal_text(with_findings(outcome_with_findings()), verbose=True)
    assert "tests/test_a.py::test_4, tests/test_a.py::test_5\n" in text
    assert "more)" not in text


def test_terminal_is_silent_about_blocking_without_findings() -> None:
    outcome = outcome_with_findings()
    assert outcome.results is not None
    outcome.results.blocking, outcome.results.unwatched = [], []
    text = terminal_text(with_findings(outcome))
    assert "Blocking calls" not in text
    assert "cannot watch" not in text


def test_junit_notes_each_finding_on_its_test() -> None:
    suite = ET.fromstring(render_junit(with_findings(outcome_with_findings())))
    cases = {case.get("name"): case for case in suite.iter("testcase")}

    first = cases["test_1"]
    assert first[0].tag == "properties"  # first child, where pytest's junitxml puts it
    assert [(p.get("name"), p.get("value")) for p in first.iter("property")] == [
        ("gate.blocking", "app/io.py:20 time.sleep (call, 201.3 ms)")
    ]
    assert first.findtext("system-out") == (
        "gate: blocking call in the event loop at app/io.py:20 time.sleep (call, 201.3 ms)\n"
        "\nhello\n"
    )

    second = [p.get("value") for p in cases["test_2"].iter("property")]
    assert second == [
        "app/io.py:20 time.sleep (setup, 12.5 ms)",
        "app/cpu.py:7 slow callback (call, 310.0 ms): "
        "in a task created by this test that outlived it",
    ]
    fourth = {p.get("name"): p.get("value") for p in cases["test_4"].iter("property")}
    assert fourth["gate.blocking.unwatched"] == "trio (anyio backend)"
    assert "not watched for blocking calls: the test ran on trio" in (
        cases["test_4"].findtext("system-out") or ""
    )


def test_junit_test_without_findings_has_no_blocking_note() -> None:
    outcome = outcome_with_findings()
    assert outcome.results is not None
    outcome.results.blocking = outcome.results.blocking[:1]
    outcome.results.unwatched = []
    cases = {
        c.get("name"): c
        for c in ET.fromstring(render_junit(with_findings(outcome))).iter("testcase")
    }
    assert cases["test_3"].find("properties") is None
    assert cases["test_3"].find("system-out") is None


def test_json_report_keeps_contract_fields_worker_and_unwatched_tests() -> None:
    report = json.loads(render_json(with_findings(outcome_with_findings())))
    assert report["blocking"][0] == {
        "test": "tests/test_a.py::test_1",
        "phase": "call",
        "kind": "call",
        "call": "time.sleep",
        "file": "app/io.py",
        "line": 20,
        "duration_ms": 201.3,
        "wall_ms": 230.0,
        "run_queue_ms": 28.7,
        "stack": [],
        "worker": "gw0",
    }
    assert report["blocking"][-1]["note"] == "in a task created by this test that outlived it"
    assert report["blocking_unwatched"] == [
        {
            "test": "tests/test_a.py::test_4",
            "phase": "call",
            "loop": "trio (anyio backend)",
            "reason": "gate times asyncio's own event loop only; ...",
            "worker": "gw1",
        }
    ]


def test_events_from_every_worker_are_merged_and_detector_errors_are_not_findings() -> None:
    builder = ResultsBuilder()
    for worker in ("gw0", "gw1"):
        raw = {"event": "blocking", **event(f"t.py::test_{worker}", worker=worker)}
        builder.feed_lines([json.dumps(raw)])
    error = {"event": "blocking", "kind": "detector-error", "error": "Traceback...\nKeyError: 1"}
    builder.feed_lines([json.dumps(error)])
    results = builder.results
    assert [(f.test, f.worker) for f in results.blocking] == [
        ("t.py::test_gw0", "gw0"),
        ("t.py::test_gw1", "gw1"),
    ]
    assert results.blocking_errors == ["Traceback...\nKeyError: 1"]
