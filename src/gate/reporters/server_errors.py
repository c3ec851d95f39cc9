"""Server errors in the terminal summary: grouped by the line to fix, like blocking findings."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from gate.server_error_events import ADVICE, ServerError, places

MAX_TESTS = 3  # tests named per place unless -v


def render_server_errors(console: Console, errors: Sequence[ServerError], verbose: bool) -> None:
    if not errors:
        return
    grouped = places(errors)
    console.print(
        f"\n[bold]Server errors during the tests[/] ({len(grouped)} place(s)): {escape(ADVICE)}"
    )
    for (file, line), found in sorted(grouped.items(), key=lambda g: (-len(g[1]), g[0])):
        where = f"{file}:{line}" if line else file
        allowed = all(e.allowed for e in found)
        whats = sorted({e.what for e in found})
        mark = "[dim]allowed[/] " if allowed else ""
        console.print(
            f"  {mark}[yellow]{escape(where)}[/] {escape(' / '.join(whats[:2]))}"
            + (f" (+{len(whats) - 2} more)" if len(whats) > 2 else "")
            + f" x{len(found)}",
            highlight=False,
        )
        labels = sorted({e.test + ("" if e.phase == "call" else f" ({e.phase})") for e in found})
        shown = labels if verbose else labels[:MAX_TESTS]
        more = len(labels) - len(shown)
        console.print(
            f"      in {escape(', '.join(shown))}" + (f" (+{more} more)" if more else ""),
            highlight=False,
        )
        for note in sorted({e.note for e in found if e.note}):
            console.print(f"      [dim]{escape(note)}[/]", highlight=False)
