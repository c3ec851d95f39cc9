"""migrations.checks: judging alembic's answers (tables), and real alembic projects in temp
folders with a second head, models that drift, and downgrades that fail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.checks.base import Check
from gate.database.address import ServerAddress
from gate.errors import UsageError
from gate.migration_checks import (
    Alembic,
    alembic_of,
    decode_record,
    drift_check,
    encode_record,
    plan_checks,
    roundtrip_check,
    single_head_check,
)
from gate.proc import Completed
from gate.template_cache import clean_template_cache
from tests.conftest import GateRunner, Project

ALEMBIC = Alembic(("alembic",), ("-c", "db/alembic.ini"))


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["alembic", "upgrade", "head"], Alembic(("alembic",), ())),
        (["alembic", "-c", "a.ini", "upgrade", "head"], Alembic(("alembic",), ("-c", "a.ini"))),
        (["uv", "run", "alembic", "--raiseerr", "-x", "k=v", "-n", "db2", "upgrade", "heads"],
         Alembic(("uv", "run", "alembic"), ("--raiseerr", "-x", "k=v", "-n", "db2"))),
        (["python", "-m", "alembic", "--config=x.ini", "upgrade", "head"],
         Alembic(("python", "-m", "alembic"), ("--config=x.ini",))),
        ([".venv/bin/alembic", "upgrade", "head"], Alembic((".venv/bin/alembic",), ())),
        (["python", "migrate.py"], None),
    ],
)  # fmt: skip
def test_alembic_is_found_in_the_migration_command(
    command: list[str], expected: Alembic | None
) -> None:
    assert alembic_of(command) == expected


@pytest.mark.parametrize(
    ("checks", "command", "mode", "message"),
    [
        (["drift"], None, "server",
         "migrations.checks (drift) needs migrations.command; set it to the alembic upgrade you "
         "run, e.g. `alembic upgrade head`, or remove migrations.checks"),
        (["single_head", "roundtrip"], ["python", "migrate.py"], "server",
         "migrations.checks (single_head, roundtrip) are alembic checks, but migrations.command "
         "(`python migrate.py`) does not run alembic; remove migrations.checks or run alembic "
         "there"),
        (["drift"], ["alembic", "upgrade", "head"], "none",
         "migrations.checks (drift): drift and roundtrip need a database, and database.mode is "
         "none; set database.mode, or keep only single_head"),
    ],
)  # fmt: skip
def test_checks_that_cannot_run_are_usage_errors(
    checks: list[str], command: list[str] | None, mode: str, message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        plan_checks(checks, command, mode)
    assert caught.value.message == message


def test_no_checks_plan_nothing_and_single_head_needs_no_database() -> None:
    assert plan_checks([], None, "none") is None
    assert plan_checks(["single_head"], ["alembic", "upgrade", "head"], "none") is not None


@pytest.mark.parametrize(
    ("code", "output", "passed", "actual", "message"),
    [
        (0, "0001 (head)\n", True, 1, "one head (0001)"),
        (0, "", True, 0, "no revisions yet"),
        (0, "0002a (head)\n0002b (head)\n", False, 2,
         "2 heads (0002a, 0002b): the migrations have branched; merge them with "
         "`alembic -c db/alembic.ini merge heads -m merge` and commit the result"),
        (1, "Traceback ...\nKeyError: 'script_location'\n", False, None,
         "`alembic -c db/alembic.ini heads` failed (exit 1): KeyError: 'script_location'"),
    ],
)  # fmt: skip
def test_single_head_table(
    code: int, output: str, passed: bool, actual: int | None, message: str
) -> None:
    assert single_head_check(ALEMBIC, code, output) == Check(
        "migrations.single_head", passed, actual, 1, message
    )


@pytest.mark.parametrize(
    ("code", "output", "passed", "message"),
    [
        (0, "No new upgrade operations detected.\n", True, "the models match the migrations"),
        (255, "FAILED: New upgrade operations detected: [('add_column', None, 'users')]\n", False,
         "the models differ from the migrations: [('add_column', None, 'users')]; add a "
         "migration (`alembic -c db/alembic.ini revision --autogenerate -m describe the "
         "change`), review it and commit it"),
        (255, "FAILED: Can't proceed with --autogenerate option; environment script env.py "
         "does not provide a MetaData object\n", False,
         "`alembic -c db/alembic.ini check` could not compare the models with the migrations "
         "(exit 255): FAILED: Can't proceed with --autogenerate option; environment script "
         "env.py does not provide a MetaData object; it needs alembic 1.9+ and target_metadata "
         "set in env.py"),
    ],
)  # fmt: skip
def test_drift_table(code: int, output: str, passed: bool, message: str) -> None:
    check = drift_check(ALEMBIC, code, output)
    assert (check.name, check.passed, check.message) == ("migrations.drift", passed, message)


def done(code: int, output: str = "") -> Completed:
    return Completed(("alembic",), code, output)


@pytest.mark.parametrize(
    ("downgrade", "again", "passed", "message"),
    [
        (done(0), done(0), True,
         "`alembic upgrade head`, `alembic -c db/alembic.ini downgrade base`, "
         "`alembic upgrade head` all passed"),
        (done(1, "NotImplementedError: no way back\n"), None, False,
         "`alembic -c db/alembic.ini downgrade base` failed after `alembic upgrade head` "
         "(exit 1): NotImplementedError: no way back; fix the downgrade() of that revision so "
         "that it undoes its upgrade()"),
        (done(0), done(1, 'DuplicateTable: relation "users" already exists\n'), False,
         "`alembic upgrade head` failed after `alembic -c db/alembic.ini downgrade base` (exit "
         "1): DuplicateTable: relation \"users\" already exists; a downgrade() leaves behind "
         "something its upgrade() creates again, so drop it there"),
    ],
)  # fmt: skip
def test_roundtrip_table(
    downgrade: Completed, again: Completed | None, passed: bool, message: str
) -> None:
    check = roundtrip_check(ALEMBIC, "alembic upgrade head", downgrade, again)
    assert (check.name, check.passed, check.message) == ("migrations.roundtrip", passed, message)


def test_a_record_keeps_the_checks_and_ignores_anything_else() -> None:
    checks = [
        Check("migrations.single_head", True, 1, 1, "one head (0001)"),
        Check("migrations.roundtrip", False, "downgrade failed", "passed", "fix it"),
    ]
    assert decode_record(encode_record(checks)) == {
        "single_head": checks[0],
        "roundtrip": checks[1],
    }
    assert decode_record(None) == {} and decode_record("a comment someone wrote") == {}
    assert decode_record("gate migration checks: {not json") == {}


# ---- end to end: real alembic projects ------------------------------------------------------

MODEL = """
import sqlalchemy as sa

metadata = sa.MetaData()
users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.Text, nullable=False),
)
"""
FIRST_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.Text, nullable=False),
    )


def downgrade():
    op.drop_table("users")
"""


@pytest.fixture
def cached(tmp_path: Path, state_dir: Path) -> Iterator[dict[str, str]]:
    """A cache of the test's own; the templates its runs built are dropped afterwards."""
    yield {"GATE_CACHE_DIR": str(tmp_path / "cache")}
    assert clean_template_cache(state_dir)[1] == []


@pytest.fixture
def alembic_app(project: Project) -> Project:
    """A sync SQLAlchemy + alembic project whose one test needs the migrated table."""
    project.write("app/__init__.py", "")
    project.write("app/models.py", MODEL)
    project.write("alembic.ini", "[alembic]\nscript_location = migrations\nprepend_sys_path = .\n")
    project.write(
        "migrations/env.py",
        """
        import os

        import sqlalchemy as sa
        from alembic import context

        from app.models import metadata

        engine = sa.create_engine(os.environ["DATABASE_URL"], poolclass=sa.pool.NullPool)
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=metadata)
            with context.begin_transaction():
                context.run_migrations()
        """,
    )
    project.write("migrations/versions/0001_users.py", FIRST_REVISION)
    project.write(
        "tests/test_users.py",
        """
        import os

        import sqlalchemy as sa


        def test_the_users_table_is_migrated():
            engine = sa.create_engine(os.environ["DATABASE_URL"], poolclass=sa.pool.NullPool)
            with engine.connect() as connection:
                assert connection.execute(sa.text("SELECT count(*) FROM users")).scalar() == 0
        """,
    )
    project.write(
        "gate.yaml",
        """
        database: {scheme: postgresql+psycopg}
        migrations:
          command: alembic upgrade heads
          checks: [single_head, drift, roundtrip]
        tests: {timeout: 60}
        """,
    )
    return project


def checks_of(project: Project) -> dict[str, dict[str, object]]:
    report = json.loads((project.root / ".gate/report.json").read_text())
    return {c["name"]: c for c in report["checks"] if c["name"].startswith("migrations.")}


def run(gate: GateRunner, project: Project, server: ServerAddress, env: dict[str, str]) -> int:
    result = gate("run", "--database-url", server.url(), cwd=project.root, env=env)
    assert result.code in (0, 1), result.output
    return result.code


def test_checks_pass_then_come_from_the_template_and_drift_is_checked_every_run(
    gate: GateRunner, alembic_app: Project, pg_server: ServerAddress, cached: dict[str, str]
) -> None:
    assert run(gate, alembic_app, pg_server, cached) == 0
    first = checks_of(alembic_app)
    assert {name: c["passed"] for name, c in first.items()} == {
        "migrations.single_head": True,
        "migrations.roundtrip": True,
        "migrations.drift": True,
    }
    assert first["migrations.single_head"]["message"] == "one head (0001)"

    # Only a test changes: the cached template serves, with the checks recorded on it.
    alembic_app.write("tests/test_more.py", "def test_more():\n    assert True\n")
    assert run(gate, alembic_app, pg_server, cached) == 0
    kept = checks_of(alembic_app)
    assert kept["migrations.single_head"]["message"].startswith("one head (0001) (kept with ")

    # The models change, the migrations do not (a model is code the migrations may import,
    # so the template is rebuilt); drift is caught.
    alembic_app.write("app/models.py", MODEL + 'users.append_column(sa.Column("name", sa.Text))\n')
    assert run(gate, alembic_app, pg_server, cached) == 1
    second = checks_of(alembic_app)
    assert second["migrations.single_head"]["message"] == "one head (0001)"
    assert second["migrations.roundtrip"]["passed"] is True
    drift = second["migrations.drift"]
    assert drift["passed"] is False
    assert str(drift["message"]).startswith("the models differ from the migrations: [('add_column'")


def test_a_second_head_and_a_failing_downgrade_are_named(
    gate: GateRunner, alembic_app: Project, pg_server: ServerAddress, cached: dict[str, str]
) -> None:
    for branch in ("a", "b"):
        alembic_app.write(
            f"migrations/versions/0002{branch}.py",
            f"""
            revision = "0002{branch}"
            down_revision = "0001"


            def upgrade():
                pass


            def downgrade():
                {'raise NotImplementedError("no way back")' if branch == "b" else "pass"}
            """,
        )
    assert run(gate, alembic_app, pg_server, cached) == 1
    checks = checks_of(alembic_app)
    assert checks["migrations.single_head"]["passed"] is False
    assert checks["migrations.single_head"]["message"].startswith(
        "2 heads (0002a, 0002b): the migrations have branched; merge them with `alembic merge"
    )
    roundtrip = checks["migrations.roundtrip"]
    assert roundtrip["passed"] is False
    assert str(roundtrip["message"]).startswith(
        "`alembic downgrade base` failed after `alembic upgrade heads` (exit 1): "
        "NotImplementedError: no way back"
    )
    assert checks["migrations.drift"]["passed"] is True
    # The roundtrip ran on a scratch clone: the template and the run's tests were unharmed.
    report = json.loads((alembic_app.root / ".gate/report.json").read_text())
    assert report["tests"]["passed"] == 1


def test_a_downgrade_that_leaves_a_table_behind_fails_the_second_upgrade(
    gate: GateRunner, alembic_app: Project, pg_server: ServerAddress, cached: dict[str, str]
) -> None:
    alembic_app.write(
        "migrations/versions/0001_users.py",
        FIRST_REVISION.replace('op.drop_table("users")', "pass"),
    )
    alembic_app.write("gate.yaml", alembic_app.root.joinpath("gate.yaml").read_text()
                      .replace("[single_head, drift, roundtrip]", "[roundtrip]"))  # fmt: skip
    assert run(gate, alembic_app, pg_server, cached) == 1
    checks = checks_of(alembic_app)
    assert list(checks) == ["migrations.roundtrip"]
    assert str(checks["migrations.roundtrip"]["message"]).startswith(
        "`alembic upgrade heads` failed after `alembic downgrade base` (exit 1): "
    )
    assert "already exists" in str(checks["migrations.roundtrip"]["message"])
