"""Append-only JSON-lines event file that the test process writes and gate reads live.

The one format results cross back to gate in (gate.results reads it; gate.findings reads
the blocking events). The controller (or the only process) writes events-main.jsonl; each
xdist worker writes events-gwN.jsonl with what only it sees (timeouts, blocking findings).
One JSON object per line; "event" says which:

    session_start  {rootdir, library_dirs, worker}      the interpreter's own code folders
    collected      {count[, worker]}                     tests collected (each xdist worker)
    collect_error  {nodeid, longrepr}
    shard          {index, total, selected, of, with_durations, planned_s}
    start          {nodeid}                              a test began: written before it runs,
                                                         so a hang or a crash names it
    test           {nodeid, file, line[, worker], phases: [phase, ...]}
                   one per test, when its last report is in; a phase is
                   {when, outcome, duration} plus, only where there is some:
                   longrepr, crash {path, line, message}, frames [[path, line], ...]
                   (innermost first), skip_reason, xfail, sections {name: text}
    timed_out      {nodeid, seconds}                     ran past tests.timeout
    blocking       {kind: "call" | "slow", test, phase, call, file, line, duration_ms,
                    wall_ms, run_queue_ms, worker, stack: [{file, line, function}][, note]}
                   {kind: "unwatched", unwatched, test, phase, worker, reason}
                   {kind: "detector-error", error}       the detector's own failure
    session_finish {exitstatus, worker}
    unconfigure    {worker}                              the process got to its end

A passing test costs two short lines (start, test); nothing else is written per test.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any


class EventWriter:
    """One JSON object per line, flushed at once: a killed process loses nothing it wrote."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        # Line buffering plus an explicit flush: gate tails this file while tests run.
        self._file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed in close()

    def emit(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, default=str, separators=(",", ":"))
        with self._lock:
            if self._file.closed:
                return
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
