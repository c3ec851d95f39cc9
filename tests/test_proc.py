"""proc: every process gate starts is watched, so it ends (and its folders go) when the gate
process that started it dies, by whatever signal; unless gate released it (--keep-db)."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import gate
from gate import proc
from gate.lifeline import is_running

SRC = Path(gate.__file__).resolve().parents[1]
ENDED_WITHIN_S = 5

# A stand-in for gate: starts a sleeping group and registers a folder, then dies as told.
STAND_IN = """
import json, os, signal, sys, time
from pathlib import Path
from gate import proc

folder, how = Path(sys.argv[1]), sys.argv[2]
watch = proc.FolderWatch(folder)
child = proc.spawn(["sh", "-c", "sleep 60 & exec sleep 60"], cwd=folder)
if how == "keep":
    child.release()
    watch.release()


def my_watcher(entry):
    try:
        status = [line.split() for line in (entry / "status").read_text().splitlines()]
        ours = ["PPid:", str(os.getpid())] in status
        return ours and b"lifeline" in (entry / "cmdline").read_bytes()
    except OSError:
        return False


watchers = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and my_watcher(p)]
print(json.dumps([child.pid, *watchers]), flush=True)
time.sleep(0.2)  # the shell has started its background sleep
if how in ("kill", "keep"):
    os.kill(os.getpid(), signal.SIGKILL)
child.stop()
watch.release()
"""


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="gp-", dir="/tmp"))
    folder.chmod(0o777)  # the account the stand-in runs as (see as_user) writes to it
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def group_members(pgid: int) -> set[int]:
    members = set()
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.add(int(entry.name))
    return members


def run_stand_in(folder: Path, how: str, prefix: list[str], python: str) -> tuple[int, int]:
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(SRC)}
    argv = [*prefix, python, "-c", STAND_IN, str(folder / "made"), how]
    started = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert started.stdout, started.stderr
    child, watcher = json.loads(started.stdout)
    return child, watcher


def as_user() -> list[str]:
    account = pwd.getpwnam("nobody")
    return ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups"]


USERS = [
    pytest.param([], sys.executable, id="as-this-user"),
    pytest.param(
        "nobody",
        "/usr/bin/python3",
        id="as-nobody",
        marks=pytest.mark.skipif(
            os.geteuid() != 0 or not Path("/usr/bin/python3").exists(),
            reason="needs root and a system Python to run as another user",
        ),
    ),
]


@pytest.mark.parametrize(("user", "python"), USERS)
def test_a_killed_gate_s_processes_and_folders_end_within_seconds(
    shared_folder: Path, user: object, python: str
) -> None:
    (shared_folder / "made").mkdir(mode=0o777)
    prefix = as_user() if user == "nobody" else []
    child, watcher = run_stand_in(shared_folder, "kill", prefix, python)
    deadline = time.monotonic() + ENDED_WITHIN_S
    while (group_members(child) or is_running(watcher)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert group_members(child) == set(), "the child's group outlived gate"
    assert not is_running(watcher), "the watcher outlived its work"
    assert not (shared_folder / "made").exists()


def test_a_normal_end_leaves_nothing_and_removes_nothing_twice(shared_folder: Path) -> None:
    (shared_folder / "made").mkdir()
    child, watcher = run_stand_in(shared_folder, "stop", [], sys.executable)
    assert group_members(child) == set()
    deadline = time.monotonic() + ENDED_WITHIN_S
    while is_running(watcher) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not is_running(watcher)
    assert (shared_folder / "made").is_dir(), "a released folder is the caller's to remove"


def test_a_released_process_outlives_gate(shared_folder: Path) -> None:
    (shared_folder / "made").mkdir()
    child, watcher = run_stand_in(shared_folder, "keep", [], sys.executable)
    try:
        deadline = time.monotonic() + ENDED_WITHIN_S
        while is_running(watcher) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not is_running(watcher)
        assert len(group_members(child)) == 2  # the shell's sleep and its background one
        assert (shared_folder / "made").is_dir()
    finally:
        for pid in group_members(child):
            os.kill(pid, 9)


def test_a_missing_or_unrunnable_command_is_a_readable_error(tmp_path: Path) -> None:
    with pytest.raises(proc.CommandNotFound, match="command not found: no-such-tool"):
        proc.spawn(["no-such-tool"], cwd=tmp_path)
    with pytest.raises(proc.CommandNotRunnable, match="cannot execute"):
        proc.spawn([str(tmp_path)], cwd=tmp_path)


def test_run_records_each_process_with_its_stop_signal_and_its_end(tmp_path: Path) -> None:
    heard: list[tuple[str, int, int | None]] = []
    with proc.recording(lambda pid, sig: heard.append(("start", pid, sig)),
                        lambda pid: heard.append(("end", pid, None))):  # fmt: skip
        done = proc.run(["sh", "-c", "echo hi"], cwd=tmp_path, env=None,
                        output_file=tmp_path / "out.log")  # fmt: skip
    assert (done.code, done.output) == (0, "hi\n")
    [(_, pid, sig), end] = heard
    assert sig == 9 and end == ("end", pid, None)


def test_a_wait_with_a_timeout_times_out_while_the_child_runs_then_reaps_it(
    tmp_path: Path,
) -> None:
    """wait(timeout) watches the child's exit through a pidfd: it must still time out while
    the child runs, return its exit code once it ends, and let the descriptor go."""
    go = tmp_path / "go"
    proc.spawn(["true"], cwd=tmp_path).stop()  # the watcher's pipe, open for good from now
    open_before = len(os.listdir("/proc/self/fd"))
    child = proc.spawn(
        [sys.executable, "-c", f"import os, time\nwhile not os.path.exists({str(go)!r}): "
         "time.sleep(0.01)\nraise SystemExit(7)"],
        cwd=tmp_path,
    )  # fmt: skip
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(timeout=0.2)
        assert child.returncode is None
        go.touch()
        assert child.wait(timeout=30) == 7
        assert child.wait(timeout=0.01) == 7  # reaped: asked again, the same answer
    finally:
        child.stop()
    assert len(os.listdir("/proc/self/fd")) == open_before
