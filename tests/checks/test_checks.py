"""Checks and verdicts are pure functions: a truth table per check."""

from __future__ import annotations

import pytest

from gate.checks.base import Check
from gate.checks.blocking import blocking_check
from gate.checks.coverage_floor import coverage_floor_check, per_file_check
from gate.checks.suite import suite_check
from gate.coverage_data import CoverageResult
from gate.findings import BlockingFinding
from gate.results import TestCase, TestResults


def results_with(*outcomes: str, collected: int | None = None) -> TestResults:
    results = TestResults()
    for index, outcome in enumerate(outcomes):
        nodeid = f"tests/test_a.py::test_{index}"
        results.cases[nodeid] = TestCase(nodeid, outcome=outcome)
    results.collected = len(outcomes) if collected is None else collected
    return results


def coverage(percent: float, files: dict[str, float], branch: bool = True) -> CoverageResult:
    return CoverageResult(percent=percent, branch=branch, files=files)


@pytest.mark.parametrize(
    ("outcomes", "passed", "message"),
    [
        (("passed", "passed"), True, "all 2 tests passed"),
        (("passed", "skipped"), True, "all 1 tests passed"),
        (("passed", "failed"), False, "1 of 2 tests failed: tests/test_a.py::test_1"),
        (("error", "passed"), False, "1 of 2 tests failed: tests/test_a.py::test_0"),
        ((), False, "no test ran; check tests.paths and tests.args"),
        (("skipped",), False, "no test ran; check tests.paths and tests.args"),
        (
            ("failed",) * 5,
            False,
            "5 of 5 tests failed: tests/test_a.py::test_0, tests/test_a.py::test_1, "
            "tests/test_a.py::test_2 and 2 more",
        ),
    ],
)
def test_tests_check(outcomes: tuple[str, ...], passed: bool, message: str) -> None:
    check = suite_check(results_with(*outcomes))
    assert (check.passed, check.message) == (passed, message)


def test_collection_error_fails_even_when_every_collected_test_passed() -> None:
    results = results_with("passed")
    results.collect_errors.append(("tests/test_b.py", "SyntaxError"))
    check = suite_check(results)
    assert not check.passed
    assert check.message == "1 file(s) failed to collect: tests/test_b.py"


def test_timed_out_test_is_named_with_how_many_never_ran() -> None:
    results = results_with("passed", "error", collected=5)
    results.timed_out["tests/test_a.py::test_1"] = "hung past tests.timeout (1s) and was stopped"
    check = suite_check(results)
    assert not check.passed
    assert check.message == (
        "tests/test_a.py::test_1 hung past tests.timeout (1s) and was stopped; "
        "3 other test(s) did not run"
    )


@pytest.mark.parametrize(
    ("percent", "floor", "passed"),
    [(90.0, 90.0, True), (89.99, 90.0, False), (100.0, 100.0, True), (0.0, 0.0, True)],
)
def test_coverage_floor_truth_table(percent: float, floor: float, passed: bool) -> None:
    assert coverage_floor_check(coverage(percent, {}), floor).passed is passed


def test_coverage_floor_message_names_the_lowest_files() -> None:
    check = coverage_floor_check(
        coverage(87.5, {"app/a.py": 100.0, "app/api/users.py": 61.0, "app/b.py": 90.0}), 90
    )
    assert check == Check(
        "coverage.fail_under",
        False,
        87.5,
        90,
        "branch coverage 87.5% is below the 90% floor; lowest: app/api/users.py 61%, app/b.py 90%",
    )


def test_nothing_measured_says_to_check_the_source_names() -> None:
    check = coverage_floor_check(coverage(0.0, {}), 90)
    assert not check.passed
    assert check.message == (
        "branch coverage 0% is below the 90% floor: no file of coverage.source was measured; "
        "the tests never imported it, or coverage.source names a package or folder that does "
        "not exist (check its spelling)"
    )


def test_per_file_floor_lists_every_file_under_it() -> None:
    check = per_file_check(coverage(90, {"a.py": 50.0, "b.py": 95.0, "c.py": 79.5}), 80)
    assert not check.passed
    assert check.actual == 50.0
    assert check.message == "2 file(s) below the per-file floor of 80%: a.py 50%, c.py 79.5%"
    assert per_file_check(coverage(90, {"a.py": 80.0}), 80).passed


@pytest.mark.parametrize(("mode", "passed"), [("fail", False), ("warn", True)])
def test_blocking_findings_fail_only_in_fail_mode(mode: str, passed: bool) -> None:
    findings = [BlockingFinding.from_event({"file": "app/x.py", "line": 12, "test": "t"})] * 2
    check = blocking_check(findings, mode)
    assert check.passed is passed
    assert check.message.startswith("2 blocking call(s) in the event loop at app/x.py:12")
