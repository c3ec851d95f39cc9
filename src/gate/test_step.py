"""The test step of `gate run`: pytest in the project's interpreter under coverage, its results
read back, and coverage combined into the reports the config asks for."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gate.configure import Configured
from gate.coverage_data import (
    CoverageResult,
    CoverageSettings,
    combine_and_report,
    measurement_core,
    write_rcfile,
)
from gate.errors import InfraError, UsageError
from gate.greenlet_use import uses_greenlets
from gate.locate import locate_failures
from gate.outcome import RunOutcome, timed
from gate.prefetch import prefetch
from gate.reporters.live import LiveProgress
from gate.results import TestResults, redacted
from gate.run_options import RunOptions
from gate.shard import Shard, save_run_data, shard_summary
from gate.testrun import BlockingPlan, TestPlan, run_tests

if TYPE_CHECKING:
    from rich.console import Console

PYTEST_COULD_NOT_START = (2, 3, 4)  # interrupted, internal error, usage error
# Imported after the tests: the judge, the reports, and coverage.py combining and reporting.
AFTER_TESTS = ("gate.judge", "rich.console", "gate.reporters.terminal")
AFTER_COVERAGE = ("coverage", "sqlite3", "xml.dom.minidom")


@dataclass(frozen=True)
class Tested:
    """What the test step hands the judge."""

    __test__ = False

    results: TestResults
    coverage: CoverageResult | None
    coverage_xml_text: str | None  # `--coverage-xml -`: printed with the reports


def coverage_settings(configured: Configured, outcome: RunOutcome) -> CoverageSettings | None:
    coverage = configured.config.coverage
    if not coverage.measured:
        return None
    # greenlet comes with SQLAlchemy, and coverage's greenlet support costs ~10% on every
    # call: it is asked for only when the project's own code runs in greenlets.
    greenlet = configured.interpreter.has("greenlet") and uses_greenlets(
        configured.config.root, coverage.source
    )
    if greenlet:
        outcome.notes.append(
            "coverage concurrency set to thread,greenlet: greenlet is installed, and async "
            "SQLAlchemy code runs in greenlets that coverage misses otherwise"
        )
    return CoverageSettings(
        source=list(coverage.source),
        omit=list(coverage.omit),
        branch=coverage.branch,
        greenlet=greenlet,
        core=measurement_core(
            configured.interpreter.python_version,
            configured.interpreter.packages.get("coverage"),
            coverage.branch,
            greenlet,
        ),
    )


def chosen_workers(configured: Configured, options: RunOptions) -> int | str:
    chosen = options.workers if options.workers is not None else configured.config.tests.workers
    if chosen != 1 and not configured.interpreter.has("xdist"):
        raise UsageError(
            f"tests.workers is {chosen} but pytest-xdist is not installed in "
            f"{configured.interpreter.path}; add pytest-xdist to the project's test "
            "dependencies or set tests.workers: 1"
        )
    return chosen


def _pytest_usage_error(output: str) -> str:
    """pytest's own "error: ..." words when it refused its command line (exit 4), else ""."""
    if "usage: " not in output:
        return ""
    found = re.search(r"^\S[^\n]*?: error: ([^\n]+)$", output, re.MULTILINE)
    return found[1] if found else ""


def run_test_step(
    configured: Configured,
    options: RunOptions,
    outcome: RunOutcome,
    console: Console,
    *,
    env: Mapping[str, str],
    workers: int,
    worker_env: Mapping[str, Mapping[str, str]],
    run_dir: Path,
    hide: Callable[[str], str],
) -> Tested:
    config = configured.config
    step = outcome.step("test")
    settings = coverage_settings(configured, outcome)
    rcfile = None
    if settings is not None:
        rcfile = run_dir / "coveragerc"
        write_rcfile(rcfile, settings, config.root)
    blocking = None
    if config.blocking.mode != "off":
        blocking = BlockingPlan(
            config.blocking.mode, config.blocking.slow_ms, config.blocking.allow, config.root
        )
    plan = TestPlan(
        root=config.root,
        interpreter=configured.interpreter,
        paths=list(config.tests.paths),
        args=list(config.tests.args),
        extra_args=list(options.extra_args),
        workers=workers,
        timeout_s=float(config.tests.timeout),
        run_dir=run_dir / "tests",
        rcfile=rcfile,
        blocking=blocking,
        server_errors=None if config.server_errors.mode == "off" else config.root,
        shard=options.shard,
        durations=config.tests.durations,
        worker_env=worker_env,
    )
    shard = options.shard
    with timed(step), LiveProgress(console, options.live) as live:
        prefetched: list[object] = []

        def progress(results: TestResults, elapsed_s: float) -> None:
            # First called once pytest has started: what the rest of the run imports loads
            # on the other core meanwhile, not before pytest starts.
            if not prefetched:
                later = AFTER_TESTS + (AFTER_COVERAGE if rcfile is not None else ())
                prefetched.append(prefetch(*later))
            live.update(results, elapsed_s)

        tested = run_tests(plan, env, on_progress=progress)
        outcome.notes += tested.notes
        results = locate_failures(redacted(tested.results, hide), config.root)
        outcome.results = results
        if results.blocking_errors:
            last = results.blocking_errors[0].strip().splitlines()[-1:] or ["unknown error"]
            outcome.notes.append(
                f"the blocking detector stopped on an internal error ({last[0]}); blocking "
                "findings may be incomplete"
            )
        totals = results.totals
        step.detail = (
            f"{totals['total']} tests: {totals['passed']} passed, {totals['failed']} failed, "
            f"{totals['errors']} errors, {totals['skipped']} skipped"
        )
        if (
            tested.exit_code in PYTEST_COULD_NOT_START
            and not results.cases
            and not results.collect_errors
        ):
            refused = _pytest_usage_error(tested.output)
            if refused:
                raise UsageError(
                    f"pytest refused its arguments ({hide(refused)}); fix tests.args, the "
                    "arguments after `gate run --` or the project's addopts"
                )
            raise InfraError(
                f"pytest could not start (exit {tested.exit_code}); its output ends:\n"
                + hide("\n".join(tested.output.rstrip().splitlines()[-20:]))
            )
        if results.bad_cases or results.collect_errors or tested.killed_reason:
            step.output = ""  # failures are listed from the results, not the raw log
            step.status = "failed"
        else:
            step.status = "ok"
    coverage, xml_text = None, None
    if settings is not None and rcfile is not None:
        # Part of running the tests under coverage (pytest-cov does it inside pytest's time),
        # so the step's time includes it; no step counted it before.
        started = time.monotonic()
        try:
            coverage, xml_text = _combine_coverage(configured, options, plan.run_dir, rcfile)
        finally:
            step.duration_s += time.monotonic() - started
        outcome.coverage = coverage
    if shard is not None:
        _save_shard(configured, outcome, shard, plan.run_dir, hide)
    return Tested(results, coverage, xml_text)


def _combine_coverage(
    configured: Configured, options: RunOptions, tests_dir: Path, rcfile: Path
) -> tuple[CoverageResult | None, str | None]:
    config = configured.config
    reports = config.reports
    xml = options.coverage_xml_path or reports.coverage_xml
    to_stdout = xml is not None and str(xml) == "-"
    # Written into the run folder first when it goes to stdout: teardown removes that
    # folder before the reports are printed.
    xml_path = (
        None if xml is None else tests_dir / "coverage.xml" if to_stdout else options.resolve(xml)
    )
    coverage = combine_and_report(
        tests_dir / "coverage", rcfile, config.root, xml_path=xml_path, html_dir=reports.html
    )
    text = None
    if to_stdout and xml_path is not None and xml_path.exists():
        text = xml_path.read_text(encoding="utf-8")
    return coverage, text


def _save_shard(
    configured: Configured,
    outcome: RunOutcome,
    shard: Shard,
    tests_dir: Path,
    hide: Callable[[str], str],
) -> None:
    """Keep the shard's raw results for `gate merge`; the run folder goes at teardown."""
    root = configured.config.root
    folder = shard.folder(root)
    save_run_data(tests_dir, folder, hide)
    summary = shard_summary(tests_dir)
    if summary is not None:
        balance = (
            f"balanced by recorded durations ({summary['with_durations']} known)"
            if summary["with_durations"]
            else "no recorded durations yet: split by name"
        )
        outcome.notes.append(
            f"shard {shard.label}: {summary['selected']} of {summary['of']} tests, {balance}"
        )
    outcome.notes.append(
        f"shard {shard.label}: results in {folder.relative_to(root)}; coverage "
        "floors and diff coverage are judged by `gate merge` on all shards together"
    )
