"""Database failures end in exit 3 with the reason: a wrong password (masked), a server that
never answers, initdb or the server failing (with their own words); a taken port is retried;
--keep-db leaves a database a pasted psql command reaches."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gate.database import ephemeral
from gate.database.address import ServerAddress
from gate.database.binaries import find_binaries
from gate.database.ephemeral import ephemeral_server
from gate.errors import InfraError
from tests.conftest import GateRunner, Project, gate_databases

PASSWORD = "right-Passw0rd-xyz"
WRONG = "wrong-Secret-9876"


@pytest.fixture(scope="module")
def public_tmp() -> Iterator[Path]:
    """A folder outside the guarded TMPDIR that the server account (as root) can reach."""
    folder = Path(tempfile.mkdtemp(prefix="gf-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def password_server(public_tmp: Path) -> Iterator[ServerAddress]:
    """A private server where the role `app` (CREATEDB, not superuser) needs its password."""
    with ephemeral_server(find_binaries(), temp_root=public_tmp, cache=None) as server:
        hba = server.data_dir / "pg_hba.conf"
        hba.write_text(
            "local all all trust\n"
            "host all postgres 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )
        if server.account is not None:
            os.chown(hba, server.account.uid, server.account.gid)
        with psycopg.connect(**server.address.conninfo(), autocommit=True) as connection:
            connection.execute(f"CREATE ROLE app LOGIN CREATEDB PASSWORD '{PASSWORD}'")
            connection.execute("SELECT pg_reload_conf()")
        yield ServerAddress(server.address.host, server.port, "app", PASSWORD)


def report_text(project: Project) -> str:
    return (project.root / ".gate/report.json").read_text()


def test_a_wrong_password_is_exit_3_within_seconds_and_never_shown(
    gate: GateRunner, small_app: Project, password_server: ServerAddress
) -> None:
    url = password_server.url().replace(PASSWORD, WRONG)
    started = time.monotonic()
    result = gate("run", "--database-url", url, cwd=small_app.root)
    assert time.monotonic() - started < 10
    assert result.code == 3, result.output
    where = f"{password_server.host}:{password_server.port}"
    assert f"could not connect to PostgreSQL at {where} as app: " in result.output
    assert 'password authentication failed for user "app"' in result.output
    assert WRONG not in result.output and WRONG not in report_text(small_app)
    assert json.loads(report_text(small_app))["exit_code"] == 3


def test_the_right_password_works_for_a_role_that_may_only_create_databases(
    gate: GateRunner, small_app: Project, password_server: ServerAddress
) -> None:
    result = gate("run", "-v", "--database-url", password_server.url(), cwd=small_app.root)
    assert result.code == 0, result.output
    assert PASSWORD not in result.output and PASSWORD not in report_text(small_app)
    assert gate_databases(password_server) == set()  # dropped by its owner, not a superuser


def test_a_server_that_never_answers_is_exit_3_within_10_seconds(
    gate: GateRunner, small_app: Project
) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does), answers nothing
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        result = gate(
            "run", "--database-url", f"postgresql://app:{WRONG}@127.0.0.1:{port}/postgres",
            cwd=small_app.root,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert elapsed < 10, elapsed
    assert result.code == 3, result.output
    assert f"could not connect to PostgreSQL at 127.0.0.1:{port} as app" in result.output
    assert WRONG not in result.output and WRONG not in report_text(small_app)


def test_a_taken_port_is_given_up_for_another(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = taken.getsockname()[1]
        offered = [busy]
        real_free_port = ephemeral.free_port
        # The race this guards against: a port free when probed, taken before postgres binds.
        monkeypatch.setattr(ephemeral, "free_port", lambda: offered.pop() if offered else
                            real_free_port())  # fmt: skip
        with ephemeral_server(find_binaries(), cache=tmp_path / "clusters") as server:
            assert server.port != busy
            with psycopg.connect(**server.address.conninfo()) as connection:
                assert connection.execute("SELECT 1").fetchone() == (1,)
            log = server.log_file.read_text()
        assert "could not bind IPv4 address" in log and str(busy) in log


def test_no_free_port_after_the_retries_is_an_infrastructure_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = taken.getsockname()[1]
        monkeypatch.setattr(ephemeral, "free_port", lambda: busy)
        with (
            pytest.raises(InfraError, match="no free port for a private PostgreSQL server "
                          "after 5 tries"),
            ephemeral_server(find_binaries(), cache=tmp_path / "clusters"),
        ):  # fmt: skip
            pass


def wrapped_binaries(folder: Path, *, initdb_extra: str = "", postgres_extra: str = "") -> Path:
    """A bin folder whose initdb and postgres are the real ones, run with extra arguments."""
    real = find_binaries()
    folder.mkdir(mode=0o755)
    for name, extra in (("initdb", initdb_extra), ("postgres", postgres_extra)):
        target = os.path.realpath(real.tool(name))
        script = folder / name
        script.write_text(f'#!/bin/sh\nexec {shlex.quote(target)} "$@" {extra}\n')
        script.chmod(0o755)
    return folder


@pytest.mark.parametrize(
    ("broken", "says"),
    [
        ({"initdb_extra": "--locale=no_such_locale"},
         ["initdb failed (exit 1):", 'invalid locale name "no_such_locale"']),
        ({"postgres_extra": "-c shared_buffers=lots"},
         ["the private PostgreSQL server did not start; its log ends:",
          'invalid value for parameter "shared_buffers": "lots"']),
    ],
)  # fmt: skip
def test_initdb_or_server_failures_are_exit_3_in_their_own_words(
    gate: GateRunner,
    small_app: Project,
    public_tmp: Path,
    broken: dict[str, str],
    says: list[str],
) -> None:
    bin_dir = wrapped_binaries(public_tmp / f"bin-{len(list(public_tmp.iterdir()))}", **broken)
    small_app.write("gate.yaml", f"database: {{bin_dir: {bin_dir}}}\n")
    result = gate("run", cwd=small_app.root)
    assert result.code == 3, result.output
    for words in says:
        assert words in result.output


def paste(note: str) -> list[str]:
    """The psql command a --keep-db note offers, as a user would paste it."""
    command = note.split("reach it with: ", 1)[1].split("; `gate clean`", 1)[0]
    return shlex.split(command)


@pytest.mark.parametrize("mode", ["server", "ephemeral"])
def test_keep_db_prints_a_psql_command_that_reaches_the_database(
    gate: GateRunner, small_app: Project, pg_server: ServerAddress, mode: str
) -> None:
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")  # Debian's postgresql-client; CI has it
    args = ["--database-url", pg_server.url()] if mode == "server" else []
    result = gate("run", "-q", "--keep-db", *args, cwd=small_app.root)
    assert result.code == 0, result.output
    (note,) = [line for line in result.stdout.splitlines() if line.startswith("--keep-db")]
    psql = paste(note)
    assert psql[:2] == ["psql", "-h"] and psql[-2] == "-d" and psql[-1].startswith("gate_")
    answered = subprocess.run(
        [*psql, "-XAtc", "SELECT current_database()"], capture_output=True, text=True, check=False
    )
    assert answered.stdout.strip() == psql[-1], answered.stderr
    report = json.loads((small_app.root / ".gate/report.json").read_text())
    [teardown] = [step for step in report["steps"] if step["name"] == "teardown"]
    kept = "the database" if mode == "server" else "the database and its private server"
    assert teardown["detail"].startswith(
        f"removed everything this run created but {kept} (--keep-db)"
    )
    # What was kept is recorded as the run's: `gate clean` removes it (the guard checks).
    cleaned = gate("clean", cwd=small_app.root)
    assert f"removed database {psql[-1]}" in cleaned.stdout
    if mode == "ephemeral":
        assert "removed private server in " in cleaned.stdout
