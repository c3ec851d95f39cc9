"""Remembered answers of the interpreter probe.

Asking the test interpreter what it has installed costs a process start (~0.1 s of every run).
The answer stands while the interpreter and every folder on its sys.path are unchanged:
installing, removing or upgrading a package adds or removes entries in its site-packages
folder, which changes that folder's modification time. The record lives in gate's cache folder
(interpreters.json); a missing, unreadable or stale entry just means asking again.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from gate.files import cache_root, write_atomic

RECORD = "interpreters.json"
MAX_ENTRIES = 32
# Variables that change what the interpreter can import.
IMPORT_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONNOUSERSITE", "PYTHONUSERBASE")


def _record(environ: Mapping[str, str]) -> Path:
    return cache_root(environ) / RECORD


def _stamp(path: str) -> str | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return f"{status.st_mtime_ns}:{status.st_size}:{status.st_ino}"


def _key(python: Path, environ: Mapping[str, str]) -> str:
    variables = {name: environ[name] for name in IMPORT_VARIABLES if name in environ}
    return json.dumps([str(python), variables], sort_keys=True)


def _entries(environ: Mapping[str, str]) -> dict[str, dict[str, object]]:
    try:
        entries = json.loads(_record(environ).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def recall(python: Path, environ: Mapping[str, str]) -> str | None:
    """The probe's answer when nothing it depends on changed since it was given; else None."""
    entry = _entries(environ).get(_key(python, environ))
    if not isinstance(entry, dict):
        return None
    stamps, answer = entry.get("stamps"), entry.get("answer")
    if not isinstance(stamps, dict) or not isinstance(answer, str) or not stamps:
        return None
    if any(_stamp(path) != stamp for path, stamp in stamps.items()):
        return None
    return answer


def remember(python: Path, environ: Mapping[str, str], answer: str, folders: Sequence[str]) -> None:
    """Keep a successful answer with the stamps of the interpreter and its sys.path folders."""
    stamps = {path: _stamp(path) for path in [str(python), *folders]}
    if any(stamp is None for stamp in stamps.values()):
        return  # something vanished meanwhile: not worth remembering
    entries = _entries(environ)
    entries.pop(_key(python, environ), None)
    entries[_key(python, environ)] = {"stamps": stamps, "answer": answer}
    kept = dict(list(entries.items())[-MAX_ENTRIES:])  # the most recently remembered
    with contextlib.suppress(OSError):  # a read-only cache folder: the next run asks again
        write_atomic(_record(environ), json.dumps(kept, indent=1) + "\n")
