"""The `gate` console script: Ctrl-C or SIGTERM while gate is still starting exits 130.

Importing the command line (typer, rich, pydantic) takes a few tenths of a second; a signal
in that window used to end gate with a traceback (Ctrl-C) or exit 143 (SIGTERM). Nothing has
been created yet then, so there is nothing to tear down: exit as an interrupted run does.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main() -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, _interrupt)
    try:
        from gate.cli import main as cli_main

        # typer builds the command before it parses (and catches interrupts): that window
        # lands here too. Once running, typer makes an interrupt exit 130, and `gate run`
        # first unwinds everything it made.
        cli_main()
    except KeyboardInterrupt:
        sys.stderr.write("gate: interrupted\n")
        sys.exit(130)
