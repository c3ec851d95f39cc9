"""The checks a run is judged by, one module each; the judge runs them in this order.

To add a check: write a module here with an object that has a `name` and a
`judge(evidence) -> Judgement | None` (see base.py), and add it to REGISTERED.
"""

from __future__ import annotations

from typing import Any

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
from gate.checks.base import Check, Evidence, Finding, FindingKind, Judgement, RunCheck

REGISTERED: tuple[RunCheck, ...] = (
    suite.CHECK,
    database_use.CHECK,
    coverage_floor.CHECK,
    diff_coverage.CHECK,
    blocking.CHECK,
    server_errors.CHECK,
    migration_lint.CHECK,
    ratchet.CHECK,
)


def empty_reports(checks: tuple[RunCheck, ...] = REGISTERED) -> dict[str, Any]:
    """Every check's JSON report keys as they read before it ran."""
    return {key: value for check in checks for key, value in check.empty_report.items()}


def run_checks(evidence: Evidence, checks: tuple[RunCheck, ...] = REGISTERED) -> list[Judgement]:
    judged = (check.judge(evidence) for check in checks)
    return [judgement for judgement in judged if judgement is not None]


__all__ = ["Check", "Evidence", "Finding", "FindingKind", "Judgement", "RunCheck", "run_checks"]
