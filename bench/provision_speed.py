"""How fast a private PostgreSQL server is ready: gate's three ways, and the tools by hand.

Side by side, in alternating order each round, from asking for a server to its first answered
query:
  gate uncached   initdb every time (`gate run --no-cache`)
  gate cold       initdb, then the cluster cache is filled in the background (a first run)
  gate warm       a copy of the cached initialised cluster, no initdb (every later run)
  by hand         `initdb -D DIR -U postgres -A trust` then `pg_ctl -w start` and a query
                  (the same commands with gate's settings -- no sync, fsync off, in /dev/shm --
                  are timed too, as "by hand, tuned")
and initdb and the start alone, by hand. Targets: cold <= 1.0 s, warm <= 0.3 s.

    uv run python bench/provision_speed.py [--rounds 7]

Caches go to a temp folder, never the real home.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from gate.database.binaries import PostgresBinaries, find_binaries
from gate.database.ephemeral import TEST_SETTINGS, ephemeral_server
from gate.database.run_as import chown_tree, unprivileged_account

Timer = Callable[[], dict[str, float]]


def gate_ready(binaries: PostgresBinaries, cache: Path | None, expect: str) -> dict[str, float]:
    started = time.perf_counter()
    with ephemeral_server(binaries, cache=cache) as server:
        with psycopg.connect(**server.address.conninfo()) as connection:
            connection.execute("SELECT 1")
        elapsed = time.perf_counter() - started
        assert server.cluster_origin == expect, (server.cluster_origin, expect)
    return {"ready": elapsed}


def _as_server_account() -> dict[str, Any]:
    account = unprivileged_account()  # as root, a person would `runuser -u postgres` likewise
    if account is None:
        return {}
    return {"user": account.uid, "group": account.gid, "extra_groups": []}


def by_hand_ready(binaries: PostgresBinaries, *, tuned: bool) -> dict[str, float]:
    """initdb, pg_ctl -w start, one query, pg_ctl stop: what a person types."""
    parent = Path("/dev/shm") if tuned and os.access("/dev/shm", os.W_OK) else None
    work = Path(tempfile.mkdtemp(prefix="bench-pg-", dir=parent))
    work.chmod(0o755)
    data = work / "data"
    as_account = _as_server_account()
    try:
        chown_tree(work, unprivileged_account())
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        initdb = [binaries.tool("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        options = f"-p {port} -k {work} -c listen_addresses=127.0.0.1"
        if tuned:
            initdb += ["--no-sync", "-E", "UTF8", "--locale", "C"]
            options += "".join(f" -c {key}={value}" for key, value in TEST_SETTINGS.items())
        pg_ctl = str(binaries.bin_dir / "pg_ctl")
        started = time.perf_counter()
        subprocess.run(initdb, check=True, capture_output=True, **as_account)
        initialised = time.perf_counter()
        subprocess.run([pg_ctl, "-w", "-D", str(data), "-l", str(work / "log"), "-o", options,
                        "start"], check=True, capture_output=True, **as_account)  # fmt: skip
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres") as c:
            c.execute("SELECT 1")
        ready = time.perf_counter()
        subprocess.run([pg_ctl, "-D", str(data), "-m", "fast", "stop"], check=True,
                       capture_output=True, **as_account)  # fmt: skip
        return {"ready": ready - started, "initdb": initialised - started,
                "start": ready - initialised}  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(rounds: int, work: Path) -> dict[str, list[float]]:
    binaries = find_binaries()
    warm_cache = work / "warm-clusters"
    gate_ready(binaries, warm_cache, "cold")  # fills the warm cache; also warms the OS caches
    times: dict[str, list[float]] = {}
    for round_no in range(rounds):
        cold_cache = work / f"cold-clusters-{round_no}"
        order: list[tuple[str, Timer]] = [
            ("gate uncached", lambda: gate_ready(binaries, None, "uncached")),
            ("gate cold", lambda cache=cold_cache: gate_ready(binaries, cache, "cold")),
            ("gate warm", lambda: gate_ready(binaries, warm_cache, "warm")),
            ("by hand", lambda: by_hand_ready(binaries, tuned=False)),
            ("by hand, tuned", lambda: by_hand_ready(binaries, tuned=True)),
        ]
        shift = round_no % len(order)  # alternate who goes first
        for name, timer in order[shift:] + order[:shift]:
            for part, seconds in timer().items():
                label = name if part == "ready" else f"{name}: {part} alone"
                times.setdefault(label, []).append(seconds)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-provision-") as folder:
        times = measure(args.rounds, Path(folder))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"private server ready (first query answered), {args.rounds} rounds, alternating:")
    for name, values in sorted(times.items(), key=lambda item: medians[item[0]]):
        spread = ", ".join(f"{v:.3f}" for v in values)
        print(f"  {name:<30} median {medians[name]:6.3f}s   [{spread}]")
    hand = medians["by hand"]
    for name in ("gate uncached", "gate cold", "gate warm"):
        print(f"  {name}/by hand {medians[name] / hand:.2f}x", end="")
    print()
    cold_ok = "ok" if medians["gate cold"] <= 1.0 else "MISSED"
    warm_ok = "ok" if medians["gate warm"] <= 0.3 else "MISSED"
    print(f"  targets: cold <= 1.0 s ({cold_ok}), warm <= 0.3 s ({warm_ok})")


if __name__ == "__main__":
    main()
