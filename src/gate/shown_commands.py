"""`gate run -v`: each command gate starts, shown as a line that can be pasted into a shell.

proc.py tells this module of every command it starts; nothing is shown unless a run is
inside `showing()`. A line names the folder, the environment gate changed (passwords and
secrets masked) and the command, so a user can run by hand what gate ran.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gate.redact import MASK, mask_url

if TYPE_CHECKING:
    from rich.console import Console

# A variable whose name says it holds a secret is masked whole; a URL's password always.
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|API_?KEY", re.IGNORECASE)

_shown: list[tuple[Callable[[str], None], Mapping[str, str]]] = []
_hiders: list[Callable[[str], str]] = []


@contextlib.contextmanager
def showing(show: Callable[[str], None], environ: Mapping[str, str]) -> Iterator[None]:
    """While inside, every command proc.py starts is passed to show as a shell line; the
    environment of a command is given as what it changes in environ (gate's own)."""
    entry = (show, dict(environ))
    _shown.append(entry)
    try:
        yield
    finally:
        _shown.remove(entry)


@contextlib.contextmanager
def hiding(hide: Callable[[str], str]) -> Iterator[None]:
    """While inside, every shown line passes through hide: a run masks every secret it knows
    (a password exported under any name, `{password}` in database.export), not only those
    whose variable name says so."""
    _hiders.append(hide)
    try:
        yield
    finally:
        _hiders.remove(hide)


def shown_on(console: Console, *, wanted: bool) -> contextlib.AbstractContextManager[None]:
    """`gate run -v`: the commands go to the run's console, above the live progress line."""
    if not wanted:
        return contextlib.nullcontext()
    return showing(lambda line: console.print(line, markup=False, highlight=False), os.environ)


def announce(argv: Sequence[str], cwd: Path | None, env: Mapping[str, str] | None) -> None:
    """Called by proc.py as a command starts: show it where a run asked for that."""
    for show, environ in _shown:
        line = shell_line(argv, cwd, env, environ)
        for hide in _hiders:
            line = hide(line)
        show(line)


def shell_line(
    argv: Sequence[str],
    cwd: Path | None,
    env: Mapping[str, str] | None,
    environ: Mapping[str, str],
) -> str:
    """`$ cd FOLDER && NAME=value ... command args`, quoted for a POSIX shell.

    Only what differs from environ is listed: the whole environment would bury the few
    variables gate sets (the database URL, PATH, the plugin's settings)."""
    words = [_assignment(name, value, environ.get(name)) for name, value in _changed(env, environ)]
    words += [_word(word) for word in argv]
    removed = sorted(set(environ) - set(env)) if env is not None else []
    prefix = f"cd {shlex.quote(str(cwd))} && " if cwd is not None else ""
    unset = f"env {' '.join(f'-u {name}' for name in removed)} " if removed else ""
    return f"$ {prefix}{unset}{' '.join(words)}"


def _changed(env: Mapping[str, str] | None, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    if env is None:
        return []
    return sorted((name, value) for name, value in env.items() if environ.get(name) != value)


def _assignment(name: str, value: str, before: str | None) -> str:
    """NAME=value; a search path gate put folders in front of reads `NAME=folders:"$NAME"`."""
    if before and value.endswith(os.pathsep + before):
        return f'{name}={shlex.quote(value[: -len(before)])}"${name}"'
    return f"{name}={shlex.quote(_masked(name, value))}"


def _word(word: str) -> str:
    # A script passed with -c (the interpreter probe) is shown by its size: its lines would
    # bury the commands around it.
    if "\n" in word.strip():
        return f"'<script of {len(word.strip().splitlines())} lines>'"
    return shlex.quote(word)


def _masked(name: str, value: str) -> str:
    return MASK if _SECRET_NAME.search(name) and value else mask_url(value)
