"""How many xdist workers `tests.workers: auto` runs: the count predicted to finish first.

The prediction uses what the last runs recorded in tests.durations (.gate/durations.json):
each test's duration and the start-up of the test process (imports and collection, until
the first test starts), which every worker and xdist's controller pay again. Start-up is
CPU work and the processes start at once, so they queue for the CPUs that other work
(the processes running now) leaves free; and the controller relays every report, a cost per
test that one process does not have. (Measured on the sample app: with two workers on a busy 2-CPU
machine, the run took three times the CPU of one process.) A count is taken only when it is
predicted to be clearly faster than one process: a wrong guess costs more than it saves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: xdist's own start: the controller, execnet gateways, the worker's interpreter.
XDIST_START_S = 0.8
#: The controller's work per test: receiving, unpacking and reporting three reports.
RELAY_PER_TEST_S = 0.003
#: More workers only when predicted to take at most this share of one process's time.
CLEARLY_FASTER = 0.8


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no sched_getaffinity on macOS and Windows
        return os.cpu_count() or 1


def free_cpus(cpus: int, loadavg: Path = Path("/proc/loadavg")) -> float:
    """CPUs that other work leaves free now (gate's tests have not started yet).

    Linux's count of processes running at this moment (the fourth field of /proc/loadavg,
    less gate itself), not the one-minute load average: that average still holds the run
    that just ended (a build, the previous gate run) a minute later, and would keep a suite
    in one process on an idle machine. Elsewhere, the load average.
    """
    try:
        running = int(loadavg.read_text().split()[3].split("/")[0]) - 1
    except (OSError, ValueError, IndexError):
        try:
            running = round(os.getloadavg()[0])
        except (AttributeError, OSError):  # no load average on Windows
            running = 0
    return max(1.0, cpus - max(0, running))


def predicted_s(workers: int, tests: Mapping[str, float], startup_s: float, free: float) -> float:
    """Wall time of a run with `workers` xdist workers (1: no xdist), `free` CPUs idle."""
    total = sum(tests.values())
    if workers <= 1:
        return startup_s + total
    processes = workers + 1  # the controller collects too
    starting = startup_s * max(1.0, processes / free)
    return XDIST_START_S + starting + total / workers + RELAY_PER_TEST_S * len(tests)


def choose_workers(
    tests: Mapping[str, float], startup_s: float | None, cpus: int, free: float | None = None
) -> int:
    """The worker count for `auto` (at most `cpus`); all CPUs when nothing is recorded yet."""
    if not tests or startup_s is None:
        return max(1, cpus)
    idle = float(cpus) if free is None else free
    one = predicted_s(1, tests, startup_s, idle)
    counts = range(1, max(1, cpus) + 1)
    best = min(counts, key=lambda n: predicted_s(n, tests, startup_s, idle))
    return best if predicted_s(best, tests, startup_s, idle) <= CLEARLY_FASTER * one else 1
