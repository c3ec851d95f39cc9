"""Times a 2,000-test suite with gate's server-error recorder off and on, side by side.

Builds suites in a temp folder and runs each with `sys.executable -m pytest -p _gate_pytest`,
alternating the modes for N rounds (the order rotates every round):

    plain     2,000 trivial sync tests: the recorder's per-test cost at its largest
    requests  2,000 tests, each making one request to a small Starlette app through httpx's
              ASGITransport: the per-request cost of the app wrapper on top

    off       gate's in-process plugin loaded, server errors off
    on        the same with server errors on in the plugin's settings

CPU time (user + system of the pytest process) is printed beside wall time: on a shared machine
it is the steadier of the two. Last, in this process, the app wrapper alone: a bare ASGI app
called directly against the same app wrapped by the recorder (what each request pays). Usage
(from the repository root):

    uv run python bench/server_errors_overhead.py [--rounds 3] [--suites plain,requests]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gate.inprocess import PLUGIN_PATH, PLUGIN_SETTINGS_ENV
from gate.testrun import plugin_settings_alone

MODES = ("off", "on")
TESTS = 2000
FILES = 20

PLAIN = """\
import pytest


@pytest.mark.parametrize("n", range({count}))
def test_sum(n: int) -> None:
    assert sum(range(n % 7)) >= 0
"""

REQUESTS = """\
import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def item(request):
    return JSONResponse({{"id": request.path_params["id"]}})


app = Starlette(routes=[Route("/items/{{id:int}}", item)])


@pytest.mark.parametrize("n", range({count}))
@pytest.mark.asyncio
async def test_item(n: int) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get(f"/items/{{n}}")
    assert response.status_code == 200
"""


def build(root: Path, template: str) -> Path:
    root.mkdir()
    for index in range(FILES):
        (root / f"test_{index:02}.py").write_text(template.format(count=TESTS // FILES))
    (root / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
    )
    return root


def run(suite: Path, mode: str) -> tuple[float, float]:
    run_dir = Path(tempfile.mkdtemp(prefix="gate-bench-run-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATE_")}
    env["PYTHONPATH"] = str(PLUGIN_PATH)
    settings = plugin_settings_alone(suite, run_dir, server_errors=suite if mode == "on" else None)
    env[PLUGIN_SETTINGS_ENV] = str(settings)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "_gate_pytest", "-p", "no:cacheprovider"],
        cwd=suite,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


async def _bare_app(scope: object, receive: object, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"x"})


async def _ignore(message: object) -> None:
    return None


async def _per_call_us(app: Any, calls: int) -> float:
    scope = {"type": "http", "method": "GET", "path": "/x"}
    start = time.perf_counter()
    for _ in range(calls):
        await app(scope, None, _ignore)
    return (time.perf_counter() - start) / calls * 1e6


def wrapper_cost(rounds: int) -> None:
    sys.path.insert(0, str(PLUGIN_PATH))
    from _gate_pytest import server_errors_hooks
    from _gate_pytest.server_errors import ServerErrorPlugin

    server_errors_hooks._recorder = ServerErrorPlugin(emit=print, root=".", hooks=[])
    wrapped = server_errors_hooks.RecordingASGI(_bare_app)
    bare, recorded = [], []
    for _ in range(max(rounds, 5)):
        bare.append(asyncio.run(_per_call_us(_bare_app, 20_000)))
        recorded.append(asyncio.run(_per_call_us(wrapped, 20_000)))
    plain, on = statistics.median(bare), statistics.median(recorded)
    print(
        f"wrapper   per request: bare ASGI app {plain:.2f} us, wrapped {on:.2f} us: "
        f"+{on - plain:.2f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--suites", default="plain,requests", help="'' for the wrapper alone")
    options = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="gate-bench-"))
    templates = {"plain": PLAIN, "requests": REQUESTS}
    for name in filter(None, options.suites.split(",")):
        suite = build(base / name, templates[name])
        times: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
        for round_index in range(options.rounds):
            order = MODES[round_index % 2 :] + MODES[: round_index % 2]
            for mode in order:
                times[mode].append(run(suite, mode))
        wall = {mode: statistics.median(t[0] for t in times[mode]) for mode in MODES}
        cpu = {mode: statistics.median(t[1] for t in times[mode]) for mode in MODES}
        print(
            f"{name:9} {TESTS} tests, median of {options.rounds}: "
            f"off {wall['off']:.2f}s wall / {cpu['off']:.2f}s cpu, "
            f"on {wall['on']:.2f}s wall / {cpu['on']:.2f}s cpu; "
            f"ratio on/off {wall['on'] / wall['off']:.3f} wall, {cpu['on'] / cpu['off']:.3f} cpu"
        )
    wrapper_cost(options.rounds)


if __name__ == "__main__":
    main()
