"""From results and thresholds to named checks and a verdict (pure: data in, data out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gate.coverage_data import CoverageResult
from gate.diff_coverage import DiffCoverage
from gate.findings import BlockingFinding, UnwatchedLoop
from gate.results import TestResults

SHOW_LOWEST = 3
SHOW_UNCOVERED = 5  # in the check's message; reports list every uncovered line


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    actual: Any
    expected: Any
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "actual": self.actual,
            "expected": self.expected,
            "message": self.message,
        }


def _pct(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") + "%"


def _names(ids: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def suite_check(results: TestResults) -> Check:
    totals = results.totals
    bad = [case.nodeid for case in results.bad_cases]
    errors = [nodeid or "(collection)" for nodeid, _ in results.collect_errors]
    if results.timed_out:
        stopped = sorted(results.timed_out)
        not_run = results.collected - len(results.cases)
        return Check(
            "tests",
            False,
            totals["failed"] + totals["errors"],
            0,
            f"{_names(stopped)} {results.timed_out[stopped[0]]}"
            + (f"; {not_run} other test(s) did not run" if not_run > 0 else ""),
        )
    if errors:
        return Check(
            "tests",
            False,
            len(errors),
            0,
            f"{len(errors)} file(s) failed to collect: {_names(errors)}",
        )
    if bad:
        return Check(
            "tests",
            False,
            len(bad),
            0,
            f"{len(bad)} of {totals['total']} tests failed: {_names(bad)}",
        )
    if totals["total"] == 0 or totals["passed"] == 0:
        return Check("tests", False, 0, ">=1", "no test ran; check tests.paths and tests.args")
    return Check("tests", True, 0, 0, f"all {totals['passed']} tests passed")


def _lowest(coverage: CoverageResult) -> list[tuple[str, float]]:
    return sorted(coverage.files.items(), key=lambda item: (item[1], item[0]))[:SHOW_LOWEST]


def coverage_floor_check(coverage: CoverageResult, floor: float) -> Check:
    passed = coverage.percent >= floor
    kind = "branch coverage" if coverage.branch else "coverage"
    if passed:
        message = f"{kind} {_pct(coverage.percent)} meets the {_pct(floor)} floor"
    elif not coverage.files:
        message = (
            f"{kind} {_pct(coverage.percent)} is below the {_pct(floor)} floor: no file of "
            "coverage.source was measured; the tests never imported it, or coverage.source "
            "names a package or folder that does not exist (check its spelling)"
        )
    else:
        lowest = ", ".join(f"{name} {_pct(pct)}" for name, pct in _lowest(coverage) if pct < 100)
        message = f"{kind} {_pct(coverage.percent)} is below the {_pct(floor)} floor" + (
            f"; lowest: {lowest}" if lowest else ""
        )
    return Check("coverage.fail_under", passed, coverage.percent, floor, message)


def per_file_check(coverage: CoverageResult, floor: float) -> Check:
    under = sorted(
        ((name, pct) for name, pct in coverage.files.items() if pct < floor), key=lambda i: i[1]
    )
    if not under:
        return Check(
            "coverage.per_file",
            True,
            len(coverage.files),
            floor,
            f"every measured file is at or above {_pct(floor)}",
        )
    listed = ", ".join(f"{name} {_pct(pct)}" for name, pct in under[:SHOW_LOWEST])
    more = f" and {len(under) - SHOW_LOWEST} more" if len(under) > SHOW_LOWEST else ""
    return Check(
        "coverage.per_file",
        False,
        under[0][1],
        floor,
        f"{len(under)} file(s) below the per-file floor of {_pct(floor)}: {listed}{more}",
    )


def diff_coverage_check(diff: DiffCoverage, floor: float, min_lines: int) -> Check:
    """coverage.diff: the changed executable lines since the base that the tests ran."""
    name = "coverage.diff"
    if diff.problem is not None:
        return Check(name, False, None, floor, diff.problem)
    since = f"since {diff.base.label}"
    places = diff.uncovered_places()
    uncovered = f"; uncovered: {_names(places, SHOW_UNCOVERED)}" if places else ""
    if diff.total == 0:
        return Check(name, True, diff.percent, floor, f"no changed executable lines {since}")
    if diff.total < min_lines:
        return Check(
            name,
            True,
            diff.percent,
            floor,
            f"exempt: {diff.total} changed executable line(s) {since}, fewer than "
            f"coverage.diff.min_lines ({min_lines}); {diff.covered} covered{uncovered}",
        )
    passed = diff.percent >= floor
    verb = "meets" if passed else "is below"
    return Check(
        name,
        passed,
        diff.percent,
        floor,
        f"diff coverage {_pct(diff.percent)} of {diff.total} changed line(s) {since} {verb} "
        f"the {_pct(floor)} floor{uncovered}",
    )


def blocking_check(findings: Sequence[BlockingFinding], mode: str) -> Check:
    places = sorted({f"{f.file}:{f.line}" for f in findings})
    if not findings:
        return Check("blocking", True, 0, 0, "no blocking calls in the event loop")
    message = f"{len(findings)} blocking call(s) in the event loop at {_names(places)}" + (
        "" if mode == "fail" else " (blocking.mode is warn: not failing the gate)"
    )
    return Check("blocking", mode != "fail", len(findings), 0, message)


def unwatched_check(unwatched: Sequence[UnwatchedLoop], mode: str) -> Check | None:
    if not unwatched:
        return None
    loops = sorted({u.loop for u in unwatched})
    return Check(
        "blocking.unwatched",
        mode != "fail",
        len(unwatched),
        0,
        f"{len(unwatched)} test(s) ran an event loop gate cannot watch ({', '.join(loops)}); "
        "their blocking calls were not checked",
    )


def evaluate(
    results: TestResults,
    coverage: CoverageResult | None,
    *,
    coverage_floor: float | None,
    per_file_floor: float,
    coverage_expected: bool,
    blocking_mode: str,
) -> list[Check]:
    checks = [suite_check(results)]
    if coverage_expected:
        if coverage is None:
            checks.append(
                Check(
                    "coverage",
                    False,
                    None,
                    coverage_floor,
                    "no coverage data was saved: the test process did not finish",
                )
            )
        else:
            if coverage_floor is not None:
                checks.append(coverage_floor_check(coverage, coverage_floor))
            if per_file_floor > 0:
                checks.append(per_file_check(coverage, per_file_floor))
    if blocking_mode != "off":
        checks.append(blocking_check(results.blocking, blocking_mode))
        unwatched = unwatched_check(results.unwatched, blocking_mode)
        if unwatched is not None:
            checks.append(unwatched)
    return checks


def verdict(checks: Sequence[Check], *, step_failed: bool) -> str:
    return "fail" if step_failed or not all(check.passed for check in checks) else "pass"
