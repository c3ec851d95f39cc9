"""`gate check`, `gate schema` and `gate clean`: what a run would do, the config's schema, and
what killed runs left."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from gate.cli import GateErrorExit, app, make_console


@app.command("check")
def check_command(
    config: Annotated[Path | None, typer.Option("-c", "--config", help="gate.yaml to use")] = None,
) -> None:
    """Validate the config and say what a run would do; runs nothing."""
    from gate.preview import describe_run

    console = make_console("auto")
    # Whole before printed: a problem found late must not follow half a plan.
    for line in list(describe_run(config, Path.cwd(), dict(os.environ))):
        console.print(line, markup=False, highlight=False)


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of gate.yaml, for editors' completion and checks."""
    from gate.config.schema import schema_text

    typer.echo(schema_text(), nl=False)


@app.command("clean")
def clean_command(
    older_than: Annotated[
        float | None,
        typer.Option("--older-than", help="Also clean runs older than this many hours"),
    ] = None,
    cache: Annotated[
        bool,
        typer.Option(
            "--cache", help="Also remove the caches: migrated templates and cached clusters"
        ),
    ] = False,
) -> None:
    """Remove databases, servers and temp folders left by runs that were killed."""
    if older_than is not None and not older_than > 0:  # also refuses nan
        raise GateErrorExit(
            f"--older-than must be a number of hours above 0 (got {older_than:g})",
            2,
        )
    from gate.clean import clean_leftovers
    from gate.ledger import state_dir

    report = clean_leftovers(
        state_dir(), older_than_s=None if older_than is None else older_than * 3600
    )
    if cache:
        from gate.provision import clean_caches

        removed, problems = clean_caches(state_dir(), os.environ)
        report.removed += removed
        report.problems += problems
    for line in report.removed:
        typer.echo(f"removed {line}")
    for line in report.kept:
        typer.echo(f"kept {line}")
    for line in report.problems:
        typer.echo(f"problem: {line}", err=True)
    if not (report.removed or report.kept or report.problems):
        typer.echo("nothing to clean")
    raise typer.Exit(3 if report.problems else 0)
