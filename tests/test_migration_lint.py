"""migrations.lint: reading the server log, attributing statements to migrations, squawk's
findings mapped back, judging new against history; then real alembic and SQL-script projects
migrated into a real private server, with real git for what is new since the base."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gate import proc
from gate.checks.migration_lint import MigrationFinding, as_finding, judge, new_migrations
from gate.database.address import ServerAddress
from gate.database.binaries import find_binaries
from gate.database.ephemeral import EphemeralServer, ephemeral_server
from gate.database.server import admin_connection
from gate.diff_coverage import DiffBase
from gate.migration_attribution import (
    THE_COMMAND,
    MigrationFiles,
    MigrationSQL,
    attribute,
    statement_line,
)
from gate.migration_capture import (
    GIVEN_SERVER,
    Statement,
    capturing,
    decode_record,
    encode_record,
    parse_statement_log,
    worth_linting,
)
from gate.migration_lint import Linted, LocatedFinding, lint_statements
from gate.migration_squawk import LintFinding, parse_report, write_sql
from gate.outcome import RunOutcome
from gate.reporters.junit import render_junit

# ---- the server log ---------------------------------------------------------------------

LOG = (
    "2026-12-02 19:37:57.145 UTC [18613] LOG:  database system is ready to accept connections\n"
    "2026-12-02 19:37:57.285 UTC [18638] LOG:  statement: BEGIN\n"
    "2026-12-02 19:37:57.291 UTC [18638] LOG:  statement: ALTER TABLE t\n"
    "\t  ADD COLUMN\n"
    "\t\tx int NOT NULL\n"
    "2026-12-02 19:37:57.292 UTC [18638] LOG:  execute <unnamed>: INSERT INTO t VALUES ($1)\n"
    "2026-12-02 19:37:57.292 UTC [18638] DETAIL:  parameters: $1 = '1'\n"
    "2026-12-02 19:37:57.325 UTC [18639] LOG:  execute __asyncpg_stmt_1__: CREATE INDEX i ON t "
    "(x)\n"
    "2026-12-02 19:37:57.326 UTC [18639] ERROR:  relation \"t\" does not exist\n"
    "2026-12-02 19:37:57.326 UTC [18639] STATEMENT:  CREATE INDEX i ON t (x)\n"
)  # fmt: skip


def test_the_log_gives_each_statement_once_whole_with_its_session() -> None:
    assert parse_statement_log(LOG.splitlines(keepends=True)) == [
        Statement(18638, "BEGIN"),
        Statement(18638, "ALTER TABLE t\n  ADD COLUMN\n\tx int NOT NULL"),
        Statement(18639, "CREATE INDEX i ON t (x)"),
    ]  # the INSERT is data: squawk has nothing to say about it


@pytest.mark.parametrize(
    ("statement", "kept"),
    [
        ("ALTER TABLE t ADD x int", True),
        ("-- why\n/* more */ CREATE INDEX i ON t (x)", True),
        ("COMMIT", True),
        ("select pg_catalog.version()", False),
        ("-- seed\nINSERT INTO t VALUES (1)", False),
        ("WITH x AS (SELECT 1) UPDATE t SET a = 1", False),
        ("INSERT INTO alembic_version (version_num) VALUES ('a1')", True),
        ('INSERT INTO "django_migrations" ("app", "name") VALUES (\'a\', \'0001\')', True),
    ],
)
def test_reads_and_data_are_not_kept(statement: str, kept: bool) -> None:
    assert worth_linting(statement) is kept


def test_the_capture_is_kept_as_one_line_beside_other_records() -> None:
    statements = [Statement(1, "ALTER TABLE t\nADD COLUMN x int"), Statement(2, "SELECT 'a'")]
    record = "gate migration checks: []\n" + encode_record(statements)
    assert decode_record(record) == statements
    assert decode_record(None) is None
    assert decode_record("gate migration checks: []") is None


# ---- attribution ------------------------------------------------------------------------


def files(tmp_path: Path, sql: dict[str, str] | None = None) -> MigrationFiles:
    return MigrationFiles(
        tmp_path,
        revisions={"aaa1": "alembic/versions/1_a.py", "bbb2": "alembic/versions/2_b.py"},
        django={("shop", "0002_price"): "shop/migrations/0002_price.py"},
        sql_files=sql or {},
    )


def test_alembic_statements_belong_to_the_revision_marked_after_them(tmp_path: Path) -> None:
    session = [
        "BEGIN",
        "SELECT pg_catalog.pg_class.relname FROM pg_catalog.pg_class",
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)",
        "CREATE TABLE users (id integer)",
        "INSERT INTO alembic_version (version_num) VALUES ('aaa1') RETURNING version_num",
        "COMMIT",
        "CREATE INDEX CONCURRENTLY ix ON users (id)",
        "BEGIN",
        "ALTER TABLE users ADD COLUMN age integer NOT NULL",
        "UPDATE app.alembic_version SET version_num='bbb2' WHERE app.alembic_version.version_num "
        "= 'aaa1'",  # version_table_schema="app"
        "COMMIT",
    ]
    grouped = attribute([Statement(7, text) for text in session], files(tmp_path))
    assert grouped == [
        MigrationSQL("alembic/versions/1_a.py", ("BEGIN", "CREATE TABLE users (id integer)"),
                     opened_in_transaction=False, left_in_transaction=True),
        MigrationSQL("alembic/versions/2_b.py",
                     ("COMMIT", "CREATE INDEX CONCURRENTLY ix ON users (id)", "BEGIN",
                      "ALTER TABLE users ADD COLUMN age integer NOT NULL"),
                     opened_in_transaction=True, left_in_transaction=True),
    ]  # fmt: skip


def test_django_marks_and_sql_files_and_the_command_claim_the_rest(tmp_path: Path) -> None:
    script = "-- first\nCREATE TABLE a (id int);\n\nALTER TABLE a\n  ADD b int;\n"
    sql = {"sql/001_init.sql": script}
    session = [
        'ALTER TABLE "shop_item" ADD COLUMN "price" integer DEFAULT 0 NOT NULL',
        'INSERT INTO "django_migrations" ("app", "name", "applied") VALUES (\'shop\', '
        "'0002_price', '2026-12-02T19:00:00'::timestamptz) RETURNING \"django_migrations\".\"id\"",
        "CREATE TABLE a (id int)",
        "ALTER TABLE a ADD b int",
        "DROP TABLE nowhere",
    ]
    grouped = attribute([Statement(1, text) for text in session], files(tmp_path, sql))
    assert [(g.migration, g.statements) for g in grouped] == [
        ("shop/migrations/0002_price.py", (session[0],)),
        ("sql/001_init.sql", (session[2], session[3])),
        (THE_COMMAND, (session[4],)),
    ]


REVISION = '''
"""add age"""
import sqlalchemy as sa
from alembic import op

revision = "bbb2"


def upgrade():
    bind = op.get_bind()
    op.add_column(
        "users",
        sa.Column("age", sa.Integer(), nullable=False),
    )
    op.create_index("ix_users_age", "users", ["age"])
    op.execute("ALTER TABLE users DROP COLUMN legacy")


def downgrade():
    op.drop_column("users", "age")
'''


@pytest.mark.parametrize(
    ("statement", "line"),
    [
        ("ALTER TABLE users ADD COLUMN age INTEGER NOT NULL", 12),
        ("CREATE INDEX ix_users_age ON users (age)", 14),
        ("ALTER TABLE users DROP COLUMN legacy", 15),
        ("ALTER TABLE users ADD COLUMN other text", 11),  # the column is not named: its table
        ("ALTER TABLE orders ADD other text", 8),  # nothing named: upgrade() itself
    ],
)
def test_a_statement_is_found_at_the_line_of_its_revision(statement: str, line: int) -> None:
    assert statement_line(statement, REVISION.lstrip("\n"), python=True) == line


def test_a_statement_is_found_in_its_sql_file() -> None:
    text = "-- first\nCREATE TABLE a (id int);\n\nALTER TABLE a\n  ADD b int;\n"
    assert statement_line("ALTER TABLE a\n  ADD b int", text, python=False) == 4
    assert statement_line("DROP TABLE b", text, python=False) is None


# ---- squawk's report mapped back ---------------------------------------------------------


def test_lines_gate_adds_for_the_transaction_carry_no_findings() -> None:
    statements = ("CREATE INDEX CONCURRENTLY i ON t (x)", "ALTER TABLE t\nADD y int")
    migration = MigrationSQL("m.py", statements, opened_in_transaction=True,
                             left_in_transaction=True)  # fmt: skip
    text, owners = write_sql(migration)
    assert text.splitlines() == [
        "BEGIN;", "CREATE INDEX CONCURRENTLY i ON t (x);", "ALTER TABLE t", "ADD y int;", "COMMIT;"
    ]  # fmt: skip
    assert owners == [None, 0, 1, 1, None]
    report = (
        '[{"file": "/x/00000.sql", "line": 0, "rule_name": "transaction-nesting", "message": "m"},'
        ' {"file": "/x/00000.sql", "line": 1, "rule_name": "ban-concurrent-index-creation-in-'
        'transaction", "message": "Not in a transaction.", "help": "Build it outside."},'
        ' {"file": "/x/00000.sql", "line": 3, "rule_name": "r", "message": "m2", "help": null}]'
    )
    assert parse_report(report, [migration], {"00000.sql": owners}) == [
        LintFinding("m.py", "ban-concurrent-index-creation-in-transaction", statements[0],
                    "Not in a transaction. Build it outside."),
        LintFinding("m.py", "r", "ALTER TABLE t\nADD y int", "m2.", offset=1),
    ]  # fmt: skip


# ---- judging ----------------------------------------------------------------------------


def linted(*found: tuple[str, str]) -> Linted:
    return Linted(
        [LocatedFinding(LintFinding(m, rule, "ALTER TABLE t ...", "msg"), 3) for m, rule in found],
        migrations=2,
    )


RISKY = linted(("new.py", "adding-required-field"), ("old.py", "adding-required-field"))


@pytest.mark.parametrize(
    ("mode", "allow", "new", "passed", "failing"),
    [
        ("fail", [], {"new.py"}, False, ["new.py"]),
        ("warn", [], {"new.py"}, True, []),
        ("fail", [], set(), True, []),  # all history
        ("fail", ["adding-required-field"], {"new.py"}, True, []),
        ("fail", ["new.py:adding-required-field"], {"new.py"}, True, []),
        ("fail", ["old.py:adding-required-field"], {"new.py"}, False, ["new.py"]),
        ("fail", [], None, False, ["new.py", "old.py"]),  # base unknown: all judged
    ],
)
def test_only_new_migrations_fail_and_only_in_fail_mode(
    mode: str, allow: list[str], new: set[str] | None, passed: bool, failing: list[str]
) -> None:
    judged = judge(RISKY, mode, allow, new, "main", "no base")
    assert judged.check is not None and judged.check.passed is passed
    assert [f.migration for f in judged.findings if f.failing] == failing


def test_history_is_one_note_and_a_skip_is_one_note() -> None:
    judged = judge(RISKY, "fail", [], {"new.py"}, "main")
    assert judged.notes == (
        "migrations.lint: 1 finding(s) in 1 migration(s) already on main are history, not "
        "judged (adding-required-field)",
    )
    assert judged.check is not None
    assert judged.check.message == "1 finding(s) in new migrations: new.py:3: adding-required-field"
    assert [f.new for f in judged.findings] == [True, False]
    skipped = judge(Linted(skipped=GIVEN_SERVER), "fail", [], None, "main")
    assert skipped.check is None and skipped.notes == (GIVEN_SERVER,)
    assert judge(RISKY, "off", [], None, "main") == judge(None, "fail", [], None, "main")


def test_a_finding_in_the_json_report_and_as_a_failing_junit_case() -> None:
    finding = MigrationFinding("m.py", 4, "rule", "ALTER TABLE t\n  ADD x int", "Why. Do this.",
                               True, False, True)  # fmt: skip
    assert finding.as_dict() == {"migration": "m.py", "line": 4, "rule": "rule",
                                 "statement": "ALTER TABLE t\n  ADD x int",
                                 "message": "Why. Do this.", "new": True,
                                 "allowed": False}  # fmt: skip
    outcome = RunOutcome(root=Path("."), run_id="r", findings=[as_finding(finding)])
    case = ET.fromstring(render_junit(outcome)).find("testsuite/testcase[@name='migrations.lint']")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None
    assert failure.text == "m.py:4 rule: Why. Do this. Statement: ALTER TABLE t ADD x int"


# ---- real projects on a real private server ----------------------------------------------


@pytest.fixture(scope="module")
def private_server(gate_cache: Path) -> Iterator[EphemeralServer]:
    with ephemeral_server(find_binaries(None), cache=gate_cache) as server:
        yield server


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


ENV_PY = """
import os

import sqlalchemy as sa
from alembic import context

engine = sa.create_engine(os.environ["DATABASE_URL"], poolclass=sa.pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
"""


def revision(number: str, body: str) -> str:
    previous = "None" if number == "0001" else f'"{int(number) - 1:04d}"'
    return (
        f'import sqlalchemy as sa\nfrom alembic import op\n\nrevision = "{number}"\n'
        f"down_revision = {previous}\n\n\ndef upgrade():\n"
        + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
        + "\n"
    )


ON_MAIN = """
op.create_table("users", sa.Column("id", sa.BigInteger, primary_key=True),
                sa.Column("email", sa.Text, nullable=False))
op.execute("CREATE TABLE legacy (id bigint PRIMARY KEY)")
op.add_column("legacy", sa.Column("code", sa.Integer(), nullable=False))
"""
RISKY_NEW = """
op.add_column("users", sa.Column("age", sa.Integer(), nullable=False))
"""
SAFE_NEW = """
op.add_column("users", sa.Column("nick", sa.Text(), nullable=True))
with op.get_context().autocommit_block():
    op.create_index("ix_users_email", "users", ["email"], postgresql_concurrently=True)
"""
INSPECTS = """
# What is there decides what runs: `alembic upgrade --sql` cannot render this revision.
bind = op.get_bind()
if "nick" in [c["name"] for c in sa.inspect(bind).get_columns("users")]:
    op.create_index("ix_users_nick", "users", ["nick"])
"""


def migrate(server: EphemeralServer, root: Path, command: list[str], name: str) -> list[Statement]:
    """Run `command` in `root` into a new database `name`, capturing what it ran."""
    with admin_connection(server.address) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = server.address.with_database(name).url()
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
           "DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg://", 1),
           "PLAIN_URL": url}  # fmt: skip
    try:
        with capturing(server.address, server.log_file, name) as capture:
            completed = proc.run(command, cwd=root, env=env, output_file=root / "migrate.log")
        assert completed.code == 0, completed.output
        assert capture.unavailable is None
        return capture.statements
    finally:
        with admin_connection(server.address) as admin:
            admin.execute(f'DROP DATABASE "{name}"')


@pytest.fixture(scope="module")
def alembic_lint(
    private_server: EphemeralServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Linted]:
    """An alembic project: one revision on main, three on a feature branch (one uncommitted)."""
    root = tmp_path_factory.mktemp("alembic-project")
    write(root, "alembic.ini", "[alembic]\nscript_location = migrations\n")
    write(root, "migrations/env.py", ENV_PY)
    write(root, "migrations/script.py.mako", "")
    write(root, "migrations/versions/0001_users.py", revision("0001", ON_MAIN))
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "users")
    git(root, "checkout", "-qb", "feature")
    write(root, "migrations/versions/0002_age.py", revision("0002", RISKY_NEW))
    write(root, "migrations/versions/0003_safe.py", revision("0003", SAFE_NEW))
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "more")
    write(root, "migrations/versions/0004_inspects.py", revision("0004", INSPECTS))
    command = [sys.executable, "-m", "alembic", "upgrade", "head"]
    statements = migrate(private_server, root, command, "lint_alembic")
    return root, lint_statements(statements, root, command, root / ".lint")


def by_migration(linted: Linted) -> dict[str, list[tuple[str, int | None]]]:
    found: dict[str, list[tuple[str, int | None]]] = {}
    for located in linted.findings:
        name = Path(located.finding.migration).name
        found.setdefault(name, []).append((located.finding.rule, located.line))
    return found


def test_every_revision_is_linted_with_the_line_of_its_statement(
    alembic_lint: tuple[Path, Linted],
) -> None:
    _, linted = alembic_lint
    assert linted.skipped is None
    assert by_migration(linted) == {
        "0001_users.py": [("adding-required-field", 12)],
        "0002_age.py": [("adding-required-field", 9)],
        # 0003: a nullable column, an index built concurrently outside the transaction
        "0004_inspects.py": [("require-concurrent-index-creation", 12)],
    }


def test_a_new_not_null_column_fails_and_the_same_on_main_is_history(
    alembic_lint: tuple[Path, Linted],
) -> None:
    root, linted = alembic_lint
    migrations = {f.finding.migration for f in linted.findings}
    new, problem = new_migrations(root, {"PATH": "/usr/bin:/bin"}, DiffBase("main", "--base"),
                                  migrations)  # fmt: skip
    assert problem is None
    assert new == {"migrations/versions/0002_age.py", "migrations/versions/0004_inspects.py"}
    assert "migrations/versions/0001_users.py" in migrations
    judged = judge(linted, "fail", [], new, "main")
    assert judged.check is not None and not judged.check.passed
    assert judged.check.message == (
        "2 finding(s) in new migrations: migrations/versions/0002_age.py:9: "
        "adding-required-field; migrations/versions/0004_inspects.py:12: "
        "require-concurrent-index-creation"
    )
    failing = {(f.migration, f.rule) for f in judged.findings if f.failing}
    assert ("migrations/versions/0001_users.py", "adding-required-field") not in failing
    assert judged.notes[0].startswith("migrations.lint: 1 finding(s) in 1 migration(s) already on")


def test_a_safe_revision_passes(alembic_lint: tuple[Path, Linted]) -> None:
    _, linted = alembic_lint
    only_safe = {"migrations/versions/0003_safe.py"}
    judged = judge(linted, "fail", [], only_safe, "main")
    assert judged.check is not None and judged.check.passed, judged.check


SCRIPT_RUNNER = """
import os
import pathlib

import psycopg

with psycopg.connect(os.environ["PLAIN_URL"], autocommit=True) as connection:
    for script in sorted(pathlib.Path("sql").glob("*.sql")):
        connection.execute(script.read_text())
"""


def test_a_sql_script_runner_is_linted_per_file(
    private_server: EphemeralServer, tmp_path: Path
) -> None:
    write(tmp_path, "migrate.py", SCRIPT_RUNNER)
    write(tmp_path, "sql/001_init.sql", "CREATE TABLE items (id bigint PRIMARY KEY, name text);\n")
    write(tmp_path, "sql/002_index.sql",
          "-- speed up lookups\nCREATE INDEX items_name ON items (name);\n")  # fmt: skip
    command = [sys.executable, "migrate.py"]
    statements = migrate(private_server, tmp_path, command, "lint_scripts")
    linted = lint_statements(statements, tmp_path, command, tmp_path / ".lint")
    assert [(f.finding.migration, f.finding.rule, f.line) for f in linted.findings] == [
        ("sql/002_index.sql", "require-concurrent-index-creation", 2)
    ]


def test_on_a_given_server_the_capture_says_it_cannot() -> None:
    address = ServerAddress(host="127.0.0.1", port=5432, user="postgres", database="postgres")
    with capturing(address, None, "gate_x") as capture:
        pass
    assert capture.unavailable == GIVEN_SERVER and capture.statements == []
    judged = judge(Linted(skipped=capture.unavailable), "fail", [], None, "main")
    assert judged.check is None and judged.notes == (GIVEN_SERVER,)


def test_the_template_stops_logging_once_migrated(private_server: EphemeralServer) -> None:
    with admin_connection(private_server.address) as admin:
        admin.execute('CREATE DATABASE "lint_reset"')
    try:
        with capturing(private_server.address, private_server.log_file, "lint_reset"):
            pass
        url = private_server.address.with_database("lint_reset").url()
        with psycopg.connect(url) as connection:
            assert connection.execute("SHOW log_statement").fetchone() == ("none",)
    finally:
        with admin_connection(private_server.address) as admin:
            admin.execute('DROP DATABASE "lint_reset"')


def test_outside_git_the_base_is_unknown_and_says_why(tmp_path: Path) -> None:
    new, why = new_migrations(tmp_path, {"PATH": "/usr/bin:/bin"},
                              DiffBase("origin/main", "coverage.diff.base"), {"m.py"})  # fmt: skip
    assert new is None and why == f"{tmp_path} is not in a git repository"
