"""The key of a migrated template: a hash of what migrations read, so that a changed
migration, model or setting builds a new template and nothing else does.

The migration command, the migration files, the project's code and settings files (not its
tests), gate.yaml's env, database.export and scheme, and the server version.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

# Folders that hold no migrations of the project's own, only tools, caches and virtualenvs.
SKIPPED_FOLDERS = frozenset(
    {".git", ".hg", ".venv", "venv", "__pycache__", "node_modules", ".tox", ".nox", ".gate",
     ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages", "htmlcov"}
)  # fmt: skip


MIGRATION_FOLDERS = frozenset({"alembic", "migrations"})


MIGRATION_FILES = frozenset({"alembic.ini"})


SKIPPED_SUFFIXES = (".pyc", ".pyo")


# Beyond the migration files: the project's code and settings, which migrations import
# (alembic's env.py imports the models; `python -m app.schema` builds from them) or read.
KEYED_SUFFIXES = (".py", ".pyi", ".sql", ".ini", ".cfg", ".toml", ".yaml", ".yml", ".json", ".mako")


@dataclass(frozen=True)
class KeyScope:
    """What besides the migration files can change a migrated schema, for the template key."""

    exclude: tuple[Path, ...] = ()  # the tests and gate's own config: migrations never read them
    env: tuple[tuple[str, str], ...] = ()  # gate.yaml's env, which the migrations run with
    # database.export and database.scheme: how the migrations are told which database to
    # migrate; a change there can migrate a different database, or none.
    database: tuple[tuple[str, str], ...] = ()


def project_files(root: Path, exclude: Sequence[Path] = ()) -> list[Path]:
    """The project's code and settings files (KEYED_SUFFIXES and .env files), outside
    `exclude`; a test or a README changing keeps the cached template."""
    root = root.resolve()
    left_out = [path.resolve() for path in exclude]
    found = []
    for folder, name in _walk(root):
        if not (name.endswith(KEYED_SUFFIXES) or name.startswith(".env")):
            continue
        path = folder / name
        if not any(path == out or path.is_relative_to(out) for out in left_out):
            found.append(path)
    return sorted(found)


def migration_files(root: Path) -> list[Path]:
    """alembic.ini, every file under a folder named alembic or migrations, and every file
    under the script_location an alembic.ini names (whatever that folder is called); sorted."""
    root = root.resolve()
    found: set[Path] = set()
    scripts: list[Path] = []
    for folder, name in _walk(root):
        path = folder / name
        inside = bool(MIGRATION_FOLDERS.intersection(folder.relative_to(root).parts))
        if inside or name in MIGRATION_FILES:
            found.add(path)
        if name == "alembic.ini":
            scripts += _script_locations(path, root)
    for script_folder in scripts:
        found.update(folder / name for folder, name in _walk(script_folder))
    return sorted(found)


def command_files(command: Sequence[str], root: Path) -> list[Path]:
    """The files the migration command names itself: `python migrate.py`, `-c db/alembic.ini`,
    `python -m tools.schema`, `yoyo apply ./sql`. A changed script must change the key, or a
    project would be handed the schema of an older script (or of another project's)."""
    root = root.resolve()
    found: set[Path] = set()
    words = list(command)
    for index, word in enumerate(words):
        candidates = [word.split("=", 1)[1] if word.startswith("-") and "=" in word else word]
        if index > 0 and words[index - 1] == "-m":
            module = word.replace(".", "/")
            candidates = [f"{module}.py", module]
        for candidate in candidates:
            found.update(_files_at(root, candidate))
    return sorted(found)


def _files_at(root: Path, word: str) -> list[Path]:
    if not word or word.startswith("-") or "\x00" in word:
        return []
    try:
        path = (root / word).resolve()
        if not path.is_relative_to(root) or path == root:
            return []  # gate's key covers the project, not the tools on PATH or the whole tree
        if path.is_file():
            return [path]
        if path.is_dir():
            return [folder / name for folder, name in _walk(path)]
    except (OSError, ValueError):
        return []
    return []


def _walk(top: Path) -> Iterator[tuple[Path, str]]:
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIPPED_FOLDERS and not d.startswith(".venv")
        )
        for name in filenames:
            if not name.endswith(SKIPPED_SUFFIXES):
                yield Path(dirpath), name


def _script_locations(ini: Path, root: Path) -> list[Path]:
    """The folder alembic reads migrations from, inside the project; [] when not found."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(ini, encoding="utf-8")
        location = parser.get("alembic", "script_location", fallback="")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return []
    location = location.replace("%(here)s", str(ini.parent)).strip()
    if not location or ":" in location:  # empty, or a package resource such as pkg:migrations
        return []
    # Relative paths are relative to where alembic runs: the project root, or the ini's folder.
    for base in (root, ini.parent):
        folder = (base / location).resolve()
        if folder.is_dir() and folder.is_relative_to(root):
            return [folder]
    return []


def template_key(
    command: Sequence[str],
    root: Path,
    server_version: int | str,
    checks: Sequence[str] = (),
    scope: KeyScope | None = None,
    files: str | None = None,
) -> str:
    """sha256 over the command, the server version and the path and bytes of each migration
    file and of each file the command names.

    `checks` names the migration checks recorded on the template (see migration_checks): a
    template built without them has no results to give.
    """
    digest = hashlib.sha256()
    parts: dict[str, object] = {"command": list(command), "server": str(server_version)}
    if checks:
        parts["checks"] = sorted(checks)
    scope = scope or KeyScope()
    if scope.env:
        parts["env"] = sorted(scope.env)
    if scope.database:
        parts["database"] = sorted(scope.database)
    digest.update(json.dumps(parts).encode())
    digest.update((files or files_digest(command, root, scope)).encode())
    return digest.hexdigest()


def files_digest(command: Sequence[str], root: Path, scope: KeyScope | None = None) -> str:
    """sha256 over the path and bytes of each migration file, each file the command names
    and each of the project's code and settings files: the part of the key a run computes
    once (`files` above) for its cluster variant and its template."""
    digest = hashlib.sha256()
    root = root.resolve()
    exclude = (scope or KeyScope()).exclude
    files = {
        *migration_files(root),
        *command_files(command, root),
        *project_files(root, exclude),
    }
    for path in sorted(files):
        try:
            content = path.read_bytes()
        except OSError:
            continue  # vanished or unreadable: not part of what the migrations can see
        relative = path.relative_to(root).as_posix().encode()
        digest.update(b"%d:%s%d:" % (len(relative), relative, len(content)))
        digest.update(content)
    return digest.hexdigest()
