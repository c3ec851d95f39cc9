"""`gate clean`: removes what runs that were killed left behind, as their ledgers record it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from gate.errors import GateError
from gate.ledger import Ledger, is_zombie, process_start
from gate.provision import drop_leftover
from gate.redact import mask_url


@dataclass
class CleanReport:
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # ledgers of runs still alive
    problems: list[str] = field(default_factory=list)


def _alive(pid: int, start: object = None) -> bool:
    """The process runs, and is the one recorded: a pid reused by another process is not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if is_zombie(pid):
        return False
    if isinstance(start, str):
        now = process_start(pid)
        return now is None or now == start
    return True


def _owns(pid: int, base_dir: str, start: object) -> bool:
    """The pid is still the postgres gate started in base_dir (pids get reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return "postgres" in cmdline and base_dir in cmdline and _alive(pid, start)


def _stop_server(entry: dict[str, object]) -> bool:
    """Stop the server if it still runs and remove its folder; False when both were gone."""
    pid = entry.get("pid")
    base_dir = str(entry["base_dir"])
    found = os.path.exists(base_dir)
    if isinstance(pid, int) and _owns(pid, base_dir, entry.get("pid_start")):
        found = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    shutil.rmtree(base_dir, ignore_errors=True)
    return found


def _stop_test_process(entry: dict[str, object]) -> bool:
    """Kill the test process's group (pytest and its xdist workers) if it is still the one
    the run started; False when it was already gone."""
    pid = entry.get("pid")
    if not isinstance(pid, int) or not _alive(pid, entry.get("pid_start")):
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)  # started in a session of its own: pgid == pid
    return True


def clean_leftovers(directory: Path, *, older_than_s: float | None = None) -> CleanReport:
    report = CleanReport()
    for path in sorted(directory.glob("*.json")):
        try:
            ledger = Ledger.load(path)
        except (OSError, ValueError, KeyError) as exc:
            report.problems.append(f"{path}: unreadable ledger ({exc})")
            continue
        stale = older_than_s is not None and time.time() - ledger.created > older_than_s
        if _alive(ledger.pid, ledger.pid_start) and ledger.pid != os.getpid() and not stale:
            report.kept.append(f"run {ledger.run_id} (pid {ledger.pid} is still running)")
            continue
        for process in list(ledger.processes):
            # First: its connections would keep the run's databases from being dropped.
            if _stop_test_process(process):
                report.removed.append(f"test process {process['pid']} (stopped)")
            ledger.forget_process(int(process["pid"]))
        for database in list(ledger.databases):
            where = f"database {database['name']} on {mask_url(database['url'])}"
            try:
                drop_leftover(database["url"], database["name"])
            except GateError as exc:
                report.problems.append(f"{where}: {exc.message}")
                continue
            ledger.forget_database(database["name"])
            report.removed.append(where)
        for server in list(ledger.servers):
            where = f"private server in {server['base_dir']}"
            if not _stop_server(server):
                where = f"the record of a {where} (it was already gone)"
            ledger.forget_server(Path(str(server["base_dir"])))
            report.removed.append(where)
        for folder in list(ledger.folders):
            shutil.rmtree(folder, ignore_errors=True)
            ledger.forget_folder(Path(folder))
            report.removed.append(f"folder {folder}")
        if ledger.empty:
            ledger.discard()
    return report
