"""`gate check`: validates the config and describes what a run would do, without running it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

from gate.config import find_config, load_config, missing_migration_tool
from gate.diff_coverage import choose_base, require_base
from gate.errors import UsageError
from gate.initialize import TODO_MARK
from gate.interpreter import bin_dir_first, choose_python, probe
from gate.migration_target import migrations_without_run_database
from gate.ratchet.setup import describe as describe_ratchet
from gate.redact import mask_url
from gate.reporters.destinations import check_destinations


def describe_run(explicit: Path | None, cwd: Path, environ: Mapping[str, str]) -> Iterator[str]:
    path = find_config(explicit, cwd)
    config = load_config(path, environ)
    yield f"config: {path} is valid"
    yield f"root: {config.root}"
    database = config.database
    mode = database.effective_mode
    if mode == "server":
        database.server_address()  # what `gate run` refuses, `gate check` refuses too
        origin = "" if database.url_source == "database.url" else f" (from {database.url_source})"
        yield f"database: a throwaway database on {mask_url(database.url or '')}{origin}"
    elif mode == "ephemeral":
        yield "database: a private PostgreSQL server started from the local binaries"
    else:
        yield "database: none"
    if mode != "none":
        names = ", ".join(database.export)
        yield f"  handed over as: {names} (scheme {database.scheme})"
    command = config.migrations.command
    refusal = migrations_without_run_database(command, database.export, mode)
    if refusal is not None:
        raise UsageError(refusal)
    yield f"migrations: {' '.join(command)}" if command else "migrations: none"
    if command and config.migrations.checks:
        yield f"  checks: {', '.join(config.migrations.checks)}"
    lint = config.migrations.lint
    if command and lint.mode != "off":
        allowed = f"; allowed: {', '.join(lint.allow)}" if lint.allow else ""
        where = "" if mode == "ephemeral" else " (skipped: needs gate's own server to capture)"
        yield f"  lint: {lint.mode}, the statements they run checked with squawk{allowed}{where}"
    python = choose_python(config.tests.python, config.root, environ)
    interpreter = probe(python, environ, coverage=config.coverage.measured, root=config.root)
    if command:
        search_path = bin_dir_first(python, environ)["PATH"]
        found = shutil.which(command[0], path=search_path) or (config.root / command[0]).is_file()
        if not found:
            raise UsageError(missing_migration_tool(command[0], config.root))
    installed = ", ".join(
        f"{name} {version}" for name, version in interpreter.packages.items() if version
    )
    yield f"tests: pytest {' '.join(config.tests.paths)} with Python {interpreter.python_version}"
    yield f"  interpreter: {python} ({installed})"
    yield f"  workers: {config.tests.workers}; timeout per test: {config.tests.timeout:g}s"
    coverage = config.coverage
    if coverage.measured:
        branch = "line+branch" if coverage.branch else "line"
        yield (
            f"coverage: {', '.join(coverage.source)} ({branch}); floor {coverage.fail_under:g}%"
            + (f", per file {coverage.per_file:g}%" if coverage.per_file else "")
        )
        diff = coverage.diff
        if diff is not None:
            require_base(config.root, environ, choose_base(diff.base, None, environ))
            yield (
                f"  diff coverage: lines changed since {diff.base}; floor {diff.fail_under:g}%"
                + (f" from {diff.min_lines} changed lines" if diff.min_lines else "")
            )
    else:
        yield "coverage: not measured (coverage.source is empty)"
    yield f"blocking: {config.blocking.mode} (slow_ms {config.blocking.slow_ms:g})"
    yield describe_ratchet(config.ratchet, config.root)
    reports = config.reports
    for name in ("json", "junit", "coverage_xml", "html", "markdown"):
        target = getattr(reports, name)
        if target is not None:
            check_destinations([(f"reports.{name}", target, name == "html")])
            yield f"report {name}: {target}"
    yield from _init_todos(path)


def _init_todos(path: Path) -> Iterator[str]:
    """What gate init could not decide and left for the user, line by line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return
    for number, line in enumerate(lines, start=1):
        if TODO_MARK in line:
            yield f"todo: {path.name}:{number}: {line.strip().lstrip('#').strip()}"
