"""Four `gate run`s at once against one server: one builds the template while the others wait
for it, each gets a database of its own, and nothing is left behind."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.database.address import ServerAddress
from gate.template_cache import clean_template_cache
from tests.conftest import GateRunner, Project

RUNS = 4


@pytest.fixture
def shared_app(project: Project, state_dir: Path) -> Iterator[Project]:
    """A migrated table each run's test writes to and must find holding only its own row."""
    project.write(
        "migrate.py",
        """
        import os, time

        import psycopg

        time.sleep(1)  # slow enough that the other runs arrive while the template is built
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
            connection.execute("CREATE TABLE runs (name text NOT NULL)")
        """,
    )
    project.write(
        "tests/test_alone.py",
        """
        import os, time

        import psycopg


        def test_this_run_is_alone_in_its_database():
            with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
                name = connection.execute("SELECT current_database()").fetchone()[0]
                connection.execute("INSERT INTO runs VALUES (%s)", (name,))
                time.sleep(0.5)  # the four runs' tests overlap
                assert connection.execute("SELECT name FROM runs").fetchall() == [(name,)]
            with open(os.environ["SEEN"], "a") as seen:
                seen.write(name + "\\n")
        """,
    )
    project.write(
        "gate.yaml",
        f"""
        env: {{SEEN: {project.root / "seen.txt"}}}
        database: {{scheme: postgresql}}
        migrations: {{command: [python, migrate.py]}}
        tests: {{timeout: 60}}
        """,
    )
    yield project
    assert clean_template_cache(state_dir)[1] == []


def test_four_runs_at_once_share_one_template_and_never_collide(
    gate: GateRunner, shared_app: Project, pg_server: ServerAddress, tmp_path: Path
) -> None:
    def start(n: int) -> subprocess.Popen[str]:
        argv = [sys.executable, "-m", "gate", "run", "--database-url", pg_server.url(),
                "--json", f"out/{n}.json", "--junit", f"out/{n}.xml"]  # fmt: skip
        return subprocess.Popen(
            argv,
            cwd=shared_app.root,
            env={**gate.env, "GATE_CACHE_DIR": str(tmp_path / "cache")},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    runs = [start(n) for n in range(RUNS)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output

    reports = [json.loads((shared_app.root / f"out/{n}.json").read_text()) for n in range(RUNS)]
    migrate = [next(s for s in r["steps"] if s["name"] == "migrate")["detail"] for r in reports]
    built = [detail for detail in migrate if "into new template" in detail]
    reused = [detail for detail in migrate if detail.startswith("cached template")]
    assert (len(built), len(reused)) == (1, RUNS - 1), migrate
    template = built[0].rsplit(" ", 1)[-1].rstrip(")")
    assert all(template in detail for detail in reused)
    seen = (shared_app.root / "seen.txt").read_text().split()
    assert len(seen) == RUNS and len(set(seen)) == RUNS  # four databases, one per run
    # the `gate` fixture's guard checks that no run database (or half-built template) remains
