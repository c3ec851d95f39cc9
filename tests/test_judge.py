"""The judge: the registered checks over a run's evidence, the verdict, and exact floors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gate.checks import registered, run_checks
from gate.checks.base import Check, Evidence
from gate.checks.coverage_floor import coverage_floor_check, per_file_check
from gate.checks.floors import meets_floor, shown_percent, two_decimals
from gate.config import Config, load_config
from gate.coverage_data import CoverageResult
from gate.judge import verdict
from gate.outcome import RunOutcome
from gate.previous_run import PreviousCoverage, dropped_first, read_previous_coverage
from gate.reporters.github import render_annotations
from gate.reporters.json_report import render_json
from gate.reporters.junit import render_junit
from gate.reporters.markdown import render_markdown
from gate.results import TestCase, TestResults
from tests.conftest import GateRunner, Project, serverless_gate


def config_of(tmp_path: Path, text: str) -> Config:
    (tmp_path / "app").mkdir(exist_ok=True)
    (tmp_path / "tests").mkdir(exist_ok=True)
    path = tmp_path / "gate.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, {})


def passed_results() -> TestResults:
    results = TestResults()
    results.cases["tests/test_a.py::test_0"] = TestCase("tests/test_a.py::test_0", "passed")
    return results


def test_what_is_switched_off_is_not_judged(tmp_path: Path) -> None:
    config = config_of(
        tmp_path,
        "database: {mode: none}\nblocking: {mode: 'off'}\nserver_errors: {mode: 'off'}\n",
    )
    judged = run_checks(Evidence(config, passed_results(), None, None, root=tmp_path))
    assert [check.name for j in judged for check in j.checks] == ["tests"]


def test_missing_coverage_data_fails_when_coverage_was_expected(tmp_path: Path) -> None:
    config = config_of(tmp_path, "database: {mode: none}\ncoverage: {source: [app]}\n")
    judged = run_checks(Evidence(config, passed_results(), None, None, root=tmp_path))
    assert [(c.name, c.passed) for j in judged for c in j.checks] == [
        ("tests", True),
        ("coverage", False),
        ("blocking", True),
        ("server_errors", True),
    ]


def test_verdict() -> None:
    ok = Check("tests", True, 0, 0, "")
    bad = Check("coverage.fail_under", False, 1, 2, "")
    assert verdict([ok], step_failed=False) == "pass"
    assert verdict([ok, bad], step_failed=False) == "fail"
    assert verdict([ok], step_failed=True) == "fail"


@pytest.mark.parametrize(
    ("percent", "floor", "meets"),
    [
        (100.0, 100, True),
        (99.996, 100, False),  # one line in 25,000 missed: rounding to 2 decimals passed it
        (100 * 24_999 / 25_000, 100, False),
        (90.0, 90, True),
        (89.96, 90, False),
        (89.999999, 90, False),
        (90.0000001, 90, True),
        (0.0, 0, True),
        (50.0, 0, True),
    ],
)
def test_floor_comparison_is_exact(percent: float, floor: float, meets: bool) -> None:
    assert meets_floor(percent, floor) is meets


@pytest.mark.parametrize(
    ("percent", "floor", "shown"),
    [
        (89.96, 90, "89.9%"),  # not "90%", beside "below the 90% floor"
        (99.996, 100, "99.9%"),
        (99.9999, 100, "99.9%"),
        (90.0, 90, "90%"),
        (96.4, 90, "96.4%"),
        (89.96, 89.95, "89.96%"),  # one decimal would cut it to 89.9, below the floor it met
        (79.5, 80, "79.5%"),
        (100.0, 100, "100%"),
        (96.4, None, "96.4%"),
    ],
)
def test_shown_percent_is_on_the_same_side_of_the_floor(
    percent: float, floor: float | None, shown: str
) -> None:
    assert shown_percent(percent, floor) == shown
    if floor is not None:
        assert meets_floor(float(shown.rstrip("%")), floor) is meets_floor(percent, floor)


def test_reports_cut_rather_than_round_to_two_decimals() -> None:
    assert two_decimals(99.996) == 99.99
    assert two_decimals(96.4) == 96.4
    assert two_decimals(100.0) == 100.0


def test_a_floor_of_100_fails_one_uncovered_line_in_25000() -> None:
    coverage = CoverageResult(percent=100 * 24_999 / 25_000, branch=False, files={"a.py": 99.996})
    check = coverage_floor_check(coverage, 100)
    assert not check.passed
    assert check.message == "coverage 99.9% is below the 100% floor; lowest: a.py 99.9%"
    assert check.actual == 99.99


def test_per_file_floor_is_exact_and_says_so() -> None:
    coverage = CoverageResult(percent=99.0, branch=False, files={"a.py": 89.96, "b.py": 90.0})
    check = per_file_check(coverage, 90)
    assert not check.passed
    assert check.message == "1 file(s) below the per-file floor of 90%: a.py 89.9%"


@pytest.fixture
def gate(state_dir: Path) -> Iterator[GateRunner]:
    yield from serverless_gate(state_dir)


def test_a_project_at_99_995_percent_fails_a_floor_of_100(
    gate: GateRunner, project: Project
) -> None:
    """One uncovered line among 20,002 statements: rounded to two decimals it read 100%."""
    body = "\n".join(f"x{n} = {n}" for n in range(20_000))
    project.write("pkg/__init__.py", "")
    project.write("pkg/big.py", body + "\n\n\ndef never():\n    return 1\n")
    project.write(
        "tests/test_big.py", "import pkg.big\n\n\ndef test_big():\n    assert pkg.big.x1\n"
    )
    project.write(
        "gate.yaml",
        """
        database: {mode: none}
        coverage: {source: [pkg], branch: false, fail_under: 100}
        blocking: {mode: "off"}
        reports: {html: null, coverage_xml: null}
        """,
    )
    result = gate("run", cwd=project.root)
    assert result.code == 1, result.output
    report = json.loads((project.root / ".gate/report.json").read_text())
    floor = next(c for c in report["checks"] if c["name"] == "coverage.fail_under")
    assert floor["passed"] is False
    assert floor["message"].startswith("coverage 99.9% is below the 100% floor")
    assert report["coverage"]["percent"] == 99.99


def test_the_documented_example_check_plugs_in_without_touching_a_reporter(
    tmp_path: Path,
) -> None:
    """docs/architecture.md's worked example, run as written: one module, one registration,
    and every reporter shows its findings."""
    text = (Path(__file__).parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    source = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert source is not None
    namespace: dict[str, Any] = {}
    exec(compile(source[1], "slow_tests.py", "exec"), namespace)
    check = namespace["CHECK"]

    config = config_of(tmp_path, "database: {mode: none}\n")
    results = passed_results()
    slow = TestCase("tests/test_a.py::test_slow", "passed", duration_s=7.5)
    slow.file, slow.line = "tests/test_a.py", 12
    results.cases[slow.nodeid] = slow
    evidence = Evidence(config, results, None, None, root=tmp_path)
    outcome = RunOutcome(root=tmp_path, run_id="r1", results=results)
    for judgement in run_checks(evidence, (*registered(), check)):
        outcome.checks += judgement.checks
        outcome.findings += judgement.findings
        outcome.report_sections.update(judgement.report)

    report = json.loads(render_json(outcome))
    assert report["slow_tests"] == ["tests/test_a.py::test_slow"]
    last = report["checks"][-1]
    assert (last["name"], last["passed"]) == ("tests.slow", False)
    assert "### Slow tests (1 place(s))" in render_markdown(outcome)
    assert "gate.slow_test" in render_junit(outcome)
    assert render_annotations(outcome)[0].startswith(
        "::error file=tests/test_a.py,line=12,title=slow test::tests/test_a.py::test_slow "
        "took too long 1 time(s), up to 7500.0 ms"
    )


def test_a_missed_floor_names_the_file_that_dropped_since_the_last_run(
    gate: GateRunner, project: Project
) -> None:
    """The lowest files may have been low for years; the one the change broke is named."""
    project.write("pkg/__init__.py", "")
    project.write("pkg/low.py", "def never():\n    return 1\n")  # low all along
    project.write("pkg/b.py", "def double(x):\n    return 2 * x\n")
    project.write("tests/test_low.py", "import pkg.b, pkg.low\n\n\ndef test_low():\n    assert 1\n")
    project.write(
        "tests/test_b.py", "from pkg.b import double\n\n\ndef test_b():\n    assert double(2)\n"
    )
    project.write(
        "gate.yaml",
        """
        database: {mode: none}
        coverage: {source: [pkg], branch: false, fail_under: 75}
        blocking: {mode: "off"}
        reports: {html: null, coverage_xml: null}
        """,
    )
    assert gate("run", cwd=project.root).code == 0
    (project.root / "tests/test_b.py").unlink()
    result = gate("run", cwd=project.root)
    assert result.code == 1, result.output
    report = json.loads((project.root / ".gate/report.json").read_text())
    floor = next(c for c in report["checks"] if c["name"] == "coverage.fail_under")
    assert floor["message"] == (
        "coverage 50% is below the 75% floor; dropped since the last run: pkg/b.py 100% -> 50% "
        "(newly missing: lines 2); lowest: pkg/b.py 50%, pkg/low.py 50%"
    )
    assert report["coverage"]["missing_lines"] == {"pkg/b.py": [2], "pkg/low.py": [2]}


def test_no_earlier_report_or_no_drop_names_nothing(tmp_path: Path) -> None:
    assert read_previous_coverage(tmp_path / "missing.json") is None
    (tmp_path / "garbage.json").write_text("{not json")
    assert read_previous_coverage(tmp_path / "garbage.json") is None
    (tmp_path / "no-coverage.json").write_text('{"coverage": null}')
    assert read_previous_coverage(tmp_path / "no-coverage.json") is None
    now = CoverageResult(percent=90.0, branch=False, files={"a.py": 90.0, "b.py": 95.0})
    assert dropped_first(now, PreviousCoverage({"a.py": 80.0, "b.py": 95.0})) is None
    assert dropped_first(now, PreviousCoverage({"a.py": 99.0, "b.py": 100.0})) == (
        "a.py 99% -> 90%"
    )
