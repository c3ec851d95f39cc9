"""`--update-ratchet [--allow-lower REASON]`: after a run that got as far as judging, pass or
fail, the baseline tightened to what the run reached; loosened only with a reason."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from gate import __version__
from gate.checks.base import Evidence
from gate.checks.ratchet import comparison, measured
from gate.config import Config
from gate.outcome import RunOutcome
from gate.ratchet.baseline import Lowering, loosened_entries, updated
from gate.ratchet.setup import RatchetRun
from gate.ratchet.store import git_user, head_commit, now_utc, write_baseline


def _entries(count: int) -> str:
    return f"{count} entr{'ies' if count != 1 else 'y'}"


def write_updated_baseline(
    outcome: RunOutcome,
    config: Config,
    environ: Mapping[str, str],
    allow_lower: str | None,
    ratchet: RatchetRun,
) -> str:
    """Writes the baseline file (ratchet: the one the run read and was judged by); returns a
    sentence for the run's notes."""
    if outcome.error is not None or outcome.results is None:
        return f"--update-ratchet: the run did not get as far as judging; {ratchet.shown} unchanged"
    evidence = Evidence(
        config=config,
        results=outcome.results,
        coverage=outcome.coverage,
        diff_coverage=outcome.diff_coverage,
        root=config.root,
        ratchet=ratchet,
    )
    found = comparison(ratchet, evidence)
    old = ratchet.baseline
    entries = loosened_entries(found) if old is not None else ()
    lowering = None
    if allow_lower is not None and entries:
        lowering = Lowering(now_utc(), git_user(config.root, environ), allow_lower, entries)
    new = updated(
        old,
        measured(evidence),
        found,
        gate_version=__version__,
        commit=head_commit(config.root, environ),
        lowering=lowering,
    )
    if old is None:
        write_baseline(ratchet.path, new)
        return (
            f"--update-ratchet: wrote the first baseline {ratchet.shown} "
            f"({len(new.files)} file{'s' if len(new.files) != 1 else ''}); commit it"
        )
    # No entry changed: the file keeps the commit it was taken at, so no diff for no change.
    same = dataclasses.replace(new, gate_version=old.gate_version, commit=old.commit) == old
    if not same:
        write_baseline(ratchet.path, new)
    said = [f"tightened {_entries(found.improvements)}"] if found.improvements else []
    if lowering is not None:
        said.append(f"loosened {_entries(len(entries))} ({allow_lower})")
    elif entries:
        said.append(
            f"kept {_entries(len(entries))} that got worse at the baseline (loosen them with "
            "--allow-lower REASON)"
        )
    if allow_lower is not None and not entries:
        said.append("nothing got worse, so --allow-lower recorded nothing")
    if same:
        said.append("the file is unchanged")
    return f"--update-ratchet: {ratchet.shown}: " + "; ".join(said)
