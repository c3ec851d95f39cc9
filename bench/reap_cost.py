"""What the reaping at the start of `gate run` costs when there is nothing to reap.

Times gate.clean.reap_dead_runs (the call `gate run` makes before its ledger) on a ledger
folder that does not exist yet, one that is empty, and one holding the ledgers of live runs
(this process's, as a run that is still going).
The promise is at most 50 ms; printed in milliseconds, median and worst of N calls.
Usage (from the repository root):

    uv run python bench/reap_cost.py [--calls 200] [--live 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from gate.clean import reap_dead_runs
from gate.ledger import Ledger


def timed(calls: int, folder: Path) -> tuple[float, float]:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        assert reap_dead_runs(folder) == []
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--live", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        empty = root / "empty"
        empty.mkdir()
        live = root / "live"
        for n in range(args.live):
            ledger = Ledger(path=live / f"run{n}.json", run_id=f"run{n}")
            ledger.add_folder(root / f"folder{n}")
            ledger.add_database("postgresql://postgres@127.0.0.1:5432/postgres", f"gate_{n}")
        cases = {
            "no ledger folder": root / "missing",
            "empty ledger folder": empty,
            f"{args.live} live runs": live,
        }
        print(f"{'case':<22} {'median ms':>10} {'worst ms':>10}")
        for name, folder in cases.items():
            median, worst = timed(args.calls, folder)
            print(f"{name:<22} {median:>10.3f} {worst:>10.3f}")


if __name__ == "__main__":
    main()
