"""Ends what a gate process started once that gate process is gone, even after `kill -9`.

gate starts this file as a script (`python -I -S lifeline.py`), once per gate process, with a
pipe on its standard input whose write end only gate holds. gate writes one JSON line for
each process or folder it wants ended or removed should it die, and another when it has
ended or removed the thing itself. When the pipe reaches end-of-file, every holder of the
write end is gone: gate exited or was killed, by whatever signal, from whichever thread. The
watcher then stops what is still registered and removes the folders.

Why a pipe and not PR_SET_PDEATHSIG: the parent-death signal fires when the *thread* that
started a child ends (gate starts initdb from a background thread), is cleared when a child
changes user (the server runs as `postgres` under root), and cannot remove a folder. The
watcher runs as gate's own user, so as root it can stop a server run as another account.

Standard library only, and importable by gate too: the helpers that tell a live process from
a reused pid are the ones `gate clean` uses.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time

#: How long a process stopped with a gentler signal (a server's immediate shutdown) gets
#: before its whole group is killed; well inside the 5 s within which all must be gone.
STOP_GRACE_S = 2.0


def _proc_stat(pid: int) -> list[str]:
    """/proc/<pid>/stat from field 3 (state) on; [] where /proc cannot say."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return []
    # The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.rsplit(")", 1)[-1].split()


def process_start(pid: int) -> str | None:
    """When the process started (clock ticks since boot), to tell a reused pid from the one
    recorded; None where /proc cannot say."""
    fields = _proc_stat(pid)
    return fields[19] if len(fields) > 19 else None


def is_zombie(pid: int) -> bool:
    """Exited, but not yet reaped by its parent: gone for every purpose of gate's."""
    fields = _proc_stat(pid)
    return bool(fields) and fields[0] in ("Z", "X")


def is_running(pid: int, start: object = None) -> bool:
    """The process runs and is the one recorded (`start` from process_start): a pid reused by
    another process is not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process (the server, when gate runs as root): it exists
    if is_zombie(pid):
        return False
    if isinstance(start, str):
        now = process_start(pid)
        return now is None or now == start
    return True


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def end_processes(
    entries: list[tuple[int, object, int]], grace_s: float = STOP_GRACE_S
) -> list[int]:
    """Stop each (pid, start, signal) that still runs, then kill its whole process group.

    Each was started in a session of its own, so its pid is its group's id: the group holds
    pytest's xdist workers, a server's backends, a migration's children. A gentler signal
    (SIGQUIT: PostgreSQL's immediate shutdown, which frees its shared memory) goes to the
    process alone, with grace_s to take effect. Returns the pids that were still running.
    """
    running = [(pid, sig) for pid, start, sig in entries if is_running(pid, start)]
    for pid, sig in running:
        if sig == signal.SIGKILL:
            _signal_group(pid, sig)
        else:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
    deadline = time.monotonic() + grace_s
    while any(is_running(pid) for pid, _ in running) and time.monotonic() < deadline:
        time.sleep(0.02)
    for pid, start, _ in entries:
        # A pid that runs but started later is another process's now: leave its group be.
        # One that is gone may still name a group of leftovers, and no new process can take
        # a pid that is still some group's id.
        if is_running(pid) and not is_running(pid, start):
            continue
        _signal_group(pid, signal.SIGKILL)
    return [pid for pid, _ in running]


def remove_folder(path: str) -> bool:
    """Remove a folder gate made; False when it was already gone."""
    import shutil  # here: the watcher needs it only once gate is gone

    existed = os.path.lexists(path)
    shutil.rmtree(path, ignore_errors=True)
    return existed


def _end_everything(watched: dict[int, dict[str, object]]) -> None:
    processes = []
    for entry in watched.values():
        pid, start, sig = entry.get("pid"), entry.get("start"), entry.get("signal")
        if isinstance(pid, int) and isinstance(sig, int):
            processes.append((pid, start, sig))
    end_processes(processes)
    for entry in watched.values():
        for folder in entry.get("folders") or ():  # type: ignore[attr-defined]
            remove_folder(str(folder))


def watch(stream_fd: int = 0) -> None:
    """Read registrations until end-of-file, then end what is still registered."""
    watched: dict[int, dict[str, object]] = {}
    pending = b""
    while True:
        try:
            chunk = os.read(stream_fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if "release" in message:
                watched.pop(int(message["release"]), None)
            elif "id" in message:
                watched[int(message["id"])] = message
    _end_everything(watched)


if __name__ == "__main__":
    # A terminal's Ctrl-C or hang-up is for gate: the watcher outlives gate on purpose.
    for ignored in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(ignored, signal.SIG_IGN)
    watch()
    sys.exit(0)
