"""`workers: auto`: the count predicted to finish first from what earlier runs recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.durations import read_durations, read_startup, record_startup, write_durations
from gate.results import TestCase, TestResults
from gate.workers import choose_workers, free_cpus, predicted_s


def suite_of(count: int, seconds: float) -> dict[str, float]:
    return {f"tests/test_a.py::test_{n}": seconds for n in range(count)}


@pytest.mark.parametrize(
    ("tests", "startup_s", "cpus", "free", "expected"),
    [
        (suite_of(2000, 0.0005), 1.0, 2, 2.0, 1),  # trivial tests: xdist's relay costs more
        (suite_of(2000, 0.02), 0.5, 2, 2.0, 2),  # 40 s of tests: two workers halve it
        (suite_of(2000, 0.02), 0.5, 2, 1.0, 2),  # ... even on a busy machine
        (suite_of(68, 0.22), 4.0, 2, 1.0, 1),  # the sample app on a busy machine
        (suite_of(2000, 0.02), 0.5, 4, 4.0, 4),
        (suite_of(2000, 0.02), 0.5, 1, 1.0, 1),
        ({}, None, 4, 1.0, 4),  # nothing recorded yet: every CPU, as before
    ],
)
def test_auto_picks_the_count_that_finishes_first(
    tests: dict[str, float], startup_s: float | None, cpus: int, free: float, expected: int
) -> None:
    assert choose_workers(tests, startup_s, cpus, free) == expected


def test_start_ups_queue_for_the_cpus_other_work_leaves_free() -> None:
    tests = suite_of(10, 1.0)
    assert predicted_s(2, tests, 2.0, free=1.0) > predicted_s(2, tests, 2.0, free=4.0)


def test_start_up_is_recorded_beside_the_durations_and_survives_their_update(
    tmp_path: Path,
) -> None:
    path = tmp_path / ".gate" / "durations.json"
    record_startup(path, 1.2345)
    results = TestResults(cases={"t::a": TestCase("t::a", outcome="passed", duration_s=0.5)})
    write_durations(path, results)
    assert read_startup(path) == 1.234
    assert read_durations(path) == {"t::a": 0.5}
    assert read_startup(tmp_path / "missing.json") is None


def test_free_cpus_counts_what_runs_now_not_the_last_minute(tmp_path: Path) -> None:
    loadavg = tmp_path / "loadavg"
    # A busy minute just ended (load 3.9) and nothing but gate runs now: both CPUs are free.
    loadavg.write_text("3.90 2.10 1.20 1/136 28786\n")
    assert free_cpus(2, loadavg) == 2.0
    # Two other processes run at this moment: none is left beside them (at least one).
    loadavg.write_text("0.10 0.10 0.10 3/140 28790\n")
    assert free_cpus(2, loadavg) == 1.0
    loadavg.write_text("0.10 0.10 0.10 2/140 28790\n")
    assert free_cpus(4, loadavg) == 3.0
