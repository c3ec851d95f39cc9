"""Which databases the tests used: PostgreSQL's own counters before and after the test step.

A project can read its database from somewhere database.export does not reach (a URL it
builds from DB_USER, say) and pass while writing into the server's `postgres` database. The
server counts every row written and every transaction per database (pg_stat_database), so
gate reads those counters around the tests: on a private server only the tests write, and
a write into any database gate did not make for them is the tests using the wrong one.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gate.database.address import ServerAddress
from gate.database.server import admin_connection

if TYPE_CHECKING:
    import psycopg

# A backend publishes its counters when its client goes (PostgreSQL 15+: at exit, or when
# idle); the tests' client has exited when the step ends, its backend a moment later.
SETTLE_TIMEOUT_S = 5.0

_COUNTERS = """
SELECT datname, tup_inserted + tup_updated + tup_deleted, xact_commit + xact_rollback
FROM pg_stat_database WHERE datname IS NOT NULL
"""

# Client sessions still open besides gate's own: their counters are not published yet.
_OTHER_SESSIONS = """
SELECT count(*) FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
  AND (%(every)s OR datname = ANY(%(databases)s))
"""


@dataclass(frozen=True)
class Counters:
    """What one database saw: rows inserted, updated or deleted, and transactions."""

    writes: int
    transactions: int


@dataclass(frozen=True)
class DatabaseUse:
    """Where the tests went, as the judge reads it (checks/database_use.py)."""

    run_databases: tuple[str, ...]  # the run's database and its worker clones
    private: bool  # gate started the server: every write during the tests is theirs
    wrote_elsewhere: Mapping[str, int]  # another database that existed before -> rows written
    run_transactions: int  # transactions in the run's databases during the tests
    names_run_database: bool  # database.export hands over the run's database
    migrated: bool  # migrations.command ran into it: the tests were meant to use it
    export: Mapping[str, str]  # database.export as configured: the variables to fix
    # Exported variables whose value is the name of a database the tests wrote into
    # (DB_USER -> postgres): the likely way the code reached it.
    suspects: Mapping[str, str]


def read_counters(connection: psycopg.Connection[tuple[object, ...]]) -> dict[str, Counters]:
    rows = connection.execute(_COUNTERS).fetchall()
    return {str(name): Counters(int(str(w)), int(str(t))) for name, w, t in rows}


def settle(
    connection: psycopg.Connection[tuple[object, ...]],
    databases: Collection[str] | None,
    timeout_s: float = SETTLE_TIMEOUT_S,
) -> None:
    """Wait until no other client session is open (on `databases`, or on any with None), so
    that every counter is published; give up quietly after timeout_s."""
    deadline = time.monotonic() + timeout_s
    params = {"every": databases is None, "databases": list(databases or ())}
    while time.monotonic() < deadline:
        row = connection.execute(_OTHER_SESSIONS, params).fetchone()
        if row is None or int(str(row[0])) == 0:
            return
        time.sleep(0.05)


@dataclass
class DatabaseWatch:
    """Counters read before the tests; finish() reads them again and says where writes went."""

    server: ServerAddress
    run_databases: tuple[str, ...]
    ours: frozenset[str]  # every database gate made this run (run, clones, template)
    private: bool
    export: Mapping[str, str]
    exported: Mapping[str, str]  # the values database.export filled in
    names_run_database: bool
    migrated: bool
    before: Mapping[str, Counters]

    @classmethod
    def start(
        cls,
        server: ServerAddress,
        run_databases: tuple[str, ...],
        ours: Collection[str],
        *,
        private: bool,
        export: Mapping[str, str],
        exported: Mapping[str, str],
        names_run_database: bool,
        migrated: bool,
    ) -> DatabaseWatch | None:
        """None when the server counts nothing (track_counts off): no counter to read."""
        with admin_connection(server) as connection:
            row = connection.execute("SELECT current_setting('track_counts')").fetchone()
            if row is None or row[0] != "on":
                return None
            # Migrations' sessions may still be publishing; on a shared server, only the
            # run's own databases are gate's to wait for.
            settle(connection, None if private else [*run_databases, *ours])
            before = read_counters(connection)
        return cls(server, run_databases, frozenset(ours), private, export, exported,
                   names_run_database, migrated, before)  # fmt: skip

    def finish(self) -> DatabaseUse:
        with admin_connection(self.server) as connection:
            settle(connection, None if self.private else [*self.run_databases])
            after = read_counters(connection)
        return observed_use(self, after)


def observed_use(watch: DatabaseWatch, after: Mapping[str, Counters]) -> DatabaseUse:
    """Compare the counters (pure). Only databases that existed before the tests count as
    elsewhere: a suite that makes its own database (pytest-django's test_<name>, or one off
    {server_url}) writes into a database that was not there."""
    zero = Counters(0, 0)
    run_transactions = sum(
        after.get(name, zero).transactions - watch.before.get(name, zero).transactions
        for name in watch.run_databases
    )
    elsewhere: dict[str, int] = {}
    if watch.private:
        for name, counters in after.items():
            if name in watch.ours or name not in watch.before:
                continue
            written = counters.writes - watch.before[name].writes
            if written > 0:
                elsewhere[name] = written
    suspects = {
        variable: value
        for variable, value in watch.exported.items()
        if value in elsewhere and "{password}" not in watch.export.get(variable, "")
    }
    return DatabaseUse(
        run_databases=watch.run_databases,
        private=watch.private,
        wrote_elsewhere=elsewhere,
        run_transactions=run_transactions,
        names_run_database=watch.names_run_database,
        migrated=watch.migrated,
        export=watch.export,
        suspects=suspects,
    )
