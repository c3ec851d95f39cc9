"""`gate clean`, and the reaping at the start of `gate run`: removes what runs that were killed
left behind, as their ledgers record it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from gate.errors import GateError
from gate.ledger import Ledger
from gate.lifeline import end_processes, is_running, remove_folder
from gate.redact import mask_url


@dataclass
class CleanReport:
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # ledgers of runs still alive
    problems: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)  # what was removed, by kind

    def remove(self, kind: str, line: str) -> None:
        self.counts[kind] += 1
        self.removed.append(line)


def _owns(pid: int, base_dir: str, start: object) -> bool:
    """The pid is still the postgres gate started in base_dir (pids get reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return "postgres" in cmdline and base_dir in cmdline and is_running(pid, start)


def _stop_server(entry: dict[str, object]) -> bool:
    """Stop the server if it still runs and remove its folder; False when both were gone."""
    pid = entry.get("pid")
    base_dir = str(entry["base_dir"])
    found = False
    if isinstance(pid, int) and _owns(pid, base_dir, entry.get("pid_start")):
        # SIGQUIT: PostgreSQL's immediate shutdown; its group is killed after a grace.
        found = bool(end_processes([(pid, entry.get("pid_start"), signal.SIGQUIT)], grace_s=10))
    return remove_folder(base_dir) or found


def _stop_process(entry: dict[str, object]) -> bool:
    """End a process the run started (and its group) if it is still the one the run started;
    False when it was already gone."""
    pid = entry.get("pid")
    if not isinstance(pid, int):
        return False
    sig = entry.get("signal")
    stop = sig if isinstance(sig, int) else signal.SIGKILL
    return bool(end_processes([(pid, entry.get("pid_start"), stop)]))


def _private_ports(ledger: Ledger) -> set[int]:
    return {int(s["port"]) for s in ledger.servers if isinstance(s.get("port"), int)}


def _on_private_server(url: str, ports: set[int]) -> bool:
    """A database on one of the run's own private servers goes with that server."""
    try:
        parts = urlsplit(url)
        return parts.hostname == "127.0.0.1" and parts.port in ports
    except ValueError:
        return False


def _drop_recorded(
    entries: list[dict[str, str]],
    kind: str,
    drop: Callable[[str, str], None],
    forget: Callable[[str], None],
    private: set[int],
    report: CleanReport,
) -> list[str]:
    """Drop the databases (or roles) a run recorded, each forgotten once gone; those on the
    run's own private servers go with their server, and are returned to be named then."""
    on_private: list[str] = []
    for entry in list(entries):
        where = f"{kind} {entry['name']} on {mask_url(entry['url'])}"
        if _on_private_server(entry["url"], private):
            on_private.append(where)  # goes with its server
        else:
            try:
                drop(entry["url"], entry["name"])
            except GateError as exc:
                report.problems.append(f"{where}: {exc.message}")
                continue
            report.remove(kind, where)
        forget(entry["name"])
    return on_private


def _clean_ledger(ledger: Ledger, report: CleanReport) -> None:
    # psycopg: only when a database is to be dropped
    from gate.provision import drop_leftover, drop_leftover_role

    servers = {s.get("pid") for s in ledger.servers}
    for process in list(ledger.processes):
        # First: its connections would keep the run's databases from being dropped. A server's
        # own process is stopped below, with its folder.
        if process["pid"] not in servers and _stop_process(process):
            report.remove("process", f"process {process['pid']} (stopped)")
        ledger.forget_process(int(process["pid"]))
    private = _private_ports(ledger)
    on_private = _drop_recorded(
        ledger.databases, "database", drop_leftover, ledger.forget_database, private, report
    )
    # After the databases: nothing of theirs is left.
    roles_on_private = _drop_recorded(
        ledger.roles, "role", drop_leftover_role, ledger.forget_role, private, report
    )
    for server in list(ledger.servers):
        where = f"private server in {server['base_dir']}"
        if _stop_server(server):
            report.remove("private server", where)
            for line in on_private:  # it was still there to be removed (--keep-db)
                report.remove("database", line)
            for line in roles_on_private:
                report.remove("role", line)
        else:
            report.remove("record", f"the record of a {where} (it was already gone)")
        ledger.forget_server(Path(str(server["base_dir"])))
    for folder in list(ledger.folders):
        remove_folder(folder)
        ledger.forget_folder(Path(folder))
        report.remove("folder", f"folder {folder}")
    if ledger.empty:
        ledger.discard()


def clean_leftovers(
    directory: Path, *, older_than_s: float | None = None, reaping: bool = False
) -> CleanReport:
    """Clean every ledger whose run is over (or older than older_than_s). Reaping (at the
    start of `gate run`) leaves what a run kept on purpose (--keep-db) and this process's own
    ledger; `gate clean` takes both."""
    report = CleanReport()
    try:
        paths = sorted(directory.glob("*.json"))
    except OSError:
        paths = []
    for path in paths:
        try:
            ledger = Ledger.load(path)
        except FileNotFoundError:
            continue  # its run ended meanwhile
        except (OSError, ValueError, KeyError) as exc:
            report.problems.append(f"{path}: unreadable ledger ({exc})")
            continue
        stale = older_than_s is not None and time.time() - ledger.created > older_than_s
        own = ledger.pid == os.getpid() and not reaping
        if is_running(ledger.pid, ledger.pid_start) and not own and not stale:
            report.kept.append(f"run {ledger.run_id} (pid {ledger.pid} is still running)")
            continue
        if ledger.kept and reaping:
            continue
        _clean_ledger(ledger, report)
    return report


def reap_dead_runs(directory: Path) -> list[str]:
    """At the start of `gate run`: clean what killed runs left (not what a run kept on
    purpose, never what a live run holds); one line saying what, or none.

    Cheap when there is nothing to reap: a listing of the ledger folder and a look at each
    ledger's pid. Two runs starting at once do not both reap: the second skips it.
    """
    try:
        lock = os.open(directory / ".reap.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return []  # no ledger folder yet: no run has left anything
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return []
        report = _reap(directory)
    finally:
        os.close(lock)
    if not (report.removed or report.problems):
        return []
    said = ", ".join(
        _count(report.counts[kind], kind, plural) for kind, plural in _KINDS if report.counts[kind]
    )
    line = f"removed what killed runs left: {said or 'nothing'}"
    if report.problems:
        line += f"; could not remove {len(report.problems)} (see `gate clean`)"
    return [line]


# How the reaping line names what it removed; "record": a private server its watcher had
# already stopped and removed, of which only the ledger's record was left.
_KINDS = (
    ("process", "processes"),
    ("database", "databases"),
    ("role", "roles"),
    ("private server", "private servers"),
    ("record", "records of private servers already stopped by their watcher"),
    ("folder", "folders"),
)


def _count(n: int, one: str, many: str) -> str:
    if n == 1 and one == "record":
        return "the record of a private server already stopped by its watcher"
    return f"{n} {one if n == 1 else many}"


def _reap(directory: Path) -> CleanReport:
    with contextlib.suppress(OSError):
        if not any(directory.glob("*.json")):
            return CleanReport()
    return clean_leftovers(directory, reaping=True)
