"""The `gate` console script: Ctrl-C or SIGTERM while gate is still starting exits 130.

Importing the command line (typer, rich, pydantic) takes a few tenths of a second; a signal
in that window used to end gate with a traceback (Ctrl-C) or exit 143 (SIGTERM). Nothing has
been created yet then, so there is nothing to tear down: exit as an interrupted run does.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys

from gate.signals import interrupt_on_termination


def main() -> None:
    # Importing what `gate run` needs leaves ~60,000 objects the collector tracks and under
    # 1,000 of garbage; its passes over them cost ~20 ms of the start. Commands that run long
    # (gate run, gate merge) turn it back on once their imports are done
    # (collect_garbage_again); a short one ends first.
    gc.disable()
    interrupt_on_termination()
    try:
        from gate.cli import run_app

        # typer builds the command before it parses (and catches interrupts): that window
        # lands here too. Once running, typer makes an interrupt exit 130, and `gate run`
        # first unwinds everything it made.
        run_app()
        _exit_now(0)
    except KeyboardInterrupt:
        sys.stderr.write("gate: interrupted\n")
        _exit_interrupted()
    except SystemExit as exc:
        if exc.code == 130:
            _exit_interrupted()
        if exc.code is None or isinstance(exc.code, int):
            _exit_now(exc.code or 0)
        raise


def collect_garbage_again() -> None:
    """What was imported stays for good: frozen, the collector never looks at it again."""
    gc.freeze()
    gc.enable()


def _exit_now(code: int) -> None:
    """Exit without the interpreter's teardown: by now the run has removed what it made,
    released every process and folder the lifeline watcher held, joined its threads and
    written its reports. Clearing ~500 modules and collecting their objects took ~0.1 s
    after the verdict was printed; the kernel closes the watcher's pipe all the same."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _exit_interrupted() -> None:
    """Exit 130 for certain. A KeyboardInterrupt that once passed through code run by exec()
    of a string (dataclasses and namedtuple make methods so, at import) marks the interpreter,
    which then ends itself with SIGINT at exit (status -2, not 130) although gate caught it.
    Everything gate made is removed by now; only the streams need flushing."""
    _exit_now(130)
