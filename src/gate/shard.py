"""`gate run --shard I/N`: which share of the tests a run takes, and the folder it leaves behind.

The folder (.gate/shards/I-of-N) holds what `gate merge` needs to judge all shards as one run:
the raw coverage data, the test process's event files, the shard's JUnit and JSON reports, and
shard.json, which says which shard it was and how it ended.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate import __version__
from gate.errors import UsageError
from gate.redact import redact_tree

SHARDS_DIR = Path(".gate") / "shards"
MANIFEST = "shard.json"
SCHEMA = "gate.shard/1"
_SHAPE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    total: int

    @property
    def label(self) -> str:
        return f"{self.index}/{self.total}"

    def folder(self, root: Path) -> Path:
        return root / SHARDS_DIR / f"{self.index}-of-{self.total}"


def parse_shard(text: str) -> Shard:
    match = _SHAPE.match(text)
    if match is None or not 1 <= int(match[1]) <= int(match[2]):
        raise UsageError(
            f"--shard must be I/N, this shard's number and the number of shards, with "
            f"1 <= I <= N (got {text!r}); e.g. --shard 1/4 ... --shard 4/4"
        )
    return Shard(int(match[1]), int(match[2]))


def save_run_data(run_dir: Path, folder: Path, hide: Callable[[str], str]) -> None:
    """Copy the raw coverage data and event files out of the run folder before teardown;
    every text in the events passes through `hide` (a test may quote a password)."""
    if folder.exists():
        shutil.rmtree(folder)  # a stale result of an earlier run of the same shard
    (folder / "coverage").mkdir(parents=True)
    (folder / "events").mkdir()
    # Named without the leading dot: artifact uploads skip hidden files by default.
    for data in sorted((run_dir / "coverage").glob(".coverage.*")):
        shutil.copy2(data, folder / "coverage" / data.name.removeprefix("."))
    for events in sorted(run_dir.glob("events-*.jsonl")):
        lines = []
        for line in events.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                lines.append(json.dumps(redact_tree(json.loads(line), hide)))
            except ValueError:
                continue  # a line cut short by a killed process: the reader skips it too
        (folder / "events" / events.name).write_text(
            "".join(line + "\n" for line in lines), encoding="utf-8"
        )


def shard_summary(run_dir: Path) -> dict[str, Any] | None:
    """The plugin's `shard` event: how many tests this shard kept, of how many."""
    for path in sorted(run_dir.glob("events-*.jsonl")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if '"event":"shard"' in line:
                try:
                    event: dict[str, Any] = json.loads(line)
                except ValueError:
                    continue
                return event
    return None


def manifest(
    shard: Shard, root: Path, run_id: str, verdict: str, exit_code: int, error: str | None
) -> str:
    return (
        json.dumps(
            {
                "schema": SCHEMA,
                "index": shard.index,
                "total": shard.total,
                "root": str(root),
                "run_id": run_id,
                "verdict": verdict,
                "exit_code": exit_code,
                "error": error,
                "gate_version": __version__,
            },
            indent=2,
        )
        + "\n"
    )
