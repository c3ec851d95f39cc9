"""`gate run` and `gate merge`: a run, or the shards of one, judged and shown."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gate.cli import (
    AllowLowerOption,
    ColorOption,
    GateErrorExit,
    UpdateRatchetOption,
    app,
    check_color,
    make_console,
)

if TYPE_CHECKING:
    from rich.console import Console

    from gate.outcome import RunOutcome


# The options `gate run` and `gate merge` share.
ConfigOption = Annotated[Path | None, typer.Option("-c", "--config", help="gate.yaml to use")]
JsonOption = Annotated[str | None, typer.Option("--json", help="Write the JSON report here")]
JunitOption = Annotated[str | None, typer.Option("--junit", help="Write JUnit XML here")]
CoverageXmlOption = Annotated[
    str | None, typer.Option("--coverage-xml", help="Write Cobertura XML here")
]
BaseOption = Annotated[str | None, typer.Option("--base", help="git ref for diff coverage")]
QuietOption = Annotated[bool, typer.Option("-q", "--quiet", help="Only the verdict")]


@app.command("run", context_settings={"allow_interspersed_args": False})
def run_command(
    extra: Annotated[
        list[str] | None,
        typer.Argument(help="Extra pytest arguments, after --", show_default=False),
    ] = None,
    config: ConfigOption = None,
    json_path: JsonOption = None,
    junit: JunitOption = None,
    coverage_xml: CoverageXmlOption = None,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Use this PostgreSQL server (implies server mode)"),
    ] = None,
    keep_db: Annotated[
        bool, typer.Option("--keep-db", help="Keep the database and print how to reach it")
    ] = False,
    workers: Annotated[
        str | None, typer.Option("--workers", help="Run tests in parallel: N or auto")
    ] = None,
    base: BaseOption = None,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard", help="Run share I of N of the tests (e.g. 1/4); combine with `gate merge`"
        ),
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache", help="Migrate from scratch: no cached template or initialised cluster"
        ),
    ] = False,
    update_ratchet: UpdateRatchetOption = False,
    allow_lower: AllowLowerOption = None,
    quiet: QuietOption = False,
    verbose: Annotated[
        bool,
        typer.Option("-v", "--verbose", help="Full failure output, and each command gate runs"),
    ] = False,
    color: ColorOption = "auto",
) -> None:
    """Provision a database, migrate, run the tests under coverage, and judge the result."""
    from gate.pipeline import run_gate
    from gate.run_options import RunOptions
    from gate.shard import parse_shard
    from gate.shown_commands import shown_on

    # A report written to stdout (`--json -`) owns it: the summary goes to stderr, so that
    # `gate run --json - | jq` reads one JSON document.
    reports = {"--json": json_path, "--junit": junit, "--coverage-xml": coverage_xml}
    on_stdout = [flag for flag, target in reports.items() if target == "-"]
    if len(on_stdout) > 1:
        raise GateErrorExit(
            f"{' and '.join(on_stdout)} both ask for stdout, which holds one report; "
            "send all but one to a file",
            2,
        )
    to_stdout = bool(on_stdout)
    console = make_console(check_color(color), sys.stderr if to_stdout else None)
    parsed_shard = None if shard is None else parse_shard(shard)
    parsed_workers: int | str | None = None
    if workers is not None:
        if workers == "auto":
            parsed_workers = "auto"
        elif workers.isdigit() and int(workers) >= 1:
            parsed_workers = int(workers)
        else:
            raise GateErrorExit(
                f"--workers must be a number of at least 1 or auto (got {workers!r})", 2
            )
    options = RunOptions(
        cwd=Path.cwd(),
        environ=dict(os.environ),
        config_path=config,
        json_path=json_path,
        junit_path=junit,
        coverage_xml_path=coverage_xml,
        database_url=database_url,
        keep_db=keep_db,
        workers=parsed_workers,
        base=base,
        shard=parsed_shard,
        no_cache=no_cache,
        extra_args=list(extra or []),
        update_ratchet=update_ratchet,
        allow_lower=allow_lower,
        verbose=verbose,
        live=not quiet and not os.environ.get("CI"),
    )
    with shown_on(console, wanted=verbose):
        outcome = run_gate(options, console)
    show_outcome(console, outcome, quiet=quiet, verbose=verbose)


def show_outcome(console: Console, outcome: RunOutcome, *, quiet: bool, verbose: bool) -> None:
    from gate.reporters.terminal import render_terminal

    if outcome.exit_code == 2 and outcome.error:
        # Bad input: one paragraph that names the file, key and fix; no step table around it.
        typer.echo(f"gate: {outcome.error}", err=True)
    elif quiet:
        for note in outcome.notes:
            if note.startswith("--keep-db"):  # asked for: printed even when quiet
                console.print(note, highlight=False, markup=False)
        console.print(f"{outcome.verdict.upper()} (exit {outcome.exit_code})")
        if outcome.error:
            console.print(f"error: {outcome.error}", highlight=False, markup=False)
    else:
        render_terminal(console, outcome, verbose=verbose)
    raise typer.Exit(outcome.exit_code)


@app.command("merge")
def merge_command(
    folders: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Shard result folders, or folders holding them (default: .gate/shards)",
            metavar="DIR",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    json_path: JsonOption = None,
    junit: JunitOption = None,
    coverage_xml: CoverageXmlOption = None,
    base: BaseOption = None,
    update_ratchet: UpdateRatchetOption = False,
    allow_lower: AllowLowerOption = None,
    quiet: QuietOption = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Full failure output")] = False,
    color: ColorOption = "auto",
) -> None:
    """Judge the shards of `gate run --shard I/N` as one run: tests, coverage and thresholds."""
    from gate.merge import merge_shards
    from gate.run_options import RunOptions

    console = make_console(check_color(color))
    options = RunOptions(
        cwd=Path.cwd(),
        environ=dict(os.environ),
        config_path=config,
        json_path=json_path,
        junit_path=junit,
        coverage_xml_path=coverage_xml,
        base=base,
        update_ratchet=update_ratchet,
        allow_lower=allow_lower,
        verbose=verbose,
        live=False,
    )
    outcome = merge_shards(list(folders or []), options, console)
    show_outcome(console, outcome, quiet=quiet, verbose=verbose)
