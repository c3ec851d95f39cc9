"""Measures provisioning side by side, alternating rounds, and prints medians and ratios.

1. A private server ready to accept connections: uncached (initdb every time), cold (initdb,
   then the cluster cache is filled) and warm (a copy of the cached cluster, no initdb).
2. `gate run` on the sample app with warm caches (on the given server, and on gate's private
   server) against the same steps by hand on the given server: create a database,
   `alembic -c sample_app/alembic.ini upgrade head`,
   `pytest --cov=sample_app --cov-branch sample_app/tests`, drop the database.

Usage, from the repository root:

    uv run python bench/provision_speed.py [--rounds 7] [--server-url postgresql://...]

Without --server-url (or $GATE_BENCH_SERVER_URL) the given server is a private server that the
bench starts with gate's code. Caches and run records go to a temp folder, never the real home.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg

from gate.config import load_config
from gate.database.address import ServerAddress, parse_server_url
from gate.database.binaries import PostgresBinaries, find_binaries
from gate.database.ephemeral import ephemeral_server
from gate.database.server import create_database, drop_database
from gate.template_cache import clean_template_cache

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def ready_time(binaries: PostgresBinaries, cache: Path | None, expect: str) -> float:
    """Seconds from asking for a server to its first answered query."""
    started = time.perf_counter()
    with ephemeral_server(binaries, cache=cache) as server:
        with psycopg.connect(**server.address.conninfo()) as connection:
            connection.execute("SELECT 1")
        elapsed = time.perf_counter() - started
        assert server.cluster_origin == expect, (server.cluster_origin, expect)
    return elapsed


def bench_ready(rounds: int, work: Path) -> dict[str, list[float]]:
    binaries = find_binaries()
    warm_cache = work / "warm-clusters"
    ready_time(binaries, warm_cache, "cold")  # fills the warm cache; also warms the OS caches
    times: dict[str, list[float]] = {"uncached": [], "cold": [], "warm": []}
    for round_no in range(rounds):
        cold_cache = work / f"cold-clusters-{round_no}"
        order: list[tuple[str, Callable[[], float]]] = [
            ("uncached", lambda: ready_time(binaries, None, "uncached")),
            ("cold", lambda cache=cold_cache: ready_time(binaries, cache, "cold")),
            ("warm", lambda: ready_time(binaries, warm_cache, "warm")),
        ]
        shift = round_no % len(order)  # alternate who goes first
        for name, measure in order[shift:] + order[:shift]:
            times[name].append(measure())
    return times


@contextlib.contextmanager
def server(url: str | None) -> Iterator[ServerAddress]:
    if url:
        yield parse_server_url(url)
        return
    with ephemeral_server(find_binaries()) as private:
        yield private.address


def sample_env(base: dict[str, str]) -> dict[str, str]:
    """The sample app's settings exactly as gate.yaml gives them, so both sides do equal work."""
    config = load_config(REPO / "gate.yaml", base)
    return {**base, **config.env}


def by_hand(address: ServerAddress, env: dict[str, str], round_no: int) -> float:
    started = time.perf_counter()
    name = f"bench_hand_{os.getpid()}_{round_no}"
    create_database(address, name)
    try:
        step_env = {**env, "DATABASE_URL": address.with_database(name).url("postgresql+asyncpg")}
        alembic = [str(BIN / "alembic"), "-c", "sample_app/alembic.ini", "upgrade", "head"]
        subprocess.run(alembic, cwd=REPO, env=step_env, check=True, capture_output=True)
        pytest = [str(BIN / "pytest"), "-q", "-p", "no:cacheprovider", "--cov=sample_app",
                  "--cov-branch", "--cov-report=", "sample_app/tests"]  # fmt: skip
        subprocess.run(pytest, cwd=REPO, env=step_env, check=True, capture_output=True)
    finally:
        drop_database(address, name)
    return time.perf_counter() - started


def with_gate(url: str | None, env: dict[str, str], work: Path) -> float:
    """`gate run` on the sample app; url None: on a private server of gate's own."""
    started = time.perf_counter()
    argv = [str(BIN / "gate"), "run", "-q", "--json", str(work / "report.json"),
            "--junit", str(work / "junit.xml")]  # fmt: skip
    if url is not None:
        argv += ["--database-url", url]
    completed = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode not in (0, 1):  # 1: a check failed; the timing still holds
        sys.exit(f"gate run exited {completed.returncode}:\n{completed.stdout}{completed.stderr}")
    return elapsed


def bench_gate(rounds: int, url: str | None, work: Path) -> dict[str, list[float]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GATE_", "PYTEST_"))}
    base["CI"] = "true"
    env = sample_env(base)
    gate_env = {**base, "GATE_STATE_DIR": str(work / "state"), "GATE_CACHE_DIR": str(work)}
    times: dict[str, list[float]] = {"server": [], "private": [], "hand": []}
    with server(url) as address:
        try:
            order: list[tuple[str, Callable[[int], float]]] = [
                ("server", lambda _: with_gate(address.url(), gate_env, work)),
                ("private", lambda _: with_gate(None, gate_env, work)),
                ("hand", lambda n: by_hand(address, env, n)),
            ]
            for _, measure in order:  # warm-up: fills the caches, imports and bytecode
                measure(-1)
            for round_no in range(rounds):
                shift = round_no % len(order)  # alternate who goes first
                for name, measure in order[shift:] + order[:shift]:
                    times[name].append(measure(round_no))
        finally:
            clean_template_cache(work / "state")
    return times


def show(label: str, values: list[float]) -> float:
    median = statistics.median(values)
    spread = ", ".join(f"{v:.3f}" for v in values)
    print(f"  {label:<28} median {median:7.3f}s   [{spread}]")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--server-url", default=os.environ.get("GATE_BENCH_SERVER_URL"))
    parser.add_argument("--only", choices=["ready", "gate"], help="run one part")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-provision-") as folder:
        work = Path(folder)
        if args.only != "gate":
            times = bench_ready(args.rounds, work)
            print(f"private server ready (first query answered), {args.rounds} rounds:")
            uncached = show("uncached (initdb)", times["uncached"])
            cold = show("cold (initdb + fill cache)", times["cold"])
            warm = show("warm (cached cluster copy)", times["warm"])
            print(f"  warm/uncached {warm / uncached:.2f}x   cold/uncached {cold / uncached:.2f}x")
            print("  targets: cold <= 1.0 s, warm <= 0.3 s")
        if args.only != "ready":
            times = bench_gate(args.rounds, args.server_url, work)
            print(f"sample app, warm caches, {args.rounds} rounds, alternating:")
            hand = show("by hand (same server)", times["hand"])
            gated = show("gate run --database-url", times["server"])
            private = show("gate run (private server)", times["private"])
            print(f"  gate/by hand {gated / hand:.2f}x   private-server gate/by hand "
                  f"{private / hand:.2f}x   (target <= 0.90x)")  # fmt: skip


if __name__ == "__main__":
    main()
