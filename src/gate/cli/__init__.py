"""The `gate` command line: the typer app, its shared options, and the only place that exits.

Each command lives in a module of this package: run.py (run, merge), init.py, project.py
(check, schema, clean), hook.py (hook install|uninstall).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from gate.errors import GateError

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    name="gate",
    help="A quality gate for Python backends: a throwaway PostgreSQL database, migrations, "
    "pytest under coverage, blocking-call detection and one verdict, the same everywhere.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: typer's rich help renderer imports markdown, syntax and traceback support
    # (~0.2 s), which made `gate --help` three times as slow as importing typer and rich.
    rich_markup_mode=None,
)


def make_console(color: str, stream: object = None) -> Console:
    def build() -> Console:
        from rich.console import Console  # only commands that print a report need it

        in_ci = bool(os.environ.get("CI"))
        force = True if color == "always" else False if color == "never" else None
        return Console(
            file=stream if stream is not None else sys.stdout,  # type: ignore[arg-type]
            force_terminal=force if force is not None else (False if in_ci else None),
            no_color=color == "never" or None,
            highlight=False,
            soft_wrap=True,
        )

    return cast("Console", _DeferredConsole(build))


class _DeferredConsole:
    """rich's Console, built when first used. Importing rich takes ~30 ms; a run with -q or in
    CI prints nothing before its verdict, and rich loads in the background while tests run."""

    def __init__(self, build: Callable[[], Console]) -> None:
        self._build = build
        self._console: Console | None = None

    def _real(self) -> Console:
        if self._console is None:
            self._console = self._build()
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)

    # rich's Live and its stdout proxy hold the console in `with` blocks, and Python looks
    # these two up on the class, not through __getattr__.
    def __enter__(self) -> Console:
        return self._real().__enter__()

    def __exit__(self, *exc: object) -> None:
        self._real().__exit__(*exc)


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


def check_color(color: str) -> str:
    if color.lower() not in ("auto", "always", "never"):
        raise GateErrorExit(f"--color must be auto, always or never (got {color!r})", 2)
    return color.lower()


class GateErrorExit(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# The commands register themselves on `app` when imported.
from gate.cli import hook, init, project, run  # noqa: E402

app.add_typer(hook.hook_app, name="hook")

__all__ = ["app", "hook", "init", "project", "run", "run_app"]


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
