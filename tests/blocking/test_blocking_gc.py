"""A garbage-collection pause is not a callback's block: no line of the project's ends it (it
falls wherever an allocation crosses the collector's threshold), so it never fails a run."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from gate.inprocess._gate_pytest.blocking.loop import LoopProbe
from gate.inprocess._gate_pytest.blocking.sched import Held

SLOW_MS = 40


class Recorder:
    def __init__(self) -> None:
        self.slow: list[Held] = []

    def slow_callback(self, held: Held, samples: Any, callback: object) -> None:
        self.slow.append(held)


def cyclic_garbage(count: int) -> None:
    for _ in range(count):
        cell: list[object] = []
        cell.append(cell)  # only the cyclic collector frees it


async def collect_then_spin(recorder: Recorder) -> tuple[float, int]:
    """One callback that spends > SLOW_MS collecting garbage, then one that computes as long."""
    started = time.perf_counter()
    gc.collect()
    collecting = time.perf_counter() - started
    await asyncio.sleep(0)  # the collecting callback ends here; it would be reported now
    after_gc = len(recorder.slow)
    # CPU time, not wall time: on a busy machine a wall-clock spin may wait for a CPU for
    # most of it, and time spent waiting for a CPU is rightly not counted as a block.
    deadline = time.thread_time() + 2 * SLOW_MS / 1000
    while time.thread_time() < deadline:
        pass
    return collecting, after_gc


def test_a_collection_pause_is_left_out_and_computing_as_long_is_not() -> None:
    recorder = Recorder()
    probe = LoopProbe(recorder, SLOW_MS, frozenset(), lambda: None)  # type: ignore[arg-type]
    gc.disable()  # the garbage waits for the callback's collection
    try:
        cyclic_garbage(1_000_000)
        probe.install()
        try:
            collecting, after_gc = asyncio.run(collect_then_spin(recorder))
        finally:
            probe.uninstall()
    finally:
        gc.enable()
    assert collecting * 1000 > 2 * SLOW_MS, "the collection must take long enough to matter"
    assert after_gc == 0, "the callback that only collected garbage was reported"
    assert len(recorder.slow) == 1  # the computing one
    assert recorder.slow[0].seconds * 1000 >= SLOW_MS
