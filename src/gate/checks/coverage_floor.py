"""The checks `coverage.fail_under` and `coverage.per_file`: total and per-file floors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.checks.base import Check, Evidence, Judgement
from gate.checks.floors import meets_floor, shown_percent, two_decimals
from gate.coverage_data import CoverageResult
from gate.previous_run import PreviousCoverage, dropped_first

SHOW_LOWEST = 3


def _lowest(coverage: CoverageResult) -> list[tuple[str, float]]:
    return sorted(coverage.files.items(), key=lambda item: (item[1], item[0]))[:SHOW_LOWEST]


def coverage_floor_check(
    coverage: CoverageResult, floor: float, previous: PreviousCoverage | None = None
) -> Check:
    passed = meets_floor(coverage.percent, floor)
    kind = "branch coverage" if coverage.branch else "coverage"
    value, wanted = shown_percent(coverage.percent, floor), shown_percent(floor)
    if passed:
        message = f"{kind} {value} meets the {wanted} floor"
    elif not coverage.files:
        message = (
            f"{kind} {value} is below the {wanted} floor: no file of "
            "coverage.source was measured; the tests never imported it, or coverage.source "
            "names a package or folder that does not exist (check its spelling)"
        )
    else:
        lowest = ", ".join(
            f"{name} {shown_percent(pct)}" for name, pct in _lowest(coverage) if pct < 100
        )
        # The file that lost the most since the last run is what a change broke; the lowest
        # files may have been low for years.
        dropped = None if previous is None else dropped_first(coverage, previous)
        message = (
            f"{kind} {value} is below the {wanted} floor"
            + (f"; dropped since the last run: {dropped}" if dropped else "")
            + (f"; lowest: {lowest}" if lowest else "")
        )
    return Check("coverage.fail_under", passed, two_decimals(coverage.percent), floor, message)


def per_file_check(coverage: CoverageResult, floor: float) -> Check:
    under = sorted(
        ((name, pct) for name, pct in coverage.files.items() if not meets_floor(pct, floor)),
        key=lambda item: item[1],
    )
    if not under:
        return Check(
            "coverage.per_file",
            True,
            len(coverage.files),
            floor,
            f"every measured file is at or above {shown_percent(floor)}",
        )
    listed = ", ".join(f"{name} {shown_percent(pct, floor)}" for name, pct in under[:SHOW_LOWEST])
    more = f" and {len(under) - SHOW_LOWEST} more" if len(under) > SHOW_LOWEST else ""
    return Check(
        "coverage.per_file",
        False,
        two_decimals(under[0][1]),
        floor,
        f"{len(under)} file(s) below the per-file floor of {shown_percent(floor)}: {listed}{more}",
    )


class CoverageFloorCheck:
    name = "coverage"
    empty_report: Mapping[str, Any] = {}

    def judge(self, evidence: Evidence) -> Judgement | None:
        settings = evidence.config.coverage
        if not settings.measured or evidence.partial:
            return None  # one shard's coverage is a part of the whole: `gate merge` judges it
        coverage = evidence.coverage
        if coverage is None:
            message = "no coverage data was saved: the test process did not finish"
            return Judgement(checks=(Check("coverage", False, None, settings.fail_under, message),))
        checks = [coverage_floor_check(coverage, settings.fail_under, evidence.previous_coverage)]
        if settings.per_file > 0:
            checks.append(per_file_check(coverage, settings.per_file))
        return Judgement(checks=tuple(checks))


CHECK = CoverageFloorCheck()
