"""`gate run`: config, provision, migrate, test, evaluate, report, teardown — teardown always.

Each step is a function in a module of its own that returns what the next step needs; this
module strings them together on one ExitStack, so that a failed step, Ctrl-C or SIGTERM unwind
the same way, and hands the outcome to the judge, which `gate merge` shares.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gate import proc
from gate.clean import reap_dead_runs
from gate.config import Config
from gate.configure import configure, secrets_of
from gate.database.address import ServerAddress
from gate.entry import collect_garbage_again
from gate.interpreter import bin_dir_first
from gate.ledger import run_ledger, state_dir
from gate.migrate import migrate, migration_checker
from gate.migration_lint import migration_lint
from gate.outcome import RunOutcome, errors_recorded, timed
from gate.provision import provision_database, worker_count
from gate.ratchet.setup import RatchetRun
from gate.redact import redact, url_secrets
from gate.run_options import RunOptions, new_run_id
from gate.shown_commands import hiding
from gate.signals import interrupts_unwind, shielded
from gate.test_step import chosen_workers, run_test_step

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["RunOptions", "new_run_id", "run_gate"]


@dataclass
class _Run:
    """What the whole run shares: the outcome it fills and the secrets it must never show."""

    options: RunOptions
    console: Console
    outcome: RunOutcome
    secrets: list[str] = field(default_factory=list)
    config: Config | None = None  # once read: the reports of a run that stops go where it says
    ratchet: RatchetRun | None = None  # the baseline the config step read, for --update-ratchet
    coverage_xml_text: str | None = None
    kept: str | None = None  # --keep-db: what stays ("the database", ...)
    cached_template: str | None = None  # a migrated template left on a given server, as a cache

    def hide(self, text: str) -> str:
        return redact(text, self.secrets)

    def read_config(self, config: Config) -> None:
        self.config = config
        self.outcome.root = config.root
        self.secrets += secrets_of(config)


def _teardown_detail(run: _Run) -> str:
    kept = [] if run.kept is None else [f"{run.kept} (--keep-db)"]
    if run.cached_template is not None:
        # By design: the next run with the same migrations clones it instead of migrating.
        kept.append(
            f"the migrated template {run.cached_template}, kept as a cache "
            "(gate clean --cache removes it)"
        )
    if not kept:
        return "removed everything this run created"
    return "removed everything this run created but " + " and ".join(kept)


def run_gate(options: RunOptions, console: Console) -> RunOutcome:
    """Run the whole gate; never raises for problems it can explain (see outcome.error)."""
    collect_garbage_again()
    started = time.monotonic()
    outcome = RunOutcome(root=options.cwd, run_id=new_run_id())
    run = _Run(options, console, outcome)
    if options.database_url:
        run.secrets += url_secrets(options.database_url)
    stack = contextlib.ExitStack()
    interrupted = "interrupted; everything this run created was removed"
    with (
        errors_recorded(outcome, run.hide, interrupted=interrupted),
        interrupts_unwind(),
        hiding(run.hide),
    ):
        try:
            _run_steps(run, stack)
        finally:
            teardown = outcome.step("teardown")
            with shielded(), timed(teardown):
                stack.close()
                teardown.detail = _teardown_detail(run)
    # The judge and the reports load while the tests run (test_step.AFTER_TESTS).
    from gate.judge import conclude
    from gate.reports import plan_reports

    plan = plan_reports(options, run.config, run.hide, run.coverage_xml_text, run.ratchet)
    return conclude(outcome, plan, started)


def _run_steps(run: _Run, stack: contextlib.ExitStack) -> None:
    options, outcome = run.options, run.outcome
    with timed(outcome.step("config")) as step:
        configured = configure(options, step, run.read_config)
    config, run.ratchet = configured.config, configured.ratchet

    run_dir = Path(tempfile.mkdtemp(prefix=f"gate-run-{outcome.run_id}-"))
    states = state_dir(dict(options.environ))
    outcome.notes += reap_dead_runs(states)
    ledger = stack.enter_context(run_ledger(outcome.run_id, states))
    stack.enter_context(proc.recording(ledger.add_process, ledger.forget_process))
    ledger.add_folder(run_dir)
    stack.callback(ledger.forget_folder, run_dir)
    stack.callback(shutil.rmtree, run_dir, True)

    with timed(outcome.step("provision")) as step:
        provisioned = stack.enter_context(
            provision_database(configured.request, outcome.run_id, ledger)
        )
        run.secrets += provisioned.secrets
        step.detail = provisioned.detail

    # (database owner) Migrate first (into the cached template, or the run database without
    # the cache), then make the run's databases: one, plus a clone per xdist worker.
    lint = migration_lint(config, provisioned, run_dir)
    if lint is not None:
        stack.callback(lint.wait)  # it may still write in run_dir, removed after this
    migrated = migrate(
        configured, provisioned, outcome, environ=options.environ, run_dir=run_dir,
        hide=run.hide, lint=lint,
    )  # fmt: skip
    request = configured.request
    if request.mode == "server" and request.cache and provisioned.template is not None:
        run.cached_template = provisioned.template
    if not migrated:
        return
    # `workers: auto` is decided once, here: the databases made and the -n pytest gets must
    # agree, and the decision reads the durations file and the load of the machine.
    worker_total = worker_count(chosen_workers(configured, options), config.tests.durations)
    with timed(outcome.step("provision")) as step:
        provisioned.create_run_databases(worker_total)
        step.detail = provisioned.detail
        if configured.request.keep and provisioned.address is not None:
            _announce_kept(run, provisioned.address, server_started=provisioned.server_started)
    checker = migration_checker(configured, options.environ, run_dir)
    if checker is not None and provisioned.address is not None:
        with timed(outcome.step("migrate")):
            outcome.checks += checker.drift(provisioned)  # against the fresh run database

    env = bin_dir_first(
        configured.interpreter.path, {**options.environ, **config.env, **provisioned.env}
    )
    watch = provisioned.watch_database_use(migrated=bool(config.migrations.command))
    tested = run_test_step(
        configured,
        options,
        outcome,
        run.console,
        env=env,
        workers=worker_total,
        worker_env=provisioned.worker_env,
        run_dir=run_dir,
        hide=run.hide,
    )
    run.coverage_xml_text = tested.coverage_xml_text
    linted = lint.result() if lint is not None else None
    use = watch.finish() if watch is not None else None
    from gate.judge import evaluate  # loaded while the tests ran (test_step.AFTER_TESTS)

    evaluate(outcome, config, options, tested.results, tested.coverage, linted,
             configured.ratchet, use)  # fmt: skip


def _announce_kept(run: _Run, address: ServerAddress, *, server_started: bool) -> None:
    command = " ".join(
        shlex.quote(part)
        for part in ("psql", "-h", address.host, "-p", str(address.port), "-U", address.user,
                     "-d", address.database)
    )  # fmt: skip
    asks = " (it asks for the password)" if address.password else ""
    if server_started:
        run.kept, stay = "the database and its private server", "stay"
    else:
        run.kept, stay = "the database", "stays"
    run.outcome.notes.append(
        f"--keep-db: {run.kept} {stay}; reach it with: {command}{asks}; `gate clean` removes it"
    )
