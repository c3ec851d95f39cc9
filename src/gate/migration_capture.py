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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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
# Reads and data changes: squawk has no rule about them, and a data migration can send them
# by the million. The migration tools' own bookkeeping is kept: it tells migrations apart.
_DATA = re.compile(
    r"^(?:\s+|--[^\n]*\n|/\*.*?\*/)*(?:SELECT|SHOW|INSERT|UPDATE|DELETE|MERGE|COPY|FETCH|"
    r"DECLARE|CLOSE|MOVE|WITH|VALUES|TABLE|EXPLAIN|EXECUTE|DEALLOCATE|LISTEN|NOTIFY)\b",
    re.IGNORECASE | re.DOTALL,
)
_BOOKKEEPING = re.compile(r"alembic_version|django_migrations", re.IGNORECASE)


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


def worth_linting(statement: str) -> bool:
    """Schema changes, transaction control and the tools' bookkeeping; not reads and data."""
    return not _DATA.match(statement) or bool(_BOOKKEEPING.search(statement))


def parse_statement_log(lines: Iterable[str]) -> list[Statement]:
    """The logged statements worth linting in `lines` (of a server log), in the order they ran."""
    found: list[Statement] = []
    current: tuple[int, list[str]] | None = None

    def finish() -> None:
        if current is not None:
            statement = Statement(current[0], "\n".join(current[1]))
            if worth_linting(statement.sql):
                found.append(statement)

    for raw in lines:
        line = raw.rstrip("\n")
        if line.startswith("\t") and current is not None:
            current[1].append(line[1:])  # the server put a tab after each newline
            continue
        finish()
        current = None
        match = _LOGGED.match(line)
        if match is not None:
            current = (int(match["pid"]), [match["sql"]])
    finish()
    return found


def _set_logging(server: ServerAddress, database: str, on: bool) -> None:
    from psycopg import sql

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


def _statements_from(path: Path, offset: int) -> list[Statement]:
    """Read line by line: a data migration can log gigabytes that are never kept."""
    with path.open("r", encoding="utf-8", errors="replace", newline="\n") as log:
        log.seek(offset)
        return parse_statement_log(log)


@contextlib.contextmanager
def capturing(server: ServerAddress | None, log: Path | None, database: str) -> Iterator[Capture]:
    """Around the migration command: its statements are in the Capture after the block.

    `log` is the private server's log (Provisioned.statement_log), None on a given server.
    The setting is reset before the block ends, so the template and its clones do not log.
    """
    import psycopg

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
            capture.statements = _statements_from(log, start)
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
