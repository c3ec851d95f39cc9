"""Builds the pytest command gate runs in the project's interpreter and runs it.

The command, its environment, the plugin's settings file (the one writer of the boundary the
plugin reads) and the watch over the running process: what crosses into the test process is
written here and nowhere else, which is why they stay together.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gate import proc
from gate.durations import record_startup
from gate.inprocess import (
    HARD_STOP_GRACE_S,
    PLUGIN_NAME,
    PLUGIN_PATH,
    PLUGIN_SETTINGS_ENV,
    PLUGIN_SETTINGS_VERSION,
)
from gate.interpreter import Interpreter
from gate.provision import worker_count
from gate.results import ResultsBuilder, TestResults, mark_stopped
from gate.shard import Shard

#: Past the in-process hard stop, gate itself kills a test process that has gone silent.
WATCHDOG_GRACE_S = HARD_STOP_GRACE_S + 10.0


@dataclass(frozen=True)
class BlockingPlan:
    """What the blocking detector needs: the blocking section, resolved."""

    mode: str  # fail | warn
    slow_ms: float
    allow: Sequence[str]
    root: Path


@dataclass(frozen=True)
class TestPlan:
    """Everything the test step needs, already resolved."""

    __test__ = False

    root: Path
    interpreter: Interpreter
    paths: Sequence[str]
    args: Sequence[str]
    extra_args: Sequence[str]
    workers: int | str
    timeout_s: float
    run_dir: Path
    rcfile: Path | None
    blocking: BlockingPlan | None  # None: blocking.mode off
    server_errors: Path | None = None  # the root server errors are blamed under; None: off
    shard: Shard | None = None
    durations: Path | None = None  # tests.durations, to split shards by
    worker_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # per xdist worker


@dataclass
class TestOutcome:
    __test__ = False

    results: TestResults
    exit_code: int
    output: str
    killed_reason: str | None
    argv: tuple[str, ...]
    notes: list[str] = field(default_factory=list)  # the project's settings gate overrode


def build_argv(plan: TestPlan) -> list[str]:
    argv = [str(plan.interpreter.path), "-m", "pytest", *plan.paths, *plan.args, *plan.extra_args]
    argv += ["-p", PLUGIN_NAME]
    if plan.interpreter.has("pytest_cov"):
        # gate measures coverage itself; --cov in the project's addopts must not start a second
        # tracer, nor --cov-fail-under decide the verdict.
        argv.append("--no-cov")
    if plan.interpreter.has("xdist"):
        # Overrides any -n in the project's addopts, so tests.workers alone decides.
        # A concrete number: each worker's database was made for its id (gw0, gw1, ...).
        argv += ["-n", str(xdist_workers(plan))]
    return argv


def xdist_workers(plan: TestPlan) -> int:
    """pytest-xdist's -n: 0 (no workers) when one process runs the tests."""
    count = worker_count(plan.workers, plan.durations)
    return 0 if count == 1 else count


def build_env(plan: TestPlan, base_env: Mapping[str, str]) -> dict[str, str]:
    env = dict(base_env)
    pythonpath = [str(PLUGIN_PATH)]
    if env.get("PYTHONPATH"):
        pythonpath.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    env[PLUGIN_SETTINGS_ENV] = str(plan.run_dir / PLUGIN_SETTINGS_FILE)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


PLUGIN_SETTINGS_FILE = "plugin-settings.json"


def plugin_settings(plan: TestPlan) -> dict[str, object]:
    """Everything the in-process plugin is told, every field always written (the plugin's
    settings.py describes the format and states no defaults of its own)."""
    blocking = plan.blocking
    durations = plan.durations if plan.durations is not None and plan.durations.is_file() else None
    return {
        "version": PLUGIN_SETTINGS_VERSION,
        "run_dir": str(plan.run_dir),
        "timeout_s": plan.timeout_s,
        "coverage_rc": None if plan.rcfile is None else str(plan.rcfile),
        "blocking": None
        if blocking is None
        else {
            "mode": blocking.mode,
            "slow_ms": blocking.slow_ms,
            "allow": list(blocking.allow),
            "root": str(blocking.root),
        },
        "shard": None
        if plan.shard is None
        else {
            "index": plan.shard.index,
            "total": plan.shard.total,
            "durations": None if durations is None else str(durations),
        },
        "server_errors": None if plan.server_errors is None else {"root": str(plan.server_errors)},
        "worker_env": {worker: dict(env) for worker, env in plan.worker_env.items()},
    }


def plugin_settings_alone(
    root: Path,
    run_dir: Path,
    *,
    timeout_s: float = 0.0,
    rcfile: Path | None = None,
    blocking: BlockingPlan | None = None,
    server_errors: Path | None = None,
) -> Path:
    """The settings file for pytest run with gate's plugin alone, outside a `gate run` (the
    detector and recorder corpora, the benches): written as a run writes it."""
    plan = TestPlan(
        root=root,
        interpreter=Interpreter(Path(sys.executable), "", {}),
        paths=[],
        args=[],
        extra_args=[],
        workers=1,
        timeout_s=timeout_s,
        run_dir=run_dir,
        rcfile=rcfile,
        blocking=blocking,
        server_errors=server_errors,
    )
    return write_plugin_settings(plan)


def write_plugin_settings(plan: TestPlan) -> Path:
    """The one writer of the plugin's settings. Private to the run: it may hold each worker's
    database password."""
    path = plan.run_dir / PLUGIN_SETTINGS_FILE
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(plugin_settings(plan), handle)
    return path


class _Follower:
    """Reads new complete lines from the main event file while pytest runs."""

    def __init__(self, path: Path, builder: ResultsBuilder) -> None:
        self.path = path
        self.builder = builder
        self.offset = 0
        self.partial = ""

    def poll(self) -> None:
        try:
            with self.path.open("r", encoding="utf-8") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
                self.offset = handle.tell()
        except FileNotFoundError:
            return
        text = self.partial + chunk
        lines = text.split("\n")
        self.partial = lines.pop()
        self.builder.feed_lines(lines)


def run_tests(
    plan: TestPlan,
    base_env: Mapping[str, str],
    on_progress: Callable[[TestResults, float], None] | None = None,
) -> TestOutcome:
    plan.run_dir.mkdir(parents=True, exist_ok=True)
    (plan.run_dir / "coverage").mkdir(exist_ok=True)
    write_plugin_settings(plan)
    argv = build_argv(plan)
    env = build_env(plan, base_env)
    live = ResultsBuilder()
    follower = _Follower(plan.run_dir / "events-main.jsonl", live)
    started = time.monotonic()
    # The test now running, and since when it was seen running: start-up and collection,
    # however long, never count against a test.
    watched: tuple[int, str] | None = None
    watched_since = started
    killed: list[str] = []

    first_test_at: list[float] = []

    def tick() -> bool:
        nonlocal watched, watched_since
        follower.poll()
        if not first_test_at and live.starts:
            first_test_at.append(time.monotonic())
        if on_progress is not None:
            on_progress(live.results, time.monotonic() - started)
        if plan.timeout_s <= 0 or plan.workers != 1:
            return False  # with workers, xdist replaces a worker that its hard stop ended
        running = live.current
        key = (live.starts, running.nodeid) if running is not None else None
        if key != watched:
            watched, watched_since = key, time.monotonic()
        if (
            running is not None
            and time.monotonic() - watched_since > plan.timeout_s + WATCHDOG_GRACE_S
        ):
            killed.append(f"gate stopped the test process: {running.nodeid} hung")
            return True
        return False

    completed = proc.run(
        argv, cwd=plan.root, env=env, output_file=plan.run_dir / "pytest.log", on_tick=tick
    )
    follower.poll()  # the rest of the main file; the live builder has read all before it
    if first_test_at and plan.durations and plan.shard is None and xdist_workers(plan) == 0:
        # What each xdist worker would pay again: `workers: auto` weighs it next time. (A
        # shard leaves the durations file alone: it knows only its own share of the tests.)
        record_startup(plan.durations, first_test_at[0] - started)
    results = collect_results(plan.run_dir, live)
    reason = killed[0] if killed else None
    if results.running:
        hard_stop = _hard_stop_text(plan.run_dir)
        if reason is None:
            reason = (
                f"hung past tests.timeout ({plan.timeout_s:g}s) and was stopped"
                if hard_stop
                else f"the test process ended unexpectedly (exit {completed.code}) during this test"
            )
        mark_stopped(results, reason, hard_stop)
    notes = override_notes(plan, *_project_settings(plan.run_dir, plan.root))
    given = [*plan.args, *plan.extra_args]
    notes += override_notes(plan, given, "", whose="the pytest arguments given to gate")
    return TestOutcome(results, completed.code, completed.output, reason, tuple(argv), notes)


def _project_settings(run_dir: Path, root: Path) -> tuple[list[str], str]:
    """The project's addopts (ini file, then PYTEST_ADDOPTS) as the plugin recorded them."""
    try:
        recorded = json.loads((run_dir / "pytest-settings.json").read_text(encoding="utf-8"))
        args = [str(arg) for arg in recorded.get("addopts") or []]
        args += shlex.split(str(recorded.get("env_addopts") or ""))
    except (OSError, ValueError):
        return [], ""  # pytest ended before configuring: nothing was overridden
    inifile = recorded.get("inifile")
    where = "PYTEST_ADDOPTS"
    if inifile:
        path = Path(inifile)
        where = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    return args, where


def override_notes(
    plan: TestPlan,
    project_args: Sequence[str],
    where: str,
    whose: str = "the project's pytest settings",
) -> list[str]:
    """What gate overrode in the project's own pytest settings (or in the arguments given to
    gate: tests.args, after `--`), in the user's words."""
    source = f"{whose} ({where})" if where else whose
    notes = []
    coverage_args = _coverage_options(project_args)
    if plan.interpreter.has("pytest_cov") and coverage_args:
        fail_under = _option_value(project_args, "--cov-fail-under")
        floor = f", not --cov-fail-under={fail_under}" if fail_under else ""
        notes.append(
            f"{source} turn on pytest-cov "
            f"({' '.join(coverage_args)}); gate passed --no-cov and measured coverage itself, "
            f"so gate's coverage thresholds decide the verdict{floor}"
        )
    workers = _option_value(project_args, "-n") or _option_value(project_args, "--numprocesses")
    if plan.interpreter.has("xdist") and workers:
        passed = str(xdist_workers(plan))
        notes.append(
            f"{source} ask for -n {workers}; gate passed "
            f"-n {passed}, so tests.workers ({plan.workers}) decides how many workers run"
        )
    return notes


# pytest-cov's options that take no value; the others take the next argument unless "=".
_COV_FLAGS = {"--cov-branch", "--cov-append", "--cov-reset", "--no-cov-on-fail"}


def _coverage_options(args: Sequence[str]) -> list[str]:
    """pytest-cov's options with their values: `--cov-report xml`, not `--cov-report`."""
    found: list[str] = []
    taking = False
    for arg in args:
        if taking and not arg.startswith("-"):
            found.append(arg)
            taking = False
        elif arg.startswith("--cov"):
            found.append(arg)
            taking = "=" not in arg and arg not in _COV_FLAGS
        else:
            taking = False
    return found


def _option_value(args: Sequence[str], option: str) -> str | None:
    """The last value given for an option, in any spelling argparse accepts."""
    value = None
    for index, arg in enumerate(args):
        if arg == option and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith(option + "="):
            value = arg.partition("=")[2]
        elif len(option) == 2 and arg.startswith(option) and len(arg) > 2:
            value = arg[2:]  # -nauto, -n4
    return value


def _hard_stop_text(run_dir: Path) -> str:
    texts = []
    for path in sorted(run_dir.glob("hard-stop-*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if "Thread" in text or "File" in text:
            texts.append(text.strip())
    return "\n\n".join(texts)[-8000:]


def collect_results(run_dir: Path, live: ResultsBuilder | None = None) -> TestResults:
    """All the events of a run; `live` has already read the whole main file (the follower),
    so it is not read twice."""
    builder = live or ResultsBuilder()
    # The main file holds the reports; worker files hold blocking findings and timers.
    for path in sorted(run_dir.glob("events-*.jsonl"), key=lambda p: p.name != "events-main.jsonl"):
        if live is None or path.name != "events-main.jsonl":
            builder.feed_lines(path.read_text(encoding="utf-8", errors="replace").splitlines())
    return builder.results
