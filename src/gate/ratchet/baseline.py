"""The baseline and a run in the same terms, compared and updated (pure: data in, data out).

Counts, not percentages: deleting well-covered code lowers a file's percentage but never
its count of uncovered lines, so only what really got worse fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gate.coverage_data import CoverageResult, partial_branches
from gate.diff_coverage import DiffCoverage
from gate.ratchet.places import blocking_places, server_error_places


@dataclass(frozen=True)
class FileCounts:
    """What a file still lacks: lines never run, and lines that ran but left a branch untaken."""

    missing_lines: int = 0
    partial_branches: int = 0

    def tightened(self, reached: FileCounts) -> FileCounts:
        return FileCounts(
            min(self.missing_lines, reached.missing_lines),
            min(self.partial_branches, reached.partial_branches),
        )

    @property
    def lacking(self) -> str:
        """'2 uncovered lines and 1 partial branch', for messages."""
        lines, branches = self.missing_lines, self.partial_branches
        said = [f"{lines} uncovered line{'s' if lines != 1 else ''}"] if lines else []
        said += [f"{branches} partial branch{'es' if branches != 1 else ''}"] if branches else []
        return " and ".join(said) or "nothing uncovered"

    def worse_than(self, before: FileCounts) -> bool:
        return (
            self.missing_lines > before.missing_lines
            or self.partial_branches > before.partial_branches
        )


@dataclass(frozen=True)
class Lowering:
    """One `--allow-lower REASON`: what was loosened, why, by whom and when."""

    at: str
    by: str
    reason: str
    entries: tuple[str, ...]


@dataclass(frozen=True)
class Measured:
    """A run in baseline terms. None: the run did not measure it (coverage unset, blocking
    off), so it is neither judged nor updated."""

    files: Mapping[str, FileCounts] | None
    blocking: frozenset[str] | None
    server_errors: frozenset[str] | None


@dataclass(frozen=True)
class Baseline:
    files: Mapping[str, FileCounts] = field(default_factory=dict)
    blocking: frozenset[str] = frozenset()
    server_errors: frozenset[str] = frozenset()
    gate_version: str = ""
    commit: str = ""  # the commit the baseline was taken at ("" outside git)
    lowered: tuple[Lowering, ...] = ()


def file_counts(coverage: CoverageResult) -> dict[str, FileCounts]:
    return {
        path: FileCounts(
            len(coverage.missing_lines.get(path, ())), len(partial_branches(coverage, path))
        )
        for path in coverage.files
    }


def measure_run(
    coverage: CoverageResult | None,
    blocking: Iterable[Any] | None,  # gate.findings records
    server_errors: Iterable[Any] | None,
) -> Measured:
    return Measured(
        files=None if coverage is None else file_counts(coverage),
        blocking=None if blocking is None else blocking_places(blocking),
        server_errors=None if server_errors is None else server_error_places(server_errors),
    )


@dataclass(frozen=True)
class FileChange:
    path: str
    before: FileCounts
    after: FileCounts

    def describe(self) -> str:
        parts = []
        for one, many, was, now in (
            ("uncovered line", "uncovered lines", self.before.missing_lines,
             self.after.missing_lines),
            ("partial branch", "partial branches", self.before.partial_branches,
             self.after.partial_branches),
        ):  # fmt: skip
            if was != now:
                parts.append(f"{now} {one if now == 1 else many} (was {was})")
        return f"{self.path} " + ", ".join(parts)


@dataclass(frozen=True)
class NewFile:
    """A file the baseline does not know, judged by the coverage of its changed lines."""

    path: str
    counts: FileCounts
    passed: bool
    why: str


@dataclass(frozen=True)
class Comparison:
    worse: tuple[FileChange, ...] = ()
    improved: tuple[FileChange, ...] = ()
    new_files: tuple[NewFile, ...] = ()
    gone_files: tuple[str, ...] = ()  # deleted, or no longer measured: never a failure
    new_blocking: tuple[str, ...] = ()
    gone_blocking: tuple[str, ...] = ()
    new_server_errors: tuple[str, ...] = ()
    gone_server_errors: tuple[str, ...] = ()

    @property
    def failing_new_files(self) -> tuple[NewFile, ...]:
        return tuple(f for f in self.new_files if not f.passed)

    @property
    def passed(self) -> bool:
        return not (
            self.worse or self.failing_new_files or self.new_blocking or self.new_server_errors
        )

    @property
    def improvements(self) -> int:
        """Entries an update would tighten: the baseline is slack by this many."""
        return (
            len(self.improved)
            + len(self.gone_files)
            + len(self.gone_blocking)
            + len(self.gone_server_errors)
        )


def _new_file(path: str, counts: FileCounts, diff: DiffCoverage | None, floor: float) -> NewFile:
    if counts == FileCounts():
        return NewFile(path, counts, True, "fully covered")
    if diff is None or diff.problem is not None:
        # No diff coverage to judge by: a new file may not add to what is uncovered.
        return NewFile(
            path,
            counts,
            False,
            f"new, with {counts.lacking}; without coverage.diff to "
            "judge its changed lines by, a new file may add nothing uncovered",
        )
    if path not in diff.changed:
        return NewFile(path, counts, True, f"unchanged since {diff.base.label}")
    # Here, not at the top: gate.checks registers the ratchet check, which imports this module.
    from gate.checks.floors import meets_floor, shown_percent

    percent = diff.file_percent(path)
    passed = meets_floor(percent, floor)
    verb = "meets" if passed else "is below"
    return NewFile(
        path,
        counts,
        passed,
        f"new: {shown_percent(percent, floor)} of its {len(diff.changed[path])} changed line(s) "
        f"covered {verb} coverage.diff.fail_under ({shown_percent(floor)})",
    )


def compare(
    baseline: Baseline,
    run: Measured,
    diff: DiffCoverage | None = None,
    diff_floor: float = 100.0,
) -> Comparison:
    """What got worse, what is new, what improved or went away since the baseline."""
    worse: list[FileChange] = []
    improved: list[FileChange] = []
    new_files: list[NewFile] = []
    gone_files: tuple[str, ...] = ()
    if run.files is not None:
        for path, after in sorted(run.files.items()):
            before = baseline.files.get(path)
            if before is None:
                new_files.append(_new_file(path, after, diff, diff_floor))
            elif after.worse_than(before):
                worse.append(FileChange(path, before, after))
            elif after != before:
                improved.append(FileChange(path, before, after))
        gone_files = tuple(sorted(set(baseline.files) - set(run.files)))

    def added(now: frozenset[str] | None, known: frozenset[str]) -> tuple[str, ...]:
        return () if now is None else tuple(sorted(now - known))

    def gone(now: frozenset[str] | None, known: frozenset[str]) -> tuple[str, ...]:
        return () if now is None else tuple(sorted(known - now))

    return Comparison(
        worse=tuple(worse),
        improved=tuple(improved),
        new_files=tuple(new_files),
        gone_files=gone_files,
        new_blocking=added(run.blocking, baseline.blocking),
        gone_blocking=gone(run.blocking, baseline.blocking),
        new_server_errors=added(run.server_errors, baseline.server_errors),
        gone_server_errors=gone(run.server_errors, baseline.server_errors),
    )


def loosened_entries(comparison: Comparison) -> tuple[str, ...]:
    """What `--allow-lower` would let in, in the words the baseline file keeps."""
    return (
        *(change.describe() for change in comparison.worse),
        *(f"{new.path} new ({new.why})" for new in comparison.failing_new_files),
        *(f"blocking {place}" for place in comparison.new_blocking),
        *(f"server error {place}" for place in comparison.new_server_errors),
    )


def updated(
    baseline: Baseline | None,
    run: Measured,
    comparison: Comparison,
    *,
    gate_version: str,
    commit: str,
    lowering: Lowering | None = None,
) -> Baseline:
    """The baseline tightened to what the run reached. Without `lowering` nothing is loosened:
    a file that got worse keeps its old counts and a new place stays out. With it, exactly the
    entries that got worse take the run's values, and the lowering is recorded."""
    old = baseline or Baseline()
    first = baseline is None  # the first baseline takes the project as it is
    loosen = first or lowering is not None
    files = dict(old.files)
    if run.files is not None:
        failing = {new.path for new in comparison.failing_new_files}
        files = {}
        for path, reached in run.files.items():
            before = old.files.get(path)
            if before is None:
                if path not in failing or loosen:
                    files[path] = reached
            else:
                files[path] = reached if loosen else before.tightened(reached)

    def places(now: frozenset[str] | None, known: frozenset[str]) -> frozenset[str]:
        if now is None:
            return known
        return now if loosen else known & now

    lowered = old.lowered
    if lowering is not None and lowering.entries:
        lowered = (*lowered, lowering)
    return replace(
        old,
        files=dict(sorted(files.items())),
        blocking=places(run.blocking, old.blocking),
        server_errors=places(run.server_errors, old.server_errors),
        gate_version=gate_version,
        commit=commit,
        lowered=lowered,
    )
