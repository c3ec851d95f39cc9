"""Lint captured migration SQL with squawk (the squawk-cli wheel) and map its findings back.

Each migration's statements become one SQL file, so that squawk's sense of "a table created
in this migration" (an empty table: locking it harms no one) is the migration's own. The
transaction a migration ran in is restored around its statements (alembic runs all its
revisions in one transaction; an autocommit block leaves it), so the rules about
transactions judge what really happened. Lines gate adds for that carry no findings.
"""

from __future__ import annotations

import json
import re
import shutil
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gate import proc
from gate.migration_attribution import MigrationSQL

# Rules left out, and why: gate judges what locks or breaks a live database. These are
# about style or rerunning (prefer-*), settings most projects never make (the timeouts),
# or the shape of a SQL file, which here is gate's reconstruction (transaction rules).
# Filtered from the report: --exclude fails on a name the installed squawk does not know.
EXCLUDED_RULES = (
    "prefer-robust-stmts",
    "prefer-bigint-over-int",
    "prefer-bigint-over-smallint",
    "prefer-identity",
    "prefer-text-field",
    "prefer-timestamp-tz",
    "ban-char-field",
    "require-lock-timeout",
    "require-statement-timeout",
    "require-timeout-settings",
    "transaction-nesting",
    "ban-uncommitted-transaction",
    "syntax-error",  # PostgreSQL ran it, so the statement is fine; squawk's parser is not
)


_ROLLBACK = re.compile(r"^\s*(?:ROLLBACK|ABORT)\s*(?:WORK|TRANSACTION)?\s*;?\s*$", re.I)


class SquawkError(Exception):
    """squawk could not lint; the message says why."""


@dataclass(frozen=True)
class LintFinding:
    """One rule a statement of one migration breaks."""

    migration: str
    rule: str
    statement: str
    message: str  # what goes wrong, then the safe alternative
    offset: int = 0  # the line within the statement that squawk points at, from 0


@dataclass(frozen=True)
class _Line:
    migration: int
    statement: int | None  # None: a line gate added (the restored transaction)


def squawk_executable() -> str | None:
    """The squawk installed with gate (its wheel's script), else one on PATH."""
    beside = Path(sysconfig.get_path("scripts")) / "squawk"
    return str(beside) if beside.is_file() else shutil.which("squawk")


def write_sql(migration: MigrationSQL) -> tuple[str, list[int | None]]:
    """The migration as one SQL file, and for each of its lines the statement it holds."""
    lines: list[str] = []
    owners: list[int | None] = []
    if migration.opened_in_transaction:
        lines.append("BEGIN;")
        owners.append(None)
    for index, statement in enumerate(migration.statements):
        text = statement.strip()  # as LintFinding.statement: offsets count from its first line
        if _ROLLBACK.match(text):
            text = "COMMIT"  # squawk sees only COMMIT end a transaction (psycopg's ROLLBACKs)
        if not text.endswith(";"):
            text += ";"
        for line in text.splitlines():
            lines.append(line)
            owners.append(index)
    if migration.left_in_transaction:
        lines.append("COMMIT;")
        owners.append(None)
    return "\n".join(lines) + "\n", owners


def parse_report(
    report: str, migrations: Sequence[MigrationSQL], owners: dict[str, list[int | None]]
) -> list[LintFinding]:
    """squawk's JSON report as findings; `owners` maps each linted file's name to the
    statement index of its lines (see write_sql), the file name being the migration's index."""
    try:
        entries = json.loads(report or "[]")
    except ValueError as exc:
        raise SquawkError(f"squawk's report was not JSON: {report[:200]!r}") from exc
    findings: list[LintFinding] = []
    for entry in entries if isinstance(entries, list) else []:
        name = Path(str(entry.get("file", ""))).name
        lines = owners.get(name)
        if entry.get("rule_name") in EXCLUDED_RULES:
            continue
        line = entry.get("line")
        if lines is None or not isinstance(line, int) or not 0 <= line < len(lines):
            continue
        statement = lines[line]
        if statement is None:
            continue
        migration = migrations[int(name.split(".")[0])]
        message = _sentence(str(entry.get("message") or ""))
        if entry.get("help"):
            message = f"{message} {_sentence(str(entry['help']))}"
        finding = LintFinding(
            migration=migration.migration,
            rule=str(entry.get("rule_name", "")),
            statement=migration.statements[statement].strip(),
            message=message,
            offset=line - lines.index(statement),
        )
        if finding not in findings:
            findings.append(finding)
    return findings


def lint(
    migrations: Sequence[MigrationSQL],
    folder: Path,
    squawk: str,
) -> list[LintFinding]:
    """Run squawk once over every migration's SQL (written under `folder`)."""
    if not migrations:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    owners: dict[str, list[int | None]] = {}
    paths = []
    for index, migration in enumerate(migrations):
        text, lines = write_sql(migration)
        name = f"{index:05d}.sql"
        (folder / name).write_text(text, encoding="utf-8")
        owners[name] = lines
        paths.append(str(folder / name))
    # No --pg-version: squawk's default (the newest PostgreSQL) for the first run and for a
    # cached template's alike, so both judge the same statements the same way.
    argv = [squawk, "--reporter", "json"]
    try:
        completed = proc.capture([*argv, *paths])
    except proc.CommandNotFound as exc:
        raise SquawkError(f"squawk was not found ({exc.executable})") from exc
    if completed.code not in (0, 1):
        raise SquawkError(f"squawk exited {completed.code}: {completed.output.strip()[-300:]}")
    return parse_report(_json_part(completed.output), migrations, owners)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def _json_part(output: str) -> str:
    """The JSON array in squawk's output (proc.capture joins stderr to it)."""
    start = output.find("[")
    end = output.rfind("]")
    return output[start : end + 1] if 0 <= start < end else "[]"
