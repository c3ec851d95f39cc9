"""Finds the PostgreSQL server binaries (initdb, postgres) on this machine."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gate import proc
from gate.errors import InfraError

REQUIRED = ("initdb", "postgres")


@dataclass(frozen=True)
class PostgresBinaries:
    bin_dir: Path

    def tool(self, name: str) -> str:
        return str(self.bin_dir / name)


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.name) or ["0"])


def _candidates(bin_dir: Path | None) -> Iterator[tuple[str, Path]]:
    if bin_dir is not None:
        yield "database.bin_dir", bin_dir
    on_path = shutil.which("initdb")
    if on_path:
        # /usr/local/bin/initdb is often a symlink into the real bin folder, where postgres lives.
        yield "PATH", Path(os.path.realpath(on_path)).parent
        yield "PATH", Path(on_path).parent
    if shutil.which("pg_config"):
        try:
            result = proc.capture(["pg_config", "--bindir"], timeout_s=5)
        except InfraError:
            result = None
        if result is not None and result.code == 0 and result.output.strip():
            yield "pg_config --bindir", Path(result.output.strip().splitlines()[0])
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for path in debian:
        yield "/usr/lib/postgresql/N/bin", path
    for pattern in ("/opt/homebrew/opt/postgresql*/bin", "/usr/local/opt/postgresql*/bin"):
        for path in sorted(Path("/").glob(pattern.lstrip("/")), reverse=True):
            yield "Homebrew", path
    for path in (Path("/opt/homebrew/bin"), Path("/usr/local/bin")):
        yield "Homebrew", path


def find_binaries(bin_dir: Path | None = None) -> PostgresBinaries:
    """The first folder holding both initdb and postgres, or exit 3 saying where gate looked."""
    searched: list[str] = []
    for label, folder in _candidates(bin_dir):
        if all(os.access(folder / name, os.X_OK) for name in REQUIRED):
            return PostgresBinaries(folder)
        searched.append(f"{folder} ({label})")
    places = ", ".join(dict.fromkeys(searched)) or "no candidate folders"
    raise InfraError(
        "PostgreSQL server binaries (initdb, postgres) not found; searched: "
        f"{places}. Install PostgreSQL (e.g. `apt-get install postgresql` or "
        "`brew install postgresql`), set database.bin_dir in gate.yaml to the folder holding "
        "initdb, or give gate a running server with --database-url."
    )
