"""How soon after `kill -9` of gate what it started is gone, with no help from gate.

A stand-in for gate (a Python process using gate's own proc and ephemeral modules) starts
either a process group (`sh` with a background `sleep`) and a folder of 200 files, or a
private PostgreSQL server, then kills itself with SIGKILL. The time is measured from its
death to the moment the started process is gone and its folder removed by the watcher.
As root the server runs as the `postgres` account and the watcher as root. Usage:

    uv run python bench/kill_latency.py [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gate
from gate.lifeline import is_running

GROUP = """
import json, os, signal, sys
from pathlib import Path
from gate import proc
folder = Path(sys.argv[1]); folder.mkdir()
for n in range(200): (folder / str(n)).write_bytes(b"x" * 4096)
watch = proc.FolderWatch(folder)
child = proc.spawn(["sh", "-c", "sleep 60 & exec sleep 60"], cwd=folder)
print(json.dumps([child.pid, str(folder)]), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""

SERVER = """
import json, os, signal, sys
from pathlib import Path
from gate.database.binaries import find_binaries
from gate.database.ephemeral import ephemeral_server
with ephemeral_server(find_binaries(), temp_root=Path(sys.argv[1]).parent) as server:
    print(json.dumps([server.process.pid, str(server.base_dir)]), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def once(script: str, folder: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(Path(gate.__file__).resolve().parents[1])}
    stand_in = subprocess.Popen([sys.executable, "-c", script, str(folder)],
                                stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    assert stand_in.stdout is not None
    pid, made = json.loads(stand_in.stdout.readline())
    stand_in.wait()
    died = time.monotonic()
    while is_running(pid) or Path(made).exists():
        time.sleep(0.001)
    return (time.monotonic() - died) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    root = Path(tempfile.mkdtemp(prefix="gate-bench-", dir="/tmp"))
    root.chmod(0o755)  # the server account (as root) must reach it
    try:
        print(f"{'what gate had started':<34} {'median ms':>10} {'worst ms':>10}")
        for name, script in (("a process group and a folder", GROUP),
                             ("a private PostgreSQL server", SERVER)):  # fmt: skip
            times = [once(script, root / f"run-{n}") for n in range(runs)]
            print(f"{name:<34} {statistics.median(times):>10.1f} {max(times):>10.1f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
