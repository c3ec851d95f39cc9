"""Adopting gate on a project as it is: turn the ratchet on in gate.yaml and write the first
baseline, so that from the next push on only what gets worse is red."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from gate.reporters.output import write_report

if TYPE_CHECKING:
    from rich.console import Console

    from gate.outcome import RunOutcome

DEFAULT_BASELINE = "gate-ratchet.json"  # beside gate.yaml, outside the ignored .gate/ folder
RATCHET_YAML = f"""
# What the project already lacks, per file (uncovered lines, partly covered branches), and
# where its known blocking calls and server errors are. A run fails only on what gets
# worse. Commit this file; `gate run --update-ratchet` tightens it as the project improves.
ratchet: {DEFAULT_BASELINE}
"""
_RATCHET_KEY = re.compile(r"^ratchet\s*:", re.MULTILINE)
# The commented total floor that `gate init` writes under coverage:
_COMMENTED_FLOOR = re.compile(r"^  # fail_under: \d+(\.\d+)?$", re.MULTILINE)
NO_FLOOR = "  fail_under: 0  # no total floor: the ratchet holds every file where it is"


def enable_ratchet(config_path: Path) -> bool:
    """Turn the ratchet on in a gate.yaml that lacks the key; False when it has one.

    A total floor is what keeps a project at 78% from adopting gate, so the default floor
    `gate init` left commented out is set to 0: the ratchet judges instead. A floor the
    user wrote stays.
    """
    text = config_path.read_text(encoding="utf-8")
    if _RATCHET_KEY.search(text):
        return False
    text = _COMMENTED_FLOOR.sub(NO_FLOOR, text, count=1)
    write_report(config_path, text.rstrip("\n") + "\n" + RATCHET_YAML)
    return True


def write_first_baseline(cwd: Path, environ: Mapping[str, str], console: Console) -> RunOutcome:
    """`gate run --update-ratchet`: the whole gate once, writing the baseline of the project
    as it is, whatever the verdict."""
    from gate.pipeline import run_gate
    from gate.run_options import RunOptions

    options = RunOptions(cwd=cwd, environ=environ, update_ratchet=True)
    return run_gate(options, console)
