"""Writes a report to a path ('-' for stdout), creating folders and never leaving half a file."""

from __future__ import annotations

import sys
from pathlib import Path

from gate.files import write_atomic


def write_report(target: Path | str, text: str) -> None:
    if str(target) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path = Path(target)
    if path.exists() and not path.is_file():
        # A device or a pipe (/dev/null, /dev/stdout, a FIFO): renaming over it would replace
        # the device node itself, so write through it.
        with path.open("w", encoding="utf-8") as handle:
            handle.write(text)
        return
    write_atomic(path, text)
