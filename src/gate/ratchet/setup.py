"""The ratchet's part of a run before judging: the flags and the baseline file checked before
the tests start, findings at known places marked, and `gate check`'s line."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gate.errors import UsageError
from gate.ratchet.baseline import Baseline
from gate.ratchet.places import code_place, server_error_place
from gate.ratchet.store import read_baseline

if TYPE_CHECKING:
    from gate.config import Config
    from gate.run_options import RunOptions


@dataclass(frozen=True)
class RatchetRun:
    """The baseline a run is judged against."""

    path: Path
    shown: str  # the path as messages name it: relative to root
    baseline: Baseline | None  # None: no baseline yet, and this run writes the first


def _shown(setting: Path, root: Path) -> str:
    return os.path.relpath(setting, root) if setting.is_relative_to(root) else str(setting)


def prepare(
    setting: Path | None, root: Path, *, update: bool, allow_lower: str | None, shard: bool
) -> RatchetRun | None:
    """The baseline, or None when `ratchet` is unset; a flag or a baseline that cannot work is
    a usage error, raised before the tests start."""
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
    shown = _shown(setting, root)
    return RatchetRun(setting, shown, read_baseline(setting, shown, may_be_missing=update))


def for_run(config: Config, options: RunOptions) -> RatchetRun | None:
    """The baseline of this run's config, with the run's flags checked against it."""
    return prepare(
        config.ratchet,
        config.root,
        update=options.update_ratchet,
        allow_lower=options.allow_lower,
        shard=options.shard is not None,
    )


def describe(setting: Path | None, root: Path) -> str:
    """`gate check`'s line: what the baseline holds, or that it is yet to be written."""
    if setting is None:
        return "ratchet: off"
    shown = _shown(setting, root)
    baseline = read_baseline(setting, shown, may_be_missing=True)
    if baseline is None:
        return f"ratchet: {shown} does not exist yet; `gate run --update-ratchet` writes it"
    taken = f" at {baseline.commit[:12]}" if baseline.commit else ""
    return (
        f"ratchet: nothing may get worse than {shown}{taken}: {len(baseline.files)} files, "
        f"{len(baseline.blocking)} blocking and {len(baseline.server_errors)} server-error "
        "places known"
    )


def _marked(record: Any) -> Any:
    if isinstance(record, dict):
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
