"""Turns the event files the test process wrote into test results and blocking findings (pure)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gate.findings import BlockingFinding, UnwatchedLoop, redact_record
from gate.server_error_events import ServerError, parse_server_error

PHASES = ("setup", "call", "teardown")


@dataclass(frozen=True)
class Location:
    """A place in the project: path relative to root (forward slashes), line when known."""

    path: str
    line: int | None


@dataclass
class TestCase:
    """One test's outcome, folded from its setup, call and teardown reports."""

    __test__ = False

    nodeid: str
    outcome: str = "running"  # passed | failed | error | skipped | xfailed | xpassed | running
    duration_s: float = 0.0
    file: str | None = None
    line: int | None = None
    message: str = ""
    longrepr: str = ""
    phase: str | None = None  # the phase that failed or errored
    # The failure's traceback as the test process saw it, innermost first: (path, line).
    frames: list[tuple[str, int]] = field(default_factory=list)
    location: Location | None = None  # where reports point: gate.locate picks it from frames
    output: dict[str, str] = field(default_factory=dict)
    worker: str = "main"

    @property
    def bad(self) -> bool:
        return self.outcome in ("failed", "error")


@dataclass
class TestResults:
    __test__ = False

    cases: dict[str, TestCase] = field(default_factory=dict)
    collected: int = 0
    collect_errors: list[tuple[str, str]] = field(default_factory=list)
    blocking: list[BlockingFinding] = field(default_factory=list)
    unwatched: list[UnwatchedLoop] = field(default_factory=list)
    blocking_errors: list[str] = field(default_factory=list)  # the detector's own failures
    server_errors: list[ServerError] = field(default_factory=list)
    server_errors_recorder_failures: list[str] = field(default_factory=list)  # gate's own bugs
    timed_out: dict[str, str] = field(default_factory=dict)  # nodeid -> how it was stopped
    finished: bool = False
    exitstatus: int | None = None
    rootdir: str | None = None
    library_dirs: list[str] = field(default_factory=list)  # the test interpreter's own code

    def count(self, *outcomes: str) -> int:
        return sum(1 for case in self.cases.values() if case.outcome in outcomes)

    @property
    def totals(self) -> dict[str, int]:
        return {
            "total": len(self.cases),
            "passed": self.count("passed", "xpassed"),
            "failed": self.count("failed"),
            "errors": self.count("error") + len(self.collect_errors),
            "skipped": self.count("skipped", "xfailed"),
        }

    @property
    def done(self) -> int:
        return sum(1 for case in self.cases.values() if case.outcome != "running")

    @property
    def bad_cases(self) -> list[TestCase]:
        return [case for case in self.cases.values() if case.bad]

    @property
    def running(self) -> list[TestCase]:
        return [case for case in self.cases.values() if case.outcome == "running"]


def _first_line(text: str) -> str:
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


class ResultsBuilder:
    """Feed it events in file order (live, while tests run, or all at the end)."""

    def __init__(self) -> None:
        self.results = TestResults()
        self.starts = 0  # `start` events seen
        self._last_started: TestCase | None = None

    @property
    def current(self) -> TestCase | None:
        """The test running now in a one-process run (the last one started, if unfinished):
        found without walking every case, as gate's watchdog asks ten times a second."""
        case = self._last_started
        return case if case is not None and case.outcome == "running" else None

    def feed_lines(self, lines: Iterable[str]) -> None:
        for raw in lines:
            if not raw.strip():
                continue
            try:
                event = json.loads(raw)
            except json.JSONDecodeError:
                continue  # a line cut short by a killed process
            self.feed(event)

    def feed(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        results = self.results
        if kind == "session_start" and results.rootdir is None:
            results.rootdir = event.get("rootdir")
            results.library_dirs = [str(path) for path in event.get("library_dirs") or []]
        elif kind == "collected":
            # xdist: every worker collects the whole suite; the count is the same for each.
            results.collected = max(results.collected, int(event.get("count", 0)))
        elif kind == "collect_error":
            results.collect_errors.append((event["nodeid"], str(event.get("longrepr", ""))))
        elif kind == "start":
            self.starts += 1
            self._last_started = results.cases.setdefault(
                event["nodeid"], TestCase(event["nodeid"])
            )
        elif kind == "test":
            self._test(event)
        elif kind == "report":  # one phase per event: shard data saved by an earlier gate
            self._report(event)
        elif kind == "timed_out":
            results.timed_out.setdefault(event["nodeid"], "stopped by the per-test timeout")
        elif kind == "blocking":
            if event.get("kind") == "unwatched":
                results.unwatched.append(UnwatchedLoop.from_event(event))
            elif event.get("kind") == "detector-error":
                # gate's own bug, recorded rather than raised in the tests: not a finding.
                results.blocking_errors.append(str(event.get("error", "")))
            else:
                results.blocking.append(BlockingFinding.from_event(event))
        elif kind == "server_error":
            server_error = parse_server_error(event)
            if server_error is not None:
                results.server_errors.append(server_error)
            elif event.get("kind") == "detector-error":
                results.server_errors_recorder_failures.append(str(event.get("error", "")))
        elif kind == "session_finish" and event.get("worker", "main") == "main":
            results.finished = True
            results.exitstatus = event.get("exitstatus")

    def _test(self, event: dict[str, Any]) -> None:
        shared = {key: event.get(key) for key in ("nodeid", "file", "line", "worker")}
        for phase in event.get("phases") or ():
            self._report({**phase, **shared})

    def _report(self, event: dict[str, Any]) -> None:
        nodeid = event["nodeid"]
        case = self.results.cases.setdefault(nodeid, TestCase(nodeid))
        when = event.get("when")
        outcome = event.get("outcome")
        case.duration_s += float(event.get("duration") or 0.0)
        case.file = event.get("file") or case.file
        case.line = event.get("line") or case.line
        case.worker = str(event.get("worker") or case.worker)
        for name, text in (event.get("sections") or {}).items():
            case.output[name] = text
        if outcome == "failed":
            first_failure = not case.bad
            case.outcome = "failed" if when == "call" else "error"
            if first_failure:
                case.phase = when
                case.longrepr = str(event.get("longrepr") or "")
                crash = event.get("crash") or {}
                case.message = str(crash.get("message") or _first_line(case.longrepr))
                case.frames = _frames(event.get("frames"), crash)
        elif outcome == "skipped" and not case.bad:
            case.outcome = "xfailed" if "xfail" in event else "skipped"
            case.message = str(event.get("skip_reason") or event.get("xfail") or "")
        elif when == "call" and outcome == "passed" and not case.bad:
            case.outcome = "xpassed" if "xfail" in event else "passed"
        elif when == "teardown" and case.outcome == "running":
            case.outcome = "passed"  # a test whose call never ran but nothing failed


def _frames(raw: Any, crash: dict[str, Any]) -> list[tuple[str, int]]:
    """The event's frames; without them (a report no traceback made), the crash's place."""
    frames = [
        (str(pair[0]), pair[1])
        for pair in raw or []
        if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], int)
    ]
    if not frames and crash.get("path") and isinstance(crash.get("line"), int):
        frames = [(str(crash["path"]), int(crash["line"]))]
    return frames


def mark_stopped(results: TestResults, how: str, hard_stop_text: str = "") -> None:
    """The test process died or was killed: tests still running become errors saying why."""
    for case in results.running:
        case.outcome = "error"
        case.phase = "call"
        case.message = how
        case.longrepr = f"{how}\n\n{hard_stop_text}".strip()
        results.timed_out.setdefault(case.nodeid, how)


def build_results(event_texts: Iterable[str]) -> TestResults:
    builder = ResultsBuilder()
    for text in event_texts:
        builder.feed_lines(text.splitlines())
    return builder.results


def redacted(results: TestResults, hide: Callable[[str], str]) -> TestResults:
    """The results with every text a test produced passed through `hide`: a test's failure
    message or output may quote the database password gate handed it."""
    for case in results.cases.values():
        case.message = hide(case.message)
        case.longrepr = hide(case.longrepr)
        case.output = {name: hide(text) for name, text in case.output.items()}
    results.collect_errors = [(nodeid, hide(text)) for nodeid, text in results.collect_errors]
    results.blocking = [redact_record(finding, hide) for finding in results.blocking]
    results.unwatched = [redact_record(entry, hide) for entry in results.unwatched]
    results.blocking_errors = [hide(text) for text in results.blocking_errors]
    results.server_errors = [redact_record(error, hide) for error in results.server_errors]
    results.server_errors_recorder_failures = [
        hide(text) for text in results.server_errors_recorder_failures
    ]
    results.timed_out = {nodeid: hide(how) for nodeid, how in results.timed_out.items()}
    return results
