"""The checks a run is judged by, one module each; the judge runs them in this order.

To add a check: write a module here with an object that has a `name` and a
`judge(evidence) -> Judgement | None` (see base.py), and add it to registered().
"""

from __future__ import annotations

import functools
from typing import Any

from gate.checks.base import Check, Evidence, Finding, FindingKind, Judgement, RunCheck


@functools.cache
def registered() -> tuple[RunCheck, ...]:
    """Every check, in the judge's order. Their modules (and what they import: the ratchet,
    the migration lint, squawk's runner) load when a run is first judged, not when gate
    starts: `gate --help`, `gate check` and a run's start do without them."""
    from gate.checks import (
        blocking,
        coverage_floor,
        database_use,
        diff_coverage,
        migration_lint,
        ratchet,
        server_errors,
        suite,
    )

    return (
        suite.CHECK,
        database_use.CHECK,
        coverage_floor.CHECK,
        diff_coverage.CHECK,
        blocking.CHECK,
        server_errors.CHECK,
        migration_lint.CHECK,
        ratchet.CHECK,
    )


def empty_reports(checks: tuple[RunCheck, ...] | None = None) -> dict[str, Any]:
    """Every check's JSON report keys as they read before it ran."""
    chosen = registered() if checks is None else checks
    return {key: value for check in chosen for key, value in check.empty_report.items()}


def run_checks(evidence: Evidence, checks: tuple[RunCheck, ...] | None = None) -> list[Judgement]:
    judged = (check.judge(evidence) for check in (registered() if checks is None else checks))
    return [judgement for judgement in judged if judgement is not None]


__all__ = [
    "Check", "Evidence", "Finding", "FindingKind", "Judgement", "RunCheck", "registered",
    "run_checks",
]  # fmt: skip
