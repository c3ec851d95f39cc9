"""Turns SIGTERM (and SIGHUP) into the same unwinding as Ctrl-C, and shields teardown from both."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

_HANDLED = (signal.SIGTERM, signal.SIGHUP)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def interrupt_on_termination() -> None:
    """For the whole process, SIGTERM/SIGHUP raise KeyboardInterrupt unless someone already
    handles them; the console script calls it first, before its heavy imports."""
    for sig in _HANDLED:
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, _raise_interrupt)


@contextlib.contextmanager
def interrupts_unwind() -> Iterator[None]:
    """While inside, SIGTERM/SIGHUP raise KeyboardInterrupt, so every `finally` runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in _HANDLED}
    for sig in _HANDLED:
        signal.signal(sig, _raise_interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Teardown must finish: a second Ctrl-C or SIGTERM while it runs is ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = (signal.SIGINT, *_HANDLED)
    previous = {sig: signal.getsignal(sig) for sig in sigs}
    for sig in sigs:
        signal.signal(sig, signal.SIG_IGN)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
