"""Diff coverage with real git: a bare remote, clones (one of them shallow), real `gate run`s."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.coverage_data import CoverageResult
from gate.diff_coverage import (
    PUSH_RANGE_ENV,
    DiffBase,
    choose_base,
    diff_coverage,
    format_lines,
    measure,
    parse_diff,
)
from tests.conftest import GateRunner, serverless_gate
from tests.test_hook import Repo, git_env

BASE_CODE = "def one():\n    return 1\n"
# Lines 5-8 are new on the feature branch; the tests run 5, 6 and 7 but never 8.
FEATURE_CODE = """\
def one():
    return 1


def two(flag):
    if flag:
        return 2
    return -2
"""
UNCOVERED = "pkg/__init__.py:8"


@pytest.fixture
def gate(state_dir: Path) -> Iterator[GateRunner]:
    """gate without a database server (database mode none), outside any CI provider."""
    yield from serverless_gate(state_dir)


def gate_yaml(diff: str) -> str:
    return (
        "database: {mode: none}\nblocking: {mode: off}\n"
        # fail_under: 0, so that only the diff floor under test decides
        f"coverage: {{source: [pkg], branch: false, fail_under: 0, diff: {diff}}}\n"
    )


@pytest.fixture
def repo(tmp_path: Path, gate: GateRunner) -> Repo:
    """main (pushed) holds one(); the checked-out feature branch adds two(), partly tested."""
    env = git_env(tmp_path, gate)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], env=env, check=True)
    root = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", str(remote), str(root)], env=env, check=True, capture_output=True
    )
    repo = Repo(root, remote, env)
    repo.git("checkout", "-q", "-b", "main")
    repo.write("pkg/__init__.py", BASE_CODE)
    repo.write("tests/test_one.py", "from pkg import one\n\n\ndef test_one():\n    assert one()\n")
    repo.write("gate.yaml", gate_yaml("{base: origin/main, fail_under: 80}"))
    repo.write(".gitignore", ".gate/\n")
    repo.commit("one")
    repo.git("push", "-q", "origin", "main")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("pkg/__init__.py", FEATURE_CODE)
    repo.write("tests/test_two.py", "from pkg import two\n\n\ndef test_two():\n    two(True)\n")
    repo.commit("two")
    return repo


def report(root: Path) -> dict:
    return json.loads((root / ".gate/report.json").read_text())


def diff_check(root: Path) -> dict:
    return next(c for c in report(root)["checks"] if c["name"] == "coverage.diff")


# --- end to end ------------------------------------------------------------------------------


def test_uncovered_changed_lines_fail_the_gate_and_are_listed_in_every_report(
    gate: GateRunner, repo: Repo, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "GITLAB_CI": "true"}
    result = gate("run", cwd=repo.root, env=env)
    assert result.code == 1, result.output
    check = diff_check(repo.root)
    assert check == {
        "name": "coverage.diff",
        "passed": False,
        "actual": 75.0,
        "expected": 80,
        "message": "diff coverage 75% of 4 changed line(s) since origin/main is below the 80% "
        f"floor; uncovered: {UNCOVERED}",
    }
    diff = report(repo.root)["diff_coverage"]
    assert diff["files"] == {
        "pkg/__init__.py": {"changed": [5, 6, 7, 8], "uncovered": [8], "partial_branches": []}
    }
    assert (diff["base"], diff["base_from"]) == ("origin/main", "coverage.diff.base")
    assert diff["merge_base"] == repo.git("rev-parse", "main").stdout.strip()
    # the terminal, the GitHub annotation, the step summary, the local summary, GitLab
    assert f"{UNCOVERED} not covered: lines 8" in result.stdout
    assert (
        "::error file=pkg/__init__.py,line=8,title=uncovered changed line::line 8 changed since "
        "origin/main and not covered by any test"
    ) in result.stdout.splitlines()
    for text in (summary.read_text(), (repo.root / ".gate/summary.md").read_text()):
        assert "### Diff coverage 75.00% (3 of 4 changed lines since `origin/main`)" in text
        assert "| pkg/__init__.py | 8 |" in text
    issues = json.loads((repo.root / ".gate/gl-code-quality-report.json").read_text())
    assert [(i["check_name"], i["location"]) for i in issues] == [
        ("gate.diff_coverage", {"path": "pkg/__init__.py", "lines": {"begin": 8, "end": 8}})
    ]


def test_the_working_tree_counts_uncommitted_and_untracked_changes(
    gate: GateRunner, repo: Repo
) -> None:
    # Not committed: the test for two(False), and three new lines above two() in the code.
    repo.write("tests/test_two_false.py", "from pkg import two\n\n\ndef test_f():\n    two(0)\n")
    repo.write("pkg/__init__.py", "import os\nimport re\nimport sys\n" + FEATURE_CODE)
    repo.write("pkg/extra.py", "def three():\n    return 3\n")  # untracked, never imported
    result = gate("run", cwd=repo.root)
    assert result.code == 1, result.output
    diff = report(repo.root)["diff_coverage"]
    assert diff["files"] == {
        "pkg/__init__.py": {
            "changed": [1, 2, 3, 8, 9, 10, 11],
            "uncovered": [],
            "partial_branches": [],
        },
        "pkg/extra.py": {"changed": [1, 2], "uncovered": [1, 2], "partial_branches": []},
    }
    assert diff_check(repo.root)["message"] == (
        "diff coverage 77.7% of 9 changed line(s) since origin/main is below the 80% floor; "
        "uncovered: pkg/extra.py:1, pkg/extra.py:2"
    )


def test_min_lines_exempts_a_tiny_change(gate: GateRunner, repo: Repo) -> None:
    repo.write("gate.yaml", gate_yaml("{base: origin/main, fail_under: 80, min_lines: 5}"))
    result = gate("run", cwd=repo.root)
    assert result.code == 0, result.output
    assert diff_check(repo.root) == {
        "name": "coverage.diff",
        "passed": True,
        "actual": 75.0,
        "expected": 80,
        "message": "exempt: 4 changed executable line(s) since origin/main, fewer than "
        f"coverage.diff.min_lines (5); 3 covered; uncovered: {UNCOVERED}",
    }
    # still listed, so the author sees it
    assert f"{UNCOVERED} not covered: lines 8" in result.stdout


def test_base_flag_overrides_the_configured_base(gate: GateRunner, repo: Repo) -> None:
    result = gate("run", "--base", "HEAD", cwd=repo.root)
    assert result.code == 0, result.output
    assert diff_check(repo.root)["message"] == "no changed executable lines since HEAD"
    assert report(repo.root)["diff_coverage"]["base_from"] == "--base"


def test_the_pushed_range_beats_the_configured_base(gate: GateRunner, repo: Repo) -> None:
    remote_sha = repo.head()  # as if the feature branch was pushed already: nothing new
    result = gate("run", cwd=repo.root, env={PUSH_RANGE_ENV: f"{remote_sha}..{remote_sha}"})
    assert result.code == 0, result.output
    assert diff_check(repo.root)["message"] == (
        f"no changed executable lines since {remote_sha[:12]} (the remote side of the push)"
    )
    assert report(repo.root)["diff_coverage"]["base_from"] == PUSH_RANGE_ENV


def backticked_command(message: str) -> list[str]:
    found = re.search(r"`(git [^`]+)`", message)
    assert found is not None, message
    return found[1].split()


def test_a_shallow_clone_says_how_to_fetch_the_base_and_following_it_works(
    gate: GateRunner, repo: Repo, tmp_path: Path
) -> None:
    repo.git("push", "-q", "origin", "feature")
    shallow = Repo(tmp_path / "shallow", repo.remote, repo.env)
    # what actions/checkout does by default: one commit of the branch being built
    repo.git("clone", "-q", "--depth", "1", "--branch", "feature", f"file://{repo.remote}",
             str(shallow.root))  # fmt: skip
    # Refused before anything is provisioned or tested: nothing could be judged.
    for command in ("check", "run"):
        first = gate(command, cwd=shallow.root)
        assert first.code == 2, first.output
    message = report(shallow.root)["error"]
    assert [s["name"] for s in report(shallow.root)["steps"] if s["status"] != "skipped"] == [
        "config",
        "report",
        "teardown",
    ]
    assert message == (
        "coverage.diff: the base 'origin/main' (from coverage.diff.base) is not available in "
        "this shallow clone; fetch it with `git fetch origin main:refs/remotes/origin/main` (or "
        "`git fetch --unshallow`), or in GitHub Actions, check out with `fetch-depth: 0` "
        "(actions/checkout); or pass --base REF"
    )
    assert first.stderr == f"gate: {message}\n"  # shown to the user in one paragraph
    # Do what each message says until the changed lines can be judged.
    for _ in range(3):
        shallow.git(*backticked_command(message)[1:])
        again = gate("run", cwd=shallow.root)
        if again.code == 2:
            message = report(shallow.root)["error"]
            continue
        message = diff_check(shallow.root)["message"]
        break
    assert message == (
        "diff coverage 75% of 4 changed line(s) since origin/main is below the 80% floor; "
        f"uncovered: {UNCOVERED}"
    ), again.output


# --- the pieces, with real git but without a test run ----------------------------------------


def coverage_of(files: dict[str, tuple[list[int], list[int]]]) -> CoverageResult:
    """files: path -> (covered lines, missing lines)."""
    return CoverageResult(
        percent=0.0,
        branch=False,
        files={path: 0.0 for path in files},
        covered_lines={path: covered for path, (covered, _) in files.items()},
        missing_lines={path: missing for path, (_, missing) in files.items()},
    )


def test_parse_diff_reads_what_git_writes(repo: Repo) -> None:
    repo.write("keep.py", "a = 1\nb = 2\nc = 3\n")
    repo.write("gone.py", "x = 1\n")
    repo.write("old_name.py", "p = 1\nq = 2\nr = 3\ns = 4\nt = 5\n")
    repo.commit("more files")
    repo.write("keep.py", "a = 1\nc = 3\nd = 4\n")
    (repo.root / "gone.py").unlink()
    (repo.root / "old_name.py").rename(repo.root / "new_name.py")
    repo.write("new_name.py", "p = 1\nq = 2\nr = 3\ns = 4\nt = 50\n")
    repo.write("with space/mod ule.py", "v = 1\nw = 2\n")
    repo.write("café.py", "z = 1\n")
    (repo.root / "no_eol.py").write_text("k = 1\nm = 2")
    (repo.root / "blob.bin").write_bytes(bytes(range(256)))
    repo.git("add", "-A")
    text = repo.git(
        "-c", "core.quotePath=true", "diff", "--cached", "-M", "--unified=0", "HEAD", "--"
    ).stdout
    assert '"b/caf\\303\\251.py"' in text and "+++ b/with space/mod ule.py\t" in text
    assert parse_diff(text) == {
        "keep.py": {3},
        "new_name.py": {5},
        "with space/mod ule.py": {1, 2},
        "café.py": {1},
        "no_eol.py": {1, 2},
    }


def test_measure_keeps_executable_changed_lines_of_measured_files() -> None:
    coverage = coverage_of({"a.py": ([1, 2], [4]), "b.py": ([1], [])})
    changed = {"a.py": {2, 3, 4, 5}, "b.py": {7}, "unmeasured.py": {1}}
    diff = measure(DiffBase("main", "--base"), "abc", changed, coverage)
    assert diff.changed == {"a.py": [2, 4]}  # 3 and 5 are blank or comments; b.py:7 too
    assert diff.uncovered == {"a.py": [4]}
    assert (diff.total, diff.covered, diff.percent) == (2, 1, 50.0)
    assert diff.uncovered_places() == ["a.py:4"]
    empty = measure(DiffBase("main", "--base"), "abc", {}, coverage)
    assert (empty.total, empty.percent) == (0, 100.0)


@pytest.mark.parametrize(
    ("pushed", "flag", "expected"),
    [
        ("", None, DiffBase("origin/main", "coverage.diff.base")),
        ("", "develop", DiffBase("develop", "--base")),
        ("aaa..bbb", "develop", DiffBase("aaa", PUSH_RANGE_ENV)),
        ("aaa..bbb", None, DiffBase("aaa", PUSH_RANGE_ENV)),
        ("..bbb", None, DiffBase("origin/main", "coverage.diff.base")),  # a new branch
        ("garbage", None, DiffBase("origin/main", "coverage.diff.base")),
    ],
)
def test_choose_base(pushed: str, flag: str | None, expected: DiffBase) -> None:
    assert choose_base("origin/main", flag, {PUSH_RANGE_ENV: pushed}) == expected


@pytest.mark.parametrize(
    ("lines", "text"),
    [([], ""), ([3], "3"), ([1, 2, 3, 7, 9, 10], "1-3, 7, 9-10"), ([2, 1], "1-2")],
)
def test_format_lines(lines: list[int], text: str) -> None:
    assert format_lines(lines) == text


def problem(root: Path, env: dict[str, str], ref: str) -> str | None:
    coverage = coverage_of({"pkg/__init__.py": ([1, 2], [])})
    return diff_coverage(root, env, DiffBase(ref, "--base"), coverage).problem


def test_problems_are_explained(repo: Repo, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert problem(plain, repo.env, "main") == (
        f"coverage.diff: {plain} is not in a git repository, so there are no changed lines to "
        "judge; run gate in a git checkout or remove coverage.diff"
    )
    fresh = tmp_path / "fresh"
    subprocess.run(["git", "init", "-q", str(fresh)], env=repo.env, check=True)
    assert problem(fresh, repo.env, "main") == (
        "coverage.diff: the repository has no commit yet; commit first"
    )
    assert problem(repo.root, repo.env, "origin/nope") == (
        "coverage.diff: the base 'origin/nope' (from --base) is not available in this "
        "repository; fetch it with `git fetch origin nope:refs/remotes/origin/nope`, or in "
        "GitHub Actions, check out with `fetch-depth: 0` (actions/checkout); or pass --base REF"
    )
    repo.git("checkout", "-q", "--orphan", "unrelated")
    repo.commit("no shared history")
    assert problem(repo.root, repo.env, "main") == (
        "coverage.diff: the base 'main' (from --base) shares no history with HEAD; set "
        "coverage.diff.base or --base to the branch this work started from"
    )
    assert problem(repo.root, {**repo.env, "PATH": str(tmp_path / "nowhere")}, "main") == (
        "coverage.diff needs git, and git was not found on PATH; install git or remove "
        "coverage.diff"
    )
