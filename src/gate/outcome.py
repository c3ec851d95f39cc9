"""What one `gate run` produced: steps, results, checks and the verdict, as reporters see it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.checks import empty_reports
from gate.checks.base import Check, Finding
from gate.coverage_data import CoverageResult
from gate.diff_coverage import DiffCoverage
from gate.errors import GateError, Interrupted
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


@contextlib.contextmanager
def timed(step: Step) -> Iterator[Step]:
    """Times the step; it is "failed" when it raises and "ok" when it ends unmarked."""
    started = time.monotonic()
    step.status = "running"
    try:
        yield step
    except BaseException:
        if step.status == "running":
            step.status = "failed"
        raise
    else:
        if step.status == "running":
            step.status = "ok"
    finally:
        step.duration_s += time.monotonic() - started


@dataclass
class RunOutcome:
    root: Path
    run_id: str
    steps: dict[str, Step] = field(default_factory=lambda: {n: Step(n) for n in STEP_NAMES})
    results: TestResults | None = None
    coverage: CoverageResult | None = None
    diff_coverage: DiffCoverage | None = None  # when coverage.diff is set
    checks: list[Check] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # every check's, for the reporters
    report_sections: dict[str, Any] = field(default_factory=empty_reports)  # checks' JSON keys
    verdict: str = "error"  # pass | fail | error
    exit_code: int = 3
    duration_s: float = 0.0
    error: str | None = None  # the paragraph shown for an error verdict
    notes: list[str] = field(default_factory=list)  # settings gate adjusted, and why

    def step(self, name: str) -> Step:
        return self.steps[name]

    def stop(self, exit_code: int, error: str) -> None:
        """The run ends in an error: no verdict on the project, only what went wrong."""
        self.verdict, self.exit_code, self.error = "error", exit_code, error

    @property
    def failed_checks(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]


@contextlib.contextmanager
def errors_recorded(
    outcome: RunOutcome, hide: Callable[[str], str], *, interrupted: str
) -> Iterator[None]:
    """An error gate can explain, or an interrupt, ends the run with its exit code and words."""
    try:
        yield
    except KeyboardInterrupt:
        outcome.stop(Interrupted.exit_code, interrupted)
    except GateError as exc:
        outcome.stop(exc.exit_code, hide(exc.message))
