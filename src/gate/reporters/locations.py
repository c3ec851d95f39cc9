"""Places the reports point at: blocking findings grouped by line, a failure's first line (pure)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from gate.findings import BlockingFinding
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
    groups: dict[tuple[str, int | None], list[BlockingFinding]] = defaultdict(list)
    for finding in outcome.results.blocking:
        groups[(str(finding.file), finding.line)].append(finding)
    places = []
    for (path, line), findings in groups.items():
        first = findings[0]
        places.append(
            BlockingPlace(
                path=path,
                line=line,
                call=first.what,
                count=len(findings),
                worst_ms=max(f.duration_ms for f in findings),
                tests=sorted({f.test for f in findings}),
                note=first.note,
            )
        )
    return sorted(places, key=lambda place: (-place.count, place.path, place.line or 0))


def first_line(text: str) -> str:
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""
