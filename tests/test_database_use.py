"""Where the tests wrote: counters around the tests (database_use.py) and the check
`tests.database` (checks/database_use.py), on real PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from gate.checks.database_use import database_use_check
from gate.database.address import ServerAddress
from gate.database.server import throwaway_database
from gate.database_use import Counters, DatabaseWatch, observed_use
from tests.conftest import GateRunner, Project

EXPORT = {"DB_HOST": "{host}", "DB_USER": "{user}", "DB_PASSWORD": "{password}"}
EXPORTED = {"DB_HOST": "127.0.0.1", "DB_USER": "postgres", "DB_PASSWORD": "postgres"}


def watch(
    before: dict[str, Counters], *, private: bool = True, migrated: bool = True
) -> DatabaseWatch:
    return DatabaseWatch(
        server=ServerAddress("127.0.0.1", 5432, "postgres"),
        run_databases=("gate_r1", "gate_r1_gw0"),
        ours=frozenset({"gate_r1", "gate_r1_gw0", "gate_template_abc"}),
        private=private,
        export=EXPORT,
        exported=EXPORTED,
        names_run_database=True,
        migrated=migrated,
        before=before,
    )


BEFORE = {
    "postgres": Counters(10, 5),
    "template1": Counters(0, 0),
    "gate_r1": Counters(0, 1),
    "gate_template_abc": Counters(40, 3),
}


def test_writes_into_a_database_that_was_there_before_are_the_tests_on_a_private_server() -> None:
    after = {
        "postgres": Counters(24, 9),  # 14 rows: the tests' tables and rows
        "template1": Counters(0, 0),
        "gate_r1": Counters(0, 1),
        "gate_r1_gw0": Counters(3, 2),  # a worker clone: the run's own
        "gate_template_abc": Counters(41, 4),  # gate's template: not elsewhere
        "test_gate_r1": Counters(50, 9),  # made by the suite itself (pytest-django)
    }
    use = observed_use(watch(BEFORE), after)
    assert use.wrote_elsewhere == {"postgres": 14}
    assert use.run_transactions == 2
    # DB_USER's value is the database's name; a password that happens to match is not named.
    assert use.suspects == {"DB_USER": "postgres"}
    check = database_use_check(use)
    assert not check.passed
    assert check.name == "tests.database"
    assert check.message.startswith(
        "the tests wrote into the database postgres (14 row(s) written) on gate's private "
        "server, not into gate_r1 (or its worker clones gate_r1_gw0), the database gate made "
        "for them"
    )
    assert 'DB_USER ("{user}", which gate filled in as `postgres`)' in check.message
    assert "Fix database.export in gate.yaml" in check.message


def test_a_given_server_never_fails_on_other_databases() -> None:
    after = {**BEFORE, "postgres": Counters(500, 50), "gate_r1": Counters(0, 1)}
    use = observed_use(watch(BEFORE, private=False), after)
    assert use.wrote_elsewhere == {}
    check = database_use_check(use)
    assert check.passed
    assert check.message.startswith("warning: the tests never opened a transaction in gate_r1")
    # Without migrations gate prepared nothing the tests had to use: nothing to warn about.
    quiet = database_use_check(observed_use(watch(BEFORE, private=False, migrated=False), after))
    assert quiet.passed and not quiet.message.startswith("warning")


@pytest.fixture
def run_database(pg_server: ServerAddress) -> Iterator[ServerAddress]:
    with throwaway_database(pg_server, f"gate_use_{uuid.uuid4().hex[:8]}") as database:
        yield database


def _connect(address: ServerAddress, database: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=address.host, port=address.port, user=address.user,
        password=address.password or None, dbname=database, autocommit=True,
    )  # fmt: skip


def _start(run: ServerAddress, *, private: bool) -> DatabaseWatch:
    started = DatabaseWatch.start(
        run.with_database(""), (run.database,), {run.database}, private=private,
        export=EXPORT, exported=EXPORTED, names_run_database=True, migrated=True,
    )  # fmt: skip
    assert started is not None  # the server counts (track_counts, on by default)
    return started


def test_the_counters_see_a_session_that_just_closed(run_database: ServerAddress) -> None:
    """PostgreSQL publishes a backend's counters as it exits, just after its client closed."""
    started = _start(run_database, private=True)
    with _connect(run_database, "postgres") as elsewhere:
        elsewhere.execute("CREATE TEMP TABLE t (x int)")  # temp: nothing stays in postgres
        elsewhere.execute("INSERT INTO t VALUES (1), (2)")
    with _connect(run_database, run_database.database) as own:
        own.execute("SELECT 1")
    use = started.finish()
    assert use.run_transactions >= 1
    assert "postgres" in use.wrote_elsewhere


def test_no_session_in_the_run_database_is_seen(run_database: ServerAddress) -> None:
    use = _start(run_database, private=False).finish()
    assert use.run_transactions == 0


SPILLS_INTO_POSTGRES = """
import os

import psycopg


def connect():
    # The database is named after the user, as docker-compose's postgres image makes it.
    user = os.environ["DB_USER"]
    return psycopg.connect(
        host=os.environ["DB_HOST"], port=os.environ["DB_PORT"], user=user, dbname=user
    )


def test_a_row_goes_in():
    with connect() as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS spilled (x int)")
        connection.execute("INSERT INTO spilled VALUES (1)")
"""


def test_tests_that_write_into_postgres_fail_the_gate_naming_both_databases(
    gate: GateRunner, project: Project
) -> None:
    project.write("tests/test_spill.py", SPILLS_INTO_POSTGRES)
    project.write(
        "gate.yaml",
        """
        database:
          export:
            DB_HOST: "{host}"
            DB_PORT: "{port}"
            DB_USER: "{user}"
        tests:
          timeout: 60
        """,
    )
    result = gate("run", cwd=project.root)
    assert result.code == 1, result.output
    report = json.loads((project.root / ".gate/report.json").read_text())
    [check] = [c for c in report["checks"] if c["name"] == "tests.database"]
    assert not check["passed"]
    assert check["actual"] == ["postgres"]
    [run_database] = check["expected"]
    assert run_database.startswith("gate_")
    assert check["message"].startswith("the tests wrote into the database postgres (")
    assert f"not into {run_database}, the database gate made for them" in check["message"]
    assert 'DB_USER ("{user}", which gate filled in as `postgres`)' in check["message"]
    assert "tests.database" in result.stdout
