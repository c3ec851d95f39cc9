"""The migrate step: the project's migration command into the run's template or database, and
the migration checks (single head, roundtrip, drift) around it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from pathlib import Path

from gate import proc
from gate.checks.base import Check
from gate.config import missing_migration_tool
from gate.configure import Configured
from gate.errors import UsageError
from gate.interpreter import bin_dir_first
from gate.migration_checks import MigrationChecker, alembic_of
from gate.migration_lint import MigrationLint
from gate.migration_target import schema_objects, unchanged_message
from gate.outcome import RunOutcome, timed
from gate.provision import Provisioned


def migration_checker(
    configured: Configured, environ: Mapping[str, str], run_dir: Path
) -> MigrationChecker | None:
    migrations, config = configured.config.migrations, configured.config
    if not migrations.checks or not migrations.command:
        return None
    alembic = alembic_of(migrations.command)
    if alembic is None:
        return None
    python = configured.interpreter.path
    return MigrationChecker(
        checks=list(migrations.checks),
        alembic=alembic,
        command=migrations.command,
        root=config.root,
        run_dir=run_dir,
        env_for=lambda database: bin_dir_first(python, {**environ, **config.env, **database}),
    )


def migrate(
    configured: Configured,
    provisioned: Provisioned,
    outcome: RunOutcome,
    *,
    environ: Mapping[str, str],
    run_dir: Path,
    hide: Callable[[str], str],
    lint: MigrationLint | None = None,
) -> bool:
    """Runs the migrations (once per template key with the cache); False when they failed."""
    config = configured.config
    step = outcome.step("migrate")
    command = config.migrations.command
    if not command:
        step.detail = "no migrations.command"
        return True
    checker = migration_checker(configured, environ, run_dir)
    with timed(step), provisioned.migration_target(command, config.root) as target:
        # (database owner) With the template cache, migrations run once per key into the
        # template; a cached one means there is nothing to run.
        if target.cached:
            step.detail = f"cached template {target.name} (`{' '.join(command)}` not rerun)"
            if checker is not None:
                outcome.checks += checker.from_template(target, provisioned)
            if lint is not None:
                lint.from_template(target)
            return True
        step.detail = " ".join(command)
        built = (
            None if provisioned.server is None else provisioned.server.with_database(target.name)
        )
        before = None if built is None or not target.name else schema_objects(built)
        env = bin_dir_first(configured.interpreter.path, {**environ, **config.env, **target.env})
        try:
            with lint.capture(target) if lint is not None else contextlib.nullcontext():
                completed = proc.run(
                    command, cwd=config.root, env=env, output_file=run_dir / "migrate.log"
                )
        except proc.CommandNotFound as exc:
            raise UsageError(missing_migration_tool(exc.executable, config.root)) from exc
        if completed.code != 0:
            step.status = "failed"  # set before output: the terminal shows failed steps' output
            step.output = hide(completed.output) or "(no output)"
            step.detail = f"{' '.join(command)} exited {completed.code}"
            outcome.checks.append(
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
                outcome.checks += checker.after_failure()
            return False
        if built is not None and before is not None and schema_objects(built) == before:
            step.status = "failed"
            step.detail = f"{' '.join(command)}: the run's database is unchanged"
            message = unchanged_message(list(command), target.name)
            outcome.checks.append(Check("migrations", False, 0, 1, message))
            return False
        if checker is not None:
            outcome.checks += checker.after_migrations(target, provisioned)
        target.succeeded()
        if target.slot is not None:
            step.detail += f" (into new template {target.slot.name})"
    return True
