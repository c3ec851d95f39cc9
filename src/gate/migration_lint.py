"""migrations.lint in the migrate step: capture while migrations build the template, then lint.

The migrate step calls `MigrationLint.capture(target)` around the migration command (or
`from_template(target)` when a cached template means nothing runs); the statements are kept
with the template, and `linted` holds the findings (each with the line of its migration file)
for the check in checks/migration_lint.py to judge.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gate.config import Config
from gate.migration_attribution import THE_COMMAND, MigrationFiles, attribute, statement_line
from gate.migration_capture import (
    GIVEN_SERVER,
    Capture,
    Statement,
    capturing,
    decode_record,
    encode_record,
)
from gate.migration_squawk import LintFinding, SquawkError, lint, squawk_executable
from gate.provision import MigrationTarget, Provisioned

RECORDED = "migrations.lint"  # in the template key: a template built without capture has none


@dataclass(frozen=True)
class LocatedFinding:
    """A lint finding and the line of its migration file where the statement is found."""

    finding: LintFinding
    line: int | None


@dataclass
class Linted:
    """The lint of one run's migrations; `skipped` says why there is none."""

    findings: list[LocatedFinding] = field(default_factory=list)
    migrations: int = 0  # how many migrations ran statements that were linted
    skipped: str | None = None
    from_template: str | None = None  # the cached template whose capture was linted


def locate(findings: Sequence[LintFinding], root: Path) -> list[LocatedFinding]:
    located = []
    for finding in findings:
        line = None
        if finding.migration != THE_COMMAND:
            path = root / finding.migration
            with contextlib.suppress(OSError, UnicodeDecodeError):
                text = path.read_text(encoding="utf-8")
                line = statement_line(finding.statement, text, path.suffix == ".py")
                if line is not None and path.suffix != ".py":
                    line += finding.offset  # a script holds the statement line for line
        located.append(LocatedFinding(finding, line))
    return located


def lint_statements(
    statements: Sequence[Statement],
    root: Path,
    command: Sequence[str],
    folder: Path,
) -> Linted:
    """Attribute, lint and locate: the whole lint of a capture."""
    squawk = squawk_executable()
    if squawk is None:
        return Linted(skipped="migrations.lint skipped: squawk (the squawk-cli wheel) is not "
                              "installed beside gate")  # fmt: skip
    migrations = attribute(statements, MigrationFiles.scan(root, command))
    try:
        findings = lint(migrations, folder, squawk)
    except SquawkError as exc:
        return Linted(skipped=f"migrations.lint skipped: {exc}")
    return Linted(locate(findings, root), len(migrations))


def migration_lint(config: Config, provisioned: Provisioned, run_dir: Path) -> MigrationLint | None:
    """The run's lint, None when migrations.lint is off or there is no migration command."""
    command = config.migrations.command
    if config.migrations.lint.mode == "off" or not command:
        return None
    return MigrationLint(config.root, command, provisioned, run_dir / "lint")


@dataclass
class MigrationLint:
    """One run's lint: `linted` is set once the migrate step is done."""

    root: Path
    command: Sequence[str]
    provisioned: Provisioned
    folder: Path
    linted: Linted | None = None
    _pending: threading.Thread | None = field(default=None, repr=False)
    _error: BaseException | None = field(default=None, repr=False)

    @contextlib.contextmanager
    def capture(self, target: MigrationTarget) -> Iterator[Capture]:
        """Around the migration command: capture, keep with the template, lint."""
        server = self.provisioned.server
        with capturing(server, self.provisioned.statement_log, target.name) as captured:
            yield captured
        if captured.unavailable is not None:
            self.linted = Linted(skipped=captured.unavailable)
            return
        target.keep(encode_record(captured.statements))
        self.linted = lint_statements(captured.statements, self.root, self.command, self.folder)

    def from_template(self, target: MigrationTarget) -> None:
        """A cached template: lint what was captured when it was built."""
        statements = decode_record(target.record)
        if statements is None:
            self.linted = Linted(
                skipped=GIVEN_SERVER
                if self.provisioned.statement_log is None
                else f"migrations.lint skipped: the cached template {target.name} keeps no "
                "captured statements; `gate run --no-cache` captures them again"
            )
            return

        def lint_in_background() -> None:
            try:
                linted = lint_statements(statements, self.root, self.command, self.folder)
            except BaseException as exc:  # raised where the run asks for the result
                self._error = exc
                return
            linted.from_template = target.name
            self.linted = linted

        # squawk takes ~50 ms and its answer is first needed once the tests are over.
        self._pending = threading.Thread(target=lint_in_background, name="gate-lint", daemon=True)
        self._pending.start()

    def wait(self) -> None:
        """Until the lint started by from_template is done: before the run's folder goes."""
        if self._pending is not None:
            self._pending.join()
            self._pending = None

    def result(self) -> Linted | None:
        """The lint, once it is done (see from_template)."""
        self.wait()
        if self._error is not None:
            raise self._error
        return self.linted
