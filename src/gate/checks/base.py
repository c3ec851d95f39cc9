"""What every check shares: the evidence it reads, the named checks and findings it returns.

A check is one module with one object that has a `name` and a `judge(evidence)` method; the
judge runs every registered check (see checks/__init__.py) and reporters render what they
return without knowing which check it came from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from gate.checks.migration_lint import LintEvidence
    from gate.config import Config
    from gate.coverage_data import CoverageResult
    from gate.database_use import DatabaseUse
    from gate.diff_coverage import DiffCoverage
    from gate.previous_run import PreviousCoverage
    from gate.ratchet.setup import RatchetRun
    from gate.results import TestResults
    from gate.shard import Shard


@dataclass(frozen=True)
class Check:
    """One named verdict, as the JSON report's "checks" lists it."""

    name: str
    passed: bool
    actual: Any
    expected: Any
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "actual": self.actual,
            "expected": self.expected,
            "message": self.message,
        }


@dataclass(frozen=True)
class FindingKind:
    """How reporters name the findings of one check; the wording of every report."""

    check: str  # the check whose verdict these findings decide: "blocking"
    code: str  # GitLab's check_name and the JUnit property: "gate.blocking"
    heading: str  # a section of the terminal and Markdown summaries
    title: str  # a GitHub annotation's title
    verb: str  # "<what> <verb> 3 time(s)": "blocked the event loop"


@dataclass(frozen=True)
class Finding:
    """One thing a check found at a place in the project, in one test or in none.

    Reporters group findings by place (file and line) for people, and list them per test
    for tools (JUnit, GitLab); `failing` says whether it counts against the verdict.
    """

    kind: FindingKind
    what: str  # what was found, short: "time.sleep", "POST /users 500 KeyError"
    file: str | None  # relative to root
    line: int | None
    test: str | None = None
    phase: str = "call"
    duration_ms: float | None = None  # how long it lasted, where that is the point
    note: str = ""  # one more line: why, or what to do
    failing: bool = True

    @property
    def test_label(self) -> str:
        return str(self.test) + ("" if self.phase == "call" else f" ({self.phase})")


@dataclass(frozen=True)
class Judgement:
    """What one check returns: its named checks, its findings, and its JSON report keys."""

    checks: tuple[Check, ...] = ()
    findings: tuple[Finding, ...] = ()
    report: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # one line each, for the run's notes


@dataclass(frozen=True)
class Evidence:
    """What a run produced, as every check reads it; complete when the judge gets it."""

    config: Config
    results: TestResults
    coverage: CoverageResult | None
    diff_coverage: DiffCoverage | None
    shard: Shard | None = None  # a share of the tests: totals are judged by `gate merge`
    root: Path = Path()
    migration_lint: LintEvidence | None = None  # the migrate step's lint, when it ran
    ratchet: RatchetRun | None = None  # the baseline, when gate.yaml sets `ratchet`
    previous_coverage: PreviousCoverage | None = None  # the last run's report, when there is one
    database_use: DatabaseUse | None = None  # where the tests wrote, when gate gave a database

    @property
    def partial(self) -> bool:
        """True for one shard's run: totals over the whole suite are not this run's to judge."""
        return self.shard is not None


class RunCheck(Protocol):
    """A check: reads the evidence, returns a judgement (None: nothing to say).

    `empty_report` holds the JSON report keys the check owns, as they read when it found
    nothing or did not run (a run that stopped early still has every documented key)."""

    @property
    def name(self) -> str: ...

    @property
    def empty_report(self) -> Mapping[str, Any]: ...

    def judge(self, evidence: Evidence) -> Judgement | None: ...


def names(ids: Sequence[str], limit: int = 3) -> str:
    """'a, b, c and 2 more': a check message names a few and counts the rest."""
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")
