"""Places the reports point at: blocking findings grouped by line, a failure's first line (pure)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from gate.outcome import RunOutcome


@dataclass(frozen=True)
class BlockingPlace:
    """Blocking findings at one line of the project's code, across the tests that hit it."""

    path: str
    line: int | None
    call: str
    count: int
    worst_ms: float
    tests: list[str]
    note: str


def blocking_places(outcome: RunOutcome) -> list[BlockingPlace]:
    """Findings grouped by file and line, the place with the most findings first."""
    if outcome.results is None:
        return []
    groups: dict[tuple[str, int | None], list[dict[str, Any]]] = defaultdict(list)
    for finding in outcome.results.blocking:
        line = finding.get("line")
        groups[(str(finding.get("file")), line if isinstance(line, int) else None)].append(finding)
    places = []
    for (path, line), findings in groups.items():
        first = findings[0]
        places.append(
            BlockingPlace(
                path=path,
                line=line,
                call=str(first.get("call") or f"{first.get('kind')} callback"),
                count=len(findings),
                worst_ms=max(float(f.get("duration_ms") or 0) for f in findings),
                tests=sorted({str(f.get("test")) for f in findings}),
                note=str(first.get("note") or ""),
            )
        )
    return sorted(places, key=lambda place: (-place.count, place.path, place.line or 0))


def first_line(text: str) -> str:
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""
