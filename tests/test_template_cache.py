"""The migrated template cache against a real server: keys, builds, hits, races and clean."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gate.database.address import ServerAddress
from gate.database.server import create_database, drop_database
from gate.ledger import Ledger
from gate.provision import clean_caches
from gate.template_cache import (
    TemplateIndex,
    clean_template_cache,
    migrated_template,
    template_name,
)
from gate.template_key import KeyScope, command_files, migration_files, template_key


def databases(server: ServerAddress, pattern: str) -> set[str]:
    with psycopg.connect(**server.conninfo(), autocommit=True) as connection:
        rows = connection.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,)
        ).fetchall()
    return {str(row[0]) for row in rows}


@pytest.fixture
def command() -> list[str]:
    """A command unique to the test, so each test has keys of its own."""
    return ["migrate", uuid.uuid4().hex]


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(path=tmp_path / "state" / "run.json", run_id="20260101000000_abcdef")


@pytest.fixture
def templates(pg_server: ServerAddress) -> Iterator[set[str]]:
    """Names of templates the test made; they are dropped afterwards."""
    made: set[str] = set()
    yield made
    for name in made:
        drop_database(pg_server, name)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    for relative, text in {
        "alembic.ini": "[alembic]\nscript_location = app/alembic\n",
        "app/alembic/env.py": "# env\n",
        "app/alembic/versions/001_users.py": "revision = '001'\n",
        "app/models.py": "class User: ...\n",
        "app/migrations/0001.sql": "create table t (id int);\n",
        ".venv/lib/alembic/ignored.py": "x = 1\n",
        "app/alembic/__pycache__/env.cpython-311.pyc": "junk",
    }.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_migration_files_are_alembic_ini_and_migration_folders(app: Path) -> None:
    found = [path.relative_to(app).as_posix() for path in migration_files(app)]
    assert found == [
        "alembic.ini",
        "app/alembic/env.py",
        "app/alembic/versions/001_users.py",
        "app/migrations/0001.sql",
    ]


def test_an_alembic_script_location_of_any_name_counts(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "service/db_versions/versions").mkdir(parents=True)
    (root / "service/alembic.ini").write_text("[alembic]\nscript_location = %(here)s/db_versions\n")
    (root / "service/db_versions/env.py").write_text("# env\n")
    (root / "service/db_versions/versions/001.py").write_text("revision = '001'\n")
    (root / "service/app.py").write_text("x = 1\n")
    found = [path.relative_to(root.resolve()).as_posix() for path in migration_files(root)]
    assert found == [
        "service/alembic.ini",
        "service/db_versions/env.py",
        "service/db_versions/versions/001.py",
    ]


def test_key_changes_with_a_migration_the_command_and_the_server(app: Path) -> None:
    key = template_key(["alembic", "upgrade", "head"], app, 150000)
    assert key == template_key(["alembic", "upgrade", "head"], app, 150000)
    (app / "app/models.py").write_text("class User: name = 1\n")  # env.py may import it
    assert template_key(["alembic", "upgrade", "head"], app, 150000) != key
    key = template_key(["alembic", "upgrade", "head"], app, 150000)
    assert template_key(["alembic", "upgrade", "heads"], app, 150000) != key
    assert template_key(["alembic", "upgrade", "head"], app, 160000) != key
    (app / "app/alembic/versions/002_email.py").write_text("revision = '002'\n")
    changed = template_key(["alembic", "upgrade", "head"], app, 150000)
    assert changed != key
    (app / "app/alembic/versions/002_email.py").write_text("revision = '002b'\n")
    assert template_key(["alembic", "upgrade", "head"], app, 150000) not in (key, changed)
    assert template_name(key) == "gate_template_" + key[:12]


def _migrate(address: ServerAddress) -> None:
    with psycopg.connect(**address.conninfo(), autocommit=True) as connection:
        connection.execute("CREATE TABLE migrated (id int)")


def test_builds_once_then_serves_the_cached_template(
    pg_server: ServerAddress,
    app: Path,
    command: list[str],
    ledger: Ledger,
    tmp_path: Path,
    templates: set[str],
) -> None:
    index = TemplateIndex.under(tmp_path / "state")
    with migrated_template(pg_server, command, app, "run1", ledger, index) as slot:
        templates.add(slot.name)
        assert not slot.cached and slot.build is not None
        assert slot.build.database == f"{slot.name}_building_run1"
        assert [db["name"] for db in ledger.databases] == [slot.build.database]
        _migrate(slot.build)
        slot.built()
    assert ledger.databases == []
    assert databases(pg_server, slot.name + "%") == {slot.name}
    assert [entry["name"] for entry in index.entries()] == [slot.name]

    with migrated_template(pg_server, command, app, "run2", ledger, index) as again:
        assert again.cached and again.name == slot.name
    # A clone of the template holds what the migrations made.
    create_database(pg_server, "gate_test_clone_" + uuid.uuid4().hex[:8], template=slot.name)
    clone = next(iter(databases(pg_server, "gate\\_test\\_clone\\_%")))
    try:
        with psycopg.connect(**pg_server.with_database(clone).conninfo()) as connection:
            assert connection.execute("SELECT count(*) FROM migrated").fetchone() == (0,)
    finally:
        drop_database(pg_server, clone)


@pytest.mark.parametrize("how", ["not reported built", "raised"])
def test_a_failed_migration_never_makes_a_template(
    pg_server: ServerAddress,
    app: Path,
    command: list[str],
    ledger: Ledger,
    tmp_path: Path,
    how: str,
) -> None:
    index = TemplateIndex.under(tmp_path / "state")
    expected = pytest.raises(RuntimeError) if how == "raised" else contextlib.nullcontext()
    with expected, migrated_template(pg_server, command, app, "run1", ledger, index) as slot:
        assert slot.build is not None
        _migrate(slot.build)
        if how == "raised":
            raise RuntimeError("migration crashed")
    assert databases(pg_server, slot.name + "%") == set()
    assert index.entries() == [] and ledger.databases == []


def test_four_concurrent_runs_build_the_template_once_and_clone_it(
    pg_server: ServerAddress,
    app: Path,
    command: list[str],
    tmp_path: Path,
    templates: set[str],
) -> None:
    builds: list[str] = []
    names: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def run(number: int) -> None:
        ledger = Ledger(path=tmp_path / f"state/run{number}.json", run_id=f"run{number}")
        try:
            start.wait()
            with migrated_template(pg_server, command, app, f"run{number}", ledger, None) as slot:
                if slot.build is not None:
                    builds.append(slot.build.database)
                    time.sleep(0.3)  # a slow migration: the others must wait, not build
                    _migrate(slot.build)
                    slot.built()
                names.append(slot.name)
            # Then all four clone it at once, as four runs' databases.
            clone = f"gate_test_clone{number}_{uuid.uuid4().hex[:8]}"
            create_database(pg_server, clone, template=slot.name)
            drop_database(pg_server, clone)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    templates.update(names)
    assert errors == []
    assert len(builds) == 1 and len(set(names)) == 1 and len(names) == 4
    assert databases(pg_server, names[0] + "%") == {names[0]}


def test_clean_cache_drops_recorded_templates_and_spares_the_rest(
    pg_server: ServerAddress,
    app: Path,
    command: list[str],
    ledger: Ledger,
    tmp_path: Path,
    templates: set[str],
) -> None:
    state = tmp_path / "state"
    index = TemplateIndex.under(state)
    with migrated_template(pg_server, command, app, "run1", ledger, index) as slot:
        assert slot.build is not None
        slot.built()
    # Named like gate's, but gate's index does not list it: not gate's to drop.
    foreign = "gate_template_" + uuid.uuid4().hex[:12]
    create_database(pg_server, foreign)
    templates.update({slot.name, foreign})

    removed, problems = clean_template_cache(state)

    assert problems == []
    assert removed == [f"template {slot.name} on {pg_server.with_database('').masked()}"]
    assert databases(pg_server, "gate\\_template\\_%") >= {foreign}
    assert slot.name not in databases(pg_server, "gate\\_template\\_%")
    assert TemplateIndex.under(state).entries() == []
    assert clean_template_cache(state) == ([], [])


def test_clean_caches_removes_templates_and_cached_clusters(
    pg_server: ServerAddress,
    app: Path,
    command: list[str],
    ledger: Ledger,
    tmp_path: Path,
    templates: set[str],
) -> None:
    state = tmp_path / "state"
    index = TemplateIndex.under(state)
    with migrated_template(pg_server, command, app, "run1", ledger, index) as slot:
        assert slot.build is not None
        slot.built()
    templates.add(slot.name)
    entry = tmp_path / "cache" / "clusters" / "pg15-0123456789ab"
    entry.mkdir(parents=True)

    removed, problems = clean_caches(state, {"GATE_CACHE_DIR": str(tmp_path / "cache")})

    assert problems == []
    assert len(removed) == 2 and removed[1] == f"cached cluster {entry}"
    assert not entry.exists() and slot.name not in databases(pg_server, "gate\\_template\\_%")


@pytest.mark.parametrize(
    ("command", "changed"),
    [
        (["python", "migrate.py"], "migrate.py"),
        (["python", "-m", "tools.schema"], "tools/schema.py"),
        (["yoyo", "apply", "--database", "x", "./sql"], "sql/0001.sql"),
        (["alembic", "--config=db/alembic.cfg", "upgrade", "head"], "db/alembic.cfg"),
    ],
)
def test_files_the_command_names_are_part_of_the_key(
    tmp_path: Path, command: list[str], changed: str
) -> None:
    for relative in ("migrate.py", "tools/schema.py", "sql/0001.sql", "db/alembic.cfg"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("create table a (id int);\n")
    before = template_key(command, tmp_path, 15)
    assert (tmp_path / changed) in command_files(command, tmp_path)
    (tmp_path / changed).write_text("create table b (id int);\n")
    assert template_key(command, tmp_path, 15) != before


def test_two_projects_with_different_scripts_never_share_a_template(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for root, table in ((first, "a"), (second, "b")):
        root.mkdir()
        (root / "migrate.py").write_text(f"print('create table {table}')\n")
    command = ["python", "migrate.py"]
    assert template_key(command, first, 15) != template_key(command, second, 15)


def test_the_command_names_nothing_outside_the_project(tmp_path: Path) -> None:
    (tmp_path / "migrate.py").write_text("")
    assert command_files(["python", "/etc/hostname", "../x", ".", "migrate.py"], tmp_path) == [
        (tmp_path / "migrate.py").resolve()
    ]


def test_a_model_the_migrations_import_is_part_of_the_key_and_the_tests_are_not(
    tmp_path: Path,
) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "models.py").write_text("COLUMNS = ['id']\n")
    (tmp_path / "app" / "schema.py").write_text("from app.models import COLUMNS\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_app.py").write_text("def test_x(): pass\n")
    (tmp_path / "README.md").write_text("docs\n")
    scope = KeyScope(exclude=(tmp_path / "tests", tmp_path / "gate.yaml"))
    command = ["python", "-m", "app.schema"]

    def key() -> str:
        return template_key(command, tmp_path, 15, (), scope)

    first = key()
    (tmp_path / "tests" / "test_app.py").write_text("def test_y(): pass\n")
    (tmp_path / "README.md").write_text("more docs\n")
    (tmp_path / "gate.yaml").write_text("coverage: {fail_under: 95}\n")
    assert key() == first  # tests, docs and gate's thresholds do not shape the schema
    (tmp_path / "app" / "models.py").write_text("COLUMNS = ['id', 'name']\n")
    assert key() != first
    second = key()
    (tmp_path / ".env").write_text("SCHEMA=other\n")
    assert key() != second
    third = key()
    assert (
        template_key(command, tmp_path, 15, (), KeyScope(scope.exclude, (("SCHEMA", "b"),)))
        != third
    )
