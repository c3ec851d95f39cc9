"""Checks, before a run starts, that every report can be written where it is asked to go.

A run that tests for minutes and then cannot write its report has wasted those minutes; a
destination that cannot be written is a usage error, found in the config step.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from gate.errors import UsageError


def check_destinations(targets: Iterable[tuple[str, Path | str, bool]]) -> None:
    """targets: (the flag or key that set it, the path, whether it is a folder)."""
    for label, target, is_folder in targets:
        if str(target) == "-":
            continue  # stdout
        problem = _problem(Path(target), is_folder=is_folder)
        if problem is not None:
            raise UsageError(
                f"{label}: cannot write the report to {target}: {problem}; "
                f"choose a path in a folder you can write to, or change {label}"
            )


def writable(target: Path | str, *, is_folder: bool = False) -> bool:
    return str(target) == "-" or _problem(Path(target), is_folder=is_folder) is None


def _problem(path: Path, *, is_folder: bool) -> str | None:
    if path.exists():
        if is_folder:
            return None if path.is_dir() else "it exists and is not a folder"
        if path.is_dir():
            return "it is a folder"
        if not path.is_file():
            return None  # a device or a pipe, such as /dev/null: written through
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{ancestor} is not a folder"
    # Asking os.access is not enough: root passes it everywhere, /proc included. Make and
    # remove a file where the report's folders would be made.
    try:
        fd, probe = tempfile.mkstemp(prefix=".gate-write-check-", dir=ancestor)
    except OSError as exc:
        return exc.strerror or str(exc)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return None
