"""The previous run's coverage, read from the JSON report it left, so that a missed floor can
name the file that dropped rather than only the lowest ones (pure but for one file read)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.checks.floors import shown_percent
from gate.coverage_data import CoverageResult
from gate.diff_coverage import format_lines


@dataclass(frozen=True)
class PreviousCoverage:
    """Per file: the percent and the missing lines the previous run's report held."""

    files: dict[str, float]
    missing_lines: dict[str, list[int]] = field(default_factory=dict)


def read_previous_coverage(report: Path | None) -> PreviousCoverage | None:
    """None when there is no readable earlier report with coverage in it: a first run, a
    report written elsewhere, or one gate cannot read is no comparison, never an error."""
    if report is None or not report.is_file():
        return None
    try:
        data: Any = json.loads(report.read_text(encoding="utf-8"))
        coverage = data["coverage"]
        files = {str(k): float(v) for k, v in coverage["files"].items()}
        missing = {
            str(k): [int(n) for n in v] for k, v in (coverage.get("missing_lines") or {}).items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return PreviousCoverage(files, missing)


def dropped_first(coverage: CoverageResult, previous: PreviousCoverage) -> str | None:
    """'app/users.py 96% -> 61% (newly missing: lines 40-52)', the file that lost the most since
    the previous run; None when no file lost coverage."""
    drops = [
        (before - coverage.files[name], name)
        for name, before in previous.files.items()
        if name in coverage.files and coverage.files[name] < before
    ]
    if not drops:
        return None
    _, name = max(drops, key=lambda item: (item[0], item[1]))
    now, before = coverage.files[name], previous.files[name]
    newly = sorted(
        set(coverage.missing_lines.get(name, [])) - set(previous.missing_lines.get(name, []))
    )
    lines = f" (newly missing: lines {format_lines(newly)})" if newly else ""
    return f"{name} {shown_percent(before)} -> {shown_percent(now)}{lines}"
