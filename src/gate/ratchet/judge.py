"""What a run does with the ratchet: load the baseline, judge the run against it (check
`ratchet`), mark known findings, and write the updated baseline after `--update-ratchet`."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate import __version__
from gate.coverage_data import CoverageResult
from gate.diff_coverage import DiffCoverage
from gate.errors import UsageError
from gate.evaluate import Check
from gate.ratchet.baseline import (
    Baseline,
    Comparison,
    Lowering,
    Measured,
    compare,
    loosened_entries,
    measure_run,
    updated,
)
from gate.ratchet.places import code_place, server_error_place
from gate.ratchet.store import git_user, head_commit, now_utc, read_baseline, write_baseline

SHOW = 5  # entries named in the check's message
UPDATE_HINT = "run `gate run --update-ratchet` to lock it in"


@dataclass
class RatchetRun:
    """The ratchet's part of one run: the baseline file, and what judging found."""

    path: Path
    shown: str  # the path as the user wrote it, for messages
    baseline: Baseline | None  # None: no baseline yet, and this run writes the first
    measured: Measured | None = None
    comparison: Comparison | None = None


def prepare(
    setting: Path | None, root: Path, *, update: bool, allow_lower: str | None, shard: bool
) -> RatchetRun | None:
    """Before the tests run: a flag or a baseline that cannot work is a usage error now."""
    if allow_lower is not None and not allow_lower.strip():
        raise UsageError("--allow-lower needs a reason, e.g. --allow-lower 'moved to the v2 API'")
    if allow_lower is not None and not update:
        raise UsageError(
            "--allow-lower only works with --update-ratchet: "
            "`gate run --update-ratchet --allow-lower REASON`"
        )
    if setting is None:
        if update:
            raise UsageError(
                "--update-ratchet: gate.yaml has no `ratchet` key; add `ratchet: "
                "gate-ratchet.json` (a file you commit), then run `gate run --update-ratchet`"
            )
        return None
    if update and shard:
        raise UsageError(
            "--update-ratchet needs the whole run, and a shard is a part; pass it to "
            "`gate merge --update-ratchet` instead"
        )
    shown = os.path.relpath(setting, root) if setting.is_relative_to(root) else str(setting)
    return RatchetRun(setting, shown, read_baseline(setting, shown, may_be_missing=update))


def describe(setting: Path | None, root: Path) -> str:
    """`gate check`'s line: what the baseline holds, or that it is yet to be written."""
    if setting is None:
        return "ratchet: off"
    shown = os.path.relpath(setting, root) if setting.is_relative_to(root) else str(setting)
    baseline = read_baseline(setting, shown, may_be_missing=True)
    if baseline is None:
        return f"ratchet: {shown} does not exist yet; `gate run --update-ratchet` writes it"
    taken = f" at {baseline.commit[:12]}" if baseline.commit else ""
    return (
        f"ratchet: nothing may get worse than {shown}{taken}: {len(baseline.files)} files, "
        f"{len(baseline.blocking)} blocking and {len(baseline.server_errors)} server-error "
        "places known"
    )


def _names(items: Sequence[str]) -> str:
    more = f" and {len(items) - SHOW} more" if len(items) > SHOW else ""
    return ", ".join(items[:SHOW]) + more


def improvement_line(comparison: Comparison) -> str:
    count = comparison.improvements
    if not count:
        return ""
    files = len(comparison.improved) + len(comparison.gone_files)
    places = count - files
    what = [f"{files} file{'s' if files != 1 else ''}"] if files else []
    what += [f"{places} place{'s' if places != 1 else ''}"] if places else []
    return f"{' and '.join(what)} improved: {UPDATE_HINT}"


def ratchet_check(comparison: Comparison, shown: str) -> Check:
    """Check `ratchet`: fails on any entry worse than the baseline, names every one."""
    worse = [
        *(change.describe() for change in comparison.worse),
        *(f"{new.path} ({new.why})" for new in comparison.failing_new_files),
        *(f"new blocking call in {place}" for place in comparison.new_blocking),
        *(f"new server error at {place}" for place in comparison.new_server_errors),
    ]
    improved = improvement_line(comparison)
    if worse:
        message = f"{len(worse)} worse than the baseline {shown}: {_names(worse)}" + (
            f"; {improved}" if improved else ""
        )
        return Check("ratchet", False, len(worse), 0, message)
    message = f"nothing worse than the baseline {shown}" + (f"; {improved}" if improved else "")
    return Check("ratchet", True, 0, 0, message)


def judge(
    ratchet: RatchetRun,
    *,
    coverage: CoverageResult | None,
    blocking: Sequence[Any] | None,
    server_errors: Sequence[Any] | None,
    diff: DiffCoverage | None,
    diff_floor: float,
) -> Check:
    measured = measure_run(coverage, blocking, server_errors)
    ratchet.measured = measured
    if ratchet.baseline is None:
        ratchet.comparison = compare(Baseline(), measured, diff, diff_floor)
        return Check(
            "ratchet", True, 0, 0, f"no baseline yet: {ratchet.shown} is written by this run"
        )
    ratchet.comparison = compare(ratchet.baseline, measured, diff, diff_floor)
    return ratchet_check(ratchet.comparison, ratchet.shown)


def _marked(record: Any) -> Any:
    if isinstance(record, Mapping):
        return {**record, "known": True}
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return dataclasses.replace(record, known=True)
    return record


def mark_known(
    ratchet: RatchetRun | None, blocking: Sequence[Any], server_errors: Sequence[Any] = ()
) -> tuple[list[Any], list[Any]]:
    """The findings, those at places the baseline holds marked `known`: reported, not failing
    their check. That is how a project adopts gate with offenders it has not fixed yet. The
    run that writes the first baseline takes the project as it is: everything it finds is
    known."""
    if ratchet is None:
        return list(blocking), list(server_errors)
    baseline = ratchet.baseline
    return (
        [
            _marked(f) if baseline is None or code_place(f) in baseline.blocking else f
            for f in blocking
        ],
        [
            _marked(e) if baseline is None or server_error_place(e) in baseline.server_errors else e
            for e in server_errors
        ],
    )


def write_updated_baseline(
    ratchet: RatchetRun, root: Path, environ: Mapping[str, str], allow_lower: str | None
) -> str:
    """After a run that completed (pass or fail): tighten the baseline file, loosening only
    with a reason. Returns a sentence for the run's notes."""
    if ratchet.measured is None or ratchet.comparison is None:
        return (
            f"--update-ratchet: the run did not get far enough to judge; {ratchet.shown} unchanged"
        )
    entries = loosened_entries(ratchet.comparison) if ratchet.baseline is not None else ()
    lowering = None
    if allow_lower is not None and entries:
        lowering = Lowering(now_utc(), git_user(root, environ), allow_lower, entries)
    new = updated(
        ratchet.baseline,
        ratchet.measured,
        ratchet.comparison,
        gate_version=__version__,
        commit=head_commit(root, environ),
        lowering=lowering,
    )
    same = (
        ratchet.baseline is not None
        and dataclasses.replace(
            new, gate_version=ratchet.baseline.gate_version, commit=ratchet.baseline.commit
        )
        == ratchet.baseline
    )
    if not same:  # else the file keeps the commit it was taken at: no diff for no change
        write_baseline(ratchet.path, new)
    if ratchet.baseline is None:
        return (
            f"--update-ratchet: wrote the first baseline {ratchet.shown} "
            f"({len(new.files)} files); commit it"
        )
    tightened = ratchet.comparison.improvements
    said = [f"tightened {tightened} entr{'ies' if tightened != 1 else 'y'}"] if tightened else []
    if lowering is not None:
        said.append(f"loosened {len(entries)} ({allow_lower})")
    elif entries:
        said.append(
            f"kept {len(entries)} worse entr{'ies' if len(entries) != 1 else 'y'} at the baseline"
            " (loosen them with --allow-lower REASON)"
        )
    if allow_lower is not None and not entries:
        said.append("nothing got worse, so --allow-lower recorded nothing")
    if same:
        said.append("the file is unchanged")
    return f"--update-ratchet: {ratchet.shown}: " + ("; ".join(said) or "already tight")
