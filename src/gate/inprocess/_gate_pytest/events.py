"""Append-only JSON-lines event file that the test process writes and gate reads live."""

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
