"""Records what a run creates before creating it, so that `gate clean` and the next `gate run`
can remove what killed runs left.

Ownership is recorded, never guessed from names: clean touches only what a ledger lists.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.files import cache_root, write_atomic
from gate.lifeline import end_processes, is_zombie, process_start

__all__ = ["Ledger", "is_zombie", "process_start", "run_ledger", "state_dir"]


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where run ledgers live: $GATE_STATE_DIR, else runs/ in gate's cache folder."""
    env = os.environ if environ is None else environ
    if env.get("GATE_STATE_DIR"):
        return Path(env["GATE_STATE_DIR"])
    return cache_root(env) / "runs"


@dataclass
class Ledger:
    """One run's record: its pid, and the databases, servers and folders it made."""

    path: Path
    run_id: str
    pid: int = field(default_factory=os.getpid)
    pid_start: str | None = None  # process_start(pid); filled in for this process
    created: float = field(default_factory=time.time)
    databases: list[dict[str, str]] = field(default_factory=list)  # {"url": ..., "name": ...}
    roles: list[dict[str, str]] = field(default_factory=list)  # {"url": ..., "name": ...}
    # {"base_dir", "pid", "pid_start", "port"}: recorded before initdb, the pid once started
    servers: list[dict[str, Any]] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    # Every process the run started (its own process group), with the signal that stops it.
    processes: list[dict[str, Any]] = field(default_factory=list)  # {"pid", "pid_start", "signal"}
    # The run keeps what it made on purpose (--keep-db): `gate clean` removes it, the next
    # `gate run` does not.
    kept: bool = False
    # Processes are recorded from background threads too (initdb for the cluster cache).
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.pid_start is None and self.pid == os.getpid():
            self.pid_start = process_start(self.pid)

    def save(self) -> None:
        with self._lock:
            self._save()

    def _save(self) -> None:
        data = {
            "run_id": self.run_id,
            "pid": self.pid,
            "pid_start": self.pid_start,
            "created": self.created,
            "databases": self.databases,
            "roles": self.roles,
            "servers": self.servers,
            "folders": self.folders,
            "processes": self.processes,
            "kept": self.kept,
        }
        # The file may hold a server URL with its password: readable by this user only.
        write_atomic(self.path, json.dumps(data), mode=0o600)

    def add_database(self, server_url: str, name: str) -> None:
        self.databases.append({"url": server_url, "name": name})
        self.save()

    def add_role(self, server_url: str, name: str) -> None:
        self.roles.append({"url": server_url, "name": name})
        self.save()

    def forget_role(self, name: str) -> None:
        self.roles = [role for role in self.roles if role["name"] != name]
        self.save()

    def add_server(self, base_dir: Path, pid: int | None, port: int | None = None) -> None:
        """Recorded before the server's folder is filled, and again once it runs."""
        start = None if pid is None else process_start(pid)
        entry = {"base_dir": str(base_dir), "pid": pid, "pid_start": start, "port": port}
        with self._lock:
            self.servers = [s for s in self.servers if s["base_dir"] != str(base_dir)]
            self.servers.append(entry)
            self._save()

    def add_process(self, pid: int, stop_signal: int = 9) -> None:
        with self._lock:
            entry = {"pid": pid, "pid_start": process_start(pid), "signal": stop_signal}
            self.processes.append(entry)
            self._save()

    def forget_process(self, pid: int) -> None:
        with self._lock:
            self.processes = [p for p in self.processes if p["pid"] != pid]
            self._save()

    def add_folder(self, folder: Path) -> None:
        self.folders.append(str(folder))
        self.save()

    def forget_database(self, name: str) -> None:
        self.databases = [db for db in self.databases if db["name"] != name]
        self.save()

    def forget_server(self, base_dir: Path) -> None:
        self.servers = [s for s in self.servers if s["base_dir"] != str(base_dir)]
        self.save()

    def forget_folder(self, folder: Path) -> None:
        self.folders = [f for f in self.folders if f != str(folder)]
        self.save()

    @property
    def empty(self) -> bool:
        return not (self.databases or self.roles or self.servers or self.folders or self.processes)

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    @classmethod
    def load(cls, path: Path) -> Ledger:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            path=path,
            run_id=str(data["run_id"]),
            pid=int(data["pid"]),
            pid_start=None if data.get("pid_start") is None else str(data["pid_start"]),
            created=float(data["created"]),
            databases=list(data.get("databases", [])),
            roles=list(data.get("roles", [])),
            servers=list(data.get("servers", [])),
            folders=list(data.get("folders", [])),
            processes=list(data.get("processes", [])),
            kept=bool(data.get("kept", False)),
        )


@contextlib.contextmanager
def run_ledger(run_id: str, directory: Path) -> Iterator[Ledger]:
    """Each resource forgets itself once removed; the file goes when nothing is left in it."""
    ledger = Ledger(path=directory / f"{run_id}.json", run_id=run_id)
    ledger.save()
    try:
        yield ledger
    finally:
        if ledger.processes and not ledger.kept:
            # A child is listed from its start until the code that stops it forgets it. A
            # Ctrl-C in between (the child started, the object that stops it not yet made)
            # leaves it listed and running: it ends here, as `gate clean` would end it.
            end_processes([(p["pid"], p.get("pid_start"), p["signal"]) for p in ledger.processes])
            for entry in list(ledger.processes):
                ledger.forget_process(entry["pid"])
        if ledger.empty:
            ledger.discard()
