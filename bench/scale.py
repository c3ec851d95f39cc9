"""gate at scale: what it costs per test, with workers, and before and after the tests.

Every comparison runs both sides in the same round, alternating which goes first, and prints
medians and their ratio (on a shared machine, only side-by-side ratios mean anything):

  sync2k, sync10k, async2k  generated suites of trivial tests (async: pytest-asyncio), in a
            virtualenv of their own (pytest, coverage, pytest-cov, pytest-xdist,
            pytest-asyncio; no greenlet, so coverage runs as by hand): `gate run` (blocking
            detection on, the default) vs pytest + coverage.py by hand (--cov-branch, XML,
            JUnit). Target <= 1.10. One test of each suite blocks its loop at a known line:
            gate must report that line, or the bench says FAIL.
  workers   `gate run --workers auto` vs `--workers 1`: on 2,000 tests of ~20 ms (target:
            auto >= 1.6x faster) and on the sample app (target: auto <= 1.05x one worker).
  fixed     the sample app, warm: the provision step (target <= 0.2 s) and every step but
            the test step (target <= 0.5 s), from the JSON report.
  help      `gate --help` vs `python -c "import typer, rich"` (target <= 1.5x).

    uv run python bench/scale.py [--rounds 3] [--only sync2k,async2k,workers,fixed,help]
                                 [--server-url postgresql://postgres@127.0.0.1:5432/postgres]

The blocking detector's own overhead on async-heavy suites is bench/blocking_overhead.py.
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
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GATE = [sys.executable, "-m", "gate"]
PACKAGES = ["pytest", "coverage", "pytest-cov", "pytest-xdist", "pytest-asyncio"]
PER_FILE = 100
BLOCKING_FILE, BLOCKING_LINE = "tests/test_blocks.py", 7

APP = """\
def add(a, b):
    if a > b:
        return a + b
    return b + a
"""
BLOCKS = """\
import asyncio
import time


async def nap():
    await asyncio.sleep(0)
    time.sleep(0.3)


def test_blocks_its_loop():
    asyncio.run(nap())
"""
GATE_YAML = """\
database:
  mode: none
tests:
  paths: [tests]
  python: {python}
coverage:
  source: [app]
  fail_under: 0
  diff: null
blocking:
  mode: warn
reports:
  json: .gate/report.json
  junit: .gate/junit.xml
  coverage_xml: .gate/coverage.xml
  html: null
"""


def make_venv(folder: Path) -> Path:
    subprocess.run(["uv", "venv", "-q", "-p", sys.executable, str(folder)], check=True)
    env = {**os.environ, "VIRTUAL_ENV": str(folder)}
    install = ["uv", "pip", "install", "-q", *PACKAGES]
    if subprocess.run([*install, "--offline"], env=env, check=False).returncode != 0:
        subprocess.run(install, env=env, check=True)
    return folder / "bin" / "python"


def make_suite(folder: Path, python: Path, tests: int, kind: str) -> Path:
    """kind: sync (trivial), async (trivial coroutines), slow (sync, ~20 ms each)."""
    (folder / "app").mkdir(parents=True)
    (folder / "tests").mkdir()
    (folder / "app" / "__init__.py").write_text(APP)
    (folder / BLOCKING_FILE).write_text(BLOCKS)
    (folder / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    (folder / "gate.yaml").write_text(GATE_YAML.format(python=python))
    head = "import time\n\nfrom app import add\n\n"
    for number in range(0, tests - 1, PER_FILE):
        lines = [head]
        for test in range(number, min(number + PER_FILE, tests - 1)):
            if kind == "async":
                lines.append(
                    f"async def test_{test}():\n    assert add({test}, 1) == {test + 1}\n\n"
                )
            elif kind == "slow":
                lines.append(f"def test_{test}():\n    time.sleep(0.02)\n    assert add(1, 2)\n\n")
            else:
                lines.append(f"def test_{test}():\n    assert add({test}, 1) == {test + 1}\n\n")
        (folder / "tests" / f"test_{number:05d}.py").write_text("".join(lines))
    return folder


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    out = subprocess.DEVNULL
    subprocess.run(argv, cwd=cwd, env=env, stdout=out, stderr=out, check=False)
    return time.perf_counter() - started


def side_by_side(
    name: str, a: tuple[str, Callable[[], float]], b: tuple[str, Callable[[], float]], rounds: int
) -> float:
    times: dict[str, list[float]] = {a[0]: [], b[0]: []}
    for round_ in range(rounds):
        for label, run in (a, b) if round_ % 2 == 0 else (b, a):
            times[label].append(run())
    first, second = (statistics.median(times[label]) for label in (a[0], b[0]))
    print(
        f"{name:<28} {a[0]} {first:7.2f}s   {b[0]} {second:7.2f}s   ratio {first / second:5.2f}"
        f"   (rounds {', '.join(f'{t:.1f}' for t in times[a[0]])} | "
        f"{', '.join(f'{t:.1f}' for t in times[b[0]])})",
        flush=True,
    )
    return first / second


def blocking_found(project: Path) -> bool:
    report = json.loads((project / ".gate" / "report.json").read_text())
    places = {(entry["file"], entry["line"]) for entry in report.get("blocking", [])}
    return (BLOCKING_FILE, BLOCKING_LINE) in places


def suite_vs_by_hand(
    work: Path, python: Path, env: dict[str, str], kind: str, tests: int, rounds: int
) -> None:
    project = make_suite(work / f"{kind}{tests}", python, tests, kind)
    reports = ["--cov-report=xml:hand-coverage.xml", "--junitxml=hand-junit.xml"]
    by_hand = [str(python), "-m", "pytest", "-q", "--cov=app", "--cov-branch", *reports, "tests"]
    gate = [*GATE, "run", "-q", "-c", str(project / "gate.yaml")]
    for warm_up in (by_hand, gate):  # bytecode and assertion-rewrite caches, both sides
        timed(warm_up, project, env)
    side_by_side(
        f"{kind} x{tests}",
        ("gate", lambda: timed(gate, project, env)),
        ("by hand", lambda: timed(by_hand, project, env)),
        rounds,
    )
    found = blocking_found(project)
    print(f"{'':<28} blocking call at {BLOCKING_FILE}:{BLOCKING_LINE}: "
          f"{'found' if found else 'FAIL: not reported'}")  # fmt: skip


def workers(work: Path, python: Path, env: dict[str, str], rounds: int, server: str) -> None:
    project = make_suite(work / "slow2000", python, 2000, "slow")
    gate = [*GATE, "run", "-q", "-c", str(project / "gate.yaml")]
    timed([*gate, "--workers", "1"], project, env)  # records durations for auto
    side_by_side(
        "2000 x 20 ms: auto vs 1",
        ("auto", lambda: timed([*gate, "--workers", "auto"], project, env)),
        ("1 worker", lambda: timed([*gate, "--workers", "1"], project, env)),
        rounds,
    )
    sample = [*GATE, "run", "-q", "-c", str(REPO / "gate.yaml"), "--database-url", server]
    timed([*sample, "--workers", "1"], REPO, env)
    side_by_side(
        "sample app: auto vs 1",
        ("auto", lambda: timed([*sample, "--workers", "auto"], REPO, env)),
        ("1 worker", lambda: timed([*sample, "--workers", "1"], REPO, env)),
        rounds,
    )


def fixed_cost(work: Path, env: dict[str, str], rounds: int) -> None:
    report = work / "sample-report.json"
    argv = [*GATE, "run", "-q", "-c", str(REPO / "gate.yaml"), "--json", str(report)]
    timed(argv, REPO, env)  # warm: cluster cache and migrated template
    provision, fixed = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, check=False)
        wall = time.perf_counter() - started
        steps = json.loads(report.read_text())["steps"]
        provision.append(sum(s["duration_s"] for s in steps if s["name"] == "provision"))
        test = sum(s["duration_s"] for s in steps if s["name"] == "test")
        fixed.append(wall - test)
    print(f"{'sample app, warm':<28} provision step {statistics.median(provision):.3f}s "
          f"(target <= 0.2)   all but the test step, wall {statistics.median(fixed):.3f}s "
          f"(target <= 0.5)   rounds {[round(p, 3) for p in provision]} "
          f"{[round(f, 3) for f in fixed]}")  # fmt: skip


def help_time(env: dict[str, str], rounds: int) -> None:
    side_by_side(
        "gate --help vs typer+rich",
        ("gate --help", lambda: timed([*GATE, "--help"], REPO, env)),
        ("import", lambda: timed([sys.executable, "-c", "import typer, rich"], REPO, env)),
        max(rounds, 5),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="sync2k,sync10k,async2k,workers,fixed,help")
    parser.add_argument(
        "--server-url",
        default=os.environ.get(
            "GATE_BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    parts = set(args.only.split(","))
    with tempfile.TemporaryDirectory(prefix="gate-scale-") as temp:
        work = Path(temp)
        env = {**os.environ, "GATE_CACHE_DIR": str(work / "cache"),
               "GATE_STATE_DIR": str(work / "state")}  # fmt: skip
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a developer's machine
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
        python = make_venv(work / "venv") if parts & {"sync2k", "sync10k", "async2k", "workers"} \
            else Path(sys.executable)  # fmt: skip
        for part, kind, tests in (("sync2k", "sync", 2000), ("sync10k", "sync", 10000),
                                  ("async2k", "async", 2000)):  # fmt: skip
            if part in parts:
                suite_vs_by_hand(work, python, env, kind, tests, args.rounds)
        if "workers" in parts:
            workers(work, python, env, args.rounds, args.server_url)
        if "fixed" in parts:
            fixed_cost(work, env, args.rounds)
        if "help" in parts:
            help_time(env, args.rounds)
        shutil.rmtree(work / "cache", ignore_errors=True)


if __name__ == "__main__":
    main()
