"""How long a loop thread waited for a CPU, from Linux's per-thread schedstat.

A thread that is runnable but waits on a run queue (a crowded CI machine) does not block its
loop by anything it does, so a callback's or a call's time is its wall time less that wait;
time asleep or blocked in a system call still counts. /proc/self/task/TID/schedstat holds
"ns on CPU, ns waiting on a run queue, timeslices". Where it cannot be read (macOS, no /proc,
a kernel that keeps no scheduler statistics) the wait is unknown and wall time is used.
"""

from __future__ import annotations

import os
import threading
from typing import Callable, NamedTuple

_PATH = "/proc/self/task/{}/schedstat"
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)  # no O_CLOEXEC on Windows
# A callback notes its thread's run-queue wait when it starts, at most this often: a read is
# a system call, too dear for every callback (once a millisecond cost ~1.4% of a loop-bound
# suite). A callback's wait is counted from its thread's latest note, which (with one loop
# thread) is never older than this when the callback starts: a slow callback is credited
# with at most this much less of the CPU wait it had, against a threshold of 100 ms.
MARK_EVERY_S = 0.004
_MAX_MARKS = 1024  # thread ids seen; past this many (thread churn), start over

_NEVER = float("inf")
# When the next callback to start notes its thread's wait; never until `enable` finds
# schedstat readable, so it also says whether waits are measured. A list, so the hot path
# binds it once and reads one item.
mark_due = [_NEVER]
# Thread (native id) -> (perf_counter time, the thread's total run-queue wait then, in ns).
_marks: dict[int, tuple[float, int]] = {}


class Held(NamedTuple):
    """How long a callback or a call held the loop."""

    seconds: float  # wall time less the run-queue wait (wall time where that is unknown)
    wall: float
    run_queue: float | None  # None: schedstat is not readable here


class _ThreadFile:
    """The calling thread's schedstat, kept open so a read is one pread, not open+read+close.

    Owned by its thread (in a threading.local), so it closes when the thread ends and no
    thread closes a descriptor another one may be reading.
    """

    def __init__(self, tid: int, fd: int) -> None:
        self.tid = tid
        self.fd = fd

    def __del__(self, _close: Callable[[int], None] = os.close) -> None:
        try:  # noqa: SIM105 (bound as a default: at interpreter exit `os` may be gone)
            _close(self.fd)
        except OSError:
            pass


_local = threading.local()


def _parse(raw: bytes) -> int | None:
    fields = raw.split()
    # A kernel that keeps no scheduler statistics prints "0 0 0"; otherwise the thread
    # reading its own line is running, so it has had at least one timeslice.
    if len(fields) != 3 or fields[2] == b"0":
        return None
    try:
        return int(fields[1])
    except ValueError:
        return None


def _thread_file(tid: int) -> _ThreadFile | None:
    held = getattr(_local, "file", None)
    if isinstance(held, _ThreadFile) and held.tid == tid:
        return held
    if held is False:
        return None
    # The first read in this thread, or a forked child (a new thread id) holding its
    # parent's file.
    try:
        opened = _ThreadFile(tid, os.open(_PATH.format(tid), _OPEN_FLAGS))
    except OSError:
        _local.file = False
        return None
    _local.file = opened
    return opened


def run_queue_ns(tid: int | None = None) -> int | None:
    """The calling thread's total run-queue wait in ns, or None where it is not readable."""
    held = _thread_file(threading.get_native_id() if tid is None else tid)
    if held is None:
        return None
    try:
        return _parse(os.pread(held.fd, 128, 0))
    except OSError:
        return None


def enable() -> bool:
    """Starts noting run-queue waits if this system can read them; says whether it can."""
    mark_due[0] = _NEVER if run_queue_ns() is None else 0.0
    return measuring()


def disable() -> None:
    mark_due[0] = _NEVER
    _marks.clear()


def measuring() -> bool:
    return mark_due[0] != _NEVER


def mark(now: float) -> None:
    """Notes the calling thread's wait; a callback that started at `now` calls this."""
    mark_due[0] = now + MARK_EVERY_S
    try:
        tid = threading.get_native_id()
        waited = run_queue_ns(tid)
        if waited is not None:
            if len(_marks) >= _MAX_MARKS:
                _marks.clear()
            _marks[tid] = (now, waited)
    except Exception:  # runs inside the project's callbacks: stop measuring, never break them
        disable()


def callback_held(start: float, wall: float, now: int | None = None) -> Held:
    """Time held by the callback that started at `start` and ran `wall` seconds until now.

    The wait counted is the one since the thread's latest note (taken at or before `start`),
    less the time between that note and `start`: the part that certainly fell inside the
    callback. So a callback is never credited with a wait it did not have; it may miss at
    most MARK_EVERY_S of one (more only while several loop threads share the note's rate).
    `now`, the thread's wait read before the clock that gave `wall` (run_queue_ns): read
    after it, a wait between the two reads would be taken off a wall time that lacks it.
    """
    if not measuring():
        return Held(wall, wall, None)
    tid = threading.get_native_id()
    noted = _marks.get(tid)
    if now is None:
        now = run_queue_ns(tid)
    if noted is None or now is None or noted[0] > start:
        # No note from before this callback (a loop nested in another's callback noted
        # since): only the wall time is known for sure.
        return Held(wall, wall, None)
    waited = max(0.0, min(wall, (now - noted[1]) / 1e9 - (start - noted[0])))
    return Held(wall - waited, wall, waited)


def call_started() -> int | None:
    """The calling thread's wait before a call, for `call_held`; None without schedstat."""
    return run_queue_ns() if measuring() else None


def call_held(before: int | None, wall: float, after: int | None = None) -> Held:
    """Time held by a call that ran `wall` seconds, `before` being `call_started()` (read after
    the clock that started `wall`) and `after` the wait read before the clock that ended it:
    a wait outside the wall time is never taken off it."""
    if before is not None and after is None:
        after = run_queue_ns()
    if before is None or after is None:
        return Held(wall, wall, None)
    waited = max(0.0, min(wall, (after - before) / 1e9))
    return Held(wall - waited, wall, waited)
