"""The ratchet judged on real coverage data: a git repository in a temp folder whose main and
feature branches each ran their tests once under coverage (module fixture, reused by every
test), compared and updated by the pure functions a run calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gate.checks.blocking import blocking_check
from gate.checks.ratchet import ratchet_check
from gate.config import load_config
from gate.coverage_data import CoverageResult, CoverageSettings, combine_and_report, write_rcfile
from gate.diff_coverage import DiffBase, DiffCoverage, changed_lines, measure
from gate.errors import UsageError
from gate.findings import BlockingFinding, Frame
from gate.initialize import write_gate_yaml
from gate.outcome import RunOutcome
from gate.ratchet.adopt import DEFAULT_BASELINE, enable_ratchet
from gate.ratchet.baseline import (
    Baseline,
    FileCounts,
    Lowering,
    Measured,
    compare,
    measure_run,
    updated,
)
from gate.ratchet.places import server_error_place
from gate.ratchet.setup import RatchetRun, mark_known, prepare
from gate.ratchet.store import parse_baseline, read_baseline, render_baseline
from gate.reporters.github import render_annotations
from gate.reporters.json_report import render_json
from gate.reporters.markdown import render_markdown

A_PY = """\
def f1(x):
    return x + 1


def f2(x):
    return x * 2


def f3(x):
    return x - 1
"""
B_PY = """\
def g1(flag):
    if flag:
        return 1
    return 0


def g2():
    return 2
"""
TEST_F1 = """\
from pkg.a import f1, f2


def test_f1():
    assert f1(1) == 2
"""
TEST_A = TEST_F1 + "\n\ndef test_f2():\n    assert f2(2) == 4\n"
TEST_B = "from pkg.b import g1\n\n\ndef test_g1():\n    assert g1(True) == 1\n"
TEST_G2 = "\n\ndef test_g2():\n    from pkg.b import g2\n\n    assert g2() == 2\n"
TEST_B_G2 = TEST_B + TEST_G2
TEST_B_ALL = TEST_B_G2 + "\n\ndef test_g1_false():\n    assert g1(False) == 0\n"
F4 = "\n\ndef f4(flag):\n    value = 0\n    if flag:\n        value = 1\n    return value\n"
DIFF_FLOOR = 90.0

# Each variant is a branch off main: the files it writes (None deletes one).
VARIANTS: dict[str, dict[str, str | None]] = {
    # a.py loses a covered line (f2's test is gone) while b.py gains more: the total rises.
    "lose_line": {
        "tests/test_a.py": TEST_F1,
        "tests/test_b.py": TEST_B_ALL,
    },
    # f2 and its test deleted: a.py's percentage drops, its uncovered lines do not grow;
    # and g2 gets a test: b.py improves.
    "delete_and_improve": {
        "pkg/a.py": A_PY.replace("def f2(x):\n    return x * 2\n\n\n", ""),
        "tests/test_a.py": "from pkg.a import f1\n\n\ndef test_f1():\n    assert f1(1) == 2\n",
        "tests/test_b.py": TEST_B_G2,
    },
    "new_file": {"pkg/c.py": "def h(x):\n    y = x + 1\n    return y\n"},
    # A changed line that runs but leaves its branch untaken.
    "new_branch": {
        "pkg/a.py": A_PY + F4,
        "tests/test_f4.py": "from pkg.a import f4\n\n\ndef test_f4():\n    assert f4(True) == 1\n",
    },
}


@dataclass(frozen=True)
class Ran:
    coverage: CoverageResult
    diff: DiffCoverage


def _git(root: Path, env: Mapping[str, str], *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", *args],
        cwd=root, env=dict(env), check=True, capture_output=True,
    )  # fmt: skip


def _run_under_coverage(root: Path, env: Mapping[str, str], work: Path) -> CoverageResult:
    """The tests once under coverage, as gate runs them: gate's rcfile, combined by gate."""
    work.mkdir()
    rcfile = work / "coveragerc"
    write_rcfile(rcfile, CoverageSettings(["pkg"], [], True, False), root)
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", f"--rcfile={rcfile}", "-m", "pytest", "-q",
         "-p", "no:cacheprovider", "-p", "no:xdist", "tests"],
        cwd=root, env={**env, "COVERAGE_FILE": str(work / ".coverage")}, check=True,
        capture_output=True,
    )  # fmt: skip
    coverage = combine_and_report(work, rcfile, root, xml_path=None, html_dir=None)
    assert coverage is not None
    return coverage


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran]:
    """main and each variant, measured once for the whole module."""
    base = tmp_path_factory.mktemp("ratchet")
    root = base / "repo"
    root.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATE_", "PYTEST_", "COV_"))}
    env.update({"HOME": str(base), "GIT_CONFIG_NOSYSTEM": "1", "PYTHONDONTWRITEBYTECODE": "1"})
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the tests need no plugin; each costs start-up

    def write(files: Mapping[str, str | None]) -> None:
        for relative, text in files.items():
            path = root / relative
            if text is None:
                path.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")

    _git(root, env, "init", "-q", "-b", "main")
    write({"pkg/__init__.py": "", "pkg/a.py": A_PY, "pkg/b.py": B_PY, "tests/test_a.py": TEST_A,
           "tests/test_b.py": TEST_B, ".gitignore": "__pycache__/\n"})  # fmt: skip
    _git(root, env, "add", "-A")
    _git(root, env, "commit", "-q", "-m", "main")
    main = DiffBase("main", "--base")
    measured: dict[str, Ran] = {}
    for name, files in {"main": {}, **VARIANTS}.items():
        _git(root, env, "checkout", "-q", "main")
        _git(root, env, "checkout", "-q", "-b", f"v-{name}")
        write(files)
        _git(root, env, "add", "-A")
        _git(root, env, "commit", "-q", "--allow-empty", "-m", name)
        coverage = _run_under_coverage(root, env, base / f"cov-{name}")
        merge_base, changed = changed_lines(root, env, main, coverage.files.keys())
        measured[name] = Ran(coverage, measure(main, merge_base, changed, coverage))
    return measured


def run_of(ran: Ran) -> Measured:
    return measure_run(ran.coverage, [], [])


@pytest.fixture(scope="module")
def main_baseline(runs: dict[str, Ran]) -> Baseline:
    first = run_of(runs["main"])
    return updated(None, first, compare(Baseline(), first), gate_version="t", commit="c0")


def judged(runs: dict[str, Ran], baseline: Baseline, name: str) -> Any:
    ran = runs[name]
    return compare(baseline, run_of(ran), ran.diff, DIFF_FLOOR)


def test_main_baseline_counts_uncovered_lines_and_partial_branches(
    main_baseline: Baseline,
) -> None:
    assert main_baseline.files == {
        "pkg/__init__.py": FileCounts(0, 0),
        "pkg/a.py": FileCounts(1, 0),  # f3 never runs
        "pkg/b.py": FileCounts(2, 1),  # `return 0` and g2's body; `if flag` only ever true
    }
    assert main_baseline.commit == "c0" and main_baseline.lowered == ()


def test_losing_one_covered_line_fails_naming_the_file_though_the_total_rose(
    runs: dict[str, Ran], main_baseline: Baseline
) -> None:
    assert runs["lose_line"].coverage.percent > runs["main"].coverage.percent
    comparison = judged(runs, main_baseline, "lose_line")
    check = ratchet_check(comparison, "gate-ratchet.json")
    assert not check.passed
    assert check.message == (
        "1 worse than the baseline gate-ratchet.json: pkg/a.py 2 uncovered lines (was 1); "
        "1 file improved: run `gate run --update-ratchet` to lock it in"
    )


def test_deleting_covered_code_passes(runs: dict[str, Ran], main_baseline: Baseline) -> None:
    deleted = runs["delete_and_improve"].coverage.files["pkg/a.py"]
    assert deleted < runs["main"].coverage.files["pkg/a.py"]
    comparison = judged(runs, main_baseline, "delete_and_improve")
    assert comparison.passed
    assert [change.path for change in comparison.improved] == ["pkg/b.py"]  # not pkg/a.py


def test_a_new_uncovered_file_fails_by_diff_coverage(
    runs: dict[str, Ran], main_baseline: Baseline
) -> None:
    comparison = judged(runs, main_baseline, "new_file")
    assert not comparison.passed
    assert ratchet_check(comparison, "r.json").message == (
        "1 worse than the baseline r.json: pkg/c.py (new: 0% of its 3 changed line(s) covered "
        "is below coverage.diff.fail_under (90%))"
    )
    # Without diff coverage to judge by, a new file may add nothing uncovered.
    strict = compare(main_baseline, run_of(runs["new_file"]))
    assert [new.why for new in strict.failing_new_files] == [
        "new, with 3 uncovered lines; without coverage.diff to judge its changed lines by, a "
        "new file may add nothing uncovered"
    ]


def test_an_improvement_is_reported_and_locked_in_by_update(
    runs: dict[str, Ran], main_baseline: Baseline
) -> None:
    improved = run_of(runs["delete_and_improve"])
    comparison = compare(main_baseline, improved)
    assert ratchet_check(comparison, "r.json").message == (
        "nothing worse than the baseline r.json; "
        "1 file improved: run `gate run --update-ratchet` to lock it in"
    )
    locked = updated(main_baseline, improved, comparison, gate_version="t", commit="c1")
    assert locked.files["pkg/b.py"] == FileCounts(1, 1)
    assert locked.commit == "c1"
    assert compare(locked, improved).improvements == 0
    # Going back to main's tests is now worse.
    assert not compare(locked, run_of(runs["main"])).passed


def test_update_never_loosens_and_allow_lower_loosens_only_what_got_worse(
    runs: dict[str, Ran], main_baseline: Baseline
) -> None:
    lost = run_of(runs["lose_line"])
    comparison = compare(main_baseline, lost)
    tight = updated(main_baseline, lost, comparison, gate_version="t", commit="c1")
    assert tight.files["pkg/a.py"] == FileCounts(1, 0)  # kept: worse is not let in
    assert tight.files["pkg/b.py"] == FileCounts(0, 0)  # tightened
    lowering = Lowering("2026-01-01T00:00:00Z", "t <t@e>", "f2 moves to the v2 API", ("x",))
    loose = updated(
        main_baseline, lost, comparison, gate_version="t", commit="c1", lowering=lowering
    )
    assert loose.files["pkg/a.py"] == FileCounts(2, 0)
    assert loose.files["pkg/b.py"] == FileCounts(0, 0)
    assert loose.lowered == (lowering,)
    assert parse_baseline(render_baseline(loose)) == loose


def test_the_partly_covered_branch_of_a_changed_line_counts_in_diff_coverage(
    runs: dict[str, Ran],
) -> None:
    diff = runs["new_branch"].diff
    assert diff.changed == {"pkg/a.py": [13, 14, 15, 16, 17]}
    assert diff.uncovered == {}
    assert diff.partial == {"pkg/a.py": [(15, 17)]}
    assert diff.percent == 80.0
    assert diff.uncovered_places() == ["pkg/a.py:15->17"]


def test_the_baseline_file_is_one_entry_per_line(main_baseline: Baseline) -> None:
    text = render_baseline(
        Baseline(
            main_baseline.files,
            frozenset({"pkg/x.py:nap"}),
            gate_version="0.1.0",
            commit="abc",
        )
    )
    assert text == textwrap.dedent(
        """\
        {
          "schema": "gate.ratchet/1",
          "gate_version": "0.1.0",
          "commit": "abc",
          "files": {
            "pkg/__init__.py": {"missing_lines": 0, "partial_branches": 0},
            "pkg/a.py": {"missing_lines": 1, "partial_branches": 0},
            "pkg/b.py": {"missing_lines": 2, "partial_branches": 1}
          },
          "blocking": [
            "pkg/x.py:nap"
          ],
          "server_errors": [],
          "lowered": []
        }
        """
    )


def _blocking(line: int, function: str = "nap") -> BlockingFinding:
    return BlockingFinding(
        test="tests/test_x.py::test_x",
        phase="call",
        kind="call",
        call="time.sleep",
        file="pkg/x.py",
        line=line,
        duration_ms=12.0,
        wall_ms=None,
        run_queue_ms=None,
        stack=(Frame("pkg/x.py", line, function), Frame("tests/test_x.py", 3, "test_x")),
    )


def test_a_new_blocking_call_fails_and_a_known_one_does_not_even_when_lines_move() -> None:
    baseline = Baseline(blocking=frozenset({"pkg/x.py:nap"}))
    moved = _blocking(40)  # the known call, lower down after an edit above it
    new = _blocking(60, "fetch")
    assert compare(baseline, measure_run(None, [moved], None)).passed
    comparison = compare(baseline, measure_run(None, [moved, new], None))
    assert not comparison.passed
    assert ratchet_check(comparison, "r.json").message == (
        "1 worse than the baseline r.json: new blocking call in pkg/x.py:fetch"
    )
    marked, _ = mark_known(RatchetRun(Path("r.json"), "r.json", baseline), [moved, new])
    assert [f.known for f in marked] == [True, False]
    assert marked[0].as_report()["known"] is True and "known" not in marked[1].as_report()
    check = blocking_check(marked, "fail")
    assert (check.passed, check.actual) == (False, 1)
    assert check.message.endswith("; 1 more at places the ratchet baseline holds")
    assert blocking_check(marked[:1], "fail").message == (
        "no new blocking calls in the event loop; 1 at places the ratchet baseline holds"
    )


def test_server_error_places() -> None:
    crash = {"exception": "KeyError", "file": "app/items.py", "line": 30,
             "stack": [{"file": "app/items.py", "line": 30, "function": "create"}]}  # fmt: skip
    assert server_error_place(crash) == "app/items.py:create KeyError"
    assert server_error_place({"method": "GET", "path": "/h", "status": 503}) == "GET /h 503"
    allowed = {**crash, "allowed": True}
    assert measure_run(None, None, [crash, allowed]).server_errors == frozenset(
        {"app/items.py:create KeyError"}
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "not JSON (Expecting property name enclosed in double quotes at line 1)"),
        ("[]", "not a JSON object"),
        ('{"schema": "x"}', "\"schema\" is 'x', not 'gate.ratchet/1'"),
        ('{"schema": "gate.ratchet/1", "files": {"a.py": {"missing_lines": -1}}}',
         "a.py missing_lines must be a whole number of at least 0 (got -1)"),
        ('{"schema": "gate.ratchet/1", "blocking": "a.py:f"}',
         '"blocking" must be a list of places (strings)'),
    ],
)  # fmt: skip
def test_a_bad_baseline_is_a_usage_error_naming_the_file_and_the_fix(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "gate-ratchet.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as raised:
        read_baseline(path, "gate-ratchet.json", may_be_missing=True)
    assert raised.value.message == (
        f"ratchet: gate-ratchet.json is not a gate ratchet baseline: {problem}; restore it "
        "from git (`git checkout -- gate-ratchet.json`), or write it anew from what the "
        "project has with `gate run --update-ratchet` and commit it"
    )


def test_flags_that_cannot_work_are_refused_before_the_run(tmp_path: Path) -> None:
    missing = tmp_path / "gate-ratchet.json"
    with pytest.raises(UsageError, match="does not exist; write it with `gate run --update"):
        prepare(missing, tmp_path, update=False, allow_lower=None, shard=False)
    assert prepare(missing, tmp_path, update=True, allow_lower=None, shard=False) is not None
    with pytest.raises(UsageError, match="only works with --update-ratchet"):
        prepare(missing, tmp_path, update=False, allow_lower="why", shard=False)
    with pytest.raises(UsageError, match="`gate merge --update-ratchet` instead"):
        prepare(missing, tmp_path, update=True, allow_lower=None, shard=True)
    with pytest.raises(UsageError, match="no `ratchet` key"):
        prepare(None, tmp_path, update=True, allow_lower=None, shard=False)


def test_adoption_turns_the_ratchet_on_in_the_gate_yaml_init_writes(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app/__init__.py").write_text("")
    path = write_gate_yaml(tmp_path, force=False)
    assert enable_ratchet(path)
    config = load_config(path, {})
    assert config.ratchet == tmp_path / DEFAULT_BASELINE
    assert config.coverage.fail_under == 0  # the ratchet judges instead of a total floor
    assert not enable_ratchet(path)  # a second time changes nothing
    assert load_config(path, {}) == config


def test_the_baseline_docs_show_is_what_gate_writes() -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs/ratchet.md").read_text()
    sample = docs.split("```json\n", 1)[1].split("```", 1)[0]
    assert render_baseline(parse_baseline(sample)) == sample


def test_every_report_names_the_untaken_branch_of_a_changed_line(runs: dict[str, Ran]) -> None:
    outcome = RunOutcome(root=Path("."), run_id="r")
    outcome.diff_coverage = runs["new_branch"].diff
    assert render_annotations(outcome) == [
        "::warning file=pkg/a.py,line=15,title=partly covered changed line::line 15 changed "
        "since main; branch 15->17 never taken"
    ]
    assert "| pkg/a.py |  | 15->17 |" in render_markdown(outcome)
    files = json.loads(render_json(outcome))["diff_coverage"]["files"]
    assert files["pkg/a.py"]["partial_branches"] == [[15, 17]]


def test_update_adds_what_passed_drops_what_went_and_keeps_what_was_not_measured() -> None:
    old = Baseline(
        files={"a.py": FileCounts(2, 1), "gone.py": FileCounts(5, 0)},
        blocking=frozenset({"a.py:old", "a.py:kept"}),
        server_errors=frozenset({"GET /x 500"}),
    )
    run = Measured(
        files={"a.py": FileCounts(1, 2), "clean.py": FileCounts(), "bare.py": FileCounts(3, 0)},
        blocking=frozenset({"a.py:kept", "a.py:new"}),
        server_errors=None,  # server_errors.mode: off
    )
    comparison = compare(old, run)
    assert [c.path for c in comparison.worse] == ["a.py"]  # one branch more, one line less
    assert [n.path for n in comparison.failing_new_files] == ["bare.py"]
    assert (comparison.gone_files, comparison.gone_blocking) == (("gone.py",), ("a.py:old",))
    assert comparison.new_blocking == ("a.py:new",)
    tight = updated(old, run, comparison, gate_version="t", commit="c")
    assert tight.files == {"a.py": FileCounts(1, 1), "clean.py": FileCounts()}
    assert tight.blocking == frozenset({"a.py:kept"})
    assert tight.server_errors == old.server_errors
    lowering = Lowering("now", "me", "why", ("x",))
    loose = updated(old, run, comparison, gate_version="t", commit="c", lowering=lowering)
    assert loose.files == run.files
    assert loose.blocking == run.blocking
    assert loose.server_errors == old.server_errors
