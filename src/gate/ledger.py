"""Records what a run creates before creating it, so `gate clean` can remove what killed runs left.

Ownership is recorded, never guessed from names: clean touches only what a ledger lists.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _proc_stat(pid: int) -> list[str]:
    """/proc/<pid>/stat from field 3 (state) on; [] where /proc cannot say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return []
    # The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.rsplit(")", 1)[-1].split()


def process_start(pid: int) -> str | None:
    """When the process started (clock ticks since boot), to tell a reused pid from the one a
    ledger recorded; None where /proc cannot say."""
    fields = _proc_stat(pid)
    return fields[19] if len(fields) > 19 else None


def is_zombie(pid: int) -> bool:
    """Exited, but not yet reaped by its parent: gone for every purpose of gate's."""
    fields = _proc_stat(pid)
    return bool(fields) and fields[0] in ("Z", "X")


def state_dir(environ: dict[str, str] | os._Environ[str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("GATE_STATE_DIR"):
        return Path(env["GATE_STATE_DIR"])
    cache = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "gate" / "runs"


@dataclass
class Ledger:
    """One run's record: its pid, and the databases, servers and folders it made."""

    path: Path
    run_id: str
    pid: int = field(default_factory=os.getpid)
    pid_start: str | None = None  # process_start(pid); filled in for this process
    created: float = field(default_factory=time.time)
    databases: list[dict[str, str]] = field(default_factory=list)  # {"url": ..., "name": ...}
    servers: list[dict[str, Any]] = field(default_factory=list)  # {"base_dir", "pid"}
    folders: list[str] = field(default_factory=list)
    # The test process (its own process group): killed with the run, it would go on running.
    processes: list[dict[str, Any]] = field(default_factory=list)  # {"pid", "pid_start"}

    def __post_init__(self) -> None:
        if self.pid_start is None and self.pid == os.getpid():
            self.pid_start = process_start(self.pid)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "run_id": self.run_id,
            "pid": self.pid,
            "pid_start": self.pid_start,
            "created": self.created,
            "databases": self.databases,
            "servers": self.servers,
            "folders": self.folders,
            "processes": self.processes,
        }
        temp = self.path.with_suffix(".tmp")
        # The file may hold a server URL with its password: readable by this user only.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(temp, self.path)

    def add_database(self, server_url: str, name: str) -> None:
        self.databases.append({"url": server_url, "name": name})
        self.save()

    def add_server(self, base_dir: Path, pid: int | None) -> None:
        start = None if pid is None else process_start(pid)
        self.servers.append({"base_dir": str(base_dir), "pid": pid, "pid_start": start})
        self.save()

    def add_process(self, pid: int) -> None:
        self.processes.append({"pid": pid, "pid_start": process_start(pid)})
        self.save()

    def forget_process(self, pid: int) -> None:
        self.processes = [p for p in self.processes if p["pid"] != pid]
        self.save()

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
        return not (self.databases or self.servers or self.folders or self.processes)

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
            servers=list(data.get("servers", [])),
            folders=list(data.get("folders", [])),
            processes=list(data.get("processes", [])),
        )


@contextlib.contextmanager
def run_ledger(run_id: str, directory: Path) -> Iterator[Ledger]:
    """Each resource forgets itself once removed; the file goes when nothing is left in it."""
    ledger = Ledger(path=directory / f"{run_id}.json", run_id=run_id)
    ledger.save()
    try:
        yield ledger
    finally:
        if ledger.empty:
            ledger.discard()
