"""Garbage-collection pauses, left out of a callback's held time.

While CPython's cyclic collector runs, every thread's Python code waits, the loop's included.
No line of the project's ends such a pause (it falls wherever an allocation crosses the
collector's threshold: an asyncio.Queue made inside a library, say), so, like a wait for a CPU
(sched.py), it is not the callback's block. The pauses are noted by a gc callback, a few per
second at most, and only read for a callback that already ran long: nothing per callback.
"""

from __future__ import annotations

import collections
import gc
from time import perf_counter
from typing import Any

# The latest pauses; a stall long enough to be judged spans only the last few of them.
_KEEP = 256
_pauses: collections.deque[tuple[float, float]] = collections.deque(maxlen=_KEEP)
_started = [0.0]


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    # Runs in whichever thread triggered the collection, holding the GIL throughout.
    if phase == "start":
        _started[0] = perf_counter()
    elif _started[0]:
        _pauses.append((_started[0], perf_counter()))
        _started[0] = 0.0


def enable() -> None:
    if _on_gc not in gc.callbacks:
        gc.callbacks.append(_on_gc)


def disable() -> None:
    while _on_gc in gc.callbacks:
        gc.callbacks.remove(_on_gc)
    _pauses.clear()
    _started[0] = 0.0


def paused_within(start: float, end: float) -> float:
    """Seconds of garbage collection between start and end (perf_counter times)."""
    return sum(max(0.0, min(stop, end) - max(begun, start)) for begun, stop in list(_pauses))
