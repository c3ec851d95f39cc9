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

# One encoder for every event: json.dumps with options constructs a JSONEncoder per call.
_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode
_quote = json.JSONEncoder().encode  # a str as a JSON string


class EventWriter:
    """One JSON object per line, each one write(2) of its own: a killed process loses nothing
    it wrote, and lines from several threads never interleave."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def emit(self, event: dict[str, Any]) -> None:
        self._write((_encode(event) + "\n").encode("utf-8"))

    def emit_start(self, nodeid: str) -> None:
        """`{"event":"start","nodeid":...}`: once per test, so spelled out rather than encoded."""
        self._write(('{"event":"start","nodeid":' + _quote(nodeid) + "}\n").encode("utf-8"))

    def _write(self, line: bytes) -> None:
        with self._lock:
            if self._fd is None:
                return
            while line:  # a regular file takes it whole; a short write only on a full disk
                line = line[os.write(self._fd, line) :]

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None
