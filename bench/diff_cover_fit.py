"""Does diff-cover fit gate's coverage.diff? Measured side by side in one run.

    uv run python bench/diff_cover_fit.py

1. Correctness on a branch with committed *and* uncommitted changes (what a pre-push or a local
   run sees): diff-cover's own git mode, gate (one `git diff <merge-base>` of the working tree
   parsed by diff-cover), and the hand-written parser gate had before (from git history).
2. Parsing edge cases (a name with a space, a non-ASCII name, a rename, a deletion, a binary
   file, no newline at the end): both parsers against the truth.
3. Speed of parsing a large diff (this repository as one diff from the empty tree), as a ratio.
4. diff-cover's own command on the Cobertura XML a real `gate run` wrote: the same changed
   lines and the same uncovered ones as gate's report?
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from types import ModuleType

from gate.diff_coverage import parse_diff

REPO = Path(__file__).resolve().parents[1]
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
HAND_WRITTEN_COMMIT = "c381d44"  # "Diff coverage: judge the changed lines since a base"
ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": tempfile.mkdtemp(prefix="bench-home-")}


def git(cwd: Path, *args: str) -> str:
    argv = ["git", "-c", "user.name=b", "-c", "user.email=b@e", "-c", "core.quotePath=true"]
    completed = subprocess.run(
        [*argv, *args], cwd=cwd, env=ENV, capture_output=True, text=True, check=True
    )
    return completed.stdout


@functools.cache
def hand_written_parser() -> ModuleType:
    source = git(REPO, "show", f"{HAND_WRITTEN_COMMIT}:src/gate/diff_coverage.py")
    module = ModuleType("old_diff_coverage")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, "old_diff_coverage.py", "exec"), module.__dict__)
    return module


def diff_cover_git_mode(cwd: Path, base: str) -> dict[str, set[int]]:
    """diff-cover as its command runs it: committed + staged + unstaged, merged."""
    from diff_cover.diff_reporter import GitDiffReporter
    from diff_cover.git_diff import GitDiffTool

    previous = os.getcwd()
    os.chdir(cwd)  # diff-cover runs git in the process's working directory
    try:
        reporter = GitDiffReporter(base, git_diff=GitDiffTool("...", False))
        return {p: set(reporter.lines_changed(p)) for p in reporter.src_paths_changed()}
    finally:
        os.chdir(previous)


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def scenario_committed_and_uncommitted(work: Path) -> int:
    root = work / "mixed"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write(root, "m.py", "def a():\n    return 1\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    git(root, "checkout", "-qb", "feature")
    write(root, "m.py", "def a():\n    return 1\n\n\ndef b():\n    return 2\n")
    git(root, "commit", "-qam", "add b")  # committed: lines 3-6
    # not committed yet: three imports at the top, so b() is now at lines 8-9
    write(root, "m.py", "import os\nimport re\nimport sys\ndef a():\n    return 1\n\n\ndef b():\n")
    (root / "m.py").write_text((root / "m.py").read_text() + "    return 2\n")
    truth = {"m.py": {1, 2, 3, 6, 7, 8, 9}}
    merge_base = git(root, "merge-base", "main", "HEAD").strip()
    one_diff = git(root, "diff", "--unified=0", "--no-color", merge_base, "--")
    results = {
        "diff-cover git mode": diff_cover_git_mode(root, "main"),
        "gate (one diff, diff-cover parser)": parse_diff(one_diff),
        "hand-written parser (one diff)": hand_written_parser().parse_diff(one_diff),
    }
    print("1. committed and uncommitted changes on one branch; truth:", sorted(truth["m.py"]))
    wrong = 0
    for name, found in results.items():
        ok = found == truth
        wrong += not ok
        print(f"   {name:38} {sorted(found.get('m.py', set()))}  {'right' if ok else 'WRONG'}")
    return wrong


def scenario_edge_cases(work: Path) -> int:
    root = work / "edges"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write(root, "keep.py", "a = 1\nb = 2\nc = 3\n")
    write(root, "gone.py", "x = 1\n")
    write(root, "old_name.py", "p = 1\nq = 2\nr = 3\ns = 4\nt = 5\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    write(root, "keep.py", "a = 1\nc = 3\nd = 4\n")  # b deleted, d added at 3
    (root / "gone.py").unlink()
    (root / "old_name.py").rename(root / "new_name.py")
    write(root, "new_name.py", "p = 1\nq = 2\nr = 3\ns = 4\nt = 50\n")
    write(root, "with space/mod ule.py", "v = 1\nw = 2\n")
    write(root, "café.py", "z = 1\n")
    (root / "no_eol.py").write_text("k = 1\nm = 2", encoding="utf-8")
    (root / "blob.bin").write_bytes(bytes(range(256)))
    git(root, "add", "-A")
    text = git(root, "diff", "--cached", "-M", "--unified=0", "--no-color", "HEAD", "--")
    truth = {
        "keep.py": {3},
        "new_name.py": {5},
        "with space/mod ule.py": {1, 2},
        "café.py": {1},
        "no_eol.py": {1, 2},
    }
    print("2. edge cases (space, non-ASCII, rename, deletion, binary, no newline at end)")
    wrong = 0
    for name, parser in (
        ("diff-cover parser (gate now)", parse_diff),
        ("hand-written parser (before)", hand_written_parser().parse_diff),
    ):
        found = parser(text)
        problems = [
            f"{path!r}: {sorted(found.get(path, set()))} (want {sorted(lines)})"
            for path, lines in truth.items()
            if found.get(path) != lines
        ] + [f"unexpected {path!r}" for path in found if path not in truth]
        wrong += bool(problems)
        print(f"   {name:32} {'right' if not problems else 'WRONG: ' + '; '.join(problems)}")
    return wrong


def scenario_speed() -> None:
    text = git(REPO, "diff", "--unified=0", "--no-color", EMPTY_TREE, "HEAD", "--")
    old = hand_written_parser().parse_diff
    rounds = 5
    timings = {}
    for name, parser in (("diff-cover parser", parse_diff), ("hand-written parser", old)):
        started = time.perf_counter()
        for _ in range(rounds):
            found = parser(text)
        timings[name] = (time.perf_counter() - started) / rounds
        lines = sum(len(v) for v in found.values())
    same = parse_diff(text) == old(text)
    print(
        f"3. parsing this repository as one diff ({len(text) // 1024} KiB, {lines} lines): "
        + ", ".join(f"{name} {ms * 1000:.1f} ms" for name, ms in timings.items())
        + f"; ratio {timings['diff-cover parser'] / timings['hand-written parser']:.2f}x; "
        f"same result: {same}"
    )


def scenario_gate_coverage_xml(work: Path) -> int:
    root = work / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write(root, "pkg/__init__.py", "def one():\n    return 1\n")
    write(root, "tests/test_pkg.py", "from pkg import one\n\n\ndef test_one():\n    assert one()\n")
    write(
        root,
        "gate.yaml",
        """
        database: {mode: none}
        blocking: {mode: off}
        coverage: {source: [pkg], branch: false, diff: {base: main}}
        """,
    )
    write(root, ".gitignore", ".gate/\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    git(root, "checkout", "-qb", "feature")
    write(
        root,
        "pkg/__init__.py",
        """
        def one():
            return 1


        def two(flag):
            if flag:
                return 2
            return -2
        """,
    )
    write(root, "tests/test_two.py", "from pkg import two\n\n\ndef test_two():\n    two(True)\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "two")
    env = {k: v for k, v in ENV.items() if not k.startswith(("GATE_", "GITHUB_", "GITLAB_"))}
    env["GATE_STATE_DIR"] = str(work / "state")
    run = subprocess.run(
        [sys.executable, "-m", "gate", "run", "-q"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads((root / ".gate/report.json").read_text())["diff_coverage"]
    bin_dir = Path(sys.executable).parent
    out = root / "diff-cover.json"
    subprocess.run(
        [
            str(bin_dir / "diff-cover"),
            ".gate/coverage.xml",
            "--compare-branch=main",
            f"--format=json:{out}",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        check=False,
    )
    theirs = json.loads(out.read_text())
    their_lines = {
        path: (sorted(stats["violation_lines"]), stats["percent_covered"])
        for path, stats in theirs["src_stats"].items()
    }
    ours = {
        path: (files["uncovered"], report["percent"]) for path, files in report["files"].items()
    }
    same = {p: v[0] for p, v in their_lines.items()} == {p: v[0] for p, v in ours.items()}
    print(
        f"4. gate run (exit {run.returncode}) then diff-cover on its .gate/coverage.xml: "
        f"diff-cover {their_lines}, gate {ours}; same uncovered lines: {same}"
    )
    return 0 if same else 1


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-diff-cover-") as folder:
        work = Path(folder)
        wrong = scenario_committed_and_uncommitted(work)
        wrong += scenario_edge_cases(work)
        scenario_speed()
        wrong += scenario_gate_coverage_xml(work)
    print(f"{wrong} wrong result(s) above")
    return 0


if __name__ == "__main__":
    sys.exit(main())
