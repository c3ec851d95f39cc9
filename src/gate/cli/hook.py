"""`gate hook install|uninstall`: the commands around hook.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

hook_app = typer.Typer(
    help="Install or remove the git pre-push hook that runs gate.", no_args_is_help=True
)


@hook_app.command("install")
def install_command(
    force: Annotated[
        bool,
        typer.Option("--force", help="Install even when an earlier chained hook would be deleted"),
    ] = False,
) -> None:
    """Write the pre-push hook: every push runs `gate run` first and stops when it fails.

    A pre-push hook that is already there is kept and runs first.
    """
    from gate.hook import install_hook

    for line in install_hook(Path.cwd(), force=force):
        typer.echo(line)


@hook_app.command("uninstall")
def uninstall_command(
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Also take away a pre-push hook that is not gate's (moved aside)"
        ),
    ] = False,
) -> None:
    """Remove gate's pre-push hook and put back the hook that was there before."""
    from gate.hook import uninstall_hook

    for line in uninstall_hook(Path.cwd(), force=force):
        typer.echo(line)
