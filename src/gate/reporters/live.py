"""The live line shown on a terminal while tests run: done of total, failures so far, elapsed."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from gate.results import TestResults

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live


class LiveProgress:
    """A context manager; a no-op unless the console is an interactive terminal."""

    def __init__(self, console: Console, enabled: bool) -> None:
        self.enabled = enabled and console.is_terminal and not console.is_dumb_terminal
        self._live: Live | None = None
        if self.enabled:  # rich is imported only for a terminal that shows the line
            from rich.live import Live

            self._live = Live(console=console, transient=True, refresh_per_second=8)

    def __enter__(self) -> LiveProgress:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, traceback)

    def update(self, results: TestResults, elapsed_s: float) -> None:
        if self._live is None:
            return
        from rich.text import Text

        total = results.collected or len(results.cases)
        bad = len(results.bad_cases)
        line = Text(f"  testing: {results.done}/{total or '?'} done")
        line.append(f", {bad} failed" if bad else ", 0 failed", style="red" if bad else "green")
        line.append(f", {elapsed_s:.0f}s")
        running = results.running
        if running:
            line.append(f"  {running[-1].nodeid}", style="dim")
        self._live.update(line)
