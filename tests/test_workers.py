"""`workers: auto`: the count predicted to finish first from what earlier runs recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.durations import read_durations, read_startup, record_startup, write_durations
from gate.results import TestCase, TestResults
from gate.workers import choose_workers, predicted_s


def suite_of(count: int, seconds: float) -> dict[str, float]:
    return {f"tests/test_a.py::test_{n}": seconds for n in range(count)}


@pytest.mark.parametrize(
    ("tests", "startup_s", "cpus", "expected"),
    [
        (suite_of(2000, 0.0005), 1.0, 2, 1),  # trivial tests: xdist's relay costs more
        (suite_of(2000, 0.02), 0.5, 2, 2),  # 40 s of tests: two workers halve it
        (suite_of(68, 0.12), 3.0, 2, 1),  # a small app suite: start-up dominates
        (suite_of(2000, 0.02), 0.5, 4, 4),
        (suite_of(2000, 0.02), 0.5, 1, 1),
        ({}, None, 4, 4),  # nothing recorded yet: every CPU, as before
    ],
)
def test_auto_picks_the_count_that_finishes_first(
    tests: dict[str, float], startup_s: float | None, cpus: int, expected: int
) -> None:
    assert choose_workers(tests, startup_s, cpus) == expected


def test_more_workers_than_cpus_queue_their_start_up() -> None:
    tests = suite_of(10, 1.0)
    assert predicted_s(2, tests, 2.0, cpus=2) > predicted_s(2, tests, 2.0, cpus=4)


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
