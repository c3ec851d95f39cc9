"""What the command line adds to gate.yaml for `gate run` and `gate merge`, and a run's id."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gate.shard import Shard


@dataclass(frozen=True)
class RunOptions:
    """What the command line adds to gate.yaml."""

    cwd: Path
    environ: Mapping[str, str]
    config_path: Path | None = None
    json_path: str | None = None
    junit_path: str | None = None
    coverage_xml_path: str | None = None
    database_url: str | None = None
    keep_db: bool = False
    workers: int | str | None = None
    base: str | None = None  # --base: the git ref diff coverage compares with
    shard: Shard | None = None  # --shard I/N: run a share of the tests; `gate merge` judges all
    no_cache: bool = False  # --no-cache: no migrated template, no cached cluster
    extra_args: Sequence[str] = ()
    update_ratchet: bool = False  # --update-ratchet: write the baseline after the run
    allow_lower: str | None = None  # --allow-lower REASON: let what got worse into it
    verbose: bool = False
    live: bool = True

    def resolve(self, path: str | Path) -> Path:
        """A path given on the command line, relative to where gate was started."""
        candidate = Path(path)
        return candidate if candidate.is_absolute() else self.cwd / candidate


def new_run_id() -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + "_" + secrets.token_hex(3)
