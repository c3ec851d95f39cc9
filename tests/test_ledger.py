"""The run ledger: what a run records before creating it, read back whole, from any thread."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
from pathlib import Path

from gate.ledger import Ledger, run_ledger
from gate.lifeline import is_running


def test_processes_recorded_from_many_threads_are_all_kept(tmp_path: Path) -> None:
    ledger = Ledger(path=tmp_path / "run.json", run_id="r")
    threads = [
        threading.Thread(target=lambda n=n: ledger.add_process(100000 + n, 3)) for n in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorded = Ledger.load(ledger.path)
    assert sorted(p["pid"] for p in recorded.processes) == [100000 + n for n in range(20)]
    assert {p["signal"] for p in recorded.processes} == {3}
    assert stat.S_IMODE(ledger.path.stat().st_mode) == 0o600  # it may hold a password
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_a_server_is_recorded_before_it_starts_and_completed_once_it_runs(tmp_path: Path) -> None:
    ledger = Ledger(path=tmp_path / "run.json", run_id="r")
    ledger.add_server(tmp_path / "gate-pg-x", None)
    assert Ledger.load(ledger.path).servers == [
        {"base_dir": str(tmp_path / "gate-pg-x"), "pid": None, "pid_start": None, "port": None}
    ]
    ledger.add_server(tmp_path / "gate-pg-x", os.getpid(), 5433)
    [server] = Ledger.load(ledger.path).servers
    assert (server["pid"], server["port"]) == (os.getpid(), 5433)
    assert server["pid_start"] is not None


def test_a_run_s_ledger_goes_once_everything_in_it_is_removed(tmp_path: Path) -> None:
    with run_ledger("empty", tmp_path) as ledger:
        ledger.add_folder(tmp_path / "f")
        ledger.forget_folder(tmp_path / "f")
    assert not (tmp_path / "empty.json").exists()
    with run_ledger("kept", tmp_path) as ledger:
        ledger.kept = True  # --keep-db
        ledger.add_database("postgresql://postgres@127.0.0.1:5432/postgres", "gate_kept")
    assert json.loads((tmp_path / "kept.json").read_text())["kept"] is True


def test_a_child_still_listed_when_the_run_ends_is_ended_unless_the_run_keeps_it(
    tmp_path: Path,
) -> None:
    """A Ctrl-C between a child's start and the object that stops it left the child listed
    (and `test_db_signals` found a ledger left about one run in four): the run's end stops it.
    --keep-db's processes stay, for `gate clean`."""
    children = []
    for kept in (False, True):
        child = subprocess.Popen(["sleep", "60"], start_new_session=True)
        children.append(child)
        with run_ledger(f"r{kept}", tmp_path) as ledger:
            ledger.add_process(child.pid, 9)
            ledger.kept = kept
        child.poll()
        assert is_running(child.pid) is kept
        assert (tmp_path / f"r{kept}.json").exists() is kept
    children[1].kill()
    for child in children:
        child.wait()
