"""The `gate` console script: Ctrl-C or SIGTERM while gate is still starting exits 130.

Importing the command line (typer, rich, pydantic) takes a few tenths of a second; a signal
in that window used to end gate with a traceback (Ctrl-C) or exit 143 (SIGTERM). Nothing has
been created yet then, so there is nothing to tear down: exit as an interrupted run does.
"""

from __future__ import annotations

import contextlib
import os
import sys

from gate.signals import interrupt_on_termination


def main() -> None:
    interrupt_on_termination()
    try:
        from gate.cli import run_app

        # typer builds the command before it parses (and catches interrupts): that window
        # lands here too. Once running, typer makes an interrupt exit 130, and `gate run`
        # first unwinds everything it made.
        run_app()
    except KeyboardInterrupt:
        sys.stderr.write("gate: interrupted\n")
        _exit_interrupted()
    except SystemExit as exc:
        if exc.code == 130:
            _exit_interrupted()
        raise


def _exit_interrupted() -> None:
    """Exit 130 for certain. A KeyboardInterrupt that once passed through code run by exec()
    of a string (dataclasses and namedtuple make methods so, at import) marks the interpreter,
    which then ends itself with SIGINT at exit (status -2, not 130) although gate caught it.
    Everything gate made is removed by now; only the streams need flushing."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(130)
