"""The check `tests.database`: the tests used the database gate made for them, not another.

On a private server gate started, every write during the tests is the tests', so a write
into any database that was there before them (the server's `postgres`, template1) fails
the run: the verdict was earned in a database nobody asked for, and teardown cannot remove
what they left there. On a given server other clients write too, so gate cannot attribute
writes; there it says so when the tests never opened a transaction in the run's database
that migrations prepared for them, as a warning: a suite that makes its own test database
(pytest-django's test_<name>) or needs none looks the same from outside and is healthy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.checks.base import Check, Evidence, Judgement
from gate.database_use import DatabaseUse

NAME = "tests.database"
# The placeholders that give a variable the run's database (address.EXPORT_FIELDS).
_RUN_DATABASE = "{url}, {database} or {database_role}"


def _export_text(export: Mapping[str, str]) -> str:
    return ", ".join(f'{name}: "{template}"' for name, template in export.items()) or "nothing"


def wrong_database_message(use: DatabaseUse) -> str:
    """One paragraph: where the tests wrote, where they should have, what to change."""
    written = ", ".join(
        f"{name} ({rows} row(s) written)" for name, rows in sorted(use.wrote_elsewhere.items())
    )
    run = use.run_databases[0]
    clones = (
        f" (or its worker clones {', '.join(use.run_databases[1:])})"
        if len(use.run_databases) > 1
        else ""
    )
    suspects = ""
    if use.suspects:
        named = ", ".join(
            f'{variable} ("{use.export[variable]}", which gate filled in as `{value}`)'
            for variable, value in sorted(use.suspects.items())
        )
        suspects = (
            f" {named} is the very name of the database they wrote into: if your "
            'code names its database after it, export it as "{database}", or as '
            '"{database_role}" when the same variable is also the user it connects as.'
        )
    return (
        f"the tests wrote into the database {written} on gate's private server, not into "
        f"{run}{clones}, the database gate made for them: the code reached its database "
        "through a variable or a default that database.export does not set to the run's "
        "database, so the verdict was earned in a database gate did not make for the run "
        f"(on a given server, what the tests left there would stay).{suspects} Fix "
        f"database.export in gate.yaml (now {_export_text(use.export)}) so that every "
        f"variable your code builds its database name from gets {_RUN_DATABASE}"
    )


def unused_database_message(use: DatabaseUse) -> str:
    run = use.run_databases[0]
    return (
        f"the tests never opened a transaction in {run}, the database gate migrated for "
        "them: they may have written into another database on this server, which gate "
        "cannot tell apart from other clients on a given server (on a private server, "
        "database.mode: ephemeral, it can). Check that database.export (now "
        f"{_export_text(use.export)}) sets every variable your code reads its database "
        "from. Not failing: a suite that makes its own test database or needs none looks "
        "the same (database.mode: none says a suite needs none)"
    )


def database_use_check(use: DatabaseUse) -> Check:
    run = use.run_databases[0]
    if use.wrote_elsewhere:
        return Check(NAME, False, sorted(use.wrote_elsewhere), [run],
                     wrong_database_message(use))  # fmt: skip
    if use.run_transactions == 0 and not use.private and use.migrated and use.names_run_database:
        return Check(NAME, True, 0, ">=1", "warning: " + unused_database_message(use))
    used = f"the tests used {run} ({use.run_transactions} transaction(s))"
    if use.run_transactions == 0:
        used = f"the tests did not use {run}"
    return Check(NAME, True, use.run_transactions, None,
                 used + ("; they wrote into no other database" if use.private else ""))  # fmt: skip


class DatabaseUseCheck:
    name = NAME
    empty_report: Mapping[str, Any] = {}

    def judge(self, evidence: Evidence) -> Judgement | None:
        use = evidence.database_use
        if use is None or not evidence.results.cases:
            return None  # no database, or no test ran: nothing to say where they wrote
        check = database_use_check(use)
        warned = check.passed and check.message.startswith("warning: ")
        return Judgement(checks=(check,), notes=(check.message,) if warned else ())


CHECK = DatabaseUseCheck()
