"""Which migration ran which captured statement, and the line of its file that says so.

Migration tools write down each migration they applied right after its statements: alembic
`INSERT INTO alembic_version`/`UPDATE alembic_version SET version_num='<rev>'`, Django
`INSERT INTO "django_migrations"`. So the statements before such a mark belong to the
migration it names, and all migrations can run in one go. Statements no mark claims (a
SQL-script runner) belong to the .sql file whose text holds them, else to the command.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gate.migration_capture import Statement
from gate.template_key import command_files, migration_files, project_files

THE_COMMAND = "the migration command"

_VERSION_TABLE = r"(?:\"?\w+\"?\.)?\"?alembic_version\"?"  # version_table_schema allowed
_ALEMBIC_MARK = re.compile(
    rf"^\s*(?:INSERT\s+INTO\s+{_VERSION_TABLE}.*?VALUES\s*\(\s*'(?P<new>[^']+)'"
    rf"|UPDATE\s+{_VERSION_TABLE}\s+SET\s+version_num\s*=\s*'(?P<next>[^']+)')",
    re.IGNORECASE | re.DOTALL,
)
_DJANGO_MARK = re.compile(
    r"^\s*INSERT\s+INTO\s+\"?django_migrations\"?.*?VALUES\s*\(\s*'(?P<app>[^']+)'\s*,\s*"
    r"'(?P<name>[^']+)'",
    re.IGNORECASE | re.DOTALL,
)
# Bookkeeping of the tools themselves and reads: nothing there can lock a table.
_NOISE = re.compile(
    r"alembic_version|django_migrations|^\s*(?:SELECT|SHOW)\b",
    re.IGNORECASE,
)
_BEGIN = re.compile(r"^\s*(?:BEGIN|START\s+TRANSACTION)\b", re.IGNORECASE)
_END = re.compile(r"^\s*(?:COMMIT|END|ABORT|ROLLBACK)\s*(?:WORK|TRANSACTION)?\s*;?\s*$", re.I)
_REVISION = re.compile(r"^revision\s*(?::[^=]+)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)


@dataclass(frozen=True)
class MigrationSQL:
    """The statements one migration ran, in order, with the transaction they ran in: whether
    one was open when the migration's first statement ran and still open after its last."""

    migration: str  # path relative to root, or THE_COMMAND
    statements: tuple[str, ...]
    opened_in_transaction: bool = False
    left_in_transaction: bool = False

    @property
    def checked(self) -> tuple[str, ...]:
        """The statements that are not transaction control."""
        return tuple(s for s in self.statements if not (_BEGIN.match(s) or _END.match(s)))


@dataclass(frozen=True)
class MigrationFiles:
    """What the statements' marks and texts are matched against."""

    root: Path
    revisions: dict[str, str]  # alembic revision id -> file
    django: dict[tuple[str, str], str]  # (app label, migration name) -> file
    sql_files: dict[str, str]  # file -> its text

    @classmethod
    def scan(cls, root: Path, command: Sequence[str]) -> MigrationFiles:
        root = root.resolve()
        # Every .sql file of the project: a script runner's folder can have any name.
        scripts = [path for path in project_files(root) if path.suffix == ".sql"]
        files = sorted({*migration_files(root), *command_files(command, root), *scripts})
        revisions: dict[str, str] = {}
        django: dict[tuple[str, str], str] = {}
        sql_files: dict[str, str] = {}
        for path in files:
            relative = path.relative_to(root).as_posix()
            if path.suffix == ".sql":
                sql_files[relative] = _read(path)
            elif path.suffix == ".py":
                found = _REVISION.search(_read(path))
                if found:
                    revisions.setdefault(found[1], relative)
                if path.parent.name == "migrations" and path.stem[:1].isdigit():
                    django[(path.parent.parent.name, path.stem)] = relative
        return cls(root, revisions, django, sql_files)

    def django_file(self, app: str, name: str) -> str:
        if (app, name) in self.django:
            return self.django[(app, name)]
        named = [path for (_, stem), path in self.django.items() if stem == name]
        return named[0] if len(named) == 1 else f"{app}/migrations/{name}.py"

    def sql_file_of(self, statement: str) -> str | None:
        wanted = _squeeze(statement)
        if not wanted:
            return None
        for path, text in self.sql_files.items():
            if wanted in _squeeze(text):
                return path
        return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _squeeze(text: str) -> str:
    return " ".join(text.replace(";", " ").split()).lower()


def mark_of(statement: str, files: MigrationFiles) -> str | None:
    """The migration file a bookkeeping statement marks as applied, if it is one."""
    alembic = _ALEMBIC_MARK.match(statement)
    if alembic is not None:
        revision = alembic["new"] or alembic["next"]
        return files.revisions.get(revision, f"alembic revision {revision}")
    django = _DJANGO_MARK.match(statement)
    if django is not None:
        return files.django_file(django["app"], django["name"])
    return None


def attribute(statements: Iterable[Statement], files: MigrationFiles) -> list[MigrationSQL]:
    """The captured statements grouped by migration, in the order they ran; migrations that
    ran nothing but bookkeeping and transaction control are left out."""
    sessions: dict[int, list[str]] = {}
    for statement in statements:
        sessions.setdefault(statement.session, []).append(statement.sql)
    groups: list[MigrationSQL] = []
    for texts in sessions.values():
        groups += _attribute_session(texts, files)
    return [group for group in groups if group.checked]


def _attribute_session(texts: Sequence[str], files: MigrationFiles) -> list[MigrationSQL]:
    groups: list[MigrationSQL] = []
    pending: list[str] = []
    in_transaction = opened = False

    def close(migration: str | None) -> None:
        nonlocal pending, opened
        if migration is not None:
            groups.append(MigrationSQL(migration, tuple(pending), opened, in_transaction))
        else:
            groups.extend(_by_text(pending, opened, files))
        pending, opened = [], in_transaction

    for text in texts:
        marked = mark_of(text, files)
        if marked is not None:
            close(marked)
            continue
        if _BEGIN.match(text):
            in_transaction = True
        elif _END.match(text):
            in_transaction = False
        elif _NOISE.search(text):
            continue
        pending.append(text)
    close(None)
    return groups


def _by_text(texts: Sequence[str], opened: bool, files: MigrationFiles) -> list[MigrationSQL]:
    """Statements no mark claims: runs of them by the .sql file that holds their text."""
    groups: list[MigrationSQL] = []
    current: str | None = None
    run: list[str] = []
    run_opened = in_transaction = opened
    for text in texts:
        control = bool(_BEGIN.match(text) or _END.match(text))
        owner = current if control and current is not None else files.sql_file_of(text)
        owner = owner or THE_COMMAND
        if owner != current and run:
            groups.append(MigrationSQL(current or THE_COMMAND, tuple(run), run_opened,
                                       in_transaction))  # fmt: skip
            run, run_opened = [], in_transaction
        current = owner
        run.append(text)
        if _BEGIN.match(text):
            in_transaction = True
        elif _END.match(text):
            in_transaction = False
    if run:
        groups.append(MigrationSQL(current or THE_COMMAND, tuple(run), run_opened, in_transaction))
    return groups


# ---- the line of the migration file -----------------------------------------------------

# SQL words and types: never the name of what a statement changes.
_KEYWORDS = frozenset(
    {"add", "alter", "and", "as", "asc", "by", "cascade", "check", "column", "concurrently",
     "constraint", "create", "default", "delete", "desc", "drop", "exists", "foreign", "from",
     "if", "in", "index", "insert", "into", "is", "key", "not", "null", "on", "only", "primary",
     "references", "rename", "restrict", "set", "table", "to", "type", "unique", "update",
     "using", "valid", "values", "where", "with", "without", "validate", "varchar", "integer",
     "int", "bigint", "smallint", "text", "boolean", "timestamp", "numeric", "serial",
     "bigserial", "uuid", "jsonb", "json", "date", "time", "zone", "character", "varying",
     "double", "precision", "real", "now", "true", "false", "begin", "commit", "end", "sequence",
     "view", "trigger", "function", "replace", "owned", "public", "btree"}
)  # fmt: skip
_NAMED_AFTER = re.compile(
    r"\b(?:COLUMN|INDEX(?:\s+CONCURRENTLY)?(?:\s+IF\s+(?:NOT\s+)?EXISTS)?|CONSTRAINT|TO|TABLE"
    r"(?:\s+IF\s+(?:NOT\s+)?EXISTS)?)\s+(?:\"([^\"]+)\"|([A-Za-z_][\w$]*))",
    re.IGNORECASE,
)
_IDENTIFIER = re.compile(r"\"([^\"]+)\"|\b([A-Za-z_][\w$]*)\b")


def _names(statement: str) -> list[str]:
    """Identifiers of the statement, the objects it creates or changes first."""
    named = [a or b for a, b in _NAMED_AFTER.findall(statement)]
    named = [n.split(".")[-1] for n in reversed(named) if n.lower() not in _KEYWORDS]
    rest = [a or b for a, b in _IDENTIFIER.findall(statement)]
    ordered: list[str] = []
    for name in [*named, *rest]:
        if name.lower() not in _KEYWORDS and name not in ordered:
            ordered.append(name)
    return ordered


def statement_line(statement: str, text: str, python: bool) -> int | None:
    """The line of a migration file's text where `statement` is found: its text itself (a
    .sql file, op.execute), else, in a Python migration's upgrade(), the first line naming
    the object it changes in quotes (op.add_column("users", sa.Column("age", ...)))."""
    lines = text.splitlines()
    first = next((line.strip() for line in statement.splitlines() if line.strip()), "")
    if first:
        for number, line in enumerate(lines, 1):
            if first.rstrip(";") in line:
                return number
    if not python:
        return None
    start = next((n for n, line in enumerate(lines) if re.match(r"def upgrade\b", line)), None)
    first_line, end = (0, len(lines)) if start is None else (start, _end_of(lines, start))
    for name in _names(statement):
        quoted = re.compile(r"""['"]""" + re.escape(name) + r"""['"]""")
        for number in range(first_line, end):
            if quoted.search(lines[number]):
                return number + 1
    return None if start is None else start + 1  # at least the migration's upgrade()


def _end_of(lines: Sequence[str], start: int) -> int:
    """0-based end (exclusive) of the top-level function starting at `start`."""
    return next(
        (n for n in range(start + 1, len(lines)) if re.match(r"(?:def|class|async def)\b",
                                                              lines[n])),
        len(lines),
    )  # fmt: skip
