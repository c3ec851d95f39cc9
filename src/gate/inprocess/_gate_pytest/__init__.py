"""gate's pytest plugin: records results, enforces the timeout, measures coverage, watches the loop.

gate loads it with ``-p _gate_pytest`` and configures it through GATE_* environment variables,
which xdist workers inherit. It imports only the standard library and pytest because it runs
in the project's own interpreter (Python 3.9+), which may not have gate installed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from typing import Any

import pytest

from .coverage_start import CoverageSession, start_coverage
from .events import EventWriter
from .failure_frames import failure_frames, library_dirs

_writer_key = pytest.StashKey[EventWriter]()
_timeout_key = pytest.StashKey[Any]()

_OWN_DIR = os.path.dirname(os.path.abspath(__file__))

MAX_TEXT = 20_000  # longest failure text kept per report; the JUnit file holds no more than this

_worker_id = os.environ.get("PYTEST_XDIST_WORKER", "main")
_run_dir = os.environ.get("GATE_RUN_DIR")

# (database owner) Each xdist worker gets its own database: gate made one clone per worker and
# hands their database.export variables over as GATE_WORKER_ENV = {"gw0": {...}, ...}. This runs
# at import, before any conftest reads DATABASE_URL or the like.
if _worker_id != "main" and os.environ.get("GATE_WORKER_ENV"):
    _own_database = json.loads(os.environ["GATE_WORKER_ENV"]).get(_worker_id)
    if isinstance(_own_database, dict):
        os.environ.update({str(k): str(v) for k, v in _own_database.items()})

# Coverage starts at import time: `-p` plugins load before conftest.py files, so every project
# module a conftest imports is measured from its first line.
_coverage: CoverageSession | None = start_coverage(
    os.environ.get("GATE_COVERAGE_RC"),
    os.path.join(_run_dir, "coverage", ".coverage") if _run_dir else None,
)


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
    return str(gateway.id) if gateway is not None else _worker_id


def _skip_reason(report: pytest.TestReport) -> str | None:
    if report.skipped and isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        return str(report.longrepr[2])
    return None


class RecorderPlugin:
    """Writes test outcomes as events; in an xdist run only the controller does, once per report."""

    def __init__(self, writer: EventWriter, is_worker: bool) -> None:
        self.writer = writer
        self.is_worker = is_worker

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.writer.emit(
            {
                "event": "session_start",
                "rootdir": str(session.config.rootpath),
                "library_dirs": library_dirs(),
                "worker": _worker_id,
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

    # tryfirst: the outermost wrapper, so it sees the report after xfail and the like decided.
    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        outcome = yield
        report = outcome.get_result()
        if report.failed and call.excinfo is not None:
            # Runs where the test ran (an xdist worker too): the traceback exists only there.
            # An attribute of the report travels to the xdist controller with it.
            base_dir = str(item.config.invocation_params.dir)
            report.gate_frames = failure_frames(call.excinfo, base_dir)

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        if not self.is_worker:
            self.writer.emit({"event": "start", "nodeid": nodeid})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        fspath, lineno, domain = report.location
        event: dict[str, Any] = {
            "event": "report",
            "nodeid": report.nodeid,
            "when": report.when,
            "outcome": report.outcome,
            "duration": report.duration,
            "file": fspath,
            "line": None if lineno is None else lineno + 1,
            "domain": domain,
            "worker": _report_worker(report),
        }
        if report.failed:
            event["longrepr"] = _clip(report.longreprtext)
            event["crash"] = _crash(report)
            event["frames"] = getattr(report, "gate_frames", None) or []
        reason = _skip_reason(report)
        if reason is not None:
            event["skip_reason"] = reason
        if hasattr(report, "wasxfail"):
            event["xfail"] = str(report.wasxfail)
        sections = {name: _clip(text) for name, text in report.sections if text}
        if sections:
            event["sections"] = sections
        self.writer.emit(event)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.writer.emit(
            {"event": "session_finish", "exitstatus": int(exitstatus), "worker": _worker_id}
        )


def pytest_configure(config: pytest.Config) -> None:
    if not _run_dir:
        return
    is_worker = hasattr(config, "workerinput")
    if not is_worker:
        _record_project_settings(config, os.path.join(_run_dir, "pytest-settings.json"))
    writer = EventWriter(os.path.join(_run_dir, f"events-{_worker_id}.jsonl"))
    config.stash[_writer_key] = writer
    config.pluginmanager.register(RecorderPlugin(writer, is_worker), "gate-recorder")

    timeout = float(os.environ.get("GATE_TIMEOUT", "0") or 0)
    # With xdist, tests run in the workers; the controller only relays their reports.
    runs_tests = is_worker or not _xdist_active(config)
    if timeout > 0 and runs_tests:
        from .timeout import TimeoutPlugin

        stack_file = os.path.join(_run_dir, f"hard-stop-{_worker_id}.txt")
        plugin = TimeoutPlugin(timeout, stack_file, writer.emit)
        config.stash[_timeout_key] = plugin
        config.pluginmanager.register(plugin, "gate-timeout")

    # `gate run --shard I/N`: collection (in each xdist worker too) keeps this shard's share.
    shard = os.environ.get("GATE_SHARD")
    if shard:
        from .shard import ShardPlugin, read_durations

        index, _, total = shard.partition("/")
        durations = read_durations(os.environ.get("GATE_SHARD_DURATIONS"))
        shard_plugin = ShardPlugin(int(index), int(total), durations, writer.emit)
        config.pluginmanager.register(shard_plugin, "gate-shard")

    blocking = os.environ.get("GATE_BLOCKING")
    if blocking and runs_tests:
        settings = json.loads(blocking)
        if settings.get("mode", "off") != "off":
            from .blocking import BlockingPlugin

            config.pluginmanager.register(
                BlockingPlugin(
                    emit=lambda finding: writer.emit({"event": "blocking", **finding}),
                    slow_ms=float(settings.get("slow_ms", 100)),
                    allow=list(settings.get("allow", [])),
                    root=str(settings.get("root", os.getcwd())),
                    mode=str(settings["mode"]),
                ),
                "gate-blocking",
            )

    server_errors = os.environ.get("GATE_SERVER_ERRORS")
    if server_errors and runs_tests and json.loads(server_errors).get("mode", "off") != "off":
        from .server_errors import ServerErrorPlugin
        from .server_errors_hooks import default_hooks

        root = str(json.loads(server_errors).get("root", os.getcwd()))
        recorder = ServerErrorPlugin(emit=writer.emit, root=root, hooks=default_hooks())
        config.pluginmanager.register(recorder, "gate-server-errors")


def _record_project_settings(config: pytest.Config, path: str) -> None:
    """The project's own addopts, as pytest resolved them, so gate can say what it overrode."""
    inipath = getattr(config, "inipath", None)  # pytest >= 6.1
    try:
        addopts = [str(arg) for arg in config.getini("addopts")]
    except (ValueError, KeyError):
        addopts = []
    settings = {
        "inifile": None if inipath is None else str(inipath),
        "addopts": addopts,
        "env_addopts": os.environ.get("PYTEST_ADDOPTS", ""),
    }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(settings, handle)


def _xdist_active(config: pytest.Config) -> bool:
    numprocesses = getattr(config.option, "numprocesses", None)
    dist = getattr(config.option, "dist", "no")
    return bool(numprocesses) and dist != "no"


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    timeout = config.stash.get(_timeout_key, None)
    if timeout is not None:
        timeout.close()
    if _coverage is not None:
        _coverage.stop_and_save()
    writer = config.stash.get(_writer_key, None)
    if writer is not None:
        writer.emit({"event": "unconfigure", "worker": _worker_id})
        writer.close()
