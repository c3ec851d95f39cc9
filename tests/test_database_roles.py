"""database.export's {database_role}: a login role named after each database gate makes, for
code that names its database after its user (litestar-realworld's DB_USER), on real
PostgreSQL: reachable as the code reaches it, owning nothing, gone afterwards."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from gate.clean import clean_leftovers
from gate.database.address import ServerAddress
from gate.database.server import create_database_role, drop_database
from gate.ledger import Ledger, run_ledger
from gate.provision import DatabaseRequest, provision_database
from gate.redact import mask_url
from tests.test_clean import dead_pid

EXPORT = {"DB_HOST": "{host}", "DB_PORT": "{port}", "DB_USER": "{database_role}"}


def _roles(server: ServerAddress, prefix: str) -> set[str]:
    with psycopg.connect(**server.conninfo(), autocommit=True) as admin:
        rows = admin.execute(
            "SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s)", (prefix,)
        ).fetchall()
    return {str(row[0]) for row in rows}


def _as_the_code_connects(env: dict[str, str]) -> psycopg.Connection[tuple[object, ...]]:
    user = env["DB_USER"]  # the user, and the database named after it
    return psycopg.connect(
        host=env["DB_HOST"], port=env["DB_PORT"], user=user, dbname=user, autocommit=True
    )


@pytest.mark.parametrize("cache", [False, True], ids=["run-database", "template"])
def test_each_database_gets_a_role_of_its_name_that_teardown_drops(
    pg_server: ServerAddress, tmp_path: Path, cache: bool
) -> None:
    run_id = f"roles{uuid.uuid4().hex[:8]}"
    request = DatabaseRequest(
        mode="server", server=pg_server, scheme="postgresql", export=EXPORT, keep=False,
        bin_dir=None, cache=cache,
    )  # fmt: skip
    template = None
    with (
        run_ledger(run_id, tmp_path) as ledger,
        provision_database(request, run_id, ledger) as provisioned,
    ):
        with (
            provisioned.migration_target(["true"], tmp_path) as target,
            _as_the_code_connects(target.env) as migration,
        ):
            migration.execute("CREATE TABLE users (id int)")
            target.succeeded()
        # The template's role went with its build: a cached template keeps no role.
        assert _roles(pg_server, "gate_template_") == set()
        template = provisioned.template
        provisioned.create_run_databases(2)
        assert provisioned.env["DB_USER"] == f"gate_{run_id}"
        assert _roles(pg_server, f"gate_{run_id}") == set(provisioned.run_databases)
        assert [role["name"] for role in ledger.roles] == provisioned.run_databases
        for env in [provisioned.env, *provisioned.worker_env.values()]:
            with _as_the_code_connects(env) as connection:
                session, current = connection.execute(
                    "SELECT session_user, current_user"
                ).fetchone() or ("", "")
                assert (session, current) == (env["DB_USER"], pg_server.user)
                # What the migrations made is the code's to use, and what it makes is
                # gate's role's, so the role can go while the database stays.
                connection.execute("INSERT INTO users VALUES (1)")
                connection.execute("CREATE TABLE made_by_tests (id int)")
                owner = connection.execute(
                    "SELECT tableowner FROM pg_tables WHERE tablename = 'made_by_tests'"
                ).fetchone()
                assert owner == (pg_server.user,)
    assert _roles(pg_server, f"gate_{run_id}") == set()
    assert list(tmp_path.glob("*.json")) == []  # the ledger forgot every role and database
    assert (template is not None) == cache
    if template is not None:
        drop_database(pg_server, template)  # the cache a given server keeps, on purpose


def test_clean_drops_the_role_a_killed_run_left(pg_server: ServerAddress, tmp_path: Path) -> None:
    name = f"gate_roles{uuid.uuid4().hex[:8]}"
    dead = Ledger(path=tmp_path / "dead.json", run_id=name, pid=dead_pid(), pid_start=None)
    dead.add_role(pg_server.url(), name)  # recorded first, then made: killed right after
    create_database_role(pg_server, name)
    report = clean_leftovers(tmp_path)
    assert report.removed == [f"role {name} on {mask_url(pg_server.url())}"]
    assert _roles(pg_server, name) == set()
    assert list(tmp_path.glob("*.json")) == []
