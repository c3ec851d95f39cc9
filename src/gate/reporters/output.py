"""Writes a report to a path ('-' for stdout), creating folders and never leaving half a file."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


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
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename: readers see the old file or the new one, never half.
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
