"""Files: where gate's cache lives, writing a file whole or not at all, and reading the start
of a project's file within a limit."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

# Read once, at import: reading it means setting it, process-wide, and gate never changes it.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """$GATE_CACHE_DIR, else $XDG_CACHE_HOME/gate, else ~/.cache/gate: run ledgers (runs/),
    cached clusters (clusters/) and the record of binaries copies all live under it."""
    env = os.environ if environ is None else environ
    if env.get("GATE_CACHE_DIR"):
        return Path(env["GATE_CACHE_DIR"])
    return Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gate"


def write_atomic(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write beside the target and rename: readers see the old file or the new one, never half.

    The file keeps the mode it had (a gate.yaml or a baseline someone made group-readable);
    a new one gets a new file's (0o666 less the umask). `mode` sets it instead, less the
    umask: 0o600 for a file that may hold a password (a run ledger), 0o777 for a script.
    A temp name of its own per writer, so that two threads or runs writing at once each
    leave a whole file, the last one winning.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is not None:
        mode &= ~_UMASK
    else:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            mode = 0o666 & ~_UMASK
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


HEAD_BYTES = 256 * 1024  # gate init reads a project's files for names, never whole data files


def read_head(path: Path, limit: int = HEAD_BYTES) -> str:
    """The start of a text file; "" for one that is missing or unreadable."""
    try:
        with path.open("rb") as stream:
            return stream.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""
