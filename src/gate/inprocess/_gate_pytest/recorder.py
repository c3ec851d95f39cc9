"""Records test outcomes as events: one `start` and one compact `test` event per test."""

from __future__ import annotations

import os
from typing import Any

import pytest

from .events import EventWriter
from .failure_frames import failure_frames, library_dirs

_OWN_DIR = os.path.dirname(os.path.abspath(__file__))
_PHASES = ("setup", "call", "teardown")
# Exceptions that end a phase without failing it: a skip, or pytest.exit.
_NOT_FAILURES = (pytest.skip.Exception, pytest.exit.Exception)

MAX_TEXT = 20_000  # longest failure text kept per report; the JUnit file holds no more than this

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def _clip(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return text[: MAX_TEXT // 2] + "\n[... gate clipped this output ...]\n" + text[-MAX_TEXT // 2 :]


def _crash(report: pytest.TestReport) -> dict[str, Any] | None:
    reprcrash = getattr(report.longrepr, "reprcrash", None)
    if reprcrash is None:
        return None
    path, line = reprcrash.path, reprcrash.lineno
    # A timeout raised inside one of gate's own wrappers must blame the test's line.
    entries = getattr(getattr(report.longrepr, "reprtraceback", None), "reprentries", None) or []
    for entry in reversed(entries):
        location = getattr(entry, "reprfileloc", None)
        if location is not None and _OWN_DIR not in os.path.abspath(location.path):
            if _OWN_DIR in os.path.abspath(path):
                path, line = location.path, location.lineno
            break
    return {"path": path, "line": line, "message": _clip(reprcrash.message)}


def _report_worker(report: pytest.TestReport) -> str:
    # xdist attaches the worker's controller to each relayed report.
    gateway = getattr(getattr(report, "node", None), "gateway", None)
    return str(gateway.id) if gateway is not None else WORKER


def _skip_reason(report: pytest.TestReport) -> str | None:
    if report.skipped and isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        return str(report.longrepr[2])
    return None


class RecorderPlugin:
    """Writes test outcomes as events; in an xdist run only the controller writes them."""

    def __init__(self, writer: EventWriter, is_worker: bool) -> None:
        self.writer = writer
        self.is_worker = is_worker
        # Tests whose reports have started to arrive: nodeid -> their `test` event. xdist
        # relays reports from several workers at once, so more than one can be open.
        self._open: dict[str, dict[str, Any]] = {}
        # (nodeid, phase) -> where a failure's exception passed, until its report is logged.
        self._frames: dict[tuple[str, str], list[Any]] = {}

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.writer.emit(
            {
                "event": "session_start",
                "rootdir": str(session.config.rootpath),
                "library_dirs": library_dirs(),
                "worker": WORKER,
            }
        )

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if not self.is_worker:
            self.writer.emit({"event": "collected", "count": len(session.items)})

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.writer.emit({"event": "collected", "count": len(ids), "worker": str(node.gateway.id)})

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed and not self.is_worker:
            self.writer.emit(
                {
                    "event": "collect_error",
                    "nodeid": report.nodeid,
                    "longrepr": _clip(str(report.longrepr)),
                }
            )

    # A plain hook, not a wrapper around the report: it runs per phase of every test, and only a
    # failure needs anything. The frames go on the report in pytest_runtest_logreport, before
    # xdist relays it (an attribute of the report travels to the controller with it). tryfirst:
    # the hook stops at the first plugin that returns a report.
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> None:
        if call.excinfo is not None and not isinstance(call.excinfo.value, _NOT_FAILURES):
            # Runs where the test ran (an xdist worker too): the traceback exists only there.
            base_dir = str(item.config.invocation_params.dir)
            self._frames[(item.nodeid, call.when)] = failure_frames(call.excinfo, base_dir)

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        if not self.is_worker:
            # On disk before the test runs: if the process dies or hangs, this names the test.
            self.writer.emit_start(nodeid)

    # tryfirst: before xdist's worker sends the report to the controller.
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self._frames:
            frames = self._frames.pop((report.nodeid, report.when), None)
            if frames is not None and report.failed:
                report.gate_frames = frames  # type: ignore[attr-defined]
        if self.is_worker:
            return
        test = self._open.get(report.nodeid)
        if test is None:
            fspath, lineno, _ = report.location
            test = self._open[report.nodeid] = {
                "event": "test",
                "nodeid": report.nodeid,
                "file": fspath,
                "line": None if lineno is None else lineno + 1,
                "phases": [],
            }
            worker = _report_worker(report)
            if worker != "main":
                test["worker"] = worker
        test["phases"].append(_phase(report))
        # A test's last report is its teardown; a worker that crashed mid-test sends one
        # report of its own ("???") and no teardown.
        if report.when == "teardown" or report.when not in _PHASES:
            self.writer.emit(self._open.pop(report.nodeid))

    def _emit_unfinished(self) -> None:
        for nodeid in list(self._open):
            self.writer.emit(self._open.pop(nodeid))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self._emit_unfinished()
        self.writer.emit(
            {"event": "session_finish", "exitstatus": int(exitstatus), "worker": WORKER}
        )


def _phase(report: pytest.TestReport) -> dict[str, Any]:
    """One phase of a test: when, outcome and duration; the rest only where there is some."""
    phase: dict[str, Any] = {
        "when": report.when,
        "outcome": report.outcome,
        "duration": round(report.duration, 6),
    }
    if report.failed:
        phase["longrepr"] = _clip(report.longreprtext)
        phase["crash"] = _crash(report)
        phase["frames"] = getattr(report, "gate_frames", None) or []
    reason = _skip_reason(report)
    if reason is not None:
        phase["skip_reason"] = reason
    if hasattr(report, "wasxfail"):
        phase["xfail"] = str(report.wasxfail)
    if report.sections:
        sections = {name: _clip(text) for name, text in report.sections if text}
        if sections:
            phase["sections"] = sections
    return phase
