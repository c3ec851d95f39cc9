"""`gate run`: config, provision, migrate, test, evaluate, report, teardown — teardown always."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import secrets
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from gate import proc
from gate.config import (
    SERVER_WITHOUT_URL,
    Config,
    find_config,
    load_config,
    missing_migration_tool,
)
from gate.coverage_data import (
    CoverageSettings,
    combine_and_report,
    measurement_core,
    write_rcfile,
)
from gate.diff_coverage import choose_base, diff_coverage, require_base
from gate.durations import write_durations
from gate.errors import GateError, InfraError, UsageError
from gate.evaluate import Check, diff_coverage_check, evaluate, verdict
from gate.interpreter import Interpreter, bin_dir_first, choose_python, probe
from gate.ledger import run_ledger, state_dir
from gate.locate import locate_failures
from gate.migration_checks import RECORDED, MigrationChecker, alembic_of, plan_checks
from gate.outcome import RunOutcome, Step
from gate.provision import DatabaseRequest, Provisioned, provision_database, worker_count
from gate.redact import redact, url_secrets
from gate.reporters.ci import write_ci_outputs
from gate.reporters.destinations import check_destinations, writable
from gate.reporters.json_report import render_json
from gate.reporters.junit import render_junit
from gate.reporters.live import LiveProgress
from gate.reporters.markdown import render_markdown
from gate.reporters.output import write_report
from gate.results import redacted
from gate.shard import Shard, manifest, save_run_data, shard_checks, shard_summary
from gate.signals import interrupts_unwind, shielded
from gate.template_cache import KeyScope
from gate.testrun import BlockingPlan, TestPlan, run_tests

PYTEST_COULD_NOT_START = (2, 3, 4)  # interrupted, internal error, usage error


@dataclass(frozen=True)
class RunOptions:
    """What the command line adds to gate.yaml."""

    cwd: Path
    environ: Mapping[str, str]
    config_path: Path | None = None
    json_path: str | None = None
    junit_path: str | None = None
    coverage_xml_path: str | None = None
    database_url: str | None = None
    keep_db: bool = False
    workers: int | str | None = None
    base: str | None = None  # --base: the git ref diff coverage compares with
    shard: Shard | None = None  # --shard I/N: run a share of the tests; `gate merge` judges all
    no_cache: bool = False  # --no-cache: no migrated template, no cached cluster
    extra_args: Sequence[str] = ()
    verbose: bool = False
    live: bool = True


def new_run_id() -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + "_" + secrets.token_hex(3)


@contextlib.contextmanager
def timed(step: Step) -> Iterator[Step]:
    started = time.monotonic()
    step.status = "running"
    try:
        yield step
    except BaseException:
        if step.status == "running":
            step.status = "failed"
        raise
    else:
        if step.status == "running":
            step.status = "ok"
    finally:
        step.duration_s += time.monotonic() - started


@dataclass
class _Run:
    options: RunOptions
    console: Console
    outcome: RunOutcome
    config: Config | None = None
    interpreter: Interpreter | None = None
    secrets: list[str] = field(default_factory=list)
    coverage_xml_text: str | None = None  # `--coverage-xml -`: printed with the reports
    kept: str | None = None  # --keep-db: what stays ("the database", ...)

    def hide(self, text: str) -> str:
        return redact(text, self.secrets)


def _database_request(config: Config, options: RunOptions) -> DatabaseRequest:
    database = config.database
    url = options.database_url or database.url
    mode = "server" if options.database_url else database.effective_mode
    if mode == "server" and not url:
        raise UsageError(SERVER_WITHOUT_URL)
    return DatabaseRequest(
        mode=mode,
        server_url=url,
        server_url_source="--database-url" if options.database_url else database.url_source,
        scheme=database.scheme,
        export=dict(database.export),
        keep=options.keep_db or database.keep,
        bin_dir=database.bin_dir,
    )


def _base_env(run: _Run, provisioned: Provisioned) -> dict[str, str]:
    assert run.config is not None and run.interpreter is not None
    env = dict(run.options.environ)
    env.update(run.config.env)
    env.update(provisioned.env)
    return bin_dir_first(run.interpreter.path, env)


def _migration_checker(run: _Run, run_dir: Path) -> MigrationChecker | None:
    assert run.config is not None and run.interpreter is not None
    migrations = run.config.migrations
    if not migrations.checks or not migrations.command:
        return None
    alembic = alembic_of(migrations.command)
    if alembic is None:
        return None
    interpreter, config, environ = run.interpreter, run.config, run.options.environ
    return MigrationChecker(
        checks=list(migrations.checks),
        alembic=alembic,
        command=migrations.command,
        root=config.root,
        run_dir=run_dir,
        env_for=lambda database: bin_dir_first(
            interpreter.path, {**environ, **config.env, **database}
        ),
    )


def _migrate(run: _Run, provisioned: Provisioned, run_dir: Path) -> bool:
    assert run.config is not None and run.interpreter is not None
    step = run.outcome.step("migrate")
    command = run.config.migrations.command
    if not command:
        step.detail = "no migrations.command"
        return True
    checker = _migration_checker(run, run_dir)
    with timed(step), provisioned.migration_target(command, run.config.root) as target:
        # (database owner) With the template cache, migrations run once per key into the
        # template; a cached one means there is nothing to run.
        if target.cached:
            step.detail = f"cached template {target.name} (`{' '.join(command)}` not rerun)"
            if checker is not None:
                run.outcome.checks += checker.from_template(target, provisioned)
            return True
        step.detail = " ".join(command)
        env = bin_dir_first(
            run.interpreter.path, {**run.options.environ, **run.config.env, **target.env}
        )
        try:
            completed = proc.run(
                command, cwd=run.config.root, env=env, output_file=run_dir / "migrate.log"
            )
        except proc.CommandNotFound as exc:
            raise UsageError(missing_migration_tool(exc.executable, run.config.root)) from exc
        if completed.code != 0:
            step.status = "failed"  # set before output: the terminal shows failed steps' output
            step.output = run.hide(completed.output) or "(no output)"
            step.detail = f"{' '.join(command)} exited {completed.code}"
            run.outcome.checks.append(
                Check(
                    "migrations",
                    False,
                    completed.code,
                    0,
                    f"migrations failed: `{' '.join(command)}` exited {completed.code}; "
                    "its output is above",
                )
            )
            if checker is not None:
                run.outcome.checks += checker.after_failure()
            return False
        if checker is not None:
            run.outcome.checks += checker.after_migrations(target, provisioned)
        target.succeeded()
        if target.slot is not None:
            step.detail += f" (into new template {target.slot.name})"
    return True


def _coverage_settings(run: _Run) -> CoverageSettings | None:
    assert run.config is not None and run.interpreter is not None
    coverage = run.config.coverage
    if not coverage.source:
        return None
    greenlet = run.interpreter.has("greenlet")
    if greenlet:
        run.outcome.notes.append(
            "coverage concurrency set to thread,greenlet: greenlet is installed, and async "
            "SQLAlchemy code runs in greenlets that coverage misses otherwise"
        )
    return CoverageSettings(
        source=list(coverage.source),
        omit=list(coverage.omit),
        branch=coverage.branch,
        greenlet=greenlet,
        core=measurement_core(
            run.interpreter.python_version,
            run.interpreter.packages.get("coverage"),
            coverage.branch,
            greenlet,
        ),
    )


def _workers(run: _Run) -> int | str:
    assert run.config is not None and run.interpreter is not None
    workers = run.options.workers if run.options.workers is not None else run.config.tests.workers
    if workers != 1 and not run.interpreter.has("xdist"):
        raise UsageError(
            f"tests.workers is {workers} but pytest-xdist is not installed in "
            f"{run.interpreter.path}; add pytest-xdist to the project's test dependencies or "
            "set tests.workers: 1"
        )
    return workers


def _test(
    run: _Run, env: Mapping[str, str], run_dir: Path, worker_env: Mapping[str, Mapping[str, str]]
) -> None:
    config = run.config
    assert config is not None and run.interpreter is not None
    step = run.outcome.step("test")
    settings = _coverage_settings(run)
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
        interpreter=run.interpreter,
        paths=list(config.tests.paths),
        args=list(config.tests.args),
        extra_args=list(run.options.extra_args),
        workers=_workers(run),
        timeout_s=float(config.tests.timeout),
        run_dir=run_dir / "tests",
        rcfile=rcfile,
        blocking=blocking,
        shard=run.options.shard,
        durations=config.tests.durations,
        worker_env=worker_env,
    )
    with timed(step), LiveProgress(run.console, run.options.live) as live:
        tested = run_tests(plan, env, on_progress=live.update)
        run.outcome.notes += tested.notes
        results = locate_failures(redacted(tested.results, run.hide), config.root)
        run.outcome.results = results
        if results.blocking_errors:
            last = results.blocking_errors[0].strip().splitlines()[-1:] or ["unknown error"]
            run.outcome.notes.append(
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
            and not (results.collect_errors)
        ):
            refused = _pytest_usage_error(tested.output)
            if refused:
                raise UsageError(
                    f"pytest refused its arguments ({run.hide(refused)}); fix tests.args, the "
                    "arguments after `gate run --` or the project's addopts"
                )
            raise InfraError(
                f"pytest could not start (exit {tested.exit_code}); its output ends:\n"
                + run.hide("\n".join(tested.output.rstrip().splitlines()[-20:]))
            )
        if results.bad_cases or results.collect_errors or tested.killed_reason:
            step.output = ""  # failures are listed from the results, not the raw log
            step.status = "failed"
        else:
            step.status = "ok"
    if settings is not None and rcfile is not None:
        reports = config.reports
        xml = run.options.coverage_xml_path or reports.coverage_xml
        to_stdout = xml is not None and str(xml) == "-"
        # Written into the run folder first when it goes to stdout: teardown removes that
        # folder before the reports are printed.
        xml_path = (
            None
            if xml is None
            else plan.run_dir / "coverage.xml"
            if to_stdout
            else _resolve(xml, run)
        )
        run.outcome.coverage = combine_and_report(
            plan.run_dir / "coverage",
            rcfile,
            config.root,
            xml_path=xml_path,
            html_dir=reports.html,
        )
        if to_stdout and xml_path is not None and xml_path.exists():
            run.coverage_xml_text = xml_path.read_text(encoding="utf-8")
    if plan.shard is not None:
        _save_shard(run, plan.shard, plan.run_dir)


def _save_shard(run: _Run, shard: Shard, tests_dir: Path) -> None:
    """Keep the shard's raw results for `gate merge`; the run folder goes at teardown."""
    assert run.config is not None
    folder = shard.folder(run.config.root)
    save_run_data(tests_dir, folder, run.hide)
    summary = shard_summary(tests_dir)
    if summary is not None:
        balance = (
            f"balanced by recorded durations ({summary['with_durations']} known)"
            if summary["with_durations"]
            else "no recorded durations yet: split by name"
        )
        run.outcome.notes.append(
            f"shard {shard.label}: {summary['selected']} of {summary['of']} tests, {balance}"
        )
    run.outcome.notes.append(
        f"shard {shard.label}: results in {folder.relative_to(run.config.root)}; coverage "
        "floors and diff coverage are judged by `gate merge` on all shards together"
    )


def _pytest_usage_error(output: str) -> str:
    """pytest's own "error: ..." words when it refused its command line (exit 4), else ""."""
    if "usage: " not in output:
        return ""
    found = re.search(r"^\S[^\n]*?: error: ([^\n]+)$", output, re.MULTILINE)
    return found[1] if found else ""


def _report_destinations(run: _Run) -> list[tuple[str, Path | str, bool]]:
    """(flag or key, path, is a folder) of every report this run writes."""
    options, reports = run.options, run.config.reports if run.config else None
    chosen = [
        ("--json", options.json_path, "reports.json", reports and reports.json),
        ("--junit", options.junit_path, "reports.junit", reports and reports.junit),
        ("--coverage-xml", options.coverage_xml_path, "reports.coverage_xml",
         reports and reports.coverage_xml),
        ("", None, "reports.markdown", reports and reports.markdown),
    ]  # fmt: skip
    targets: list[tuple[str, Path | str, bool]] = []
    for flag, given, key, configured in chosen:
        if given is not None:
            targets.append((flag, _resolve(given, run), False))
        elif configured:
            targets.append((key, configured, False))
    if reports is not None and reports.html is not None:
        targets.append(("reports.html", reports.html, True))
    return targets


def _resolve(path: str | Path, run: _Run) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else run.options.cwd / candidate


def _evaluate(run: _Run) -> None:
    config = run.config
    assert config is not None
    step = run.outcome.step("evaluate")
    with timed(step):
        shard = run.options.shard
        if run.outcome.results is not None and shard is not None:
            # One shard's coverage is a part of the whole: `gate merge` judges the floors.
            checks = evaluate(
                run.outcome.results,
                None,
                coverage_floor=None,
                per_file_floor=0,
                coverage_expected=False,
                blocking_mode=config.blocking.mode,
            )
            run.outcome.checks += shard_checks(checks, run.outcome.results, shard)
        elif run.outcome.results is not None:
            coverage = config.coverage
            run.outcome.checks += evaluate(
                run.outcome.results,
                run.outcome.coverage,
                coverage_floor=coverage.fail_under if coverage.source else None,
                per_file_floor=coverage.per_file,
                coverage_expected=bool(coverage.source),
                blocking_mode=config.blocking.mode,
            )
            if coverage.diff is not None and run.outcome.coverage is not None:
                base = choose_base(coverage.diff.base, run.options.base, run.options.environ)
                diff = diff_coverage(config.root, run.options.environ, base, run.outcome.coverage)
                run.outcome.diff_coverage = diff
                run.outcome.checks.append(
                    diff_coverage_check(diff, coverage.diff.fail_under, coverage.diff.min_lines)
                )
        failed = [check.name for check in run.outcome.checks if not check.passed]
        step.detail = f"failed: {', '.join(failed)}" if failed else "all checks passed"


def _write_reports(run: _Run) -> None:
    step = run.outcome.step("report")
    config = run.config
    targets: list[tuple[str | Path, str]] = []
    json_target = run.options.json_path or (config.reports.json if config else None)
    junit_target = run.options.junit_path or (config.reports.junit if config else None)
    with timed(step):
        if junit_target is not None:
            targets.append((junit_target, "junit"))
        if config is not None and config.reports.markdown is not None:
            targets.append((config.reports.markdown, "markdown"))
        if json_target is not None:
            targets.append((json_target, "json"))
        if run.coverage_xml_text is not None:
            targets.append(("-", "coverage_xml"))
        written = []
        for target, kind in targets:
            path = target if str(target) == "-" else _resolve(target, run)
            if run.outcome.error is not None and not writable(path):
                continue  # the error already says so (see check_destinations)
            if kind == "json":
                step.status = "ok"  # the JSON report describes itself as written
                text = render_json(run.outcome)
            elif kind == "markdown":
                text = render_markdown(run.outcome)
            elif kind == "coverage_xml":
                text = run.coverage_xml_text or ""
            else:
                text = render_junit(run.outcome)
            write_report(path, run.hide(text))
            written.append(str(target))
        # A shard's numbers are partial (GitLab would record its coverage line as the job's):
        # the CI provider hears from `gate merge` only.
        if config is not None and run.options.shard is None:
            # CI runners read workflow commands from stderr too; stdout may hold a report.
            stream = sys.stderr if any(str(t) == "-" for t, _ in targets) else sys.stdout
            written += write_ci_outputs(
                run.outcome, run.options.environ, run.outcome.root, stream, run.hide
            )
        written += _write_shard_or_durations(run)
        step.detail = ", ".join(written)


def _write_shard_or_durations(run: _Run) -> list[str]:
    """A shard's folder for `gate merge`; otherwise the test durations that shards balance by."""
    config, outcome, shard = run.config, run.outcome, run.options.shard
    if config is None:
        return []
    if shard is not None:
        folder = shard.folder(config.root)
        reports = {
            "junit.xml": render_junit(outcome),
            "report.json": render_json(outcome),
            "shard.json": manifest(
                shard,
                config.root,
                outcome.run_id,
                outcome.verdict,
                outcome.exit_code,
                outcome.error,
            ),
        }
        for name, text in reports.items():
            write_report(folder / name, run.hide(text))
        return [str(folder.relative_to(config.root))]
    results = outcome.results
    if config.tests.durations is not None and results is not None and results.cases:
        write_durations(config.tests.durations, results)
        return [os.path.relpath(config.tests.durations, config.root)]
    return []


def run_gate(options: RunOptions, console: Console) -> RunOutcome:
    """Run the whole gate; never raises for problems it can explain (see outcome.error)."""
    started = time.monotonic()
    outcome = RunOutcome(root=options.cwd, run_id=new_run_id())
    run = _Run(options, console, outcome)
    if options.database_url:
        run.secrets += url_secrets(options.database_url)
    stack = contextlib.ExitStack()
    try:
        with interrupts_unwind():
            try:
                _run_steps(run, stack)
            finally:
                teardown = outcome.step("teardown")
                with shielded(), timed(teardown):
                    stack.close()
                    teardown.detail = (
                        "removed everything this run created"
                        if run.kept is None
                        else f"removed everything this run created but {run.kept} (--keep-db)"
                    )
    except KeyboardInterrupt:
        outcome.verdict, outcome.exit_code = "error", 130
        outcome.error = "interrupted; everything this run created was removed"
    except GateError as exc:
        outcome.verdict, outcome.exit_code = "error", exc.exit_code
        outcome.error = run.hide(exc.message)
    if outcome.error is None:
        step_failed = any(step.status == "failed" for step in outcome.steps.values())
        outcome.verdict = verdict(outcome.checks, step_failed=step_failed)
        outcome.exit_code = 0 if outcome.verdict == "pass" else 1
    outcome.duration_s = time.monotonic() - started
    try:
        _write_reports(run)
    except OSError as exc:
        outcome.error = f"could not write a report: {exc}"
        outcome.verdict, outcome.exit_code = "error", 3
    outcome.duration_s = time.monotonic() - started
    return outcome


def _run_steps(run: _Run, stack: contextlib.ExitStack) -> None:
    options, outcome = run.options, run.outcome
    with timed(outcome.step("config")) as step:
        path = find_config(options.config_path, options.cwd)
        config = load_config(path, options.environ)
        run.config = config
        outcome.root = config.root
        if config.database.url:
            run.secrets += url_secrets(config.database.url)
        request = _database_request(config, options)
        request = dataclasses.replace(
            request,
            cache=not options.no_cache,
            environ=options.environ,
            migrations=tuple(config.migrations.command or ()),
            root=config.root,
            recorded_checks=tuple(c for c in config.migrations.checks if c in RECORDED),
            key_scope=KeyScope(
                exclude=(path, *(config.root / p.split("::")[0] for p in config.tests.paths)),
                env=tuple(sorted(config.env.items())),
            ),
        )
        plan_checks(config.migrations.checks, config.migrations.command, request.mode)
        check_destinations(_report_destinations(run))
        if config.coverage.source and config.coverage.diff is not None:
            base = choose_base(config.coverage.diff.base, options.base, options.environ)
            require_base(config.root, options.environ, base)
        python = choose_python(config.tests.python, config.root, options.environ)
        run.interpreter = probe(
            python, options.environ, coverage=bool(config.coverage.source), root=config.root
        )
        step.detail = f"{path.name}; Python {run.interpreter.python_version} at {python}"

    run_dir = Path(tempfile.mkdtemp(prefix=f"gate-run-{outcome.run_id}-"))
    ledger = stack.enter_context(run_ledger(outcome.run_id, state_dir(dict(options.environ))))
    stack.enter_context(proc.recording(ledger.add_process, ledger.forget_process))
    ledger.add_folder(run_dir)
    stack.callback(ledger.forget_folder, run_dir)
    stack.callback(shutil.rmtree, run_dir, True)

    with timed(outcome.step("provision")) as step:
        provisioned = stack.enter_context(provision_database(request, outcome.run_id, ledger))
        run.secrets += provisioned.secrets
        step.detail = provisioned.detail

    # (database owner) Migrate first (into the cached template, or the run database without
    # the cache), then make the run's databases: one, plus a clone per xdist worker.
    if not _migrate(run, provisioned, run_dir):
        return
    with timed(outcome.step("provision")) as step:
        provisioned.create_run_databases(worker_count(_workers(run), run.config.tests.durations))
        step.detail = provisioned.detail
        if request.keep and provisioned.address is not None:
            _announce_kept(run, provisioned)
    checker = _migration_checker(run, run_dir)
    if checker is not None and provisioned.address is not None:
        with timed(outcome.step("migrate")):
            outcome.checks += checker.drift(provisioned)  # against the fresh run database

    _test(run, _base_env(run, provisioned), run_dir, provisioned.worker_env)
    _evaluate(run)


def _announce_kept(run: _Run, provisioned: Provisioned) -> None:
    address = provisioned.address
    assert address is not None
    command = " ".join(
        shlex.quote(part)
        for part in ("psql", "-h", address.host, "-p", str(address.port), "-U", address.user,
                     "-d", address.database)
    )  # fmt: skip
    asks = " (it asks for the password)" if address.password else ""
    if provisioned.server_started:
        run.kept, stay = "the database and its private server", "stay"
    else:
        run.kept, stay = "the database", "stays"
    run.outcome.notes.append(
        f"--keep-db: {run.kept} {stay}; reach it with: {command}{asks}; `gate clean` removes it"
    )
