"""`gate clean` removes what the ledgers of dead runs list, and nothing else: not a database
named like gate's, not a server it did not start, not what a live run holds."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gate.clean import clean_leftovers, reap_dead_runs
from gate.database.address import ServerAddress
from gate.database.binaries import find_binaries
from gate.database.ephemeral import ephemeral_server
from gate.database.server import create_database, drop_database
from gate.ledger import Ledger, is_zombie, process_start
from gate.redact import mask_url
from gate.template_cache import TemplateIndex, template_name
from tests.conftest import GateRunner


def names(server: ServerAddress) -> set[str]:
    with psycopg.connect(**server.conninfo(), autocommit=True) as connection:
        rows = connection.execute("SELECT datname FROM pg_database").fetchall()
    return {str(row[0]) for row in rows}


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def orphaned_server(temp_root: Path) -> tuple[Path, int]:
    """A private server whose gate died: started by a process that exits, leaving it running."""
    script = (
        "import json; from pathlib import Path\n"
        "from gate.database.binaries import find_binaries\n"
        "from gate.database.ephemeral import ephemeral_server\n"
        f"with ephemeral_server(find_binaries(), temp_root=Path({str(temp_root)!r}), "
        "keep=True) as s:\n"
        "    print(json.dumps([str(s.base_dir), s.process.pid]))\n"
    )
    started = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    base_dir, pid = json.loads(started.stdout)
    return Path(base_dir), int(pid)


def run_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + "_" + uuid.uuid4().hex[:6]


@pytest.fixture
def databases(pg_server: ServerAddress) -> Iterator[list[str]]:
    """Databases the test makes on the server; whatever clean spared is dropped afterwards."""
    made: list[str] = []
    yield made
    for name in made:
        drop_database(pg_server, name)


@pytest.fixture
def public_tmp() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="gc-", dir="/tmp"))
    folder.chmod(0o755)  # the server account (as root) must reach it
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_clean_removes_dead_runs_leftovers_and_spares_everything_else(
    gate: GateRunner,
    pg_server: ServerAddress,
    state_dir: Path,
    gate_tmp: Path,
    public_tmp: Path,
    databases: list[str],
) -> None:
    binaries = find_binaries()
    url = pg_server.url()
    masked = mask_url(url)
    # A killed run: its database, its private server (still running) and its temp folder.
    dead = Ledger(path=state_dir / "dead.json", run_id=run_id(), pid=dead_pid(), pid_start=None)
    left_db = f"gate_{dead.run_id}"
    create_database(pg_server, left_db)
    databases.append(left_db)
    dead.add_database(url, left_db)
    left_server_dir, left_server_pid = orphaned_server(gate_tmp)
    dead.add_server(left_server_dir, left_server_pid)
    left_folder = gate_tmp / f"gate-run-{dead.run_id}"
    left_folder.mkdir()
    dead.add_folder(left_folder)

    # What is not gate's: a database named like a run's that no ledger lists, and a live
    # server whose pid a dead run's ledger happens to name (pids get reused).
    lookalike = f"gate_{run_id()}"
    create_database(pg_server, lookalike)
    databases.append(lookalike)
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        with ephemeral_server(binaries, temp_root=public_tmp, cache=None) as foreign:
            assert foreign.process is not None
            reused = Ledger(path=state_dir / "reused.json", run_id=run_id(), pid=dead_pid())
            reused.add_server(public_tmp / "gone-gate-pg-folder", foreign.process.pid)
            # A live run: what it holds is kept; a dead run whose pid was reused is not live.
            live = Ledger(path=state_dir / "live.json", run_id=run_id(), pid=sleeper.pid,
                          pid_start=process_start(sleeper.pid))  # fmt: skip
            live_db = f"gate_{live.run_id}"
            create_database(pg_server, live_db)
            databases.append(live_db)
            live.add_database(url, live_db)
            impostor = Ledger(path=state_dir / "impostor.json", run_id=run_id(),
                              pid=sleeper.pid, pid_start="1")  # fmt: skip
            impostor_db = f"gate_{impostor.run_id}"
            create_database(pg_server, impostor_db)
            databases.append(impostor_db)
            impostor.add_database(url, impostor_db)

            result = gate("clean", cwd=state_dir.parent)

            assert result.code == 0, result.output
            masked = mask_url(url)
            assert sorted(result.stdout.splitlines()) == sorted([
                f"removed database {left_db} on {masked}",
                f"removed database {impostor_db} on {masked}",
                f"removed private server in {left_server_dir}",
                f"removed folder {left_folder}",
                "removed the record of a private server in "
                f"{public_tmp / 'gone-gate-pg-folder'} (it was already gone)",
                f"kept run {live.run_id} (pid {sleeper.pid} is still running)",
            ])  # fmt: skip
            on_server = names(pg_server)
            assert left_db not in on_server and impostor_db not in on_server
            assert {lookalike, live_db} <= on_server
            assert not Path(f"/proc/{left_server_pid}").exists() or is_zombie(left_server_pid)
            assert not left_server_dir.exists() and not left_folder.exists()
            assert foreign.process.poll() is None, "clean stopped a server it did not start"
            assert names(foreign.address) >= {"postgres"}
            assert sorted(p.name for p in state_dir.glob("*.json")) == ["live.json"]

            # Past --older-than, a run that still has a process is cleaned too.
            data = live.path.read_text().replace(f'"created": {live.created}', '"created": 0')
            live.path.write_text(data)
            older = gate("clean", "--older-than", "1", cwd=state_dir.parent)
            assert older.stdout.splitlines() == [f"removed database {live_db} on {masked}"]
            assert live_db not in names(pg_server)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_clean_cache_drops_the_templates_gate_built_and_spares_lookalikes(
    gate: GateRunner,
    pg_server: ServerAddress,
    state_dir: Path,
    databases: list[str],
) -> None:
    ours = template_name(uuid.uuid4().hex)
    lookalike = template_name(uuid.uuid4().hex)
    for name in (ours, lookalike):
        create_database(pg_server, name)
        databases.append(name)
    TemplateIndex.under(state_dir).record(pg_server, ours)
    cache = state_dir.parent / "cache"
    cluster = cache / "clusters" / "pg15-0123456789ab"
    (cluster / "global").mkdir(parents=True)

    plain = gate("clean", cwd=state_dir.parent, env={"GATE_CACHE_DIR": str(cache)})
    assert plain.stdout.strip() == "nothing to clean" and ours in names(pg_server)

    result = gate("clean", "--cache", cwd=state_dir.parent, env={"GATE_CACHE_DIR": str(cache)})

    assert result.code == 0, result.output
    assert result.stdout.splitlines() == [
        f"removed template {ours} on {mask_url(pg_server.with_database('').url())}",
        f"removed cached cluster {cluster}",
    ]
    assert ours not in names(pg_server) and lookalike in names(pg_server)
    assert not cluster.exists()


def test_the_reaping_at_the_start_of_a_run_takes_dead_runs_only(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert reap_dead_runs(state) == []  # no ledger folder yet
    state.mkdir()
    assert reap_dead_runs(state) == []
    folders = {name: tmp_path / name for name in ("dead", "kept", "live")}
    for folder in folders.values():
        folder.mkdir()
    dead = Ledger(path=state / "dead.json", run_id="dead", pid=dead_pid())
    dead.add_folder(folders["dead"])
    dead.add_server(tmp_path / "gone-gate-pg", None)
    kept = Ledger(path=state / "kept.json", run_id="kept", pid=dead_pid(), kept=True)
    kept.add_folder(folders["kept"])
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        live = Ledger(path=state / "live.json", run_id="live", pid=sleeper.pid,
                      pid_start=process_start(sleeper.pid))  # fmt: skip
        live.add_folder(folders["live"])
        lock = (state / ".reap.lock").open("a")
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run is reaping: this one does not wait
        assert reap_dead_runs(state) == []
        lock.close()

        assert reap_dead_runs(state) == [
            "removed what killed runs left: the record of a private server already stopped "
            "by its watcher, 1 folder"
        ]
        assert not folders["dead"].exists() and not dead.path.exists()
        assert folders["kept"].exists() and folders["live"].exists()
        assert reap_dead_runs(state) == []
    finally:
        sleeper.kill()
        sleeper.wait()
    # `gate clean` takes what --keep-db kept, and the run that has now ended.
    assert sorted(clean_leftovers(state).removed) == [
        f"folder {folders['kept']}",
        f"folder {folders['live']}",
    ]
