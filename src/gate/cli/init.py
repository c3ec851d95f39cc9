"""`gate init`: a commented gate.yaml for the project, proved by `gate check` (and a run)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from gate.cli import app, make_console
from gate.cli.run import run_command, show_outcome


@app.command("init")
def init_command(
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing gate.yaml")] = False,
    run: Annotated[
        bool, typer.Option("--run", help="Then run the gate once with the config it wrote")
    ] = False,
    ratchet: Annotated[
        bool,
        typer.Option(
            "--ratchet",
            help="Adopt gate as the project is: turn the ratchet on and run the gate once to "
            "write its baseline",
        ),
    ] = False,
) -> None:
    """Write a commented gate.yaml for the project in the current folder, then check it."""
    from gate.initialize import sniff_project, undetermined, write_gate_yaml
    from gate.preview import describe_run

    facts = sniff_project(Path.cwd())
    path = write_gate_yaml(Path.cwd(), force=force, facts=facts)
    if ratchet:
        from gate.ratchet.adopt import DEFAULT_BASELINE, enable_ratchet

        enable_ratchet(path)
        typer.echo(f"wrote {path} with `ratchet: {DEFAULT_BASELINE}`; `gate check` says:")
    else:
        typer.echo(f"wrote {path}; `gate check` says:")
    # The guess is proved before the user relies on it: what `gate check` would refuse
    # is said now, as one paragraph, with exit 2.
    for line in list(describe_run(path, Path.cwd(), dict(os.environ))):
        typer.echo(f"  {line}")
    unknown = undetermined(facts)
    if unknown is not None:
        typer.echo(unknown)
    if ratchet:
        from gate.ratchet.adopt import write_first_baseline

        typer.echo("running the gate once to write the ratchet baseline")
        console = make_console("auto")
        outcome = write_first_baseline(Path.cwd(), dict(os.environ), console)
        show_outcome(console, outcome, quiet=False, verbose=False)
    elif run:
        _first_run(path)
    else:
        typer.echo("run `gate run` to gate the project")


def _first_run(path: Path) -> None:
    """Run the gate once; genuine blocking findings, the one failure a project adopting gate
    cannot fix on the spot, go into blocking.allow (a comment each) and the gate runs again.
    (With --ratchet they go into the ratchet baseline instead.)"""
    from gate.blocking_triage import triage
    from gate.initialize import allow_entries, with_allow
    from gate.pipeline import RunOptions, run_gate

    console = make_console("auto")
    options = RunOptions(cwd=Path.cwd(), environ=dict(os.environ), config_path=path)
    outcome = run_gate(options, console)
    failed = {check.name for check in outcome.checks if not check.passed}
    findings = [] if outcome.results is None else triage(outcome.results.blocking).failing
    if failed != {"blocking"} or not findings or outcome.exit_code != 1:
        show_outcome(console, outcome, quiet=False, verbose=False)
        return
    entries = allow_entries(findings)
    path.write_text(with_allow(path.read_text(encoding="utf-8"), entries), encoding="utf-8")
    typer.echo(
        f"the first run found {len(findings)} blocking call(s) at {len(entries)} place(s) in "
        f"your code; they are now in blocking.allow in {path.name}, each with a comment "
        "saying what was found, so the gate passes and a new one fails. Running again:"
    )
    run_command(config=path)
