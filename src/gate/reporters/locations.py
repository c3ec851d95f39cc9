"""Where a failure points in the project: paths made relative to root, for annotations (pure)."""

from __future__ import annotations

import posixpath
from collections import defaultdict
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from gate.outcome import RunOutcome
from gate.results import TestCase

THIRD_PARTY_DIRS = frozenset({"site-packages", "dist-packages"})


@dataclass(frozen=True)
class Location:
    path: str  # relative to root, with forward slashes
    line: int | None


def relative_to_root(path: str, root: str) -> str | None:
    """path relative to root when it lies under root and outside installed packages."""
    normal = posixpath.normpath(posixpath.join(root, path))
    relative = posixpath.relpath(normal, posixpath.normpath(root))
    parts = PurePosixPath(relative).parts
    if not parts or parts[0] == ".." or THIRD_PARTY_DIRS.intersection(parts):
        return None
    return relative


def failure_location(case: TestCase, root: str, rootdir: str | None) -> Location | None:
    """The failing line when it is in the project's own code, else where the test is defined."""
    base = rootdir or root
    if case.crash_path and case.crash_line:
        relative = relative_to_root(posixpath.join(base, case.crash_path), root)
        if relative is not None:
            return Location(relative, case.crash_line)
    if case.file:
        relative = relative_to_root(posixpath.join(base, case.file), root)
        return Location(relative or case.file, case.line)
    path = case.nodeid.partition("::")[0]
    return Location(path, None) if path.endswith(".py") else None


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
