"""Migrated template databases: migrate once per key, then clone each run's database from it.

The key is a hash of the migration command, the migration files, the project's code and
settings files (not its tests), gate.yaml's env and the server version, so a changed migration,
or a changed model a migration imports, builds a new template. On a server the template is
`gate_template_<hash12>`; it is a cache, so runs never drop it, and the index under the state
folder records which ones gate built so that `gate clean --cache` drops those and nothing else.
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from gate.database.address import ServerAddress, parse_server_url
from gate.database.server import admin_connection, drop_database
from gate.errors import GateError, InfraError
from gate.files import write_atomic
from gate.ledger import Ledger
from gate.redact import mask_url

TEMPLATE_PREFIX = "gate_template_"
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
    root = root.resolve()
    files = {
        *migration_files(root),
        *command_files(command, root),
        *project_files(root, scope.exclude),
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


def template_name(key: str) -> str:
    return TEMPLATE_PREFIX + key[:12]


def building_name(key: str, run_id: str) -> str:
    return f"{template_name(key)}_building_{run_id}"


def _lock_id(key: str) -> int:
    return int.from_bytes(bytes.fromhex(key[:16]), "big", signed=True)


class TemplateIndex:
    """The templates gate built on servers, one JSON line each; the file is this user's only.

    Lines are appended with O_APPEND, so concurrent runs never interleave half lines.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def under(cls, state_dir: Path) -> TemplateIndex:
        # A subfolder: the state folder's own *.json files are run ledgers.
        return cls(state_dir / "cache" / "templates.jsonl")

    def record(self, server: ServerAddress, name: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"url": server.with_database("").url(), "name": name,
                           "created": time.time()}) + "\n"  # fmt: skip
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def entries(self) -> list[dict[str, str]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        entries = []
        for line in text.splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict) and "url" in entry and "name" in entry:
                    entries.append({"url": str(entry["url"]), "name": str(entry["name"])})
        return entries

    def rewrite(self, entries: Sequence[dict[str, str]]) -> None:
        if not entries:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        text = "".join(json.dumps(entry) + "\n" for entry in entries)
        write_atomic(self.path, text, mode=0o600)  # server URLs may hold passwords


@dataclass
class TemplateSlot:
    """The template a run clones from; when `build` is set, migrate into it and call built().

    `record` is text kept with the template (its database comment): what a build wrote with
    keep(), and what a cached template was built with.
    """

    name: str
    key: str
    build: ServerAddress | None
    succeeded: bool = False
    record: str | None = None

    @property
    def cached(self) -> bool:
        return self.build is None

    def built(self) -> None:
        self.succeeded = True

    def keep(self, record: str) -> None:
        # One line per kind (migration checks, the lint's capture): each finds its own line.
        self.record = record if self.record is None else f"{self.record}\n{record}"


def _comment(admin: psycopg.Connection[tuple[object, ...]], name: str) -> str | None:
    row = admin.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        (name,),
    ).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def _exists(admin: psycopg.Connection[tuple[object, ...]], name: str) -> bool:
    row = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def _execute(admin: psycopg.Connection[tuple[object, ...]], statement: sql.Composed) -> None:
    try:
        admin.execute(statement)
    except psycopg.Error as exc:
        raise InfraError(f"the template cache failed: {str(exc).strip()}") from exc


@contextlib.contextmanager
def migrated_template(
    server: ServerAddress,
    command: Sequence[str],
    root: Path,
    run_id: str,
    ledger: Ledger,
    index: TemplateIndex | None,
    checks: Sequence[str] = (),
    scope: KeyScope | None = None,
) -> Iterator[TemplateSlot]:
    """The cached template for these migrations, built under an advisory lock when missing.

    A build migrates `<template>_building_<run id>` and renames it when the caller reports
    success, so a failed or interrupted migration never leaves a template behind, and a
    concurrent run waits for the lock and then finds the finished template.
    """
    with admin_connection(server) as admin:
        key = template_key(command, root, admin.info.server_version, checks, scope)
        name = template_name(key)
        admin.execute("SELECT pg_advisory_lock(%s)", (_lock_id(key),))
        try:
            if _exists(admin, name):
                yield TemplateSlot(name, key, build=None, record=_comment(admin, name))
                return
            building = building_name(key, run_id)
            ledger.add_database(server.url(), building)  # recorded first, as every database
            try:
                _execute(admin, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
                slot = TemplateSlot(name, key, build=server.with_database(building))
                yield slot
                if slot.succeeded:
                    if index is not None:
                        index.record(server, name)
                    if slot.record is not None:
                        _execute(admin, sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                            sql.Identifier(building), sql.Literal(slot.record)))  # fmt: skip
                    _publish(admin, building, name)
            finally:
                drop_database(server, building)  # a no-op once renamed
                ledger.forget_database(building)
        finally:
            with contextlib.suppress(psycopg.Error):
                admin.execute("SELECT pg_advisory_unlock(%s)", (_lock_id(key),))


def _publish(admin: psycopg.Connection[tuple[object, ...]], building: str, name: str) -> None:
    statement = sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
        sql.Identifier(building), sql.Identifier(name)
    )
    deadline = time.monotonic() + 5.0
    while True:
        try:
            admin.execute(statement)
            return
        except psycopg.errors.DuplicateDatabase:
            return  # another run (without the lock, e.g. an older gate) won: ours is dropped
        except psycopg.errors.ObjectInUse as exc:
            # The migration's backend may still be exiting after its client closed.
            if time.monotonic() >= deadline:
                raise InfraError(
                    f"could not turn {building} into the template {name}: a session stays "
                    "connected to it"
                ) from exc
            time.sleep(0.05)


def clean_template_cache(state_dir: Path) -> tuple[list[str], list[str]]:
    """`gate clean --cache`: drop the templates the index says gate built; (removed, problems)."""
    index = TemplateIndex.under(state_dir)
    removed: list[str] = []
    problems: list[str] = []
    remaining: list[dict[str, str]] = []
    for entry in index.entries():
        where = f"template {entry['name']} on {mask_url(entry['url'])}"
        if not entry["name"].startswith(TEMPLATE_PREFIX):
            problems.append(f"{where}: not a gate template name; left alone")
            continue
        try:
            drop_database(parse_server_url(entry["url"], source="template index"), entry["name"])
        except GateError as exc:
            problems.append(f"{where}: {exc.message}")
            remaining.append(entry)
            continue
        if where not in removed:
            removed.append(where)
    index.rewrite(remaining)
    return removed, problems
