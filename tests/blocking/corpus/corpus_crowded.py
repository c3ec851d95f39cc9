"""Loop callbacks run while busy processes crowd their CPU (copied as test_crowded.py).

The fixture pins the thread that runs pytest-asyncio's loops to one CPU and starts BUSY
spinning processes pinned to the same CPU, so the loop thread spends most of each callback
runnable but waiting on the run queue. Each test measures its own callback from inside it
(wall time, CPU time, run-queue wait from schedstat) and leaves the figures in crowded.json
for the test that ran this project to set beside what the detector reported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from hashlib import sha256
from pathlib import Path
from time import thread_time as cpu

import pytest

BUSY = 7  # the loop thread gets about 1/8 of its CPU: 20 ms of CPU work takes ~160 ms
MEASURED: dict[str, dict[str, float]] = {}

# Spins until killed, and in any case stops after a minute or once its parent is gone.
SPINNER = """
import os, sys, time
os.sched_setaffinity(0, {CPU})
parent, stop = os.getppid(), time.monotonic() + 60
print("spinning", flush=True)
while time.monotonic() < stop and os.getppid() == parent:
    pass
"""


def _schedstat() -> tuple[int, int]:
    # os.open/os.read: the detector does not intercept them, so measuring adds no finding.
    fd = os.open(f"/proc/self/task/{threading.get_native_id()}/schedstat", os.O_RDONLY)
    try:
        on_cpu, waited, _slices = os.read(fd, 128).split()
    finally:
        os.close(fd)
    return int(on_cpu), int(waited)


class Measured:
    """Wall time, CPU time and run-queue wait of the block it wraps, in ms."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> Measured:
        _, self.waited = _schedstat()
        self.wall, self.cpu = time.perf_counter(), time.thread_time()
        return self

    def __exit__(self, *exc: object) -> None:
        _, waited = _schedstat()
        MEASURED[self.name] = {
            "wall_ms": (time.perf_counter() - self.wall) * 1000,
            "cpu_ms": (time.thread_time() - self.cpu) * 1000,
            "run_queue_ms": (waited - self.waited) / 1e6,
        }


@pytest.fixture(scope="module", autouse=True)
def crowded_cpu() -> Iterator[None]:
    before = os.sched_getaffinity(0)
    cpu = min(before)
    os.sched_setaffinity(0, {cpu})  # this thread only: the one that runs the loops
    spinners = [
        subprocess.Popen(
            [sys.executable, "-c", SPINNER.replace("{CPU}", f"{{{cpu}}}")],
            stdout=subprocess.PIPE,
        )
        for _ in range(BUSY)
    ]
    try:
        for spinner in spinners:
            assert spinner.stdout is not None and spinner.stdout.readline() == b"spinning\n"
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
            if spinner.stdout is not None:
                spinner.stdout.close()
        os.sched_setaffinity(0, before)
        # A sync fixture's teardown runs outside the loop: writing here is not a finding.
        Path("crowded.json").write_text(json.dumps(MEASURED))


def burn_cpu(seconds: float) -> None:
    deadline = cpu() + seconds
    while cpu() < deadline:
        pass


def hash_for(seconds: float) -> bytes:
    """Hashes until `seconds` of CPU time are spent, on one line so every sample lands on it."""
    end = cpu() + seconds
    # expect: test_crowded.py::test_hashing call slow -
    return max(sha256(b"%d" % n).digest() for n, _ in enumerate(iter(lambda: cpu() < end, False)))


pytestmark = pytest.mark.asyncio


async def test_short_cpu_work() -> None:
    # ~20 ms of CPU spread over ~160 ms of wall time: the rest is waiting for the CPU.
    with Measured("test_short_cpu_work"):
        burn_cpu(0.02)


async def test_sleeping() -> None:
    with Measured("test_sleeping"):
        time.sleep(0.2)  # expect: test_crowded.py::test_sleeping call call time.sleep


async def test_waiting_in_c() -> None:
    # Not an intercepted call: only the stall timer can see it, and the wait still counts.
    with Measured("test_waiting_in_c"):
        threading.Event().wait(0.2)  # expect: test_crowded.py::test_waiting_in_c call slow -


async def test_hashing() -> None:
    with Measured("test_hashing"):
        assert len(hash_for(0.3)) == 32  # ~300 ms of CPU, ~2.4 s of wall time
