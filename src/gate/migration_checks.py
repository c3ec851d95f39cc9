"""migrations.checks for alembic: one head, models that match the migrations, and migrations that
go up, down to base and up again; each a named check in the report.

single_head and roundtrip depend only on the migration files, so they run once per migrated
template and their results are kept with it (its database comment); a run that clones a
cached template reports them from there. drift compares the models, which are not migration
files, so it runs every time, against the run's own fresh clone of the template.
Checks run alembic the way migrations.command does (same launcher, same -c/-n/-x options).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gate import proc
from gate.checks.base import Check
from gate.errors import UsageError
from gate.provision import MigrationTarget, Provisioned

NAMES = {
    "single_head": "migrations.single_head",
    "drift": "migrations.drift",
    "roundtrip": "migrations.roundtrip",
}
RECORDED = ("single_head", "roundtrip")
RECORD_PREFIX = "gate migration checks: "
_OPTIONS_WITH_VALUE = frozenset({"-c", "--config", "-n", "--name", "-x"})
_HEAD = re.compile(r"^(\S+) \(head\)", re.MULTILINE)
_DRIFT = "New upgrade operations detected:"
MAX_DETAIL = 400


@dataclass(frozen=True)
class Alembic:
    """alembic as migrations.command runs it: the launcher (`uv run alembic`, `python -m
    alembic`, ...) and the global options that pick its config."""

    launcher: tuple[str, ...]
    options: tuple[str, ...]

    def argv(self, *arguments: str) -> list[str]:
        return [*self.launcher, *self.options, *arguments]

    def shown(self, *arguments: str) -> str:
        return " ".join(["alembic", *self.options, *arguments])


def alembic_of(command: Sequence[str]) -> Alembic | None:
    """The alembic inside migrations.command, or None when it does not run alembic."""
    for at, word in enumerate(command):
        if os.path.basename(word) != "alembic":
            continue
        options: list[str] = []
        rest = list(command[at + 1 :])
        while rest and rest[0].startswith("-"):
            option = rest.pop(0)
            options.append(option)
            if option in _OPTIONS_WITH_VALUE and rest:
                options.append(rest.pop(0))
        return Alembic(tuple(command[: at + 1]), tuple(options))
    return None


def plan_checks(
    checks: Sequence[str], command: Sequence[str] | None, database_mode: str
) -> Alembic | None:
    """The alembic to check with; None when no check is asked for; exit 2 when impossible."""
    if not checks:
        return None
    wanted = ", ".join(checks)
    if not command:
        raise UsageError(
            f"migrations.checks ({wanted}) needs migrations.command; set it to the alembic "
            "upgrade you run, e.g. `alembic upgrade head`, or remove migrations.checks"
        )
    alembic = alembic_of(command)
    if alembic is None:
        raise UsageError(
            f"migrations.checks ({wanted}) are alembic checks, but migrations.command "
            f"(`{' '.join(command)}`) does not run alembic; remove migrations.checks or run "
            "alembic there"
        )
    if database_mode == "none" and set(checks) - {"single_head"}:
        raise UsageError(
            f"migrations.checks ({wanted}): drift and roundtrip need a database, and "
            "database.mode is none; set database.mode, or keep only single_head"
        )
    return alembic


# ---- judging alembic's answers (pure) ---------------------------------------------------


_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*: ")


def _last_line(output: str) -> str:
    """The error a failed command ends with: the last `Name: text` line (a traceback's
    exception, alembic's FAILED: ...), not SQLAlchemy's [SQL: ...] and link that follow it."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    errors = [line for line in lines if _ERROR_LINE.match(line)]
    text = errors[-1] if errors else lines[-1] if lines else "(no output)"
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 3] + "..."


def single_head_check(alembic: Alembic, code: int, output: str) -> Check:
    name = NAMES["single_head"]
    shown = alembic.shown("heads")
    if code != 0:
        return Check(name, False, None, 1, f"`{shown}` failed (exit {code}): {_last_line(output)}")
    heads = _HEAD.findall(output)
    if len(heads) > 1:
        return Check(
            name,
            False,
            len(heads),
            1,
            f"{len(heads)} heads ({', '.join(heads)}): the migrations have branched; merge "
            f"them with `{alembic.shown('merge', 'heads', '-m', 'merge')}` and commit the result",
        )
    found = f"one head ({heads[0]})" if heads else "no revisions yet"
    return Check(name, True, len(heads), 1, found)


def drift_check(alembic: Alembic, code: int, output: str) -> Check:
    name = NAMES["drift"]
    if code == 0:
        return Check(name, True, 0, 0, "the models match the migrations")
    if _DRIFT in output:
        operations = output.split(_DRIFT, 1)[1].strip().splitlines()[0]
        if len(operations) > MAX_DETAIL:
            operations = operations[: MAX_DETAIL - 3] + "..."
        return Check(
            name,
            False,
            "drift",
            0,
            f"the models differ from the migrations: {operations}; add a migration "
            f"(`{alembic.shown('revision', '--autogenerate', '-m', 'describe the change')}`), "
            "review it and commit it",
        )
    return Check(
        name,
        False,
        None,
        0,
        f"`{alembic.shown('check')}` could not compare the models with the migrations (exit "
        f"{code}): {_last_line(output)}; it needs alembic 1.9+ and target_metadata set in env.py",
    )


def roundtrip_check(
    alembic: Alembic, upgrade: str, downgrade: proc.Completed, again: proc.Completed | None
) -> Check:
    name = NAMES["roundtrip"]
    down = alembic.shown("downgrade", "base")
    if downgrade.code != 0:
        return Check(
            name,
            False,
            "downgrade failed",
            "passed",
            f"`{down}` failed after `{upgrade}` (exit {downgrade.code}): "
            f"{_last_line(downgrade.output)}; fix the downgrade() of that revision so that it "
            "undoes its upgrade()",
        )
    if again is not None and again.code != 0:
        return Check(
            name,
            False,
            "upgrade after downgrade failed",
            "passed",
            f"`{upgrade}` failed after `{down}` (exit {again.code}): {_last_line(again.output)}; "
            "a downgrade() leaves behind something its upgrade() creates again, so drop it there",
        )
    return Check(name, True, "passed", "passed", f"`{upgrade}`, `{down}`, `{upgrade}` all passed")


def encode_record(checks: Sequence[Check]) -> str:
    return RECORD_PREFIX + json.dumps([check.as_dict() for check in checks])


def decode_record(record: str | None) -> dict[str, Check]:
    """The checks a template keeps, by short name; {} for none or an unreadable record."""
    line = next((x for x in (record or "").splitlines() if x.startswith(RECORD_PREFIX)), "")
    if not line:
        return {}
    try:
        entries = json.loads(line[len(RECORD_PREFIX) :])
    except ValueError:
        return {}
    found = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("name") in NAMES.values():
            short = str(entry["name"]).split(".", 1)[1]
            found[short] = Check(
                str(entry["name"]),
                bool(entry.get("passed")),
                entry.get("actual"),
                entry.get("expected"),
                str(entry.get("message", "")),
            )
    return found


# ---- running them -------------------------------------------------------------------------


@dataclass
class MigrationChecker:
    """Runs the asked-for checks with the environment migrations get (env_for adds a database's
    database.export variables); logs go to run_dir."""

    checks: Sequence[str]
    alembic: Alembic
    command: Sequence[str]
    root: Path
    run_dir: Path
    env_for: Callable[[Mapping[str, str]], dict[str, str]]

    def _run(
        self, argv: Sequence[str], database_env: Mapping[str, str], log: str
    ) -> proc.Completed:
        try:
            return proc.run(
                argv, cwd=self.root, env=self.env_for(database_env),
                output_file=self.run_dir / f"migration-check-{log}.log",
            )  # fmt: skip
        except proc.CommandNotFound as exc:
            raise UsageError(
                f"migrations.checks: {exc.executable!r} was not found; install alembic in the "
                "project's environment"
            ) from exc

    def single_head(self) -> Check:
        completed = self._run(self.alembic.argv("heads"), {}, "heads")
        return single_head_check(self.alembic, completed.code, completed.output)

    def roundtrip(self, provisioned: Provisioned, source: str) -> Check:
        """Down to base and up again on a scratch clone of `source`: the template stays intact."""
        with provisioned.scratch_clone(source, "roundtrip") as env:
            downgrade = self._run(self.alembic.argv("downgrade", "base"), env, "downgrade")
            again = None
            if downgrade.code == 0:
                again = self._run(self.command, env, "upgrade-again")
        return roundtrip_check(self.alembic, " ".join(self.command), downgrade, again)

    def drift(self, provisioned: Provisioned) -> list[Check]:
        """Against the run's own database, fresh from the template; before any test runs."""
        if "drift" not in self.checks:
            return []
        completed = self._run(self.alembic.argv("check"), provisioned.env, "check")
        return [drift_check(self.alembic, completed.code, completed.output)]

    def after_migrations(self, target: MigrationTarget, provisioned: Provisioned) -> list[Check]:
        """single_head and roundtrip right after migrations passed, kept with a new template."""
        found = []
        if "single_head" in self.checks:
            found.append(self.single_head())
        if "roundtrip" in self.checks:
            found.append(self.roundtrip(provisioned, target.name))
        target.keep(encode_record(found))
        return found

    def after_failure(self) -> list[Check]:
        """Migrations failed: a branched history is the likely cause, and costs nothing to check."""
        return [self.single_head()] if "single_head" in self.checks else []

    def from_template(self, target: MigrationTarget, provisioned: Provisioned) -> list[Check]:
        """A cached template: its kept results, noted as such; any it lacks run now."""
        kept = decode_record(target.record)
        found = []
        for short in RECORDED:
            if short not in self.checks:
                continue
            check = kept.get(short)
            if check is None:
                found.append(self.single_head() if short == "single_head" else
                             self.roundtrip(provisioned, target.name))  # fmt: skip
                continue
            found.append(
                Check(check.name, check.passed, check.actual, check.expected,
                      f"{check.message} (kept with {target.name} when it was built)")
            )  # fmt: skip
        return found
