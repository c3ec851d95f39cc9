"""Times an async-heavy suite with the blocking detector off, on, and under asyncio debug mode.

Builds a suite of async tests in a temp folder (gathers of tasks, queue ping-pong, TCP echo
over asyncio streams, events) and runs it with `sys.executable -m pytest`, alternating the
three modes for N rounds:

    off    gate's in-process plugin loaded, blocking detector off
    on     gate's in-process plugin loaded, blocking detector on (GATE_BLOCKING)
    debug  no detector; pytest-asyncio's --asyncio-debug (asyncio debug mode) instead

Usage (from the repository root):

    uv run python bench/blocking_overhead.py [--rounds 5] [--tests-per-file 50] [--files 6]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLUGIN_PATH = Path(__file__).resolve().parents[1] / "src" / "gate" / "inprocess"
MODES = ("off", "on", "debug")

TEST_FILE_HEAD = """\
import asyncio

import pytest

pytestmark = pytest.mark.asyncio


async def _worker(steps: int) -> int:
    for _ in range(steps):
        await asyncio.sleep(0)
    return steps


async def _gather(width: int, steps: int) -> None:
    results = await asyncio.gather(*(_worker(steps) for _ in range(width)))
    assert sum(results) == width * steps


async def _ping_pong(rounds: int) -> None:
    ping: asyncio.Queue[int] = asyncio.Queue()
    pong: asyncio.Queue[int] = asyncio.Queue()

    async def player() -> None:
        for _ in range(rounds):
            await pong.put(await ping.get() + 1)

    task = asyncio.create_task(player())
    value = 0
    for _ in range(rounds):
        await ping.put(value)
        value = await pong.get()
    await task
    assert value == rounds


async def _tcp_echo(messages: int) -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            writer.write(line)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for i in range(messages):
        writer.write(b"%d\\n" % i)
        await writer.drain()
        assert await reader.readline() == b"%d\\n" % i
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()


async def _events(waiters: int) -> None:
    event = asyncio.Event()

    async def wait() -> None:
        await event.wait()

    tasks = [asyncio.create_task(wait()) for _ in range(waiters)]
    await asyncio.sleep(0)
    event.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)
"""

TEST_TEMPLATE = """

async def test_loop_work_{n}() -> None:
    await _gather(20, 20)
    await _ping_pong(200)
    await _tcp_echo(40)
    await _events(50)
"""


def build_suite(folder: Path, files: int, tests_per_file: int) -> int:
    (folder / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = strict\n"
        "asyncio_default_fixture_loop_scope = function\n"
        "asyncio_default_test_loop_scope = function\n"
    )
    for f in range(files):
        body = "".join(TEST_TEMPLATE.format(n=n) for n in range(tests_per_file))
        (folder / f"test_async_{f}.py").write_text(TEST_FILE_HEAD + body)
    return files * tests_per_file


def run_once(folder: Path, mode: str, run_dir: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one pytest run."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGIN_PATH), env.get("PYTHONPATH")]))
    env["GATE_RUN_DIR"] = str(run_dir)
    for name in ("GATE_BLOCKING", "GATE_TIMEOUT", "GATE_COVERAGE_RC", "PYTHONASYNCIODEBUG"):
        env.pop(name, None)
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "_gate_pytest"]
    if mode == "on":
        env["GATE_BLOCKING"] = json.dumps(
            {"mode": "warn", "slow_ms": 100, "allow": [], "root": str(folder)}
        )
    elif mode == "debug":
        args.append("--asyncio-debug")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"pytest failed in mode {mode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def blocking_findings(run_dir: Path) -> int:
    count = 0
    for events in run_dir.glob("events-*.jsonl"):
        count += sum('"event":"blocking"' in line for line in events.read_text().splitlines())
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--files", type=int, default=6)
    parser.add_argument("--tests-per-file", type=int, default=50)
    parser.add_argument(
        "--modes", default=",".join(MODES), help="comma-separated subset of off,on,debug"
    )
    options = parser.parse_args()
    modes = tuple(m for m in MODES if m in options.modes.split(","))
    if "off" not in modes:
        parser.error("--modes must include off (the baseline)")

    with tempfile.TemporaryDirectory(prefix="gate-blocking-bench-") as tmp:
        folder = Path(tmp) / "suite"
        folder.mkdir()
        total = build_suite(folder, options.files, options.tests_per_file)
        print(f"{total} async tests, {options.rounds} rounds, Python {sys.version.split()[0]}")
        wall: dict[str, list[float]] = {mode: [] for mode in modes}
        cpu: dict[str, list[float]] = {mode: [] for mode in modes}
        for round_no in range(options.rounds):
            # Rotate the order so no mode always runs first (cold caches) or last.
            shift = round_no % len(modes)
            for mode in modes[shift:] + modes[:shift]:
                run_dir = Path(tmp) / f"run-{round_no}-{mode}"
                run_dir.mkdir()
                elapsed, used = run_once(folder, mode, run_dir)
                wall[mode].append(elapsed)
                cpu[mode].append(used)
                if mode == "on" and blocking_findings(run_dir):
                    print(f"  note: round {round_no} reported blocking findings")
            print(
                f"round {round_no + 1}: "
                + "  ".join(f"{m} {wall[m][-1]:.2f}s ({cpu[m][-1]:.2f}s cpu)" for m in modes)
            )

    for label, series in (("wall", wall), ("cpu", cpu)):
        median = {mode: statistics.median(values) for mode, values in series.items()}
        print(f"median {label}: " + "  ".join(f"{m} {median[m]:.2f}s" for m in modes))
        for mode in modes[1:]:
            print(f"  {mode}/off ({label}) = {median[mode] / median['off']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
