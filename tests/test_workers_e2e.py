"""End to end: xdist workers each get a database of their own, cloned from the migrated template,
and the template cache is keyed by the migrations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gate.database.address import ServerAddress
from gate.template_cache import clean_template_cache
from tests.conftest import GateRunner, Project


def templates_on(server: ServerAddress) -> set[str]:
    with psycopg.connect(**server.conninfo(), autocommit=True) as connection:
        rows = connection.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'gate\\_template\\_%'"
        ).fetchall()
    return {str(row[0]) for row in rows}


@pytest.fixture
def cached(tmp_path: Path, state_dir: Path, pg_server: ServerAddress) -> Iterator[dict[str, str]]:
    """Environment for runs with a cache folder in tmp; templates the runs built are dropped."""
    before = templates_on(pg_server)
    yield {"GATE_CACHE_DIR": str(tmp_path / "cache")}
    _, problems = clean_template_cache(state_dir)
    assert problems == []
    assert templates_on(pg_server) - before == set(), "a template gate built was not indexed"


@pytest.fixture
def migrated_app(project: Project) -> Project:
    """Migrations create a table; every test writes its worker id there and must be alone."""
    project.write("app/__init__.py", "VERSION = 1\n")
    project.write(
        "migrations/migrate.py",
        """
        import os

        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
            connection.execute("CREATE TABLE seen (worker text NOT NULL)")
        """,
    )
    project.write(
        "tests/test_alone.py",
        """
        import os
        import time
        from pathlib import Path

        import psycopg
        import pytest

        import app


        @pytest.mark.parametrize("n", range(6))
        def test_each_worker_has_its_own_database(n):
            assert app.VERSION == 1
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            with Path(os.environ["SEEN_FILE"]).open("a") as seen:
                seen.write(worker + "\\n")
            with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
                name = connection.execute("SELECT current_database()").fetchone()[0]
                assert worker == "main" or name.endswith("_" + worker)
                connection.execute("INSERT INTO seen VALUES (%s)", (worker,))
                time.sleep(0.05)
                rows = connection.execute("SELECT DISTINCT worker FROM seen").fetchall()
                assert rows == [(worker,)]
        """,
    )
    project.write(
        "gate.yaml",
        f"""
        env:
          SEEN_FILE: {project.root / "seen.txt"}
        database:
          scheme: postgresql
        migrations:
          command: [python, migrations/migrate.py]
        coverage:
          source: [app]
          fail_under: 100
        tests:
          workers: 2
          timeout: 60
          # xdist makes pytest's base temp folder for its workers: keep it out of TMPDIR.
          args: [--basetemp, {project.root.parent / "basetemp"}]
        """,
    )
    return project


def report(project: Project) -> dict:
    return json.loads((project.root / ".gate/report.json").read_text())


def step(project: Project, name: str) -> dict:
    return next(s for s in report(project)["steps"] if s["name"] == name)


def test_two_workers_each_see_only_their_own_database(
    gate: GateRunner, migrated_app: Project, pg_server: ServerAddress, cached: dict[str, str]
) -> None:
    result = gate("run", "--database-url", pg_server.url(), cwd=migrated_app.root, env=cached)

    assert result.code == 0, result.output
    assert report(migrated_app)["tests"]["passed"] == 6
    seen = (migrated_app.root / "seen.txt").read_text().split()
    assert sorted(set(seen)) == ["gw0", "gw1"]
    assert "(+2 worker clones)" in step(migrated_app, "provision")["detail"]


def test_migrations_run_once_per_key_and_a_changed_migration_builds_anew(
    gate: GateRunner, migrated_app: Project, pg_server: ServerAddress, cached: dict[str, str]
) -> None:
    migrated_app.write("gate.yaml", migrated_app.root.joinpath("gate.yaml").read_text()
                       .replace("workers: 2", "workers: 1"))  # fmt: skip
    run = ("run", "--database-url", pg_server.url())

    first = gate(*run, cwd=migrated_app.root, env=cached)
    assert first.code == 0, first.output
    built = step(migrated_app, "migrate")["detail"]
    assert "into new template gate_template_" in built

    second = gate(*run, cwd=migrated_app.root, env=cached)
    assert second.code == 0, second.output
    reused = step(migrated_app, "migrate")["detail"]
    assert reused.startswith("cached template gate_template_")
    assert built.split()[-1].rstrip(")") in reused

    migrate_py = migrated_app.root / "migrations/migrate.py"
    migrate_py.write_text(migrate_py.read_text() + "# a new migration\n")
    third = gate(*run, cwd=migrated_app.root, env=cached)
    assert third.code == 0, third.output
    rebuilt = step(migrated_app, "migrate")["detail"]
    assert "into new template" in rebuilt and rebuilt != built

    bypassed = gate(*run, "--no-cache", cwd=migrated_app.root, env=cached)
    assert bypassed.code == 0, bypassed.output
    assert step(migrated_app, "migrate")["detail"] == "python migrations/migrate.py"
    assert "from gate_template" not in step(migrated_app, "provision")["detail"]


def test_a_failed_migration_leaves_no_template(
    gate: GateRunner, migrated_app: Project, pg_server: ServerAddress, cached: dict[str, str]
) -> None:
    migrated_app.write("migrations/migrate.py", "raise SystemExit('migration broke')\n")
    before = templates_on(pg_server)

    result = gate("run", "--database-url", pg_server.url(), cwd=migrated_app.root, env=cached)

    assert result.code == 1, result.output
    assert step(migrated_app, "migrate")["status"] == "failed"
    assert templates_on(pg_server) == before


def test_a_private_server_starts_with_the_migrated_template_cached(
    gate: GateRunner, migrated_app: Project, cached: dict[str, str]
) -> None:
    migrated_app.write("gate.yaml", migrated_app.root.joinpath("gate.yaml").read_text()
                       .replace("workers: 2", "workers: 1"))  # fmt: skip

    first = gate("run", cwd=migrated_app.root, env=cached)
    assert first.code == 0, first.output
    assert "(cold)" in step(migrated_app, "provision")["detail"]
    assert "into new template" in step(migrated_app, "migrate")["detail"]

    second = gate("run", cwd=migrated_app.root, env=cached)
    assert second.code == 0, second.output
    assert "(warm, with migrated template)" in step(migrated_app, "provision")["detail"]
    assert step(migrated_app, "migrate")["detail"].startswith("cached template gate_template_")
