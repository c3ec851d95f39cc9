"""Diff coverage: which lines changed since a git base, and which of them the tests ran."""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gate import proc
from gate.coverage_data import CoverageResult, partial_branches
from gate.errors import UsageError

#: Set by gate's pre-push hook to `<remote sha>..<local sha>`; empty for a new branch.
PUSH_RANGE_ENV = "GATE_PUSH_RANGE"
_FETCH_DEPTH_HINT = "in GitHub Actions, check out with `fetch-depth: 0` (actions/checkout)"


class DiffBaseError(Exception):
    """The changed lines cannot be known; the message says why and how to fix it."""


@dataclass(frozen=True)
class DiffBase:
    ref: str
    source: str  # where the ref came from: coverage.diff.base, --base or GATE_PUSH_RANGE

    @property
    def label(self) -> str:
        if self.source == PUSH_RANGE_ENV:
            return f"{self.ref[:12]} (the remote side of the push)"
        return self.ref


def choose_base(configured: str, flag: str | None, environ: Mapping[str, str]) -> DiffBase:
    """The pushed range beats --base, which beats coverage.diff.base."""
    pushed = environ.get(PUSH_RANGE_ENV, "")
    if ".." in pushed and pushed.split("..", 1)[0]:
        return DiffBase(pushed.split("..", 1)[0], PUSH_RANGE_ENV)
    if flag:
        return DiffBase(flag, "--base")
    return DiffBase(configured, "coverage.diff.base")


@dataclass
class DiffCoverage:
    base: DiffBase
    merge_base: str = ""
    changed: dict[str, list[int]] = field(default_factory=dict)  # executable changed lines
    uncovered: dict[str, list[int]] = field(default_factory=dict)
    # Changed lines that ran but left a branch untaken: (line, where the branch goes). Such a
    # line is not covered: the change's other path never ran.
    partial: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    problem: str | None = None  # why the changed lines are unknown

    @property
    def total(self) -> int:
        return sum(len(lines) for lines in self.changed.values())

    @property
    def covered(self) -> int:
        missed = sum(len(lines) for lines in self.uncovered.values())
        partial = sum(len({line for line, _ in arcs}) for arcs in self.partial.values())
        return self.total - missed - partial

    def file_percent(self, path: str) -> float:
        """The same measure for one file's changed lines."""
        total = len(self.changed.get(path, ()))
        missed = len(self.uncovered.get(path, ())) + len(
            {line for line, _ in self.partial.get(path, ())}
        )
        return 100.0 if total == 0 else 100.0 * (total - missed) / total

    @property
    def percent(self) -> float:
        # Unrounded: the floor is judged on the exact value (checks/floors.py).
        return 100.0 if self.total == 0 else 100.0 * self.covered / self.total

    def uncovered_places(self) -> list[str]:
        """Uncovered changed lines as path:line, then untaken branches as path:line->to."""
        lines = [f"{path}:{line}" for path, found in self.uncovered.items() for line in found]
        return lines + [
            f"{path}:{format_branch(start, end)}"
            for path, arcs in self.partial.items()
            for start, end in arcs
        ]


def format_branch(start: int, end: int) -> str:
    """As coverage.py writes a branch: 12->14, or 12->exit when it leaves the function."""
    return f"{start}->{end if end > 0 else 'exit'}"


def line_ranges(lines: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted lines as (first, last) runs of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    for line in sorted(set(lines)):
        if runs and runs[-1][1] == line - 1:
            runs[-1] = (runs[-1][0], line)
        else:
            runs.append((line, line))
    return runs


def format_lines(lines: Iterable[int]) -> str:
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in line_ranges(lines))


def parse_diff(text: str) -> dict[str, set[int]]:
    """Added or modified lines per file (new side) of one `git diff` output.

    diff-cover does the parsing (C-quoted names, names with spaces, renames, deletions), fed
    the one diff gate made: its own git mode diffs committed, staged and unstaged changes
    separately and merges the line numbers without shifting them, which misplaces lines when
    a branch has both (measured in bench/diff_cover_fit.py).
    """
    from diff_cover.diff_reporter import GitDiffReporter
    from diff_cover.git_diff import GitDiffError, GitDiffFileTool

    with tempfile.TemporaryDirectory(prefix="gate-diff-") as folder:
        diff_file = Path(folder) / "changes.diff"
        diff_file.write_text(text, encoding="utf-8")
        reporter = GitDiffReporter(
            git_diff=GitDiffFileTool(str(diff_file)), ignore_staged=True, ignore_unstaged=True
        )
        try:
            paths: list[str] = reporter.src_paths_changed()
            changed = {path: set(reporter.lines_changed(path)) for path in paths}
        except GitDiffError as exc:
            raise DiffBaseError(f"coverage.diff: could not read git's diff: {exc}") from exc
    return {path: lines for path, lines in changed.items() if lines}


def measure(
    base: DiffBase, merge_base: str, changed: Mapping[str, Iterable[int]], coverage: CoverageResult
) -> DiffCoverage:
    """Changed lines that coverage counts as executable, in the files it measured (pure)."""
    result = DiffCoverage(base, merge_base)
    for path in sorted(changed):
        if path not in coverage.files:
            continue
        missing = set(coverage.missing_lines.get(path, ()))
        executable = missing | set(coverage.covered_lines.get(path, ()))
        lines = sorted(set(changed[path]) & executable)
        if lines:
            result.changed[path] = lines
            uncovered = [line for line in lines if line in missing]
            if uncovered:
                result.uncovered[path] = uncovered
            branches = partial_branches(coverage, path)
            arcs = [(line, end) for line in lines for end in sorted(branches.get(line, ()))]
            if arcs:
                result.partial[path] = arcs
    return result


def _git(root: Path, env: Mapping[str, str], *args: str) -> proc.Completed:
    argv = ["git", "-C", str(root), "-c", "core.quotePath=true", *args]
    try:
        return proc.capture(argv, env=env)
    except proc.CommandNotFound as exc:
        raise DiffBaseError(
            "coverage.diff needs git, and git was not found on PATH; install git or remove "
            "coverage.diff"
        ) from exc


def _fetch_hint(root: Path, env: Mapping[str, str], ref: str) -> str:
    remote, _, branch = ref.partition("/")
    remotes = _git(root, env, "remote").output.split()
    if branch and remote in remotes:
        return f"`git fetch {remote} {branch}:refs/remotes/{remote}/{branch}`"
    return f"`git fetch {remotes[0] if remotes else '<remote>'} {ref}`"


def merge_base_of(root: Path, env: Mapping[str, str], base: DiffBase) -> str:
    """The merge base of the base ref and HEAD, or a DiffBaseError that says how to get one."""
    inside = _git(root, env, "rev-parse", "--is-inside-work-tree")
    if inside.code != 0 or inside.output.strip() != "true":
        raise DiffBaseError(
            f"coverage.diff: {root} is not in a git repository, so there are no changed lines "
            "to judge; run gate in a git checkout or remove coverage.diff"
        )
    if _git(root, env, "rev-parse", "--verify", "--quiet", "HEAD^{commit}").code != 0:
        raise DiffBaseError("coverage.diff: the repository has no commit yet; commit first")
    shallow = _git(root, env, "rev-parse", "--is-shallow-repository").output.strip() == "true"
    where = f"{base.ref!r} (from {base.source})"
    found = _git(root, env, "rev-parse", "--verify", "--quiet", "--end-of-options", base.ref)
    if found.code != 0:
        raise DiffBaseError(
            f"coverage.diff: the base {where} is not available in this "
            f"{'shallow clone' if shallow else 'repository'}; fetch it with "
            f"{_fetch_hint(root, env, base.ref)}"
            + (" (or `git fetch --unshallow`)" if shallow else "")
            + f", or {_FETCH_DEPTH_HINT}; or pass --base REF"
        )
    merge_base = _git(root, env, "merge-base", "--end-of-options", base.ref, "HEAD")
    if merge_base.code != 0:
        if shallow:
            raise DiffBaseError(
                f"coverage.diff: the base {where} and HEAD have no common ancestor in this "
                "shallow clone; fetch more history with `git fetch --deepen=200` (or "
                f"`git fetch --unshallow`), or {_FETCH_DEPTH_HINT}"
            )
        raise DiffBaseError(
            f"coverage.diff: the base {where} shares no history with HEAD; set "
            "coverage.diff.base or --base to the branch this work started from"
        )
    return merge_base.output.split()[0]


def require_base(root: Path, env: Mapping[str, str], base: DiffBase) -> None:
    """Before a run: a base that cannot be resolved is a usage error, found in seconds rather
    than after the whole test run."""
    try:
        merge_base_of(root, env, base)
    except DiffBaseError as exc:
        raise UsageError(str(exc)) from exc


def changed_lines(
    root: Path, env: Mapping[str, str], base: DiffBase, measured: Collection[str]
) -> tuple[str, dict[str, set[int]]]:
    """Lines added or modified since merge-base(base, HEAD) in the working tree, root-relative.

    The working tree, not HEAD: gate tests the files as they are, uncommitted changes included,
    and untracked files count as wholly new. Only files in `measured` are kept.
    """
    merge_base = merge_base_of(root, env, base)
    diff = _git(
        root,
        env,
        "diff",
        "--unified=0",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--relative",  # only files under root, named relative to it (as coverage names them)
        "--src-prefix=a/",
        "--dst-prefix=b/",
        merge_base,
        "--",
    )
    if diff.code != 0:
        raise DiffBaseError(f"coverage.diff: git diff {merge_base[:12]} failed: {diff.output}")
    changed = {p: lines for p, lines in parse_diff(diff.output).items() if p in measured}
    untracked = _git(root, env, "ls-files", "--others", "--exclude-standard", "-z")
    for path in filter(None, untracked.output.split("\0")):
        if path in measured:
            changed[path] = set(range(1, _line_count(root / path) + 1))
    return merge_base, changed


def _line_count(path: Path) -> int:
    try:
        return len(path.read_bytes().splitlines())
    except OSError:
        return 0


def diff_coverage(
    root: Path, env: Mapping[str, str], base: DiffBase, coverage: CoverageResult
) -> DiffCoverage:
    try:
        merge_base, changed = changed_lines(root, env, base, coverage.files.keys())
    except DiffBaseError as exc:
        return DiffCoverage(base, problem=str(exc))
    return measure(base, merge_base, changed, coverage)
