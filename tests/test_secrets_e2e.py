"""End to end: a password gate hands to the tests never comes back out, even when a failing
test quotes it (whole, shortened by pytest, or percent-encoded), in any output or file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gate.database.address import ServerAddress
from tests.conftest import GateRunner, Project

# A password with characters that URLs encode, long enough for pytest to shorten the values
# that quote it.
PASSWORD = "Hunter2Secret:x/y@z"
PIECES = ("Hunter2Secret", "unter2Secr", "ter2Secret", "Hunter2Se", "Secret%3Ax")


@pytest.fixture
def quoting_app(project: Project) -> Project:
    project.write("app/__init__.py", "def one():\n    return 1\n")
    project.write(
        "tests/test_app.py",
        """
        import os

        from app import one


        def test_one():
            assert one() == 1


        def test_quotes_the_password():
            print("the url is", os.environ["DATABASE_URL"])
            assert os.environ["PGPW"] == "nope"


        def test_quotes_a_long_value_holding_it():
            long = "x" * 300 + os.environ["PGPW"] + "y" * 300
            assert long == "z"
        """,
    )
    project.write(
        "gate.yaml",
        """
        database:
          scheme: postgresql
          export: {DATABASE_URL: "{url}", PGPW: "{password}"}
        coverage: {source: [app], fail_under: 0}
        """,
    )
    return project


def _leaks(text: str) -> list[str]:
    return [piece for piece in PIECES if piece in text]


def _files(root: Path) -> list[Path]:
    return [path for path in (root / ".gate").rglob("*") if path.is_file()]


def test_a_test_quoting_the_password_leaks_it_nowhere(
    gate: GateRunner, quoting_app: Project, pg_server: ServerAddress
) -> None:
    url = dataclasses.replace(pg_server, password=PASSWORD).url()
    if pg_server.password:
        pytest.fail("the test server must accept any password (trust auth)")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(quoting_app.root / "summary.md")}
    run = gate("run", "-v", "--database-url", url, cwd=quoting_app.root, env=env)
    assert run.code == 1, run.output
    # The failures are reported, with the password masked where they quote it.
    assert "test_quotes_the_password" in run.stdout and "***" in run.stdout
    assert _leaks(run.output) == []
    for path in [*_files(quoting_app.root), quoting_app.root / "summary.md"]:
        assert _leaks(path.read_text(errors="replace")) == [], path

    shard = gate("run", "--shard", "1/1", "--database-url", url, cwd=quoting_app.root)
    assert shard.code == 1, shard.output
    merged = gate("merge", "-v", cwd=quoting_app.root)
    assert merged.code == 1, merged.output
    assert "test_quotes_the_password" in merged.stdout
    assert _leaks(shard.output + merged.output) == []
    for path in _files(quoting_app.root):
        assert _leaks(path.read_text(errors="replace")) == [], path
