"""The check `coverage.diff`: the changed executable lines since the base that the tests ran."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.checks.base import Check, Evidence, Judgement, names
from gate.checks.floors import meets_floor, shown_percent, two_decimals
from gate.diff_coverage import DiffCoverage

SHOW_UNCOVERED = 5  # in the check's message; reports list every uncovered line


def diff_coverage_check(diff: DiffCoverage, floor: float, min_lines: int) -> Check:
    name = "coverage.diff"
    if diff.problem is not None:
        return Check(name, False, None, floor, diff.problem)
    since = f"since {diff.base.label}"
    places = diff.uncovered_places()
    uncovered = f"; uncovered: {names(places, SHOW_UNCOVERED)}" if places else ""
    if diff.total == 0:
        return Check(name, True, diff.percent, floor, f"no changed executable lines {since}")
    if diff.total < min_lines:
        return Check(
            name,
            True,
            two_decimals(diff.percent),
            floor,
            f"exempt: {diff.total} changed executable line(s) {since}, fewer than "
            f"coverage.diff.min_lines ({min_lines}); {diff.covered} covered{uncovered}",
        )
    passed = meets_floor(diff.percent, floor)
    verb = "meets" if passed else "is below"
    return Check(
        name,
        passed,
        two_decimals(diff.percent),
        floor,
        f"diff coverage {shown_percent(diff.percent, floor)} of {diff.total} changed line(s) "
        f"{since} {verb} the {shown_percent(floor)} floor{uncovered}",
    )


class DiffCoverageCheck:
    name = "coverage.diff"
    empty_report: Mapping[str, Any] = {}

    def judge(self, evidence: Evidence) -> Judgement | None:
        settings = evidence.config.coverage.diff
        if settings is None or evidence.diff_coverage is None:
            return None
        check = diff_coverage_check(evidence.diff_coverage, settings.fail_under, settings.min_lines)
        return Judgement(checks=(check,))


CHECK = DiffCoverageCheck()
