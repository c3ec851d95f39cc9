"""Times `gate run` on the sample app against the same steps done by hand, alternating, and
prints the ratio.

By hand = what a CI file does: create a database, `alembic upgrade head`, `pytest --cov`, drop
the database, on the same server. Usage (from the repository root):

    uv run python bench/gate_vs_by_hand.py [--rounds 5] [--server-url postgresql://...]

Without --server-url (or $GATE_BENCH_SERVER_URL) it starts a private server with gate's code,
so both sides use the same server either way.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from gate.database.address import ServerAddress, parse_server_url
from gate.database.binaries import find_binaries
from gate.database.ephemeral import ephemeral_server
from gate.database.server import create_database, drop_database

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@contextlib.contextmanager
def server(url: str | None) -> Iterator[ServerAddress]:
    if url:
        yield parse_server_url(url)
        return
    with ephemeral_server(find_binaries()) as private:
        yield private.address


def run(argv: list[str], env: dict[str, str]) -> None:
    subprocess.run(argv, cwd=REPO, env=env, check=True, capture_output=True)


def by_hand(address: ServerAddress, env: dict[str, str], round_no: int) -> float:
    started = time.perf_counter()
    name = f"bench_hand_{os.getpid()}_{round_no}"
    create_database(address, name)
    try:
        url = address.with_database(name).url("postgresql+asyncpg")
        step_env = {
            **env,
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-" + "x" * 40,
            "ENVIRONMENT": "test",
        }
        run([str(BIN / "alembic"), "-c", "sample_app/alembic.ini", "upgrade", "head"], step_env)
        run(
            [
                str(BIN / "pytest"),
                "-q",
                "-p",
                "no:cacheprovider",
                "--cov=sample_app",
                "--cov-branch",
                "--cov-report=",
                "sample_app/tests",
            ],
            step_env,
        )
    finally:
        drop_database(address, name)
    return time.perf_counter() - started


def with_gate(address: ServerAddress, env: dict[str, str]) -> float:
    started = time.perf_counter()
    run(
        [
            str(BIN / "gate"),
            "run",
            "-q",
            "--database-url",
            address.url(),
            "--json",
            os.devnull,
            "--junit",
            os.devnull,
        ],
        env,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--server-url", default=os.environ.get("GATE_BENCH_SERVER_URL"))
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATE_")}
    env["CI"] = "true"
    hand: list[float] = []
    gated: list[float] = []
    with server(args.server_url) as address:
        with_gate(address, env)  # warm-up: imports and bytecode caches for both sides
        by_hand(address, env, -1)
        for round_no in range(args.rounds):
            # Alternate which side goes first so drift on the machine hits both alike.
            if round_no % 2:
                hand.append(by_hand(address, env, round_no))
                gated.append(with_gate(address, env))
            else:
                gated.append(with_gate(address, env))
                hand.append(by_hand(address, env, round_no))
            print(
                f"round {round_no + 1}: gate {gated[-1]:.2f}s  by hand {hand[-1]:.2f}s", flush=True
            )
    gate_median, hand_median = statistics.median(gated), statistics.median(hand)
    print(f"median: gate run {gate_median:.2f}s, by hand {hand_median:.2f}s")
    print(f"ratio gate/by-hand: {gate_median / hand_median:.2f}x")


if __name__ == "__main__":
    main()
