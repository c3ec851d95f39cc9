"""Modules a run needs later, imported in a background thread while the run waits on a process.

psycopg takes about 0.2 s to import and coverage.py about 0.05 s. A run first needs psycopg
after its private server has been copied and started, and coverage.py after its tests: both
waits on a child process, during which the main thread holds no lock an import needs. A module
asked for in the main thread meanwhile waits for the thread's import of it (Python's import
lock is per module), so nothing is imported twice.
"""

from __future__ import annotations

import contextlib
import importlib
import threading


def prefetch(*modules: str) -> threading.Thread:
    """Start importing `modules` in the background; the thread is returned for tests."""

    def load() -> None:
        for module in modules:
            # A broken install is reported where the module is used, with its context.
            with contextlib.suppress(Exception):
                importlib.import_module(module)

    thread = threading.Thread(target=load, name="gate-prefetch", daemon=True)
    thread.start()
    return thread
