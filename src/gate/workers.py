"""How many xdist workers `tests.workers: auto` runs: the count predicted to finish first.

The prediction uses what the last runs recorded in tests.durations (.gate/durations.json):
each test's duration and the start-up of the test process (imports and collection, until
the first test starts), which every worker pays again. Workers start at once, so on fewer
CPUs than processes their start-ups queue; and xdist's controller relays every report, a
cost per test that one process does not have. A count is taken only when it is predicted
to be clearly faster than one process, because a wrong guess costs more than it saves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

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


def predicted_s(workers: int, tests: Mapping[str, float], startup_s: float, cpus: int) -> float:
    """Wall time of a run with `workers` xdist workers (1: no xdist)."""
    total = sum(tests.values())
    if workers <= 1:
        return startup_s + total
    processes = workers + 1  # the controller collects too
    starting = startup_s * max(1.0, processes / cpus)
    return XDIST_START_S + starting + total / workers + RELAY_PER_TEST_S * len(tests)


def choose_workers(tests: Mapping[str, float], startup_s: float | None, cpus: int) -> int:
    """The worker count for `auto`; all CPUs when nothing has been recorded yet."""
    if not tests or startup_s is None:
        return max(1, cpus)
    one = predicted_s(1, tests, startup_s, cpus)
    best = min(range(1, max(1, cpus) + 1), key=lambda n: predicted_s(n, tests, startup_s, cpus))
    return best if predicted_s(best, tests, startup_s, cpus) <= CLEARLY_FASTER * one else 1
