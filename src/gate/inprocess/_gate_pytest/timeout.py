"""Per-test timeout: SIGALRM stops Python code, a faulthandler hard stop ends hangs in C."""

from __future__ import annotations

import faulthandler
import os
import signal
import threading
import time
from collections.abc import Generator
from typing import IO, Any, Callable

import pytest

# A hang inside C code holding the GIL never returns to the interpreter, so the soft stop
# cannot fire; faulthandler's watchdog is a C thread that dumps every stack and exits anyway.
HARD_STOP_GRACE_S = 3.0  # gate.inprocess.HARD_STOP_GRACE_S: the same number, seen from gate


class TestTimeout(Exception):
    """Raised in the test's thread when it runs past tests.timeout."""

    __test__ = False  # not a test class, despite the name


class TimeoutPlugin:
    """Stops a test that runs longer than ``seconds``; the gate fails naming it."""

    def __init__(
        self, seconds: float, stack_file: str, emit: Callable[[dict[str, Any]], None]
    ) -> None:
        self.seconds = seconds
        self._emit = emit
        self._stack_path = stack_file
        self._stack_file: IO[str] | None = None
        self._can_alarm = hasattr(signal, "setitimer") and (
            threading.current_thread() is threading.main_thread()
        )
        self._previous_handler: Any = None

    def _on_alarm(self, signum: int, frame: Any) -> None:
        __tracebackhide__ = True  # blame the test's line, not this handler
        raise TestTimeout(f"gate: test exceeded tests.timeout ({self.seconds:g}s) and was stopped")

    def _arm(self, nodeid: str) -> None:
        if self._stack_file is None:
            self._stack_file = open(self._stack_path, "a", encoding="utf-8")  # noqa: SIM115
        self._stack_file.write(f"\n=== gate: hard stop while running {nodeid} ===\n")
        self._stack_file.flush()
        faulthandler.dump_traceback_later(
            self.seconds + HARD_STOP_GRACE_S, exit=True, file=self._stack_file
        )
        if self._can_alarm:
            current = signal.getsignal(signal.SIGALRM)
            # Another plugin (pytest-timeout's signal method) owns SIGALRM: leave it alone
            # and rely on the hard stop.
            if current in (signal.SIG_DFL, signal.SIG_IGN, None):
                self._previous_handler = current
                signal.signal(signal.SIGALRM, self._on_alarm)
                signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def _disarm(self) -> None:
        faulthandler.cancel_dump_traceback_later()
        if self._previous_handler is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous_handler)
            self._previous_handler = None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, None, None]:
        started = time.monotonic()
        self._emit({"event": "timer", "nodeid": item.nodeid, "pid": os.getpid()})
        self._arm(item.nodeid)
        try:
            yield
        finally:
            self._disarm()
            if time.monotonic() - started >= self.seconds:
                self._emit({"event": "timed_out", "nodeid": item.nodeid, "seconds": self.seconds})

    def close(self) -> None:
        faulthandler.cancel_dump_traceback_later()
        if self._stack_file is not None:
            self._stack_file.close()
            self._stack_file = None
