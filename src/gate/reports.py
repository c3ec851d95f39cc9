"""The report step: every report a run asked for, written for every outcome, failures included."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from gate.config import Config
from gate.durations import write_durations
from gate.outcome import RunOutcome, timed
from gate.ratchet.setup import RatchetRun
from gate.ratchet.update import write_updated_baseline
from gate.reporters.ci import write_ci_outputs
from gate.reporters.destinations import writable
from gate.reporters.json_report import render_json
from gate.reporters.junit import render_junit
from gate.reporters.markdown import render_markdown
from gate.reporters.output import write_report
from gate.run_options import RunOptions
from gate.shard import Shard, manifest

RENDERERS: dict[str, Callable[[RunOutcome], str]] = {
    "junit": render_junit,
    "markdown": render_markdown,
    "json": render_json,
}


@dataclass(frozen=True)
class ReportPlan:
    """Where each report goes, resolved from the command line and gate.yaml."""

    targets: tuple[tuple[str, Path | str], ...]  # (renderer, path or "-"), the JSON report last
    hide: Callable[[str], str]
    environ: Mapping[str, str]
    config: Config | None  # None: the run stopped before its config was read
    shard: Shard | None = None
    coverage_xml_text: str | None = None  # `--coverage-xml -`: printed with the reports
    update_ratchet: bool = False  # --update-ratchet
    allow_lower: str | None = None  # --allow-lower REASON
    ratchet: RatchetRun | None = None  # the baseline the run was judged by


def plan_reports(
    options: RunOptions,
    config: Config | None,
    hide: Callable[[str], str],
    coverage_xml_text: str | None = None,
    ratchet: RatchetRun | None = None,
) -> ReportPlan:
    reports = config.reports if config is not None else None
    chosen = (
        ("junit", options.junit_path or (reports.junit if reports else None)),
        ("markdown", reports.markdown if reports else None),
        ("json", options.json_path or (reports.json if reports else None)),
    )
    targets = tuple(
        (kind, target if str(target) == "-" else options.resolve(target))
        for kind, target in chosen
        if target is not None
    )
    return ReportPlan(
        targets=targets,
        hide=hide,
        environ=options.environ,
        config=config,
        shard=options.shard,
        coverage_xml_text=coverage_xml_text,
        update_ratchet=options.update_ratchet,
        allow_lower=options.allow_lower,
        ratchet=ratchet,
    )


def write_reports(outcome: RunOutcome, plan: ReportPlan) -> None:
    """Writes every report; the JSON report goes last, so it describes the report step as the
    others left it."""
    step = outcome.step("report")
    written: list[str] = []
    with timed(step):
        ratchet = plan.ratchet
        if plan.update_ratchet and plan.config and ratchet and outcome.error is None:
            note = write_updated_baseline(
                outcome, plan.config, plan.environ, plan.allow_lower, ratchet
            )
            outcome.notes.append(note)
        for kind, path in plan.targets:
            if outcome.error is not None and not writable(path):
                continue  # the error already says so (see check_destinations)
            if kind == "json":
                written += _the_rest(outcome, plan)
                step.detail = ", ".join([*written, str(path)])
                step.status = "ok"
            write_report(path, plan.hide(RENDERERS[kind](outcome)))
            written.append(str(path))
        if not any(kind == "json" for kind, _ in plan.targets):
            written += _the_rest(outcome, plan)
        step.detail = ", ".join(written)


def _the_rest(outcome: RunOutcome, plan: ReportPlan) -> list[str]:
    """Coverage XML to stdout, CI outputs, and the shard's folder or the test durations."""
    written = []
    if plan.coverage_xml_text is not None:
        write_report("-", plan.hide(plan.coverage_xml_text))
        written.append("-")
    config = plan.config
    if config is None:
        return written
    if plan.shard is None:
        # A shard's numbers are partial (GitLab would record its coverage line as the job's):
        # the CI provider hears from `gate merge` only. CI runners read workflow commands
        # from stderr too; stdout may hold a report.
        on_stdout = any(str(path) == "-" for _, path in plan.targets)
        stream = sys.stderr if on_stdout or plan.coverage_xml_text else sys.stdout
        written += write_ci_outputs(outcome, plan.environ, outcome.root, stream, plan.hide)
        results = outcome.results
        if config.tests.durations is not None and results is not None and results.cases:
            write_durations(config.tests.durations, results)
            written.append(os.path.relpath(config.tests.durations, config.root))
        return written
    folder = plan.shard.folder(config.root)
    reports = {
        "junit.xml": render_junit(outcome),
        "report.json": render_json(outcome),
        "shard.json": manifest(
            plan.shard, config.root, outcome.run_id, outcome.verdict, outcome.exit_code,
            outcome.error,
        ),
    }  # fmt: skip
    for name, text in reports.items():
        write_report(folder / name, plan.hide(text))
    return [*written, str(folder.relative_to(config.root))]
