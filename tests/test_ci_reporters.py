"""CI outputs: GitHub annotations and step summary, GitLab code quality, the Markdown summary."""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.checks.base import Check
from gate.coverage_data import CoverageResult
from gate.diff_coverage import DiffBase, DiffCoverage
from gate.findings import BlockingFinding
from gate.outcome import RunOutcome
from gate.reporters.ci import repository_prefix, write_ci_outputs
from gate.reporters.github import escape_data, escape_property, render_annotations
from gate.reporters.gitlab import code_quality_issues, coverage_line, fingerprint
from gate.reporters.markdown import cell, code, render_markdown
from gate.results import Location, TestCase, TestResults
from tests.conftest import GateRunner, Project, serverless_gate, with_findings

ROOT = Path("/work/proj")


def failing_outcome() -> RunOutcome:
    """A run with a failed test, a setup error, blocking findings and a coverage shortfall."""
    results = TestResults(rootdir=str(ROOT))
    for case in (
        TestCase("tests/test_core.py::test_ok", "passed", file="tests/test_core.py", line=3),
        TestCase(
            "tests/test_core.py::test_double",
            "failed",
            file="tests/test_core.py",
            line=7,
            message="AssertionError: 100% wrong, a: b\nassert 4 == 5",
            longrepr="def test_double():\n>   assert double(2) == 5\nE   assert 4 == 5",
            phase="call",
            location=Location("app/core.py", 12),
        ),
        TestCase(
            "tests/test_db.py::test_query",
            "error",
            file="tests/test_db.py",
            line=4,
            message="fixture 'db' not found",
            phase="setup",
            location=Location("tests/test_db.py", 4),  # the test: nothing of the project failed
        ),
    ):
        results.cases[case.nodeid] = case
    finding = {"phase": "call", "kind": "call", "call": "time.sleep", "file": "app/io.py"}
    results.blocking = [
        BlockingFinding.from_event({**finding, "test": test, "line": 20, "duration_ms": ms})
        for test, ms in (
            ("tests/test_core.py::test_ok", 201.3),
            ("tests/test_db.py::test_query", 150.0),
            ("tests/test_core.py::test_ok", 120.0),
        )
    ]
    return RunOutcome(
        root=ROOT,
        run_id="r1",
        results=results,
        coverage=CoverageResult(
            percent=96.4,
            branch=True,
            files={"app/__init__.py": 100.0, "app/core.py": 90.0, "app/io.py": 80.5},
            missing_lines={"app/core.py": [14], "app/io.py": [20, 21, 22]},
        ),
        checks=[
            Check("tests", False, 2, 0, "2 of 3 tests failed: tests/test_core.py::test_double"),
            Check("coverage.fail_under", False, 96.4, 97, "branch coverage 96.40% is below 97%"),
            Check("blocking", False, 3, 0, "3 blocking call(s) in the event loop at app/io.py:20"),
        ],
        verdict="fail",
        exit_code=1,
        duration_s=4.25,
    )


def passing_outcome() -> RunOutcome:
    results = TestResults(rootdir=str(ROOT))
    results.cases["tests/test_a.py::test_a"] = TestCase("tests/test_a.py::test_a", "passed")
    return RunOutcome(
        root=ROOT,
        run_id="r2",
        results=results,
        coverage=CoverageResult(percent=100.0, branch=False, files={"app/a.py": 100.0}),
        checks=[Check("tests", True, 0, 0, "all 1 tests passed")],
        verdict="pass",
        exit_code=0,
        duration_s=1.0,
    )


# --- escaping and paths -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "data", "prop"),
    [
        ("plain", "plain", "plain"),
        ("100%", "100%25", "100%25"),
        ("a\nb\r\n", "a%0Ab%0D%0A", "a%0Ab%0D%0A"),
        ("x::y, z", "x::y, z", "x%3A%3Ay%2C z"),
        ("%0A", "%250A", "%250A"),
    ],
)
def test_github_escaping(text: str, data: str, prop: str) -> None:
    assert escape_data(text) == data
    assert escape_property(text) == prop


@pytest.mark.parametrize(
    ("root", "workspace", "prefix"),
    [
        ("/w/repo", "/w/repo", ""),
        ("/w/repo/services/api", "/w/repo", "services/api/"),
        ("/w/other", "/w/repo", ""),
        ("/w/repo", None, ""),
    ],
)
def test_repository_prefix(root: str, workspace: str | None, prefix: str) -> None:
    assert repository_prefix(Path(root), workspace) == prefix


# --- GitHub -----------------------------------------------------------------------------------


def test_github_annotations_for_a_failing_run() -> None:
    assert render_annotations(with_findings(failing_outcome())) == [
        "::error file=app/core.py,line=12,title=tests/test_core.py%3A%3Atest_double failed"
        "::AssertionError: 100%25 wrong, a: b%0Aassert 4 == 5",
        "::error file=tests/test_db.py,line=4,title=tests/test_db.py%3A%3Atest_query error in "
        "setup::fixture 'db' not found",
        "::error file=app/io.py,line=20,title=blocking call in the event loop::time.sleep "
        "blocked the event loop 3 time(s), up to 201.3 ms, in tests/test_core.py::test_ok "
        "(+1 more)",
        "::error title=gate%3A coverage.fail_under::branch coverage 96.40%25 is below 97%25",
    ]


def test_github_annotations_with_a_prefix_warn_blocking_and_an_error() -> None:
    outcome = failing_outcome()
    assert outcome.results is not None
    outcome.results.cases = {}
    outcome.checks = [Check("blocking", True, 3, 0, "3 blocking call(s) (warn)")]
    outcome.error = "migrations failed:\nno such table"
    assert render_annotations(with_findings(outcome), "svc/") == [
        "::warning file=svc/app/io.py,line=20,title=blocking call in the event loop::time.sleep "
        "blocked the event loop 3 time(s), up to 201.3 ms, in tests/test_core.py::test_ok "
        "(+1 more)",
        "::error title=gate%3A error::migrations failed:%0Ano such table",
    ]


def test_github_annotations_for_a_collection_error_and_a_check_without_items() -> None:
    results = TestResults()
    results.collect_errors = [("tests/test_x.py", "ImportError: no module named nope\n")]
    outcome = RunOutcome(
        root=ROOT,
        run_id="r3",
        results=results,
        checks=[
            Check("tests", False, 1, 0, "1 file(s) failed to collect: tests/test_x.py"),
            Check("blocking", False, 1, 0, "1 blocking call(s)"),
        ],
        verdict="fail",
        exit_code=1,
    )
    assert render_annotations(with_findings(outcome)) == [
        "::error file=tests/test_x.py,title=collection error in tests/test_x.py"
        "::ImportError: no module named nope",
        "::error title=gate%3A blocking::1 blocking call(s)",
    ]


def test_a_passing_run_has_no_annotations() -> None:
    assert render_annotations(with_findings(passing_outcome())) == []


# --- Markdown ---------------------------------------------------------------------------------

FAILING_MARKDOWN = """\
## ❌ gate: FAIL

exit 1 · 4.2s · 3 tests: 1 passed, 1 failed, 1 errors, 0 skipped · coverage 96.40%

### Checks

| | check | actual | expected | detail |
|---|---|---|---|---|
| ❌ | tests | 2 | 0 | 2 of 3 tests failed: tests/test_core.py::test_double |
| ❌ | coverage.fail_under | 96.4 | 97 | branch coverage 96.40% is below 97% |
| ❌ | blocking | 3 | 0 | 3 blocking call(s) in the event loop at app/io.py:20 |

### Failed tests (2)

- `tests/test_core.py::test_double` at `app/core.py:12`: AssertionError: 100% wrong, a: b
- `tests/test_db.py::test_query` (error in setup) at `tests/test_db.py:4`: fixture 'db' not found

### Blocking calls in the event loop (1 place(s))

- `app/io.py:20` `time.sleep` x3, up to 201.3 ms, in `tests/test_core.py::test_ok` (+1 more)

### Coverage 96.40% (line+branch)

| file | coverage | missing lines |
|---|---:|---|
| app/io.py | 80.50% | 20, 21, 22 |
| app/core.py | 90.00% | 14 |
"""

PASSING_MARKDOWN = """\
## ✅ gate: PASS

exit 0 · 1.0s · 1 tests: 1 passed, 0 failed, 0 errors, 0 skipped · coverage 100.00%

### Checks

| | check | actual | expected | detail |
|---|---|---|---|---|
| ✅ | tests | 0 | 0 | all 1 tests passed |

### Coverage 100.00% (line)

Every measured file is fully covered.
"""


def test_markdown_for_a_failing_run() -> None:
    assert render_markdown(with_findings(failing_outcome())) == FAILING_MARKDOWN


def test_markdown_for_a_passing_run() -> None:
    assert render_markdown(with_findings(passing_outcome())) == PASSING_MARKDOWN


def test_markdown_for_an_error_before_any_test() -> None:
    outcome = RunOutcome(root=ROOT, run_id="r4", error="no PostgreSQL binaries | found")
    assert render_markdown(with_findings(outcome)) == (
        "## ⚠️ gate: ERROR\n\nexit 3 · 0.0s\n\n> **error:** no PostgreSQL binaries \\| found\n"
    )


@pytest.mark.parametrize(
    ("text", "as_cell", "as_code"),
    [
        ("a | b", "a \\| b", "`a | b`"),
        ("two\nlines", "two lines", "`two lines`"),
        ("has `tick`", "has `tick`", "`` has `tick` ``"),
    ],
)
def test_markdown_cells_and_code(text: str, as_cell: str, as_code: str) -> None:
    assert cell(text) == as_cell
    assert code(text) == as_code


# --- GitLab -----------------------------------------------------------------------------------


def test_gitlab_code_quality_issues() -> None:
    issues = code_quality_issues(with_findings(failing_outcome()))
    assert [(i["check_name"], i["severity"], i["location"], i["description"]) for i in issues] == [
        (
            "gate.test",
            "major",
            {"path": "app/core.py", "lines": {"begin": 12}},
            "tests/test_core.py::test_double failed: AssertionError: 100% wrong, a: b",
        ),
        (
            "gate.test",
            "critical",
            {"path": "tests/test_db.py", "lines": {"begin": 4}},
            "tests/test_db.py::test_query error in setup: fixture 'db' not found",
        ),
        (
            "gate.blocking",
            "major",
            {"path": "app/io.py", "lines": {"begin": 20}},
            "time.sleep blocked the event loop for 201.3 ms in tests/test_core.py::test_ok",
        ),
        (
            "gate.blocking",
            "major",
            {"path": "app/io.py", "lines": {"begin": 20}},
            "time.sleep blocked the event loop for 150.0 ms in tests/test_db.py::test_query",
        ),
    ]
    assert issues[0]["fingerprint"] == fingerprint(
        "gate.test", "app/core.py", 12, "tests/test_core.py::test_double"
    )
    assert len({issue["fingerprint"] for issue in issues}) == len(issues)
    assert all(issue["type"] == "issue" for issue in issues)


def test_gitlab_fingerprints_stay_unique_for_repeated_places() -> None:
    results = TestResults()
    results.collect_errors = [("", "boom"), ("", "boom again")]
    outcome = RunOutcome(root=ROOT, run_id="r5", results=results)
    issues = code_quality_issues(with_findings(outcome), "svc/")
    assert [issue["location"]["path"] for issue in issues] == ["svc/.", "svc/."]
    assert len({issue["fingerprint"] for issue in issues}) == 2


def test_gitlab_lists_each_run_of_uncovered_changed_lines() -> None:
    outcome = passing_outcome()
    diff = DiffCoverage(DiffBase("origin/main", "coverage.diff.base"), "abc")
    diff.changed = {"app/a.py": [3, 4, 5, 9]}
    diff.uncovered = {"app/a.py": [3, 4, 5, 9]}
    outcome.diff_coverage = diff
    outcome.checks.append(Check("coverage.diff", True, 0.0, 0, "exempt: ..."))
    issues = code_quality_issues(with_findings(outcome), "svc/")
    assert [(i["check_name"], i["severity"], i["location"], i["description"]) for i in issues] == [
        (
            "gate.diff_coverage",
            "minor",  # the check passed (min_lines): reported, not blocking
            {"path": "svc/app/a.py", "lines": {"begin": 3, "end": 5}},
            "app/a.py lines 3-5 changed since origin/main and not covered by any test",
        ),
        (
            "gate.diff_coverage",
            "minor",
            {"path": "svc/app/a.py", "lines": {"begin": 9, "end": 9}},
            "app/a.py line 9 changed since origin/main and not covered by any test",
        ),
    ]
    assert len({issue["fingerprint"] for issue in issues}) == 2
    # the same uncovered lines give the same fingerprints in the next run
    assert [i["fingerprint"] for i in code_quality_issues(with_findings(outcome), "svc/")] == [
        i["fingerprint"] for i in issues
    ]


def test_gitlab_coverage_line_matches_gitlabs_regex() -> None:
    line = coverage_line(failing_outcome())
    assert line == "Coverage: 96.40%"
    assert re.search(r"Coverage: \d+\.\d+%", line)
    assert coverage_line(RunOutcome(root=ROOT, run_id="r6")) is None


# --- write_ci_outputs -------------------------------------------------------------------------


def test_nothing_is_written_outside_ci(tmp_path: Path) -> None:
    stream = io.StringIO()
    assert (
        write_ci_outputs(with_findings(failing_outcome()), {"CI": "true"}, tmp_path, stream) == []
    )
    assert stream.getvalue() == ""
    assert list(tmp_path.iterdir()) == []


def test_github_outputs_append_the_summary_and_hide_secrets(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    outcome = passing_outcome()
    outcome.error = "could not reach postgresql://u:hunter2@db/x"
    outcome.verdict, outcome.exit_code = "error", 3
    stream = io.StringIO()
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    written = write_ci_outputs(
        outcome, environ, tmp_path, stream, lambda text: text.replace("hunter2", "***")
    )
    assert written == ["1 GitHub annotation(s)", "$GITHUB_STEP_SUMMARY"]
    assert stream.getvalue() == (
        "::error title=gate%3A error::could not reach postgresql://u:***@db/x\n"
    )
    text = summary.read_text()
    assert text.startswith("earlier step\n## ⚠️ gate: ERROR\n")
    assert "hunter2" not in text


def test_gitlab_outputs(tmp_path: Path) -> None:
    stream = io.StringIO()
    root = tmp_path / "svc"
    environ = {"GITLAB_CI": "true", "CI_PROJECT_DIR": str(tmp_path)}
    written = write_ci_outputs(with_findings(failing_outcome()), environ, root, stream)
    assert written == [".gate/gl-code-quality-report.json", "GitLab coverage line"]
    assert stream.getvalue() == "Coverage: 96.40%\n"
    issues = json.loads((root / ".gate/gl-code-quality-report.json").read_text())
    assert [issue["location"]["path"] for issue in issues] == [
        "svc/app/core.py",
        "svc/tests/test_db.py",
        "svc/app/io.py",
        "svc/app/io.py",
    ]


# --- end to end: the real `gate run` with the variables each provider sets --------------------


@pytest.fixture
def gate(state_dir: Path) -> Iterator[GateRunner]:
    """The gate command for projects with database mode none: no server is needed.

    The guard reads this run's own ledgers rather than scanning the machine, so other runs of
    gate on the same machine cannot trip it.
    """
    yield from serverless_gate(state_dir)


@pytest.fixture
def tiny(project: Project) -> Project:
    project.write("pkg/__init__.py", "def double(x: int) -> int:\n    return 2 * x\n")
    project.write(
        "tests/test_pkg.py",
        """
        from pkg import double


        def test_double():
            assert double(2) == 4
        """,
    )
    project.write(
        "gate.yaml",
        """
        database: {mode: none}
        coverage: {source: [pkg], fail_under: 100}
        blocking: {mode: off}
        """,
    )
    return project


def break_a_test(project: Project) -> None:
    project.write(
        "tests/test_broken.py",
        """
        from pkg import double


        def test_broken():
            assert double(2) == 5
        """,
    )


def test_github_actions_run(gate: GateRunner, tiny: Project, tmp_path: Path) -> None:
    break_a_test(tiny)
    summary = tmp_path / "step_summary.md"
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_WORKSPACE": str(tiny.root.parent),
    }
    result = gate("run", cwd=tiny.root, env=env)
    assert result.code == 1, result.output
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert annotations == [
        "::error file=project/tests/test_broken.py,line=5,"
        "title=tests/test_broken.py%3A%3Atest_broken failed::assert 4 == 5"
        "%0A +  where 4 = double(2)",
    ]
    text = summary.read_text()
    assert text.startswith("## ❌ gate: FAIL\n")
    assert "| ❌ | tests | 1 | 0 | 1 of 2 tests failed: tests/test_broken.py::test_broken |" in text
    assert "- `tests/test_broken.py::test_broken` at `tests/test_broken.py:5`: assert 4 == 5\n" in (
        text
    )
    # the same summary is kept locally as reports.markdown
    assert (tiny.root / ".gate/summary.md").read_text() == text
    report = json.loads((tiny.root / ".gate/report.json").read_text())
    assert report["verdict"] == "fail"


def test_gitlab_ci_run(gate: GateRunner, tiny: Project) -> None:
    env = {"GITLAB_CI": "true", "CI_PROJECT_DIR": str(tiny.root)}
    result = gate("run", cwd=tiny.root, env=env)
    assert result.code == 0, result.output
    assert "Coverage: 100.00%" in result.stdout.splitlines()
    assert json.loads((tiny.root / ".gate/gl-code-quality-report.json").read_text()) == []
    assert (tiny.root / ".gate/junit.xml").is_file()
    assert (tiny.root / ".gate/coverage.xml").is_file()

    break_a_test(tiny)
    failed = gate("run", cwd=tiny.root, env=env)
    assert failed.code == 1, failed.output
    issues = json.loads((tiny.root / ".gate/gl-code-quality-report.json").read_text())
    assert [(i["check_name"], i["location"]) for i in issues] == [
        ("gate.test", {"path": "tests/test_broken.py", "lines": {"begin": 5}})
    ]


def test_a_local_run_writes_the_markdown_summary_and_no_ci_output(
    gate: GateRunner, tiny: Project
) -> None:
    result = gate("run", cwd=tiny.root)
    assert result.code == 0, result.output
    assert not any(line.startswith(("::", "Coverage: ")) for line in result.stdout.splitlines())
    assert not (tiny.root / ".gate/gl-code-quality-report.json").exists()
    summary = (tiny.root / ".gate/summary.md").read_text()
    assert summary.startswith("## ✅ gate: PASS\n")
    assert "Every measured file is fully covered." in summary
    html = (tiny.root / ".gate/htmlcov/index.html").read_text()  # reports.html, locally too
    assert "__init__.py</a>" in html and "100%" in html


# --- terminal or log: what the output looks like where it lands --------------------------------


def run_in_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run the real gate with a pseudo-terminal as its stdout and stderr, as a shell would."""
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "gate", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(timeout=120), b"".join(chunks).decode("utf-8", errors="replace")


ESCAPE = "\x1b["


@pytest.mark.parametrize(
    ("terminal", "ci", "args", "coloured"),
    [
        (True, False, [], True),  # a person at a terminal
        (True, True, [], False),  # a CI runner that allocates a terminal
        (True, True, ["--color", "always"], True),  # forced
        (False, False, [], False),  # piped into a file or a pager
    ],
    ids=["terminal", "ci-with-a-tty", "ci-forced-colour", "pipe"],
)
def test_colour_and_live_display_only_on_a_terminal_outside_ci(
    gate: GateRunner, tiny: Project, terminal: bool, ci: bool, args: list[str], coloured: bool
) -> None:
    env = {k: v for k, v in gate.env.items() if k not in ("CI", "NO_COLOR", "TERM")}
    env.update({"TERM": "xterm-256color", "COLUMNS": "120"}, **({"CI": "true"} if ci else {}))
    if terminal:
        code, output = run_in_terminal(["run", *args], tiny.root, env)
    else:
        result = GateRunner(env)("run", *args, cwd=tiny.root)
        code, output = result.code, result.output
    assert code == 0, output
    assert (ESCAPE in output) is coloured, repr(output[:400])
    assert "PASS (exit 0)" in re.sub(r"\x1b\[[0-9;]*m", "", output)
    if not coloured:
        # plain lines: no cursor movement from a live display, nothing but text
        assert "\r" not in output.replace("\r\n", "\n")
