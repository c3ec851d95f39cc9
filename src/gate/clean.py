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
from gate.ledger import Ledger
from gate.provision import drop_leftover
from gate.redact import mask_url


@dataclass
class CleanReport:
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # ledgers of runs still alive
    problems: list[str] = field(default_factory=list)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owns(pid: int, base_dir: str) -> bool:
    """The pid is still the postgres gate started in base_dir (pids get reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return "postgres" in cmdline and base_dir in cmdline


def _stop_server(entry: dict[str, object]) -> None:
    pid = entry.get("pid")
    base_dir = str(entry["base_dir"])
    if isinstance(pid, int) and _owns(pid, base_dir):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    shutil.rmtree(base_dir, ignore_errors=True)


def clean_leftovers(directory: Path, *, older_than_s: float | None = None) -> CleanReport:
    report = CleanReport()
    for path in sorted(directory.glob("*.json")):
        try:
            ledger = Ledger.load(path)
        except (OSError, ValueError, KeyError) as exc:
            report.problems.append(f"{path}: unreadable ledger ({exc})")
            continue
        stale = older_than_s is not None and time.time() - ledger.created > older_than_s
        if _alive(ledger.pid) and ledger.pid != os.getpid() and not stale:
            report.kept.append(f"run {ledger.run_id} (pid {ledger.pid} is still running)")
            continue
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
            _stop_server(server)
            ledger.forget_server(Path(str(server["base_dir"])))
            report.removed.append(f"private server in {server['base_dir']}")
        for folder in list(ledger.folders):
            shutil.rmtree(folder, ignore_errors=True)
            ledger.forget_folder(Path(folder))
            report.removed.append(f"folder {folder}")
        if ledger.empty:
            ledger.discard()
    return report
