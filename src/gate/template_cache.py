"""Migrated template databases: migrate once per key, then clone each run's database from it.

The key (template_key.py) changes when anything migrations read changes. On a server the template is
`gate_template_<hash12>`; it is a cache, so runs never drop it, and the index under the state
folder records which ones gate built so that `gate clean --cache` drops those and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gate.database.address import ServerAddress, parse_server_url
from gate.database.server import admin_connection, drop_database
from gate.errors import GateError, InfraError
from gate.files import write_atomic
from gate.ledger import Ledger
from gate.redact import mask_url
from gate.template_key import KeyScope, template_key

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

TEMPLATE_PREFIX = "gate_template_"


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
    import psycopg

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
    files: str | None = None,
) -> Iterator[TemplateSlot]:
    """The cached template for these migrations, built under an advisory lock when missing.

    A build migrates `<template>_building_<run id>` and renames it when the caller reports
    success, so a failed or interrupted migration never leaves a template behind, and a
    concurrent run waits for the lock and then finds the finished template. `files`: the
    project files' digest (template_key.files_digest) when the run already has it.
    """
    import psycopg
    from psycopg import sql

    with admin_connection(server) as admin:
        key = template_key(command, root, admin.info.server_version, checks, scope, files)
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
    import psycopg
    from psycopg import sql

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
