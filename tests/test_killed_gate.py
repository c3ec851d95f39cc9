"""`kill -9` of gate in each step: everything it started ends within 5 s with no help from gate
(its lifeline watcher), and the next run reaps what is left (ledger, databases, folders)
without touching a run that is alive."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import gate
from gate.clean import reap_dead_runs
from gate.database.address import ServerAddress
from gate.database.binaries import find_binaries
from gate.lifeline import is_running
from tests.conftest import GateRunner, Project

WAIT_S = 90  # for gate to reach the step on a busy machine
ENDED_WITHIN_S = 5  # the promise: everything gate started is gone this soon after its death


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, session id) of a process; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[3])


def started_by(gate_pid: int) -> dict[int, bytes]:
    """Every process gate started, with its command line: each child starts a session of its
    own (the watcher, the server and its backends, a migration, pytest and its workers)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := _stat(int(entry.name))) is not None:
            table[int(entry.name)] = found
    children = {pid for pid, (parent, _) in table.items() if parent == gate_pid}
    sessions = {table[pid][1] for pid in children} - {table.get(gate_pid, (0, 0))[1]}
    started = children | {pid for pid, (_, session) in table.items() if session in sessions}
    cmdlines = {}
    for pid in started:
        with contextlib.suppress(OSError):
            cmdlines[pid] = Path(f"/proc/{pid}/cmdline").read_bytes()
    return cmdlines


def start_gate(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def kill_when(process: subprocess.Popen[str], *markers: Path) -> dict[int, bytes]:
    """Wait until every marker exists, `kill -9` gate; the processes it had started."""
    deadline = time.monotonic() + WAIT_S
    while not all(m.exists() for m in markers) and process.poll() is None:
        assert time.monotonic() < deadline, "gate never reached the step"
        time.sleep(0.05)
    assert process.poll() is None, process.communicate()[0]
    started = started_by(process.pid)
    process.kill()
    process.communicate()
    return started


def assert_all_end(started: dict[int, bytes]) -> None:
    """Without `gate clean`: gone within 5 s (zombies count as gone, their parent was gate)."""
    assert started, "gate had started nothing"
    deadline = time.monotonic() + ENDED_WITHIN_S
    while any(is_running(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = {pid: started[pid] for pid in started if is_running(pid)}
    assert not alive, f"still running {ENDED_WITHIN_S}s after gate was killed: {alive}"


def workers(started: dict[int, bytes]) -> set[int]:
    """The xdist workers among the processes (execnet starts them with `python -c`)."""
    found = set()
    for pid, cmdline in started.items():
        argv = cmdline.split(b"\0")
        if b"-c" in argv[1:3] and b"python" in argv[0] and b"lifeline" not in cmdline:
            found.add(pid)
    return found


def waits_for(marker: Path) -> str:
    """A test that says it started, then sleeps until the run is killed."""
    return f"""
        import pathlib, time


        def test_waits():
            pathlib.Path({str(marker)!r}).touch()
            time.sleep(120)
        """


def slow_initdb(folder: Path, marker: Path) -> Path:
    """A PostgreSQL installation whose initdb says it started, then hangs."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(mode=0o755)
    (bin_dir / "postgres").symlink_to(os.path.realpath(find_binaries().tool("postgres")))
    initdb = bin_dir / "initdb"
    initdb.write_text(f"#!/bin/sh\ntouch {shlex.quote(str(marker))}\nexec sleep 60\n")
    initdb.chmod(0o755)
    return bin_dir


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder every account may write to: the server account (as root) writes markers."""
    folder = Path(tempfile.mkdtemp(prefix="gk-", dir="/tmp"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def ledger_of_killed_run(state_dir: Path) -> dict:
    [path] = state_dir.glob("*.json")
    return json.loads(path.read_text())


# The test step with one worker: see the next test (a given server, where a database stays).
@pytest.mark.parametrize("step", ["provision", "migrate", "test-2-workers"])
def test_kill_9_in_each_step_ends_all_it_started_and_the_next_run_reaps_the_rest(
    gate: GateRunner, small_app: Project, state_dir: Path, shared_tmp: Path, step: str
) -> None:
    marker = shared_tmp / "reached"
    args = ["--no-cache"] if step == "provision" else []
    markers = [marker]
    if step == "provision":  # cold: initdb runs (as the server account under root)
        bin_dir = slow_initdb(shared_tmp, marker)
        small_app.write("gate.yaml", f"database: {{bin_dir: {bin_dir}}}\n")
    elif step == "migrate":
        small_app.write("migrate.py", f"import pathlib, time\npathlib.Path({str(marker)!r})"
                        ".touch()\ntime.sleep(120)\n")  # fmt: skip
        text = (small_app.root / "gate.yaml").read_text()
        small_app.write("gate.yaml", text + "migrations:\n  command: [python, migrate.py]\n")
    else:
        small_app.write("tests/test_wait.py", waits_for(marker))
        if step == "test-2-workers":
            args = ["--workers", "2"]
    process = start_gate([sys.executable, "-m", "gate", "run", *args], small_app.root, gate.env)

    started = kill_when(process, *markers)

    assert_all_end(started)
    if step == "test-2-workers":  # the one idle, the other in the sleeping test
        assert len(workers(started)) == 2
        # pytest's own base temp folder, which xdist makes in TMPDIR: not gate's
        shutil.rmtree(Path(gate.env["TMPDIR"]) / f"pytest-of-{pwd.getpwuid(os.getuid())[0]}")
    # The next run reaps the rest (the call `gate run` makes first; the end-to-end test below
    # shows it does): here only the run folder and the ledger are left.
    killed = ledger_of_killed_run(state_dir)
    assert all(not Path(s["base_dir"]).exists() for s in killed["servers"])
    [note] = reap_dead_runs(state_dir)
    assert note.startswith("removed what killed runs left: ")
    assert list(state_dir.glob("*.json")) == []
    assert not any(Path(folder).exists() for folder in killed["folders"])
    # and the `gate` fixture's guard: no database, server or temp folder is left


def test_the_next_run_reaps_a_killed_runs_database_and_spares_a_live_run(
    gate: GateRunner, small_app: Project, pg_server: ServerAddress, state_dir: Path,
    shared_tmp: Path,
) -> None:  # fmt: skip
    """On a given server: the killed run's database stays until the next run drops it."""
    small_app.write(
        "tests/test_wait.py",
        """
        import os, pathlib, time


        def test_waits():
            pathlib.Path(os.environ["REACHED"]).touch()
            while not pathlib.Path(os.environ["RELEASE"]).exists():
                time.sleep(0.05)
        """,
    )
    run = [sys.executable, "-m", "gate", "run", "--database-url", pg_server.url()]

    def waiting_run(name: str) -> tuple[subprocess.Popen[str], Path]:
        reached = shared_tmp / f"{name}-reached"
        env = {**gate.env, "REACHED": str(reached), "RELEASE": str(shared_tmp / name)}
        return start_gate(run, small_app.root, env), reached

    # A live run first (so that it does not reap the killed one itself), in its test.
    live, live_reached = waiting_run("live")
    try:
        deadline = time.monotonic() + WAIT_S
        while not live_reached.exists():
            assert live.poll() is None and time.monotonic() < deadline, live.communicate()[0]
            time.sleep(0.05)
        [live_ledger] = state_dir.glob("*.json")

        killed, reached = waiting_run("killed")
        assert_all_end(kill_when(killed, reached))
        [ledger] = set(state_dir.glob("*.json")) - {live_ledger}
        recorded = json.loads(ledger.read_text())
        database, run_dir = recorded["databases"][0]["name"], Path(recorded["folders"][0])
        with psycopg.connect(pg_server.with_database(database).url()):
            pass  # still there: only a client of the server can drop it

        (shared_tmp / "next").touch()  # the reaping run's own test passes at once
        env = {"REACHED": str(shared_tmp / "next-reached"), "RELEASE": str(shared_tmp / "next")}
        result = gate("run", "--database-url", pg_server.url(), cwd=small_app.root, env=env)
        assert result.code == 0, result.output
        assert "note: removed what killed runs left: 1 database, 1 folder\n" in result.stdout
        assert not ledger.exists() and not run_dir.exists()
        with psycopg.connect(pg_server.url()) as connection:
            names = {row[0] for row in connection.execute("SELECT datname FROM pg_database")}
        assert database not in names
        # The live run is untouched: still in its test, its ledger in place.
        assert live.poll() is None and live_ledger.exists()
    finally:
        (shared_tmp / "live").touch()
        output = live.communicate(timeout=WAIT_S)[0]
    assert live.returncode == 0, output  # it ran on, passed, and removed its own things
    assert not live_ledger.exists()


def _site_packages() -> str:
    return sysconfig.get_paths()["purelib"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run gate as another user")
@pytest.mark.parametrize("step", ["provision", "migrate", "test-1-worker", "test-2-workers"])
def test_as_a_regular_user_the_watcher_ends_server_and_workers_too(
    pg_server: ServerAddress, shared_tmp: Path, step: str
) -> None:
    """gate run by the `postgres` account (not root: the server runs as gate's own user)."""
    account = pwd.getpwnam("postgres")
    base = Path(tempfile.mkdtemp(prefix="gu-", dir="/tmp"))
    started: dict[int, bytes] = {}
    try:
        project = Project(base / "project")
        project.write("app/__init__.py", "def add(a, b):\n    return a + b\n")
        marker = base / "reached"
        config = "database: {scheme: postgresql}\ncoverage: {source: [app]}\n"
        args = ["--workers", "2"]
        if step == "provision":  # cold: initdb runs as this account
            marker = shared_tmp / "reached"
            bin_dir = slow_initdb(shared_tmp, marker)
            config = f"database: {{scheme: postgresql, bin_dir: {bin_dir}}}\n"
            args = ["--no-cache"]
        elif step == "migrate":  # the system's Python: the account cannot reach gate's own
            project.write("migrate.py", f"import pathlib, time\npathlib.Path({str(marker)!r})"
                          ".touch()\ntime.sleep(120)\n")  # fmt: skip
            config += "migrations:\n  command: [/usr/bin/python3, migrate.py]\n"
            args = []
        elif step == "test-1-worker":
            args = []
        project.write("tests/test_wait.py", waits_for(marker))
        project.write("gate.yaml", config)
        state_dir = base / "state"
        for folder in (base, state_dir, base / "tmp", base / "cache"):
            folder.mkdir(exist_ok=True)
        for folder in base.rglob("*"):
            os.chown(folder, account.pw_uid, account.pw_gid)
        os.chown(base, account.pw_uid, account.pw_gid)
        src = Path(gate.__file__).resolve().parents[1]
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(base),
            "PYTHONPATH": f"{src}{os.pathsep}{_site_packages()}",
            "GATE_STATE_DIR": str(state_dir),
            "GATE_CACHE_DIR": str(base / "cache"),
            "TMPDIR": str(base / "tmp"),
            "CI": "true",
            "NO_COLOR": "1",
        }
        # The system's Python: gate's own lives under /root, out of the account's reach.
        setpriv = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}",
                   "--clear-groups", "/usr/bin/python3"]  # fmt: skip
        process = start_gate([*setpriv, "-m", "gate", "run", *args], project.root, env)
        started = kill_when(process, marker)
        if step == "test-2-workers":
            assert len(workers(started)) == 2
        assert_all_end(started)
        assert not list((base / "tmp").glob("gate-pg-*")), "the server folder was left"
        # The next run reaps the rest: the call `gate run` makes first (see the test above),
        # made by the same account, without a whole run's cost.
        reap = "import sys, gate.clean as c; print(c.reap_dead_runs(c.Path(sys.argv[1])))"
        again = subprocess.run([*setpriv, "-c", reap, str(state_dir)], env=env,
                               capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert "removed what killed runs left" in again.stdout, again.stdout + again.stderr
        assert list(state_dir.glob("*.json")) == []
        # all but pytest's own base temp folder, which xdist makes in TMPDIR
        left = [p.name for p in (base / "tmp").iterdir()]
        assert left == (["pytest-of-postgres"] if step == "test-2-workers" else [])
    finally:
        for pid in started:  # only should the test fail: what the killed gate had started
            if is_running(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)
