"""Recorded test durations (tests.durations, .gate/durations.json): what `--shard` balances by."""

from __future__ import annotations

import json
from pathlib import Path

from gate.reporters.output import write_report
from gate.results import TestResults

SCHEMA = "gate.durations/1"


def read_durations(path: Path | None) -> dict[str, float]:
    """{nodeid: seconds}; empty when there is no file yet or it is not one gate wrote."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    tests = data.get("tests") if isinstance(data, dict) else None
    if not isinstance(tests, dict):
        return {}
    return {
        str(nodeid): float(seconds)
        for nodeid, seconds in tests.items()
        if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds >= 0
    }


def read_startup(path: Path | None) -> float | None:
    """Seconds from starting the test process to its first test, as last recorded."""
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path is not None else None
    except (OSError, ValueError):
        return None
    value = data.get("startup_s") if isinstance(data, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


def record_startup(path: Path, seconds: float) -> None:
    """Note a one-process run's start-up (what `workers: auto` weighs), keeping the tests."""
    write_report(path, _render(read_durations(path), round(seconds, 3)))


def _render(tests: dict[str, float], startup_s: float | None) -> str:
    data: dict[str, object] = {"schema": SCHEMA, "tests": tests}
    if startup_s is not None:
        data["startup_s"] = startup_s
    return json.dumps(data, indent=1) + "\n"


def updated_durations(previous: dict[str, float], results: TestResults) -> dict[str, float]:
    """The previous record with this run's tests replaced: a run of a few tests keeps the rest."""
    durations = dict(previous)
    for case in results.cases.values():
        if case.outcome != "running":
            durations[case.nodeid] = round(case.duration_s, 4)
    return dict(sorted(durations.items()))


def write_durations(path: Path, results: TestResults) -> None:
    durations = updated_durations(read_durations(path), results)
    write_report(path, _render(durations, read_startup(path)))
