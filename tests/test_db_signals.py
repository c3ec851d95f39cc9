"""Ctrl-C (SIGINT to the process group, as a terminal sends it) and SIGTERM (to gate, as a CI
runner sends it) in each step that holds database resources: gate exits 130 after removing
everything — private server, databases, the template being built, temp folders, ledger."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gate.database.address import ServerAddress
from gate.database.binaries import find_binaries
from tests.conftest import GateRunner, Project

SIGNALS = [pytest.param(signal.SIGINT, id="SIGINT"), pytest.param(signal.SIGTERM, id="SIGTERM")]
WAIT_S = 60


@pytest.fixture
def public_tmp() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="gs-", dir="/tmp"))
    folder.chmod(0o755)  # the server account (as root) runs the wrapper from here
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def signalled(
    gate: GateRunner,
    project: Project,
    args: list[str],
    sig: signal.Signals,
    reached: Callable[[int], bool],
    poll_s: float = 0.02,
) -> tuple[int, str]:
    """Start `gate run`, wait until reached(pid), send the signal; its exit code and output."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gate", "run", *args],
        cwd=project.root,
        env=gate.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a group of its own, as a shell gives a foreground job
    )
    try:
        deadline = time.monotonic() + WAIT_S
        while not reached(process.pid) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(poll_s)
        assert process.poll() is None, process.communicate()[0]
        assert reached(process.pid), "gate never reached the step"
        if sig == signal.SIGINT:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
        output, _ = process.communicate(timeout=WAIT_S)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode, output


def interrupt(
    gate: GateRunner,
    project: Project,
    args: list[str],
    sig: signal.Signals,
    reached: Callable[[], bool],
) -> dict:
    """Start `gate run`, wait until it reached the step, send the signal, return the report."""
    code, output = signalled(gate, project, args, sig, lambda _pid: reached())
    assert code == 130, output
    report = json.loads((project.root / ".gate/report.json").read_text())
    assert (report["verdict"], report["exit_code"]) == ("error", 130)
    assert {s["name"]: s["status"] for s in report["steps"]}["teardown"] == "ok"
    return report


def no_ledger_left(state_dir: Path) -> None:
    assert list(state_dir.glob("*.json")) == [], "a run ledger was left"


@pytest.mark.parametrize("sig", SIGNALS)
def test_during_provision_on_a_server_that_is_slow_to_answer(
    gate: GateRunner, small_app: Project, state_dir: Path, sig: signal.Signals
) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        silent.settimeout(0.01)
        connected: list[socket.socket] = []

        def reached() -> bool:
            with contextlib.suppress(TimeoutError):
                connected.append(silent.accept()[0])  # gate is connecting: provision
            return bool(connected)

        url = f"postgresql://postgres@127.0.0.1:{silent.getsockname()[1]}/postgres"
        report = interrupt(gate, small_app, ["--database-url", url], sig, reached)
        for peer in connected:
            peer.close()
    assert {s["name"]: s["status"] for s in report["steps"]}["provision"] == "failed"
    no_ledger_left(state_dir)


@pytest.mark.parametrize("sig", SIGNALS)
def test_during_initdb_of_a_private_server(
    gate: GateRunner, small_app: Project, state_dir: Path, public_tmp: Path, sig: signal.Signals
) -> None:
    marker = public_tmp / "initdb-started"
    bin_dir = public_tmp / "bin"
    bin_dir.mkdir(mode=0o755)
    (bin_dir / "postgres").symlink_to(os.path.realpath(find_binaries().tool("postgres")))
    slow_initdb = bin_dir / "initdb"
    slow_initdb.write_text(f"#!/bin/sh\ntouch {shlex.quote(str(marker))}\nexec sleep 60\n")
    slow_initdb.chmod(0o755)
    public_tmp.chmod(0o777)  # the marker is written by the server account when root
    small_app.write("gate.yaml", f"database: {{bin_dir: {bin_dir}}}\n")
    interrupt(gate, small_app, [], sig, marker.exists)
    no_ledger_left(state_dir)  # and the guard: no server folder, no process


def slow_migration(project: Project, marker: Path) -> None:
    project.write(
        "migrate.py",
        f"""
        import pathlib, time

        pathlib.Path({str(marker)!r}).write_text("migrating")
        time.sleep(60)
        """,
    )
    text = project.root.joinpath("gate.yaml").read_text()
    project.write("gate.yaml", text + "migrations:\n  command: [python, migrate.py]\n")


@pytest.mark.parametrize("sig", SIGNALS)
@pytest.mark.parametrize("mode", ["server", "ephemeral"])
def test_during_migrations_into_a_new_template(
    gate: GateRunner,
    small_app: Project,
    pg_server: ServerAddress,
    state_dir: Path,
    mode: str,
    sig: signal.Signals,
) -> None:
    marker = small_app.root / "migrating"
    slow_migration(small_app, marker)
    args = ["--database-url", pg_server.url()] if mode == "server" else []
    report = interrupt(gate, small_app, args, sig, marker.exists)
    migrate = next(s for s in report["steps"] if s["name"] == "migrate")
    assert migrate["status"] == "failed"
    no_ledger_left(state_dir)  # and the guard: the template being built was dropped


@pytest.mark.parametrize("sig", SIGNALS)
def test_during_tests_on_a_private_server(
    gate: GateRunner, small_app: Project, state_dir: Path, sig: signal.Signals
) -> None:
    marker = small_app.root / "testing"
    small_app.write(
        "tests/test_wait.py",
        f"""
        import pathlib, time


        def test_waits():
            pathlib.Path({str(marker)!r}).write_text("x")
            time.sleep(120)
        """,
    )
    interrupt(gate, small_app, [], sig, marker.exists)
    no_ledger_left(state_dir)


@pytest.mark.parametrize("sig", SIGNALS)
def test_a_signal_while_gate_is_still_starting_exits_130_without_a_traceback(
    gate: GateRunner, small_app: Project, sig: signal.Signals
) -> None:
    # Caught while gate imports its command line: _uuid is loaded by those imports only,
    # after the entry point has installed its handlers (and before anything is created).
    def importing(pid: int) -> bool:
        with contextlib.suppress(OSError):
            return "/_uuid." in Path(f"/proc/{pid}/maps").read_text()
        return False

    code, output = signalled(gate, small_app, [], sig, importing, poll_s=0.001)
    assert code == 130, output
    assert "Traceback" not in output
    assert output == "gate: interrupted\n"
