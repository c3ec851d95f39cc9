"""The detector's pytest side: phases, charging a finding to a test, emitting findings.

One object holds the state every hook reads (the phase running, tasks it created, findings
not yet emitted); its hooks and the probes' callbacks are kept together for that state.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import threading
import traceback
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from types import FrameType
from typing import Callable

import pytest

from . import calls, frames, loop, patch, sched
from .allowlist import default_allow
from .calls import CallInterceptor
from .foreign import ForeignLoopWatch
from .frames import AllowList, FrameInfo, ProjectPaths, capture, is_import_time
from .loop import STOP_CODE, LoopProbe, active, loops_of_phase
from .sched import Held

Emit = Callable[[dict[str, object]], None]
Phase = tuple[str, str]  # (test nodeid, "setup" | "call" | "teardown")

# Findings say which xdist worker saw them; gate merges every worker's events file.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
OUTLIVED_NOTE = "in a task created by this test that outlived it"
NO_SAMPLE_NOTE = (
    "the loop thread held the GIL until the callback ended (C code), so no stack sample "
    "was taken: the line is the start of the function the callback ran"
)
_UNSUPPORTED_ASYNC = "not natively supported"
# Tracers the interpreter calls on every line (coverage.py, debuggers): a stack sample often
# lands in them, on top of the code that is really running.
_TRACER_MODULES = ("coverage", "pydevd", "_pydevd_bundle", "_pydevd_frame_eval")


@dataclass(frozen=True)
class Finding:
    """One blocking finding, shaped like a `blocking` entry of the JSON report."""

    test: str
    phase: str
    kind: str  # "call" (an intercepted blocking function) | "slow" (a stalled callback)
    call: str | None
    file: str
    line: int
    duration_ms: float  # wall time less run-queue wait (wall time where that is unknown)
    stack: tuple[FrameInfo, ...]
    note: str | None = None
    wall_ms: float | None = None  # None: the same as duration_ms
    run_queue_ms: float | None = None  # None: not measured (no schedstat on this system)

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.test, self.phase, self.file, self.line)

    def merged(self, other: Finding) -> Finding:
        """A call and a stall at the same line are one finding: keep the call, longest time."""
        first, second = (
            (self, other) if self.kind == "call" or other.kind != "call" else (other, self)
        )
        longest = max(self, other, key=lambda f: f.duration_ms)
        return replace(
            first,
            duration_ms=longest.duration_ms,
            wall_ms=longest.wall_ms,
            run_queue_ms=longest.run_queue_ms,
            note=first.note or second.note,
        )


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 1)


def _current_task() -> object | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop in this thread
        return None


def _task_of(callback: object) -> object | None:
    # A task's step and wakeup callbacks are bound to the task (checked on 3.9-3.13).
    owner = getattr(callback, "__self__", None)
    return owner if asyncio.isfuture(owner) else None


def _without_tracer_frames(stack: list[FrameInfo]) -> list[FrameInfo]:
    for at, frame in enumerate(stack):
        if frame.module.split(".", 1)[0] not in _TRACER_MODULES:
            return stack[at:]
    return []


def _callback_frames(callback: object, task: object | None) -> list[FrameInfo]:
    """Where a callback starts, for a stall that no stack sample caught."""
    code = getattr(getattr(task, "get_coro", lambda: None)(), "cr_code", None)
    code = code or getattr(callback, "__code__", None)
    if code is None:
        return []
    return [
        FrameInfo(
            code.co_filename,
            code.co_firstlineno,
            code.co_name,
            "",
            code.co_name,
            frames.is_async(code),
        )
    ]


# Our own frames (interceptor wrappers, the recorder while a sample is taken) are left
# out of every stack.
_OWN_FILES = frozenset(
    fn.__code__.co_filename
    for fn in (
        calls._intercept,
        loop._timed_run,
        frames.capture,
        patch.Patches.replace,
        sched.mark,
        _current_task,
    )
)


class BlockingPlugin:
    """Pytest plugin: installs the probes and emits deduplicated findings at each phase end."""

    def __init__(
        self, *, emit: Emit, slow_ms: float, allow: Sequence[str], root: str, mode: str
    ) -> None:
        self._emit = emit
        self.mode = mode
        self._paths = ProjectPaths(root)
        self._allow = AllowList([*default_allow(), *allow], self._paths)
        self._loop_probe = LoopProbe(self, slow_ms, _OWN_FILES, self._record_error)
        self._calls = CallInterceptor(self)
        self._foreign = ForeignLoopWatch(self)
        self._installed = False
        self._current: Phase | None = None
        self._last: Phase | None = None
        # Tasks still pending when the phase that made them ended -> that phase.
        self._owners: weakref.WeakKeyDictionary[object, Phase] = weakref.WeakKeyDictionary()
        self._pending: list[Finding] = []
        self._pending_lock = threading.Lock()  # loops in other threads report too
        self._unwatched: list[dict[str, object]] = []
        self._emitted: set[tuple[object, ...]] = set()
        self._errors: list[str] = []
        self._modules_seen = 0  # len(sys.modules) when the lazy patches were last refreshed

    # -- lifecycle -------------------------------------------------------------------------

    def install(self) -> None:
        if not self._installed:
            self._installed = True
            self._loop_probe.install()
            self._calls.install()
            self._foreign.refresh()

    def uninstall(self) -> None:
        if self._installed:
            self._installed = False
            self._foreign.uninstall()
            self._calls.uninstall()
            self._loop_probe.uninstall()

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        self.install()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._flush()
        if self._errors:
            self._emit({"kind": "detector-error", "error": self._errors[0]})
            self._errors.clear()

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.uninstall()
        self._flush()  # anything a background loop reported after the session finished

    # -- test phases -----------------------------------------------------------------------

    # Plain hooks, not wrappers: a phase starts before any other plugin's code for it runs
    # (tryfirst) and ends when its report is made, right after the phase. Three old-style
    # hook wrappers per test cost more than everything the detector does in a sync test.
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self._start(item, "setup")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        self._start(item, "call")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        self._start(item, "teardown")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> None:
        self._end(item, call.when, call)

    def _start(self, item: pytest.Item, phase: str) -> None:
        # Modules to patch once imported (psycopg, trio...) can only have come with new
        # entries in sys.modules: one length check per phase instead of walking the lists.
        if len(sys.modules) != self._modules_seen:
            self._modules_seen = len(sys.modules)
            self._calls.refresh()
            self._foreign.refresh()
        self._current = (item.nodeid, phase)

    def _end(self, item: pytest.Item, phase: str, call: pytest.CallInfo[None]) -> None:
        nodeid = item.nodeid
        self._current, self._last = None, (nodeid, phase)
        try:
            # No loop listed: none ran a callback in this phase (a sync test's every phase).
            loops = loops_of_phase() if active else []
            if loops:
                self._note_owners(loops, (nodeid, phase))
            if phase == "call":
                self._check_watched(item, call, ran_asyncio=bool(loops))
            if self._pending or self._unwatched:
                self._flush()
        except Exception:
            self._record_error()

    # -- what the probes report (called from loop threads; must never raise) ---------------

    def blocked_call(self, call: str, held: Held, caller: FrameType | None) -> None:
        try:
            stack = capture(caller, STOP_CODE, _OWN_FILES)
            self._add("call", call, held, stack, _current_task())
        except Exception:
            self._record_error()

    def slow_callback(self, held: Held, samples: list[list[FrameInfo]], callback: object) -> None:
        try:
            task = _task_of(callback)
            stack = self._representative([_without_tracer_frames(s) for s in samples])
            if stack:
                self._add("slow", None, held, stack, task)
            else:
                self._add(
                    "slow", None, held, _callback_frames(callback, task), task, NO_SAMPLE_NOTE
                )
        except Exception:
            self._record_error()

    def _note_owners(self, loops: list[object], phase: Phase) -> None:
        """A task that outlives the phase that made it is charged to that phase (see _charge).
        Read once per phase from the loops the phase ran, not per task created: a task made
        and finished within its phase never needs an owner."""
        for ran in loops:
            for task in asyncio.all_tasks(ran):  # type: ignore[arg-type]
                if task not in self._owners:
                    self._owners[task] = phase

    def foreign_loop(self, label: str) -> None:
        try:
            phase = self._current or self._last
            if phase is not None:
                self._add_unwatched(phase, label)
        except Exception:
            self._record_error()

    # -- findings --------------------------------------------------------------------------

    def _representative(self, samples: list[list[FrameInfo]]) -> list[FrameInfo]:
        """The stack whose blamed line turned up in most samples (first one on a tie)."""
        blamed = [self._paths.blamed(s) for s in samples]
        votes = Counter((b.filename, b.line) for b in blamed if b is not None)
        if not votes:
            return []
        best = max(votes, key=lambda loc: votes[loc])
        for stack, frame in zip(samples, blamed):
            if frame is not None and (frame.filename, frame.line) == best:
                return stack
        return []

    def _add(
        self,
        kind: str,
        call: str | None,
        held: Held,
        stack: list[FrameInfo],
        task: object | None,
        note: str | None = None,
    ) -> None:
        if not stack or is_import_time(stack) or self._allow.matches(stack):
            return
        charged = self._charge(task)
        blamed = self._paths.blamed(stack)
        if charged is None or blamed is None:
            return
        (test, phase), charge_note = charged
        wall_ms = _ms(held.wall)
        run_queue_ms = None if held.run_queue is None else _ms(held.run_queue)
        finding = Finding(
            test=test,
            phase=phase,
            kind=kind,
            call=call,
            file=self._paths.display(blamed.filename),
            line=blamed.line,
            # Rounded parts first, so the report's duration_ms is exactly wall_ms - run_queue_ms.
            duration_ms=wall_ms if run_queue_ms is None else round(wall_ms - run_queue_ms, 1),
            stack=tuple(stack),
            note=charge_note or note,
            wall_ms=wall_ms,
            run_queue_ms=run_queue_ms,
        )
        with self._pending_lock:
            self._pending.append(finding)

    def _charge(self, task: object | None) -> tuple[Phase, str | None] | None:
        """The test and phase to blame: a task's creator if the task outlived its test."""
        owner = self._owners.get(task) if task is not None else None
        current = self._current
        if owner is not None and (current is None or owner[0] != current[0]):
            return owner, OUTLIVED_NOTE
        if current is not None:
            return current, None
        if self._last is not None:
            return self._last, f"after this test's {self._last[1]} phase ended"
        return None  # before the first test (collection): no test to charge

    def _flush(self) -> None:
        # Nothing pending is the common case, read without the lock: a finding added
        # meanwhile waits for the next flush, charged to its own phase all the same.
        if not self._pending and not self._unwatched:
            return
        with self._pending_lock:
            pending, self._pending = self._pending, []
        merged: dict[tuple[str, str, str, int], Finding] = {}
        for finding in pending:
            seen = merged.get(finding.key)
            merged[finding.key] = finding if seen is None else seen.merged(finding)
        for key, finding in merged.items():
            if key not in self._emitted:
                self._emitted.add(key)
                self._emit(self._event(finding))
        unwatched, self._unwatched = self._unwatched, []
        for event in unwatched:
            self._emit(event)

    def _event(self, finding: Finding) -> dict[str, object]:
        event: dict[str, object] = {
            "test": finding.test,
            "phase": finding.phase,
            "kind": finding.kind,
            "call": finding.call,
            "file": finding.file,
            "line": finding.line,
            "duration_ms": finding.duration_ms,
            "wall_ms": finding.duration_ms if finding.wall_ms is None else finding.wall_ms,
            "run_queue_ms": finding.run_queue_ms,
            "worker": WORKER,
            # "project" and "async" let gate tell a line the project can change from a
            # library's own work (gate.blocking_triage).
            "stack": [
                {
                    "file": self._paths.display(f.filename),
                    "line": f.line,
                    "function": f.function,
                    "project": self._paths.is_project(f.filename),
                    "async": f.is_async,
                }
                for f in finding.stack
            ],
        }
        if finding.note:
            event["note"] = finding.note
        return event

    # -- loops gate cannot watch -----------------------------------------------------------

    def _check_watched(
        self, item: pytest.Item, call: pytest.CallInfo[None], *, ran_asyncio: bool
    ) -> None:
        label = _declared_foreign_runner(item)
        if label is None and not ran_asyncio and _ran_as_coroutine(item, call):
            label = "an event loop that is not asyncio's own (e.g. uvloop)"
        if label is not None:
            self._add_unwatched((item.nodeid, "call"), label)

    def _add_unwatched(self, phase: Phase, label: str) -> None:
        key = ("unwatched", phase[0])  # one per test: a trio test is seen two ways
        if key in self._emitted:
            return
        self._emitted.add(key)
        self._unwatched.append(
            {
                "kind": "unwatched",
                "unwatched": label,
                "test": phase[0],
                "phase": phase[1],
                "worker": WORKER,
                "reason": f"gate times asyncio's own event loop only; this test ran on {label}, "
                "so blocking calls and stalls in it are not detected",
            }
        )

    def _record_error(self) -> None:
        # Record, never raise: a detector bug must not change the tests' behaviour.
        if not self._errors:
            self._errors.append(traceback.format_exc())


def _declared_foreign_runner(item: pytest.Item) -> str | None:
    """A non-asyncio runner the test asks for by name (anyio backend, pytest-trio marker)."""
    backend = getattr(item, "funcargs", {}).get("anyio_backend")
    name, options = (
        (backend, {})
        if isinstance(backend, str)
        else (backend if isinstance(backend, tuple) and len(backend) == 2 else (None, {}))
    )
    if name == "trio":
        return "trio (anyio backend)"
    if name == "asyncio" and isinstance(options, dict) and options.get("use_uvloop"):
        return "uvloop (anyio asyncio backend with use_uvloop)"
    # A trio test runs trio, imported by then: no marker lookup (a walk up the node tree) for
    # every test of a run without it.
    if "trio" in sys.modules and item.get_closest_marker("trio") is not None:
        return "trio (pytest-trio)"
    return None


def _ran_as_coroutine(item: pytest.Item, call: pytest.CallInfo[None]) -> bool:
    """An async test that ran (not one pytest refused because no async plugin took it)."""
    if not inspect.iscoroutinefunction(getattr(item, "obj", None)):
        return False
    error = call.excinfo.value if call.excinfo is not None else None
    return not (isinstance(error, pytest.skip.Exception) or _UNSUPPORTED_ASYNC in str(error or ""))
