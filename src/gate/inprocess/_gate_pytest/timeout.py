"""Per-test timeout: SIGALRM stops Python code, a faulthandler hard stop ends hangs in C."""

from __future__ import annotations

import faulthandler
import signal
import threading
import time
from typing import IO, Any, Callable

# A hang inside C code holding the GIL never returns to the interpreter, so the soft stop
# cannot fire; faulthandler's watchdog is a C thread that dumps every stack and exits anyway.
HARD_STOP_GRACE_S = 3.0  # gate.inprocess.HARD_STOP_GRACE_S: the same number, seen from gate
# How much later than per-test arming the hard stop may fire (see TimeoutPlugin).
REARM_AFTER_S = 1.0


class TestTimeout(Exception):
    """Raised in the test's thread when it runs past tests.timeout."""

    __test__ = False  # not a test class, despite the name


class TimeoutPlugin:
    """Stops a test that runs longer than ``seconds``; the gate fails naming it.

    The soft stop (SIGALRM) is set per test: one system call. The hard stop is not:
    faulthandler starts and joins a C thread each time it is armed or cancelled (~1-2 ms,
    more than the rest of a trivial test costs). So it is armed for ``seconds + grace +
    REARM_AFTER_S`` and armed again only by a test that starts more than REARM_AFTER_S
    after that: every test still gets at least ``seconds + grace`` before the hard stop, and
    a test hung in C is ended at most REARM_AFTER_S later than when armed per test. A
    keeper thread cancels it while no test runs (an xdist worker waiting for more tests),
    so only a test is ever hard-stopped.
    """

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
        self._installed = False  # gate's SIGALRM handler, for the session
        self._previous_handler: Any = None  # the handler before it, restored in close
        self._alarm_set = False
        self._lock = threading.Lock()  # the hard stop's state: the test thread and the keeper
        self._armed_at: float | None = None  # when the hard stop was armed; None: it is not
        self._running = False
        self._started = 0.0  # when the running test's protocol began
        self._ended_at = 0.0
        self._closed = threading.Event()
        self._keeper = threading.Thread(target=self._keep, name="gate-hard-stop", daemon=True)
        self._keeper.start()

    def _on_alarm(self, signum: int, frame: Any) -> None:
        __tracebackhide__ = True  # blame the test's line, not this handler
        raise TestTimeout(f"gate: test exceeded tests.timeout ({self.seconds:g}s) and was stopped")

    def _arm_hard_stop(self, now: float) -> None:
        if self._stack_file is None:
            self._stack_file = open(self._stack_path, "a", encoding="utf-8")  # noqa: SIM115
        # Which test hung is in the events (the one started and never finished).
        self._stack_file.write("\n=== gate: hard stop: a test ran past tests.timeout ===\n")
        self._stack_file.flush()
        faulthandler.dump_traceback_later(
            self.seconds + HARD_STOP_GRACE_S + REARM_AFTER_S, exit=True, file=self._stack_file
        )
        self._armed_at = now

    def _keep(self) -> None:
        while not self._closed.wait(REARM_AFTER_S):
            with self._lock:
                idle = not self._running and time.monotonic() - self._ended_at > REARM_AFTER_S
                if idle and self._armed_at is not None:
                    faulthandler.cancel_dump_traceback_later()
                    self._armed_at = None

    def _arm_soft_stop(self) -> None:
        if not self._can_alarm:
            return
        current = signal.getsignal(signal.SIGALRM)
        if not self._installed and current in (signal.SIG_DFL, signal.SIG_IGN, None):
            # Installed once, for the session (restored in close): installing a handler per
            # test cost ~0.2 ms a test under coverage, more than the rest of a trivial test.
            self._previous_handler, self._installed = current, True
            signal.signal(signal.SIGALRM, self._on_alarm)
            current = signal.getsignal(signal.SIGALRM)
        # Another plugin (pytest-timeout's signal method) owns SIGALRM: leave it alone and
        # rely on the hard stop.
        self._alarm_set = current == self._on_alarm
        if self._alarm_set:
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def _disarm_soft_stop(self) -> None:
        if self._alarm_set:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self._alarm_set = False

    # Plain hooks around each test rather than a wrapper of its protocol: the first and last
    # thing pytest does for a test either way, at a fraction of a wrapper's cost. Should an
    # exception (pytest.exit, Ctrl-C) skip logfinish, close() disarms both stops.
    def pytest_runtest_logstart(self, nodeid: str, location: object) -> None:
        started = time.monotonic()
        with self._lock:
            self._running, self._started = True, started
            if self._armed_at is None or started - self._armed_at > REARM_AFTER_S:
                self._arm_hard_stop(started)
        self._arm_soft_stop()

    def pytest_runtest_logfinish(self, nodeid: str, location: object) -> None:
        self._disarm_soft_stop()
        ended = time.monotonic()
        with self._lock:
            self._running, self._ended_at = False, ended
        if ended - self._started >= self.seconds:
            self._emit({"event": "timed_out", "nodeid": nodeid, "seconds": self.seconds})

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            faulthandler.cancel_dump_traceback_later()
            self._armed_at = None
        if self._installed:
            self._disarm_soft_stop()
            if signal.getsignal(signal.SIGALRM) == self._on_alarm:
                # None: a handler not set from Python; the default is the closest to it.
                previous = self._previous_handler
                signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
            self._installed = False
        if self._stack_file is not None:
            self._stack_file.close()
            self._stack_file = None
