"""The `gate` command line: parses flags, runs a command, and is the only place that exits."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from gate.errors import GateError
from gate.hook_cli import hook_app

if TYPE_CHECKING:
    from gate.outcome import RunOutcome

app = typer.Typer(
    name="gate",
    help="A quality gate for Python backends: a throwaway PostgreSQL database, migrations, "
    "pytest under coverage, blocking-call detection and one verdict, the same everywhere.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def make_console(color: str, stream: object = None) -> Console:
    in_ci = bool(os.environ.get("CI"))
    force = True if color == "always" else False if color == "never" else None
    return Console(
        file=stream if stream is not None else sys.stdout,  # type: ignore[arg-type]
        force_terminal=force if force is not None else (False if in_ci else None),
        no_color=color == "never" or None,
        highlight=False,
        soft_wrap=True,
    )


def _version(value: bool) -> None:
    if value:
        from gate.version_info import version_lines

        for line in version_lines(Path.cwd(), os.environ):  # each as soon as it is known
            typer.echo(line)
        raise typer.Exit(0)


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Show the version, and the Python, PostgreSQL and coverage.py a run would use.",
        ),
    ] = False,
) -> None:
    """gate: the same verdict in a terminal, in CI and as a pre-push hook."""


ColorOption = Annotated[
    str, typer.Option("--color", help="auto | always | never", case_sensitive=False)
]
UpdateRatchetOption = Annotated[
    bool,
    typer.Option(
        "--update-ratchet",
        help="After the run, write the ratchet baseline, tightened to what the run reached",
    ),
]
AllowLowerOption = Annotated[
    str | None,
    typer.Option(
        "--allow-lower",
        metavar="REASON",
        help="With --update-ratchet: let what got worse into the baseline; REASON is kept in it",
    ),
]


def _check_color(color: str) -> str:
    if color.lower() not in ("auto", "always", "never"):
        raise GateErrorExit(f"--color must be auto, always or never (got {color!r})", 2)
    return color.lower()


class GateErrorExit(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@app.command("run", context_settings={"allow_interspersed_args": False})
def run_command(
    extra: Annotated[
        list[str] | None,
        typer.Argument(help="Extra pytest arguments, after --", show_default=False),
    ] = None,
    config: Annotated[Path | None, typer.Option("-c", "--config", help="gate.yaml to use")] = None,
    json_path: Annotated[
        str | None, typer.Option("--json", help="Write the JSON report here")
    ] = None,
    junit: Annotated[str | None, typer.Option("--junit", help="Write JUnit XML here")] = None,
    coverage_xml: Annotated[
        str | None, typer.Option("--coverage-xml", help="Write Cobertura XML here")
    ] = None,
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
    base: Annotated[str | None, typer.Option("--base", help="git ref for diff coverage")] = None,
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
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Only the verdict")] = False,
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
    console = make_console(_check_color(color), sys.stderr if to_stdout else None)
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
    _show_outcome(console, outcome, quiet=quiet, verbose=verbose)


def _show_outcome(console: Console, outcome: RunOutcome, *, quiet: bool, verbose: bool) -> None:
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
    config: Annotated[Path | None, typer.Option("-c", "--config", help="gate.yaml to use")] = None,
    json_path: Annotated[
        str | None, typer.Option("--json", help="Write the JSON report here")
    ] = None,
    junit: Annotated[str | None, typer.Option("--junit", help="Write JUnit XML here")] = None,
    coverage_xml: Annotated[
        str | None, typer.Option("--coverage-xml", help="Write Cobertura XML here")
    ] = None,
    base: Annotated[str | None, typer.Option("--base", help="git ref for diff coverage")] = None,
    update_ratchet: UpdateRatchetOption = False,
    allow_lower: AllowLowerOption = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Only the verdict")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Full failure output")] = False,
    color: ColorOption = "auto",
) -> None:
    """Judge the shards of `gate run --shard I/N` as one run: tests, coverage and thresholds."""
    from gate.merge import merge_shards
    from gate.run_options import RunOptions

    console = make_console(_check_color(color))
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
    _show_outcome(console, outcome, quiet=quiet, verbose=verbose)


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
        _show_outcome(console, outcome, quiet=False, verbose=False)
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
        _show_outcome(console, outcome, quiet=False, verbose=False)
        return
    entries = allow_entries(findings)
    path.write_text(with_allow(path.read_text(encoding="utf-8"), entries), encoding="utf-8")
    typer.echo(
        f"the first run found {len(findings)} blocking call(s) at {len(entries)} place(s) in "
        f"your code; they are now in blocking.allow in {path.name}, each with a comment "
        "saying what was found, so the gate passes and a new one fails. Running again:"
    )
    run_command(config=path)


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


app.add_typer(hook_app, name="hook")


def run_app() -> None:
    """The command line, run: every GateError becomes one paragraph and its exit code.

    Flag and argument errors are typer's (click's) own: usage plus one line, exit 2.
    """
    try:
        app()
    except GateError as exc:
        typer.echo(f"gate: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except GateErrorExit as exc:
        typer.echo(f"gate: {exc.message}", err=True)
        sys.exit(exc.code)
