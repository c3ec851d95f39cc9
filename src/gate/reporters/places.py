"""Where the reports point: findings grouped by the place they blame (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from gate.checks.base import Finding, FindingKind


@dataclass(frozen=True)
class Place:
    """The findings of one kind at one line of the project, across the tests that hit it."""

    kind: FindingKind
    path: str | None
    line: int | None
    whats: list[str]  # what was found there, sorted; the first is the place's name
    count: int
    worst_ms: float | None  # None: the findings are not measured in time
    tests: list[str]  # test ids, sorted
    labels: list[str]  # the same with the phase when it is not the call: "t (setup)"
    notes: list[str]
    failing: bool

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else str(self.path)

    def tests_named(self) -> str:
        """', in t (+2 more)', or '' for findings made outside any test."""
        if not self.tests:
            return ""
        more = f" (+{len(self.tests) - 1} more)" if len(self.tests) > 1 else ""
        return f", in {self.tests[0]}{more}"

    def measure(self) -> str:
        """', up to 12.5 ms', or '' for findings that are not measured in time."""
        return "" if self.worst_ms is None else f", up to {self.worst_ms:.1f} ms"


def places(findings: Sequence[Finding]) -> list[Place]:
    """Grouped by kind, file and line; within a kind the place with the most findings first."""
    groups: dict[tuple[FindingKind, str | None, int | None], list[Finding]] = defaultdict(list)
    for finding in findings:
        groups[(finding.kind, finding.file, finding.line)].append(finding)
    kinds = list(dict.fromkeys(finding.kind for finding in findings))
    found = []
    for (kind, path, line), group in groups.items():
        timed = [f.duration_ms for f in group if f.duration_ms is not None]
        found.append(
            Place(
                kind=kind,
                path=path,
                line=line,
                whats=sorted({f.what for f in group}),
                count=len(group),
                worst_ms=max(timed) if timed else None,
                tests=sorted({f.test for f in group if f.test is not None}),
                labels=sorted({f.test_label for f in group if f.test is not None}),
                notes=sorted({f.note for f in group if f.note}),
                failing=any(f.failing for f in group),
            )
        )
    return sorted(found, key=lambda p: (kinds.index(p.kind), -p.count, str(p.path), p.line or 0))


def first_line(text: str) -> str:
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""
