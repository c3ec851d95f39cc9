"""Times async-heavy suites with the blocking detector off, on, and under asyncio debug mode.

Builds two suites of async tests in a temp folder and runs each with `sys.executable -m
pytest`, alternating the three modes for N rounds (the order rotates every round):

    loop   300 tests of bare loop work: gathers of tasks, queue ping-pong, TCP echo over
           asyncio streams, events. ~1200 callbacks per test that do almost nothing, so the
           detector's per-callback cost shows at its largest.
    app    300 FastAPI endpoint tests through httpx's ASGITransport (the sample app's way of
           testing): routing, validation, dependencies, concurrent requests.

    off    gate's in-process plugin loaded, blocking detector off
    on     gate's in-process plugin loaded, blocking detector on
    debug  no detector; pytest-asyncio's --asyncio-debug (asyncio debug mode) instead

--coverage measures coverage in every mode, as `gate run` does when coverage.source is set.
CPU time (user + system of the pytest process) is printed beside wall time: on a shared
machine it is the steadier of the two. Usage (from the repository root):

    uv run python bench/blocking_overhead.py [--rounds 5] [--suites loop,app] [--coverage]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gate.testrun import BlockingPlan, plugin_settings_alone

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

LOOP_TEMPLATE = """

async def test_loop_work_{n}() -> None:
    await _gather(20, 20)
    await _ping_pong(200)
    await _tcp_echo(40)
    await _events(50)
"""


APP_MODULE = """\
import asyncio
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, Field

app = FastAPI()


class Item(BaseModel):
    name: str = Field(min_length=1)
    price: float = Field(gt=0)
    tags: list[str] = []


class Store:
    def __init__(self) -> None:
        self.items: dict[int, Item] = {}


_store = Store()


async def store() -> Store:
    await asyncio.sleep(0)
    return _store


StoreDep = Annotated[Store, Depends(store)]


@app.put("/items/{item_id}", status_code=201)
async def put_item(item_id: int, item: Item, items: StoreDep) -> Item:
    items.items[item_id] = item
    return item


@app.get("/items/{item_id}")
async def get_item(item_id: int, items: StoreDep) -> Item:
    if item_id not in items.items:
        raise HTTPException(status_code=404, detail="no such item")
    return items.items[item_id]


@app.get("/items")
async def list_items(items: StoreDep, tag: str | None = None) -> list[Item]:
    return [i for i in items.items.values() if tag is None or tag in i.tags]
"""

APP_TEST_HEAD = """\
import asyncio

import httpx
import pytest
import pytest_asyncio

from bench_app import app

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def client():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
"""

APP_TEMPLATE = """

async def test_items_{f}_{n}(client) -> None:
    item_id = {f} * 1000 + {n}
    body = {{"name": "item {n}", "price": {n} + 0.5, "tags": ["t{f}", "n{n}"]}}
    created = await client.put(f"/items/{{item_id}}", json=body)
    assert created.status_code == 201
    got = await asyncio.gather(*(client.get(f"/items/{{item_id}}") for _ in range(4)))
    assert all(r.json()["name"] == "item {n}" for r in got)
    assert (await client.get("/items/-1")).status_code == 404
    assert (await client.put("/items/1", json={{"name": "", "price": 0}})).status_code == 422
    tagged = await client.get("/items", params={{"tag": "n{n}"}})
    assert any(i["name"] == "item {n}" for i in tagged.json())
"""

SUITES = ("loop", "app")


def build_suite(folder: Path, suite: str, files: int, tests_per_file: int) -> int:
    (folder / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = strict\n"
        "asyncio_default_fixture_loop_scope = function\n"
        "asyncio_default_test_loop_scope = function\n"
    )
    if suite == "app":
        (folder / "bench_app.py").write_text(APP_MODULE)
    for f in range(files):
        if suite == "app":
            body = APP_TEST_HEAD + "".join(
                APP_TEMPLATE.format(f=f, n=n) for n in range(tests_per_file)
            )
        else:
            body = TEST_FILE_HEAD + "".join(
                LOOP_TEMPLATE.format(n=n) for n in range(tests_per_file)
            )
        (folder / f"test_{suite}_{f}.py").write_text(body)
    return files * tests_per_file


def run_once(folder: Path, mode: str, run_dir: Path, coverage: bool) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one pytest run."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGIN_PATH), env.get("PYTHONPATH")]))
    env.pop("PYTHONASYNCIODEBUG", None)
    rcfile = None
    if coverage:
        rcfile = run_dir / "coveragerc"
        rcfile.write_text(f"[run]\nbranch = True\nparallel = True\nsource = {folder}\n")
        (run_dir / "coverage").mkdir()
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "_gate_pytest"]
    blocking = None
    if mode == "on":
        blocking = BlockingPlan("warn", 100, [], folder)
    elif mode == "debug":
        args.append("--asyncio-debug")
    # The plugin's settings file, written as a run writes it.
    settings = plugin_settings_alone(folder, run_dir, rcfile=rcfile, blocking=blocking)
    env["GATE_PLUGIN_SETTINGS"] = str(settings)
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


def bench_suite(
    tmp: Path, suite: str, modes: tuple[str, ...], options: argparse.Namespace
) -> dict[str, dict[str, list[float]]]:
    folder = tmp / suite
    folder.mkdir()
    total = build_suite(folder, suite, options.files, options.tests_per_file)
    print(f"\n{suite}: {total} async tests, {options.rounds} rounds")
    times: dict[str, dict[str, list[float]]] = {"wall": {}, "cpu": {}}
    for mode in modes:
        times["wall"][mode], times["cpu"][mode] = [], []
    for round_no in range(options.rounds):
        # Rotate the order so no mode always runs first (cold caches) or last.
        shift = round_no % len(modes)
        for mode in modes[shift:] + modes[:shift]:
            run_dir = tmp / f"{suite}-{round_no}-{mode}"
            run_dir.mkdir()
            elapsed, used = run_once(folder, mode, run_dir, options.coverage)
            times["wall"][mode].append(elapsed)
            times["cpu"][mode].append(used)
            if mode == "on" and blocking_findings(run_dir):
                sys.exit(f"{suite}: the detector reported findings in a clean suite ({run_dir})")
        print(
            f"  round {round_no + 1}: "
            + "  ".join(
                f"{m} {times['wall'][m][-1]:.2f}s ({times['cpu'][m][-1]:.2f}s cpu)" for m in modes
            )
        )
    return times


def summary(suite: str, times: dict[str, dict[str, list[float]]], modes: tuple[str, ...]) -> None:
    for label, series in times.items():
        median = {mode: statistics.median(values) for mode, values in series.items()}
        best = {mode: min(values) for mode, values in series.items()}
        print(
            f"{suite} {label}: "
            + "  ".join(
                f"{m}/off {median[m] / median['off']:.3f} (best {best[m] / best['off']:.3f})"
                for m in modes[1:]
            )
            + f"   [median off {median['off']:.2f}s]"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--files", type=int, default=6)
    parser.add_argument("--tests-per-file", type=int, default=50)
    parser.add_argument("--suites", default=",".join(SUITES), help="comma-separated: loop,app")
    parser.add_argument(
        "--modes", default=",".join(MODES), help="comma-separated subset of off,on,debug"
    )
    parser.add_argument("--coverage", action="store_true", help="measure coverage, as gate does")
    options = parser.parse_args()
    modes = tuple(m for m in MODES if m in options.modes.split(","))
    suites = tuple(s for s in SUITES if s in options.suites.split(","))
    if "off" not in modes:
        parser.error("--modes must include off (the baseline)")
    print(
        f"Python {sys.version.split()[0]}, coverage {'on' if options.coverage else 'off'}; "
        "ratios are median (best) of the rounds"
    )
    with tempfile.TemporaryDirectory(prefix="gate-blocking-bench-") as tmp:
        results = {suite: bench_suite(Path(tmp), suite, modes, options) for suite in suites}
    print()
    for suite, times in results.items():
        summary(suite, times, modes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
