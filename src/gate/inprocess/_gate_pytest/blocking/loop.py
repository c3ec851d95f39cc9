"""Times every asyncio loop callback and samples the loop thread's stack while one runs long."""

from __future__ import annotations

import sys
import threading
from asyncio import events
from time import perf_counter
from typing import Callable, Protocol

from . import gcpause, sched
from .frames import FrameInfo, capture
from .patch import Patches
from .sched import Held

# Enough samples to vote on the blocking line; a stall longer than this keeps the first ones.
MAX_SAMPLES = 50
# A sample set nobody collected (its callback ended under the threshold in a race with the
# watchdog) is dropped after this long, so closed loops are not kept alive.
_STALE_S = 60.0

Samples = list[list[FrameInfo]]


class LoopRecorder(Protocol):
    """What the loop probe reports to (the plugin)."""

    def slow_callback(self, held: Held, samples: Samples, callback: object) -> None: ...


# Loop -> when its running callback started, 0.0 between callbacks. A loop runs one callback
# at a time, in the one thread that runs it, so the interceptors find "am I inside a timed
# callback?" from the running loop alone. The loops that ran callbacks stay listed (0.0) until
# the phase ends (loops_of_phase): that is how the plugin knows which loops a test ran, for
# no cost beyond the store that ends each callback.
active: dict[object, float] = {}
# Loop -> (start of the callback they belong to, stack samples): written by the watchdog,
# collected by the loop thread when the callback ends.
_samples: dict[object, tuple[float, Samples]] = {}

_recorder: LoopRecorder | None = None
_slow_s = float("inf")
_sample_after = float("inf")
_original_run: Callable[[events.Handle], None] = events.Handle._run


def _timed_run(
    self: events.Handle,
    _clock: Callable[[], float] = perf_counter,
    _active: dict[object, float] = active,
    _overdue: dict[object, tuple[float, Samples]] = _samples,
    _run: Callable[[events.Handle], None] = _original_run,
    _mark_due: list[float] = sched.mark_due,
    _mark: Callable[[float], None] = sched.mark,
) -> None:
    # Every asyncio loop callback, task steps included, runs through Handle._run: this is
    # the detector's whole per-callback cost, so it is kept lean (names bound as defaults
    # are local lookups; no allocation; one clock read).
    loop = self._loop  # type: ignore[attr-defined]
    start = _clock()
    _active[loop] = start
    if start >= _mark_due[0]:  # every sched.MARK_EVERY_S at most, never without schedstat
        _mark(start)
    try:
        _run(self)
    finally:
        _active[loop] = 0.0  # (nest_asyncio re-enters a loop: the outer callback is lost)
        # Only a callback the watchdog found overdue can be slow: the watchdog looks at every
        # running callback at least once per half threshold, and one holding the GIL in C is
        # looked at the moment the C call returns. So the end time is read only for those.
        if _overdue:
            _overdue_callback_ended(self, loop, start, _clock)


def _overdue_callback_ended(
    handle: events.Handle, loop: object, start: float, clock: Callable[[], float]
) -> None:
    elapsed = clock() - start
    taken = _samples.get(loop)
    if taken is None or taken[0] > start:
        return  # another loop's callback is overdue
    _samples.pop(loop, None)  # this callback's samples, or stale ones of an earlier callback
    if taken[0] == start and elapsed >= _slow_s and _recorder is not None:
        # Judged on what the loop thread did: time it waited for a CPU, or for the garbage
        # collector that stops every thread, is not its block.
        waited = sched.run_queue_ns()  # before the end time: see callback_held
        elapsed = clock() - start
        held = sched.callback_held(start, elapsed, waited)
        collecting = gcpause.paused_within(start, start + elapsed)
        if collecting:
            held = held._replace(seconds=max(0.0, held.seconds - collecting))
        if held.seconds >= _slow_s:
            _recorder.slow_callback(held, taken[1], getattr(handle, "_callback", None))


def loops_of_phase() -> list[object]:
    """The loops that ran a callback since the last call, forgotten now unless one is
    running a callback (a loop in another thread, across a test's phases)."""
    seen = list(active)
    for loop in seen:
        if active.get(loop) == 0.0:
            active.pop(loop, None)  # a callback starting meanwhile re-adds it at once
    return seen


STOP_CODE = _timed_run.__code__


class _Watchdog(threading.Thread):
    """Watches the running callbacks; samples the stack of any that has run past `sample_after`."""

    def __init__(
        self,
        sample_after: float,
        interval: float,
        skip: frozenset[str],
        on_error: Callable[[], None],
    ) -> None:
        super().__init__(name="gate-blocking-watchdog", daemon=True)
        self._sample_after = sample_after
        self._interval = interval
        self._skip = skip
        self._on_error = on_error
        self._halt = threading.Event()

    def run(self) -> None:
        pause = self._sample_after
        while not self._halt.wait(pause):
            try:
                pause = self._sample_overdue()
            except Exception:
                # Stop sampling rather than die noisily in the tests' process.
                self._on_error()
                return

    def halt(self) -> None:
        self._halt.set()
        self.join()

    def _sample_overdue(self) -> float:
        """Samples overdue callbacks; returns how long to wait before looking again."""
        now = perf_counter()
        running = {loop: start for loop, start in active.copy().items() if start}
        overdue = [loop for loop, start in running.items() if now - start >= self._sample_after]
        for loop, (start, _) in _samples.copy().items():
            if now - start > _STALE_S and running.get(loop) != start:
                _samples.pop(loop, None)
        if not overdue:
            # Nothing can become overdue before the oldest running callback does: waking
            # only then keeps the watchdog off the GIL while the loops run short callbacks.
            oldest = min(running.values(), default=now)
            return max(self._sample_after - (now - oldest), self._interval)
        frames = sys._current_frames()
        for loop in overdue:
            start = running[loop]
            # BaseEventLoop records the thread that runs it.
            frame = frames.get(getattr(loop, "_thread_id", None) or -1)
            taken = _samples.get(loop)
            if taken is None or taken[0] != start:
                taken = _samples[loop] = (start, [])
            if frame is not None and len(taken[1]) < MAX_SAMPLES:
                taken[1].append(capture(frame, STOP_CODE, self._skip))
        del frames  # frame objects keep whole stacks alive
        return self._interval


class LoopProbe:
    """Installs the callback timer, the task-creation hook and the watchdog thread."""

    def __init__(
        self,
        recorder: LoopRecorder,
        slow_ms: float,
        skip: frozenset[str],
        on_error: Callable[[], None],
    ) -> None:
        self._recorder = recorder
        self._on_error = on_error
        self._slow_s = slow_ms / 1000.0 if slow_ms > 0 else float("inf")
        self._skip = skip
        self._patches = Patches()
        self._watchdog: _Watchdog | None = None

    def install(self) -> None:
        global _recorder, _slow_s, _sample_after
        # Sample from half the threshold on, so a stall just over it still has samples.
        _recorder, _slow_s, _sample_after = self._recorder, self._slow_s, self._slow_s / 2
        sched.enable()
        gcpause.enable()
        self._patches.replace(events.Handle, "_run", _timed_run)
        if self._slow_s != float("inf"):
            # While a callback is overdue, sample ten times per threshold, within 2..20 ms.
            interval = min(max(self._slow_s / 10, 0.002), 0.02)
            self._watchdog = _Watchdog(_sample_after, interval, self._skip, self._on_error)
            self._watchdog.start()

    def uninstall(self) -> None:
        global _recorder, _slow_s, _sample_after
        if self._watchdog is not None:
            self._watchdog.halt()
            self._watchdog = None
        self._patches.undo()
        sched.disable()
        gcpause.disable()
        _recorder, _slow_s, _sample_after = None, float("inf"), float("inf")
        _samples.clear()
        active.clear()
