"""The end of every run, `gate run` and `gate merge` alike: the evaluate step runs every
registered check; then the verdict, the exit code (130 on interrupt) and the reports."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from gate.checks import Check, Evidence, run_checks
from gate.checks.migration_lint import lint_evidence
from gate.config import Config
from gate.coverage_data import CoverageResult
from gate.database_use import DatabaseUse
from gate.diff_coverage import choose_base, diff_coverage
from gate.errors import InfraError
from gate.migration_lint import Linted
from gate.outcome import RunOutcome, timed
from gate.previous_run import read_previous_coverage
from gate.ratchet.setup import RatchetRun, mark_known
from gate.reports import ReportPlan, write_reports
from gate.results import TestResults
from gate.run_options import RunOptions


def gather_evidence(
    config: Config,
    options: RunOptions,
    outcome: RunOutcome,
    results: TestResults,
    coverage: CoverageResult | None,
    linted: Linted | None = None,
    ratchet: RatchetRun | None = None,
    database_use: DatabaseUse | None = None,
) -> Evidence:
    """What the checks read; diff coverage is measured here, against the base git gives.
    The ratchet baseline was read once, where the run's config was checked."""
    diff = None
    if config.coverage.diff is not None and coverage is not None and options.shard is None:
        base = choose_base(config.coverage.diff.base, options.base, options.environ)
        diff = diff_coverage(config.root, options.environ, base, coverage)
        outcome.diff_coverage = diff
    # Known offenders (places the ratchet baseline holds) are reported, not failing.
    results.blocking, results.server_errors = mark_known(
        ratchet, results.blocking, results.server_errors
    )
    return Evidence(
        config=config,
        results=results,
        coverage=coverage,
        diff_coverage=diff,
        shard=options.shard,
        root=config.root,
        migration_lint=lint_evidence(linted, config.coverage.diff.base if config.coverage.diff
                                     else "", options.base, options.environ, config.root),
        ratchet=ratchet,
        previous_coverage=read_previous_coverage(_previous_report(config, options)),
        database_use=database_use,
    )  # fmt: skip


def _previous_report(config: Config, options: RunOptions) -> Path | None:
    """Where this run's JSON report goes, which still holds the previous run's until the
    report step writes it."""
    target = options.json_path or config.reports.json
    if target is None or str(target) == "-":
        return None
    return options.resolve(target)


def evaluate(
    outcome: RunOutcome,
    config: Config,
    options: RunOptions,
    results: TestResults,
    coverage: CoverageResult | None,
    linted: Linted | None = None,
    ratchet: RatchetRun | None = None,
    database_use: DatabaseUse | None = None,
) -> None:
    """The evaluate step: every check's named verdicts, findings and report keys."""
    step = outcome.step("evaluate")
    with timed(step):
        evidence = gather_evidence(
            config, options, outcome, results, coverage, linted, ratchet, database_use
        )
        for judgement in run_checks(evidence):
            outcome.checks += judgement.checks
            outcome.findings += judgement.findings
            outcome.report_sections.update(judgement.report)
            outcome.notes += judgement.notes
        failed = [check.name for check in outcome.checks if not check.passed]
        step.detail = f"failed: {', '.join(failed)}" if failed else "all checks passed"


def verdict(checks: Sequence[Check], *, step_failed: bool) -> str:
    return "fail" if step_failed or not all(check.passed for check in checks) else "pass"


def conclude(outcome: RunOutcome, plan: ReportPlan, started: float) -> RunOutcome:
    """The verdict and exit code (unless an error set them), then every report."""
    if outcome.error is None:
        step_failed = any(step.status == "failed" for step in outcome.steps.values())
        outcome.verdict = verdict(outcome.checks, step_failed=step_failed)
        outcome.exit_code = 0 if outcome.verdict == "pass" else 1
    outcome.duration_s = time.monotonic() - started
    try:
        write_reports(outcome, plan)
    except OSError as exc:
        outcome.stop(InfraError.exit_code, f"could not write a report: {exc}")
    outcome.duration_s = time.monotonic() - started
    return outcome
