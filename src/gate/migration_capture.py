"""Capture every statement the migration command ran, from the private server's log.

On gate's own server, the database the migrations run into gets `log_statement = all` for
the migration's sessions (ALTER DATABASE ... SET, so any driver is covered, asyncpg too,
which ignores PGOPTIONS) and the server's log is read from where it stood before. On a given
server gate can neither set that nor read the log: the capture says why and the lint skips.
What was captured is kept with the migrated template (its database comment), so a run that
clones a cached template lints the same statements without running the migrations again.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from gate.database.address import ServerAddress
from gate.database.server import admin_connection

RECORD_PREFIX = "gate migration lint: "
GIVEN_SERVER = (
    "migrations.lint skipped: the statements migrations run can only be captured on gate's "
    "own PostgreSQL server (database.mode: ephemeral), not on a given server"
)

# `2026-12-02 19:34:03.123 UTC [1234] LOG:  statement: CREATE TABLE ...`; the extended
# protocol logs `execute <name>: ...` instead. A message's further lines start with a tab.
_LOGGED = re.compile(
    r"^\S+ \S+(?: \S+)? \[(?P<pid>\d+)\] LOG:  (?:statement|execute [^:]*): (?P<sql>.*)$"
)
_LINE_START = re.compile(r"^\S+ \S+(?: \S+)? \[\d+\] ")


@dataclass(frozen=True)
class Statement:
    """One statement as the server received it, and the session (backend pid) that sent it."""

    session: int
    sql: str


@dataclass
class Capture:
    """What a migration run sent to the server; `unavailable` says why nothing was captured."""

    statements: list[Statement] = field(default_factory=list)
    unavailable: str | None = None


def parse_statement_log(text: str) -> list[Statement]:
    """The logged statements in `text` (a slice of a server log), in the order they ran."""
    found: list[Statement] = []
    current: tuple[int, list[str]] | None = None
    for line in text.split("\n"):
        if line.startswith("\t") and current is not None:
            current[1].append(line[1:])  # the server put a tab after each newline
            continue
        if current is not None:
            found.append(Statement(current[0], "\n".join(current[1])))
            current = None
        match = _LOGGED.match(line)
        if match is not None:
            current = (int(match["pid"]), [match["sql"]])
    if current is not None:
        found.append(Statement(current[0], "\n".join(current[1])))
    return found


def _set_logging(server: ServerAddress, database: str, on: bool) -> None:
    name = sql.Identifier(database)
    statement = (
        sql.SQL("ALTER DATABASE {} SET log_statement = 'all'").format(name)
        if on
        else sql.SQL("ALTER DATABASE {} RESET log_statement").format(name)
    )
    with admin_connection(server) as admin:
        admin.execute(statement)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read_from(path: Path, offset: int) -> str:
    with path.open("rb") as log:
        log.seek(offset)
        return log.read().decode("utf-8", errors="replace")


@contextlib.contextmanager
def capturing(server: ServerAddress | None, log: Path | None, database: str) -> Iterator[Capture]:
    """Around the migration command: its statements are in the Capture after the block.

    `log` is the private server's log (Provisioned.statement_log), None on a given server.
    The setting is reset before the block ends, so the template and its clones do not log.
    """
    capture = Capture()
    if server is None or log is None or not database:
        capture.unavailable = GIVEN_SERVER
        yield capture
        return
    try:
        _set_logging(server, database, True)
    except psycopg.Error as exc:
        capture.unavailable = f"migrations.lint skipped: could not log statements ({exc})"
        yield capture
        return
    start = _size(log)
    try:
        yield capture
    finally:
        with contextlib.suppress(psycopg.Error):
            _set_logging(server, database, False)
        try:
            capture.statements = parse_statement_log(_read_from(log, start))
        except OSError as exc:
            capture.unavailable = f"migrations.lint skipped: could not read the server log ({exc})"


# ---- kept with the template ------------------------------------------------------------


def encode_record(statements: Sequence[Statement]) -> str:
    return RECORD_PREFIX + json.dumps([[s.session, s.sql] for s in statements])


def decode_record(record: str | None) -> list[Statement] | None:
    """The statements a template keeps; None when it keeps none (built without the lint)."""
    for line in (record or "").splitlines():
        if not line.startswith(RECORD_PREFIX):
            continue
        try:
            entries = json.loads(line[len(RECORD_PREFIX) :])
        except ValueError:
            return None
        return [
            Statement(int(entry[0]), str(entry[1]))
            for entry in entries
            if isinstance(entry, list) and len(entry) == 2
        ]
    return None
