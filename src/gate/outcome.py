"""What one `gate run` produced: steps, results, checks and the verdict, as reporters see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.checks.migration_lint import MigrationFinding
from gate.coverage_data import CoverageResult
from gate.diff_coverage import DiffCoverage
from gate.evaluate import Check
from gate.results import TestResults

STEP_NAMES = ("config", "provision", "migrate", "test", "evaluate", "report", "teardown")


@dataclass
class Step:
    name: str
    status: str = "skipped"  # ok | failed | skipped
    duration_s: float = 0.0
    detail: str = ""
    output: str = ""  # a failed command's output, shown in the terminal and kept in the report

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "detail": self.detail,
        }
        if self.output:
            data["output"] = self.output
        return data


@dataclass
class RunOutcome:
    root: Path
    run_id: str
    steps: dict[str, Step] = field(default_factory=lambda: {n: Step(n) for n in STEP_NAMES})
    results: TestResults | None = None
    coverage: CoverageResult | None = None
    diff_coverage: DiffCoverage | None = None  # when coverage.diff is set
    checks: list[Check] = field(default_factory=list)
    verdict: str = "error"  # pass | fail | error
    exit_code: int = 3
    duration_s: float = 0.0
    error: str | None = None  # the paragraph shown for an error verdict
    notes: list[str] = field(default_factory=list)  # settings gate adjusted, and why
    migration_findings: list[MigrationFinding] = field(default_factory=list)  # migrations.lint

    def step(self, name: str) -> Step:
        return self.steps[name]

    @property
    def failed_checks(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]
