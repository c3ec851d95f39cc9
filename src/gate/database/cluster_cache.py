"""The initialised-cluster cache: initdb once per PostgreSQL build, then copy it for each run.

initdb takes most of a private server's start; a copy of a fresh cluster is the same cluster.
Entries live in the user's cache folder ($GATE_CACHE_DIR, else $XDG_CACHE_HOME/gate, else
~/.cache/gate), under clusters/pg<major>-<hash of the binaries and the initdb arguments>.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from gate import proc
from gate.database.binaries import PostgresBinaries
from gate.database.run_as import RunAs, chown_tree
from gate.errors import GateError, InfraError
from gate.files import cache_root, write_atomic

# Files a complete cluster has; an entry without them is ignored and rebuilt.
COMPLETE_MARKERS = ("PG_VERSION", "global/pg_control")
# Beside clusters/: each PostgreSQL build's major version, by the build's stamp.
VERSIONS_FOLDER = "postgres-versions"
# Clusters that also hold a migrated template, kept per PostgreSQL build (newest first).
MAX_VARIANTS = 5


def cluster_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    return cache_root(environ) / "clusters"


def _major_version(postgres: str, stamp: str, remembered: Path | None) -> str:
    """`postgres --version`'s major, remembered per build (path, size, mtime) in `remembered`:
    starting postgres to ask took ~30 ms of every warm start."""
    note = None
    if remembered is not None:
        note = remembered / hashlib.sha256(stamp.encode()).hexdigest()[:16]
        with contextlib.suppress(OSError):
            known = note.read_text(encoding="utf-8").strip()
            if known.isdigit():
                return known
    try:
        result = proc.capture([postgres, "--version"], timeout_s=10)
    except InfraError:
        return "unknown"
    found = re.search(r"(\d+)(?:\.\d+)?", result.output)
    if not found:
        return "unknown"
    if note is not None:
        with contextlib.suppress(OSError):
            note.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(note, found.group(1))
    return found.group(1)


def binaries_copies_record(environ: Mapping[str, str] | None = None) -> Path:
    """Lists the copies of PostgreSQL's binaries that root runs made (see run_as)."""
    return cache_root(environ) / "binaries-copies.txt"


def cluster_key(
    binaries: PostgresBinaries, initdb_args: Sequence[str], owner: str, cache: Path | None = None
) -> str:
    """pg<major>-<hash>: a new PostgreSQL build or other initdb arguments make a new entry.
    With `cache` (the clusters folder), the major version is remembered beside it."""
    initdb = os.path.realpath(binaries.tool("initdb"))
    postgres = os.path.realpath(binaries.tool("postgres"))
    digest = hashlib.sha256()
    for part in (initdb, postgres, owner, *initdb_args):
        digest.update(part.encode() + b"\0")
    stamps = {}
    for binary in (initdb, postgres):
        stat = os.stat(binary)
        stamps[binary] = f"{stat.st_size}:{stat.st_mtime_ns}"
        digest.update(f"{stamps[binary]}\0".encode())
    build = f"{postgres}:{stamps[postgres]}"
    versions = None if cache is None else cache.parent / VERSIONS_FOLDER
    return f"pg{_major_version(postgres, build, versions)}-{digest.hexdigest()[:12]}"


@contextlib.contextmanager
def _cache_lock(cache_dir: Path, *, exclusive: bool) -> Iterator[None]:
    """Shared while a run copies an entry, exclusive while entries are taken away: so that
    `gate clean --cache` or another run's pruning never removes a cluster mid-copy."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Beside the folder, not in it: the folder holds cached clusters and nothing else.
    fd = os.open(cache_dir.with_name(f"{cache_dir.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock


def _remove_entries(cache_dir: Path, entries: list[Path]) -> None:
    """Rename entries aside under the exclusive lock (quick), delete them after it (slow)."""
    aside = []
    with _cache_lock(cache_dir, exclusive=True):
        for entry in entries:
            target = cache_dir / f".removing-{entry.name}-{uuid.uuid4().hex[:8]}"
            with contextlib.suppress(FileNotFoundError):
                entry.rename(target)
                aside.append(target)
    for target in aside:
        shutil.rmtree(target, ignore_errors=True)


def cached_cluster(cache_dir: Path, key: str) -> Path | None:
    entry = cache_dir / key
    if all((entry / marker).is_file() for marker in COMPLETE_MARKERS):
        return entry
    return None


def copy_cached_cluster(cache_dir: Path, key: str, data_dir: Path) -> bool:
    """Copy the complete cached cluster `key` into data_dir (which may exist, empty); False
    when there is none. Under the shared lock: no one removes it meanwhile."""
    if not cache_dir.is_dir():
        return False
    with _cache_lock(cache_dir, exclusive=False):
        entry = cached_cluster(cache_dir, key)
        if entry is None:
            return False
        _copy_tree(entry, data_dir)
    return True


def empty_folder(folder: Path) -> None:
    """Remove what a folder holds, keeping the folder (a data folder gate made, say)."""
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _copy_tree(source: Path, target: Path) -> None:
    """Copy a cluster's ~1,300 files: `cp -a` takes half the time shutil.copytree does (it is
    the warm start's largest part). It runs as a watched child, so a gate killed meanwhile
    stops it too; shutil.copytree where cp is missing or fails."""
    cp = shutil.which("cp")
    if cp is not None:
        child = proc.spawn([cp, "-a", f"{source}/.", str(target)], cwd=source)
        try:
            if child.wait() == 0:
                return
        finally:
            child.stop()
        if target.is_dir():
            empty_folder(target)  # a partial copy: start again
    shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)


def owned_by(cluster: Path, account: RunAs | None) -> bool:
    """Whether a copied cluster already belongs to `account` (or gate runs as itself)."""
    if account is None:
        return True
    try:
        infos = [cluster.stat(), (cluster / "PG_VERSION").stat()]
    except OSError:
        return False
    return all((info.st_uid, info.st_gid) == (account.uid, account.gid) for info in infos)


def clear_cluster_cache(cache_dir: Path) -> list[str]:
    """`gate clean --cache`: remove every cached cluster; the names removed. A run copying
    one finishes its copy first."""
    shutil.rmtree(cache_dir.parent / VERSIONS_FOLDER, ignore_errors=True)
    if not cache_dir.is_dir():
        return []
    entries = sorted(cache_dir.iterdir())
    _remove_entries(cache_dir, entries)
    return [f"cached cluster {entry}" for entry in entries]


def prune_variants(cache_dir: Path, key: str, keep: int = MAX_VARIANTS) -> None:
    """Keep the newest few clusters holding migrated templates; each is a full cluster."""
    variants = sorted(
        cache_dir.glob(f"{key}-*"), key=lambda entry: entry.stat().st_mtime, reverse=True
    )
    if variants[keep:]:
        _remove_entries(cache_dir, variants[keep:])


def forget_cluster(cache_dir: Path, key: str) -> None:
    """Drop an entry that did not start: the next run rebuilds it."""
    if (cache_dir / key).exists():
        _remove_entries(cache_dir, [cache_dir / key])


class ClusterSaver:
    """Fills a cache entry in the background while the run goes on.

    `build` makes a fresh cluster in `scratch` (a second initdb, off the path to a ready
    server, or a snapshot copy); the entry appears under its final name only when complete
    (rename), so a killed run leaves at most a hidden temporary folder, and two runs saving
    at once both succeed.
    """

    def __init__(
        self,
        build: Callable[[Path], None],
        scratch: Path,
        cache_dir: Path,
        key: str,
        account: RunAs | None = None,
    ) -> None:
        self.build = build
        self.account = account
        self.scratch = scratch
        self.cache_dir = cache_dir
        self.key = key
        self.error: Exception | None = None
        self._thread = threading.Thread(target=self._save, name="gate-cluster-cache", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _save(self) -> None:
        staging: Path | None = None
        try:
            self.build(self.scratch)
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{self.key}-", dir=self.cache_dir))
            shutil.copytree(self.scratch, staging, symlinks=True, dirs_exist_ok=True)
            # The server's account owns the entry (under root): a warm start's `cp -a` keeps
            # that, and need not hand ~1,300 files over one by one (see owned_by).
            chown_tree(staging, self.account)
            try:
                os.rename(staging, self.cache_dir / self.key)
                staging = None
            except OSError:
                pass  # another run saved the same entry first
        except (OSError, GateError) as exc:
            self.error = exc  # a cache that cannot be filled only costs speed
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(self.scratch, ignore_errors=True)

    def join(self) -> None:
        if self._thread.ident is not None:
            self._thread.join()
