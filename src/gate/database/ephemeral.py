"""A private PostgreSQL server in a temp folder on a free port, tuned for tests, then removed.

Start, wait, stop and remove, as root and not, from a cached cluster or a fresh initdb: the
steps share the server's folder, port and process and are one context manager's life.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from gate import proc
from gate.database.address import ServerAddress
from gate.database.binaries import PostgresBinaries
from gate.database.cluster_cache import (
    MAX_VARIANTS,
    ClusterSaver,
    binaries_copies_record,
    cluster_key,
    copy_cached_cluster,
    empty_folder,
    forget_cluster,
    owned_by,
    prune_variants,
)
from gate.database.run_as import (
    RunAs,
    chown_tree,
    reachable_binaries,
    server_parent,
    unprivileged_account,
)
from gate.database.server import checkpoint
from gate.errors import InfraError
from gate.ledger import Ledger

READY_TIMEOUT_S = 30.0
PORT_ATTEMPTS = 5
SUPERUSER = "postgres"
SHM_MIN_FREE_BYTES = 1 << 30

# Durability is worthless for a database that is thrown away; these make tests much faster.
TEST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "128MB",
    "max_wal_size": "1GB",
    "min_wal_size": "2MB",  # recycled segments kept: 2 of 1 MB (initdb_args), not 80 MB's worth
    "checkpoint_timeout": "1h",
    "autovacuum": "off",
    "jit": "off",
    # The migration lint reads the statements migrations ran from this server's log
    # (migration_capture): a known prefix (the pid tells sessions apart) and English messages.
    "log_line_prefix": "%m [%p] ",
    "lc_messages": "C",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _log_tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.strip().splitlines()[-lines:])


def initdb_args(account: RunAs | None) -> list[str]:
    """initdb's arguments but the data folder; part of the cluster cache key."""
    return [
        "--username", SUPERUSER,
        "--auth", "trust",
        "--encoding", "UTF8",
        "--locale", "C",
        "--no-sync",
        "--no-instructions",
        # 1 MB WAL segments, not 16: a fresh cluster is 30 MB, not 46, to write and to copy
        # from the cluster cache at every warm start.
        "--wal-segsize", "1",
    ]  # fmt: skip


def init_cluster(binaries: PostgresBinaries, data_dir: Path, account: RunAs | None) -> None:
    """initdb a cluster owned by `account`; the folder must already belong to it."""
    argv = [binaries.tool("initdb"), "--pgdata", str(data_dir), *initdb_args(account)]
    log = data_dir.with_name(f"{data_dir.name}-initdb.log")
    try:
        result = proc.run(argv, cwd=data_dir.parent, env=None, output_file=log, account=account)
    except proc.CommandNotFound as exc:
        raise InfraError(f"initdb could not start: {exc.message}") from exc
    except proc.CommandNotRunnable as exc:
        raise InfraError(f"initdb could not start: {exc.reason}") from exc
    if result.code != 0:
        output = result.output.strip()
        raise InfraError(f"initdb failed (exit {result.code}):\n{output[-2000:]}")


def fast_temp_root() -> Path | None:
    """/dev/shm when it is roomy and TMPDIR is not set: a throwaway cluster needs no disk.

    Copying a cached cluster to memory takes a fraction of writing it to disk.
    """
    if os.environ.get("TMPDIR"):
        return None
    shm = Path("/dev/shm")
    try:
        stats = os.statvfs(shm)
    except OSError:
        return None
    roomy = stats.f_bavail * stats.f_frsize >= SHM_MIN_FREE_BYTES
    return shm if roomy and os.access(shm, os.W_OK | os.X_OK) else None


# How the data folder was made when it is a copy of a cached cluster holding the template.
WARM_WITH_TEMPLATE = "warm, with migrated template"


class EphemeralServer:
    """A postgres process gate owns; stop() is idempotent and always removes the folder."""

    def __init__(self, binaries: PostgresBinaries, base_dir: Path, account: RunAs | None) -> None:
        self.binaries = binaries
        self.base_dir = base_dir
        self.data_dir = base_dir / "data"
        self.log_file = base_dir / "server.log"
        self.account = account
        self.process: proc.Child | None = None
        self.port = 0
        self.cluster_origin = "uncached"  # warm | cold | uncached: how the data folder was made
        self.cache: Path | None = None  # the cluster cache, and this cluster's key in it
        self.cache_key = ""
        self.savers: list[ClusterSaver] = []

    def save_variant(self, variant: str) -> None:
        """Cache this cluster as it is now (say, holding a freshly migrated template).

        The server stays up: after a CHECKPOINT, with no client connected and autovacuum
        off, its files are those of a crashed-but-checkpointed cluster, which starts with an
        empty recovery. The copy goes to memory first; the cache is filled in the background.
        """
        if self.cache is None or self.process is None:
            return
        checkpoint(self.address)
        snapshot = self.base_dir / f"cluster-{variant}"
        shutil.copytree(
            self.data_dir, snapshot, symlinks=True,
            ignore=shutil.ignore_patterns("postmaster.pid", "postmaster.opts"),
        )  # fmt: skip
        if self.cache.is_dir():
            prune_variants(self.cache, self.cache_key, keep=MAX_VARIANTS - 1)
        saver = ClusterSaver(
            lambda _: None, snapshot, self.cache, f"{self.cache_key}-{variant}", self.account
        )
        self.savers.append(saver)
        saver.start()

    @property
    def address(self) -> ServerAddress:
        return ServerAddress(host="127.0.0.1", port=self.port, user=SUPERUSER, database="postgres")

    def _argv(self, port: int) -> list[str]:
        argv = [self.binaries.tool("postgres"), "-D", str(self.data_dir)]
        settings = {
            **TEST_SETTINGS,
            "port": str(port),
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.base_dir),
        }
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        return argv

    def start(self) -> None:
        for _ in range(PORT_ATTEMPTS):
            port = free_port()
            with self.log_file.open("ab") as log:
                # SIGQUIT, should gate die: PostgreSQL's immediate shutdown, which also frees
                # its shared memory; the data is throwaway.
                self.process = proc.spawn(
                    self._argv(port),
                    cwd=self.base_dir,
                    stdout=log,
                    account=self.account,
                    stop_signal=signal.SIGQUIT,
                )
            self.port = port
            if self._wait_ready():
                return
            self.stop()
            tail = _log_tail(self.log_file)
            if "could not bind" in tail or "Address already in use" in tail:
                continue  # someone took the port between probe and bind: try another
            raise InfraError(f"the private PostgreSQL server did not start; its log ends:\n{tail}")
        raise InfraError(
            f"no free port for a private PostgreSQL server after {PORT_ATTEMPTS} tries"
        )

    def _wait_ready(self) -> bool:
        """Poll postmaster.pid for 'ready', as pg_ctl -w does, but every 5 ms."""
        assert self.process is not None
        pid_file = self.data_dir / "postmaster.pid"
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            with contextlib.suppress(OSError):
                lines = pid_file.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return True
            time.sleep(0.005)
        self.stop()
        raise InfraError(
            f"the private PostgreSQL server was not ready after {READY_TIMEOUT_S:g}s; "
            f"its log ends:\n{_log_tail(self.log_file)}"
        )

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        # SIGQUIT is PostgreSQL's immediate shutdown: nothing to keep, so skip the checkpoint.
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        process.stop(grace_s=2)

    def keep_running(self) -> None:
        """--keep-db: the server outlives gate."""
        if self.process is not None:
            self.process.release()


def _prepare_cluster(
    server: EphemeralServer, cache: Path | None, variant: str | None
) -> tuple[str, ClusterSaver | None, str | None]:
    """Fill the data folder: a copy of a cached cluster, else initdb (then cache a copy).

    `variant` names a cached cluster that also holds a migrated template (see save_variant);
    it is preferred to the plain one. Returns how the folder was made, the saver to start
    that fills the cache, and the entry copied (to forget should it not start).
    """
    account = server.account
    if cache is None:
        init_cluster(server.binaries, server.data_dir, account)
        return "uncached", None, None
    owner = account.name if account is not None else str(os.geteuid())
    key = cluster_key(server.binaries, initdb_args(account), owner, cache)
    server.cache, server.cache_key = cache, key
    for entry_key, origin in ((f"{key}-{variant}", WARM_WITH_TEMPLATE), (key, "warm")):
        if (entry_key == key or variant) and copy_cached_cluster(cache, entry_key, server.data_dir):
            if not owned_by(server.data_dir, account):  # an entry cached before it was so
                chown_tree(server.data_dir, account)
            return origin, None, entry_key
    forget_cluster(cache, key)  # an incomplete entry left by a killed run

    def initdb_for_cache(scratch: Path) -> None:
        # A second initdb beside the server's own, off the path to a ready server: a copy of
        # the first one would have to finish before the server may touch its files.
        scratch.mkdir(mode=0o700)
        chown_tree(scratch, account)
        init_cluster(server.binaries, scratch, account)

    init_cluster(server.binaries, server.data_dir, account)
    # Started once the server is ready, so that it does not slow the start down.
    return (
        "cold",
        ClusterSaver(initdb_for_cache, server.base_dir / "cluster-for-cache", cache, key, account),
        None,
    )


@contextlib.contextmanager
def ephemeral_server(
    binaries: PostgresBinaries,
    *,
    temp_root: Path | None = None,
    keep: bool = False,
    cache: Path | None = None,
    variant: str | None = None,
    ledger: Ledger | None = None,
) -> Iterator[EphemeralServer]:
    """Start a private server for the block; stop it and delete its folder on every exit path.

    With `cache` (a folder), a warm start copies a cached initdb'd cluster instead of running
    initdb, and a cold start fills the cache for the next run; `variant` prefers a cached
    cluster that already holds the migrated template of that name (see save_variant).
    With `ledger`, the server is recorded before its folder is filled and forgotten once
    removed.
    """
    account = unprivileged_account()
    binaries = reachable_binaries(binaries, account, record=binaries_copies_record())
    root = server_parent(temp_root if temp_root is not None else fast_temp_root(), account)
    base_dir = Path(tempfile.mkdtemp(prefix="gate-pg-", dir=root))
    # Removed by the watcher should gate die before it does (see proc.FolderWatch).
    folder_watch = proc.FolderWatch(base_dir)
    server = EphemeralServer(binaries, base_dir, account)
    if ledger is not None:
        ledger.add_server(base_dir, None)  # before initdb: a kill from here on is reaped
    try:
        chown_tree(base_dir, account)
        server.data_dir.mkdir(mode=0o700)
        chown_tree(server.data_dir, account)
        while True:
            server.cluster_origin, saver, copied = _prepare_cluster(server, cache, variant)
            try:
                server.start()
                break
            except InfraError:
                if copied is None or cache is None:
                    raise
            # A cached cluster that does not start (damaged cache): forget it, start over.
            server.stop()
            forget_cluster(cache, copied)
            empty_folder(server.data_dir)
        if saver is not None:
            server.savers.append(saver)
            saver.start()
        if ledger is not None:
            assert server.process is not None
            ledger.add_server(base_dir, server.process.pid, server.port)
        yield server
    finally:
        for running in server.savers:
            running.join()
        if keep:
            server.keep_running()
        else:
            server.stop()
            shutil.rmtree(base_dir, ignore_errors=True)
            if ledger is not None:
                ledger.forget_server(base_dir)
        folder_watch.release()
