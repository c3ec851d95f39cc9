"""Starts coverage.py in this test process (controller or xdist worker) from gate's rc file."""

from __future__ import annotations

import importlib
from typing import Any


class CoverageSession:
    """One coverage.py measurement, saved to a suffixed data file in gate's run folder."""

    def __init__(self, rcfile: str, data_file: str) -> None:
        # Imported here: coverage comes from the project's environment, not gate's.
        coverage = importlib.import_module("coverage")
        self._cov: Any = coverage.Coverage(
            config_file=rcfile, data_file=data_file, data_suffix=True, auto_data=False
        )
        self._running = False

    def start(self) -> None:
        self._cov.start()
        self._running = True

    def stop_and_save(self) -> None:
        if self._running:
            self._running = False
            self._cov.stop()
            self._cov.save()


def start_coverage(rcfile: str | None, data_file: str | None) -> CoverageSession | None:
    """Start measuring at once, so project modules imported by conftest files are measured too."""
    if not rcfile or not data_file:
        return None
    session = CoverageSession(rcfile, data_file)
    session.start()
    return session
