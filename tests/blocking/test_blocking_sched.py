"""Run-queue wait is not blocking: stall times less schedstat's wait, wall time where none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from gate.blocking_triage import FAILING, classify
from gate.findings import BlockingFinding
from gate.inprocess._gate_pytest.blocking import sched as blocking_sched

if TYPE_CHECKING:
    # Names only: `conftest` as a module is whichever folder's conftest pytest imported last
    # (tests/server_errors has one too), so it is never imported at run time.
    from conftest import DetectorRun

Detector = Callable[..., "DetectorRun"]
SLOW_MS = 100.0
# The detector counts a callback's wait from its thread's latest note, at most
# MARK_EVERY_S before the callback started; the report rounds to 0.1 ms.
NOTE_AGE_MS = blocking_sched.MARK_EVERY_S * 1000 + 0.2

can_crowd = pytest.mark.skipif(
    not (sys.platform.startswith("linux") and blocking_sched.run_queue_ns() is not None),
    reason="needs Linux's per-thread schedstat and sched_setaffinity",
)


@can_crowd
def test_a_crowded_cpu_is_not_blocking_but_sleeping_and_cpu_work_are(
    detector: Detector, pytester: pytest.Pytester
) -> None:
    run = detector({"corpus_crowded.py": "test_crowded.py"}, slow_ms=SLOW_MS)
    assert run.result.ret == 0, run.result.stdout.str()
    measured = json.loads((pytester.path / "crowded.json").read_text())

    # The premise: crowding stretched 20 ms of CPU work past slow_ms of wall time (a wall-clock
    # detector would report it), while what the thread did itself stayed well under it.
    short = measured["test_short_cpu_work"]
    assert short["wall_ms"] >= SLOW_MS, f"the spinners did not crowd the loop thread: {short}"
    assert short["wall_ms"] - short["run_queue_ms"] < SLOW_MS - NOTE_AGE_MS, short

    # No finding for the short work; the sleep, the wait in C and the hashing at their lines.
    found = run.found()
    assert (run.expected - found, found - run.expected) == (set(), set()), "(missing, unexpected)"
    # Each names the project's own line, so each one fails the gate.
    assert {classify(BlockingFinding.from_event(f)) for f in run.findings} == {FAILING}

    for test in ("test_waiting_in_c", "test_hashing", "test_sleeping"):
        finding, inside = run.finding(f"test_crowded.py::{test}"), measured[test]
        assert finding["duration_ms"] == round(finding["wall_ms"] - finding["run_queue_ms"], 1)
        # Never credited with more wait than it had: all that the thread did while not
        # waiting for a CPU (working, sleeping, blocked in C) is still counted.
        assert finding["duration_ms"] >= inside["wall_ms"] - inside["run_queue_ms"] - 0.1
        if finding["kind"] == "slow":
            # The wait left out is what schedstat said for the callback: at least the wait
            # measured inside it, but for the age of the detector's note.
            assert finding["run_queue_ms"] >= inside["run_queue_ms"] - NOTE_AGE_MS

    hashing = run.finding("test_crowded.py::test_hashing")
    assert hashing["duration_ms"] >= measured["test_hashing"]["cpu_ms"] - 0.1
    assert hashing["wall_ms"] > hashing["duration_ms"]
    assert run.finding("test_crowded.py::test_sleeping")["duration_ms"] >= 199.9


def _in_new_thread(work: Callable[[], object]) -> object:
    """Runs `work` in a fresh thread: the schedstat file is kept per thread."""
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(work()))
    thread.start()
    thread.join()
    return results[0]


def test_without_schedstat_times_are_wall_times(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blocking_sched, "_PATH", "/nonexistent/{}/schedstat")

    def judge() -> tuple[bool, blocking_sched.Held, blocking_sched.Held]:
        measuring = blocking_sched.enable()
        try:
            blocking_sched.mark(10.0)
            return (
                measuring,
                blocking_sched.callback_held(10.0, 0.25),
                blocking_sched.call_held(blocking_sched.call_started(), 0.25),
            )
        finally:
            blocking_sched.disable()

    assert _in_new_thread(judge) == (False, (0.25, 0.25, None), (0.25, 0.25, None))


def test_a_callback_is_charged_no_more_wait_than_fell_inside_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = {"waited_ns": 1_000_000_000}
    monkeypatch.setattr(blocking_sched, "run_queue_ns", lambda tid=None: clock["waited_ns"])
    tid = threading.get_native_id()
    assert blocking_sched.enable()
    try:
        # Noted at 100.0; the callback started 5 ms later and, by its end, the thread had
        # waited 8 ms more: only the 3 ms that cannot have fallen before the start count.
        blocking_sched.mark(100.0)
        assert blocking_sched.mark_due == [100.0 + blocking_sched.MARK_EVERY_S]
        clock["waited_ns"] += 8_000_000
        early = blocking_sched.callback_held(100.005, 0.2)
        assert early.wall == 0.2 and early.run_queue == pytest.approx(0.003)
        assert early.seconds == pytest.approx(0.197)
        # Never more wait than wall time.
        clock["waited_ns"] += 900_000_000
        assert blocking_sched.callback_held(100.0, 0.2) == (0.0, 0.2, 0.2)
        # A note from after the callback started (a loop run inside it) tells nothing.
        blocking_sched._marks[tid] = (100.1, clock["waited_ns"])
        assert blocking_sched.callback_held(100.0, 0.2) == (0.2, 0.2, None)
        # A call's wait is read before and after it.
        before = blocking_sched.call_started()
        clock["waited_ns"] += 50_000_000
        assert blocking_sched.call_held(before, 0.3) == pytest.approx((0.25, 0.3, 0.05))
    finally:
        blocking_sched.disable()
    assert blocking_sched.call_started() is None


@pytest.mark.parametrize(
    ("raw", "waited"),
    [
        (b"25376535 262037 6\n", 262037),
        (b"0 1200 1\n", 1200),  # a new thread, before its first CPU time is accounted
        (b"0 0 0\n", None),  # a kernel that keeps no scheduler statistics
        (b"", None),
    ],
)
def test_schedstat_lines(raw: bytes, waited: int | None) -> None:
    assert blocking_sched._parse(raw) == waited


def test_a_forked_child_reads_its_own_thread() -> None:
    if not hasattr(os, "fork") or blocking_sched.run_queue_ns() is None:
        pytest.skip("needs fork and schedstat")
    # In a fresh single-threaded interpreter: the child's main thread has a new id, so the
    # file its parent opened (for the parent's thread) must not be read.
    script = """
import os, threading
from gate.inprocess._gate_pytest.blocking import sched as s
parent = s._thread_file(threading.get_native_id())
assert parent is not None and s.run_queue_ns() is not None
pid = os.fork()
if pid == 0:
    held = s._thread_file(threading.get_native_id())
    os._exit(0 if held is not None and held is not parent and s.run_queue_ns() is not None else 1)
assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
