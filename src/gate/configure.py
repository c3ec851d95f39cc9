"""The config step of `gate run`: gate.yaml read and checked, and everything decided that the
later steps need (database request, interpreter, report destinations), before anything starts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gate.config import Config, find_config, load_config
from gate.diff_coverage import choose_base, require_base
from gate.errors import UsageError
from gate.interpreter import Interpreter, choose_python, probe
from gate.migration_checks import RECORDED, plan_checks
from gate.migration_lint import RECORDED as LINT_RECORDED
from gate.migration_target import migrations_without_run_database
from gate.outcome import Step
from gate.provision import DatabaseRequest
from gate.ratchet.setup import RatchetRun
from gate.ratchet.setup import for_run as ratchet_for_run
from gate.redact import url_secrets
from gate.reporters.destinations import check_destinations
from gate.run_options import RunOptions
from gate.template_key import KeyScope


@dataclass(frozen=True)
class Configured:
    """What the config step decided; every later step starts from it."""

    path: Path  # the config file
    config: Config
    request: DatabaseRequest
    interpreter: Interpreter
    ratchet: RatchetRun | None  # the baseline, read once; None when `ratchet` is unset


def database_request(config: Config, options: RunOptions) -> DatabaseRequest:
    database = config.database.with_server_url(options.database_url, "--database-url")
    mode = database.effective_mode
    return DatabaseRequest(
        mode=mode,
        server=database.server_address() if mode == "server" else None,
        scheme=database.scheme,
        export=dict(database.export),
        keep=options.keep_db or database.keep,
        bin_dir=database.bin_dir,
        cache=not options.no_cache,
        environ=options.environ,
        migrations=tuple(config.migrations.command or ()),
        root=config.root,
        recorded_checks=(
            *(c for c in config.migrations.checks if c in RECORDED),
            *((LINT_RECORDED,) if config.migrations.lint.mode != "off" else ()),
        ),
    )


def report_destinations(options: RunOptions, config: Config) -> list[tuple[str, Path | str, bool]]:
    """(flag or key, path, is a folder) of every report this run writes."""
    reports = config.reports
    chosen = [
        ("--json", options.json_path, "reports.json", reports.json),
        ("--junit", options.junit_path, "reports.junit", reports.junit),
        ("--coverage-xml", options.coverage_xml_path, "reports.coverage_xml",
         reports.coverage_xml),
        ("", None, "reports.markdown", reports.markdown),
    ]  # fmt: skip
    targets: list[tuple[str, Path | str, bool]] = []
    for flag, given, key, configured in chosen:
        if given is not None:
            targets.append((flag, options.resolve(given), False))
        elif configured:
            targets.append((key, configured, False))
    if reports.html is not None:
        targets.append(("reports.html", reports.html, True))
    return targets


def configure(options: RunOptions, step: Step, on_config: Callable[[Config], None]) -> Configured:
    """Reads and checks the config; `on_config` hears of it as soon as it is read (the reports
    of a run that stops later in this step still go where the config says)."""
    path = find_config(options.config_path, options.cwd)
    config = load_config(path, options.environ)
    on_config(config)
    request = dataclasses.replace(
        database_request(config, options),
        key_scope=KeyScope(
            exclude=(path, *(config.root / p.split("::")[0] for p in config.tests.paths)),
            env=tuple(sorted(config.env.items())),
            database=(("scheme", config.database.scheme), *sorted(config.database.export.items())),
        ),
    )
    refusal = migrations_without_run_database(
        config.migrations.command, config.database.export, config.database.effective_mode
    )
    if refusal is not None:
        raise UsageError(refusal)
    plan_checks(config.migrations.checks, config.migrations.command, request.mode)
    check_destinations(report_destinations(options, config))
    ratchet = ratchet_for_run(config, options)  # a bad baseline or flag: refused now
    if config.coverage.measured and config.coverage.diff is not None:
        base = choose_base(config.coverage.diff.base, options.base, options.environ)
        require_base(config.root, options.environ, base)
    python = choose_python(config.tests.python, config.root, options.environ)
    interpreter = probe(
        python, options.environ, coverage=config.coverage.measured, root=config.root
    )
    step.detail = f"{path.name}; Python {interpreter.python_version} at {python}"
    return Configured(path, config, request, interpreter, ratchet)


def secrets_of(config: Config) -> list[str]:
    return url_secrets(config.database.url) if config.database.url else []
