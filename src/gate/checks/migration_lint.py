"""The check migrations.lint: what the migrations ran that would lock or break a live database.

Only migrations new since the base (coverage.diff.base, --base, or the pushed range in the
hook) can fail it: a migration already on the base has run in production, so its findings
are history, listed once as a note and never failing. mode: warn (default) reports, fail
fails, off skips; allow takes "rule" or "path/to/migration:rule".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate import proc
from gate.checks.base import Check, Evidence, Finding, FindingKind, Judgement
from gate.config import DiffConfig
from gate.diff_coverage import DiffBase, DiffBaseError, choose_base, merge_base_of
from gate.migration_attribution import THE_COMMAND
from gate.migration_lint import Linted

KIND = FindingKind(
    check="migrations.lint",
    code="gate.migrations.lint",
    heading="Migrations that lock or break a live database",
    title="migration locks or breaks a live database",
    verb="found",
)

NAME = "migrations.lint"
DEFAULT_BASE = str(DiffConfig.model_fields["base"].default)
SHOWN = 3


@dataclass(frozen=True)
class MigrationFinding:
    """One finding as reports show it (CONTRACT's migration_findings entry)."""

    migration: str
    line: int | None
    rule: str
    statement: str
    message: str
    new: bool
    allowed: bool
    failing: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "migration": self.migration,
            "line": self.line,
            "rule": self.rule,
            "statement": self.statement,
            "message": self.message,
            "new": self.new,
            "allowed": self.allowed,
        }

    @property
    def place(self) -> str:
        return self.migration if self.line is None else f"{self.migration}:{self.line}"


@dataclass(frozen=True)
class LintEvidence:
    """What the check reads: the lint of the run's migrations and which of them are new.

    `new` None means the base is unknown (`unknown` says why)."""

    linted: Linted
    new: set[str] | None
    base_label: str
    unknown: str | None = None


@dataclass(frozen=True)
class Judged:
    check: Check | None
    findings: tuple[MigrationFinding, ...]
    notes: tuple[str, ...]


def new_migrations(
    root: Path, environ: Mapping[str, str], base: DiffBase, migrations: Iterable[str]
) -> tuple[set[str] | None, str | None]:
    """Which of `migrations` (root-relative) are not on the base: (new ones, None), or
    (None, why not known) when the base cannot be resolved."""
    try:
        merge_base = merge_base_of(root, environ, base)
    except DiffBaseError as exc:
        # Its first clause: the advice after it is diff coverage's (fetch, or remove the key).
        return None, str(exc).removeprefix("coverage.diff: ").split(";")[0].split(", so ")[0]
    listed = proc.capture(
        ["git", "-C", str(root), "-c", "core.quotePath=false", "ls-tree", "-r", "--name-only",
         merge_base, "--", "."],
        env=environ,
    )  # fmt: skip
    if listed.code != 0:
        return None, f"git ls-tree {merge_base[:12]} failed: {listed.output.strip()}"
    on_base = set(listed.output.splitlines())
    return {path for path in migrations if path not in on_base}, None


def is_allowed(migration: str, rule: str, allow: Sequence[str]) -> bool:
    return rule in allow or f"{migration}:{rule}" in allow


def judge(
    linted: Linted | None,
    mode: str,
    allow: Sequence[str],
    new: set[str] | None,
    base_label: str,
    unknown_base: str | None = None,
) -> Judged:
    """The check, every finding marked new/allowed/failing, and the notes (pure).

    `new` None means the base is unknown: every migration is judged as new, so that a team
    in fail mode is never waved through by a missing base (the note says how to set one).
    """
    if mode == "off":
        return Judged(None, (), ())
    if linted is None:
        return Judged(None, (), ())
    if linted.skipped is not None:
        return Judged(None, (), (linted.skipped,))
    notes: list[str] = []
    if new is None and linted.findings:
        notes.append(
            f"migrations.lint: every migration is judged as new, because the base is not "
            f"known ({unknown_base}); set coverage.diff.base or pass --base"
        )
    findings = []
    for located in linted.findings:
        finding = located.finding
        is_new = new is None or finding.migration in new or finding.migration == THE_COMMAND
        allowed = is_allowed(finding.migration, finding.rule, allow)
        findings.append(
            MigrationFinding(
                finding.migration, located.line, finding.rule, finding.statement,
                finding.message, is_new, allowed, is_new and not allowed and mode == "fail",
            )
        )  # fmt: skip
    history = [f for f in findings if not f.new]
    if history:
        rules = sorted({f.rule for f in history})
        files = sorted({f.migration for f in history})
        notes.append(
            f"migrations.lint: {len(history)} finding(s) in {len(files)} migration(s) already on "
            f"{base_label} are history, not judged ({', '.join(rules)})"
        )
    judged = [f for f in findings if f.new and not f.allowed]
    where = (
        f" (from the statements kept with {linted.from_template})" if linted.from_template else ""
    )
    if not judged:
        allowed_count = sum(1 for f in findings if f.new and f.allowed)
        extra = f"; {allowed_count} allowed" if allowed_count else ""
        message = f"{linted.migrations} migration(s) linted, nothing new locks or breaks{extra}"
        return Judged(Check(NAME, True, 0, 0, message + where), tuple(findings), tuple(notes))
    shown = "; ".join(f"{f.place}: {f.rule}" for f in judged[:SHOWN])
    more = f" and {len(judged) - SHOWN} more" if len(judged) > SHOWN else ""
    message = f"{len(judged)} finding(s) in new migrations: {shown}{more}{where}"
    if mode == "warn":
        message += " (migrations.lint.mode: warn, so not failing)"
    return Judged(
        Check(NAME, mode != "fail", len(judged), 0, message), tuple(findings), tuple(notes)
    )


def lint_evidence(
    linted: Linted | None,
    coverage_base: str,
    flag: str | None,
    environ: Mapping[str, str],
    root: Path,
) -> LintEvidence | None:
    """The lint and the migrations new since the base diff coverage uses (coverage.diff.base,
    --base or the pushed range, else origin/main), for the evidence; None when nothing was
    linted."""
    if linted is None:
        return None
    # Without coverage.diff, its default base: most projects' history is on origin/main.
    base = choose_base(coverage_base or DEFAULT_BASE, flag, environ)
    if linted.skipped is not None:
        return LintEvidence(linted, set(), base.label)
    migrations = {located.finding.migration for located in linted.findings}
    new, unknown = new_migrations(root, environ, base, migrations)
    return LintEvidence(linted, new, base.label, unknown)


def as_finding(finding: MigrationFinding) -> Finding:
    statement = " ".join(finding.statement.split())
    allowed = " (allowed by migrations.lint.allow)" if finding.allowed else ""
    return Finding(
        kind=KIND,
        what=finding.rule,
        file=finding.migration,
        line=finding.line,
        test=None,
        note=f"{finding.message} Statement: {statement}{allowed}",
        failing=finding.failing,
    )


class MigrationLintCheck:
    name = NAME
    empty_report: Mapping[str, Any] = {"migration_findings": []}

    def judge(self, evidence: Evidence) -> Judgement | None:
        lint = evidence.config.migrations.lint
        found = evidence.migration_lint
        if lint.mode == "off" or found is None:
            return None
        judged = judge(found.linted, lint.mode, list(lint.allow), found.new, found.base_label,
                       found.unknown)  # fmt: skip
        return Judgement(
            checks=() if judged.check is None else (judged.check,),
            # History is a note, not a place to annotate: only new migrations' findings.
            findings=tuple(as_finding(f) for f in judged.findings if f.new),
            report={"migration_findings": [f.as_dict() for f in judged.findings]},
            notes=judged.notes,
        )


CHECK = MigrationLintCheck()
