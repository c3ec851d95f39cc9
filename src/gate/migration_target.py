"""Migrations only ever touch gate's database: refuse a config that points them elsewhere (pure).

gate hands the run's database to migrations through `database.export`. When every exported
template names the server only (`{server_url}`, or `{host}`/`{port}`/`{user}` with no
`{database}`), the migration command falls back to whatever database its own settings name:
on a shared server, the `postgres` maintenance database, written to by a run that did not
create it.
"""

from __future__ import annotations

from collections.abc import Mapping

from gate.database.address import ServerAddress
from gate.database.server import admin_connection

# Templates that say which database: any one of them in the export gives the run's own.
_DATABASE_FIELDS = ("{url}", "{database}", "{database_role}")


def names_run_database(export: Mapping[str, str]) -> bool:
    """Some exported variable names the run's database, not only its server."""
    return any(field in template for template in export.values() for field in _DATABASE_FIELDS)


def migrations_without_run_database(
    command: list[str] | None, export: Mapping[str, str], mode: str
) -> str | None:
    """The one-paragraph refusal, or None when the migrations get the run's database."""
    if not command or mode == "none":
        return None
    if names_run_database(export):
        return None
    exported = ", ".join(f"{name}: {template!r}" for name, template in export.items()) or "nothing"
    return (
        f"migrations.command ({' '.join(command)}) would run with no per-run database in its "
        f"environment: database.export hands over {exported}, and none of it names the "
        "database gate creates for the run ({url} or {database}), so the migrations would "
        "write into whatever database their own settings name (on a server, often its "
        "`postgres` maintenance database). Add a variable with {url} or {database} to "
        "database.export for the migrations to read, or remove migrations.command when the "
        "tests build their own schema"
    )


# Everything a migration can create, counted in one statement: the run's database before
# and after the command must differ, or the migrations wrote somewhere else.
_OBJECT_COUNT = """
SELECT
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%')
  + (SELECT count(*) FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%'
      AND nspname NOT IN ('information_schema', 'public'))
  + (SELECT count(*) FROM pg_extension)
  + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema'))
  + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\\_toast%')
"""


def schema_objects(address: ServerAddress) -> int:
    """How many tables, sequences, schemas, extensions, functions and types the database holds."""
    with admin_connection(address) as connection:
        row = connection.execute(_OBJECT_COUNT).fetchone()
    return int(str(row[0])) if row else 0


def unchanged_message(command: list[str], database: str) -> str:
    return (
        f"`{' '.join(command)}` exited 0 but the run's database {database} is unchanged: it "
        "created no table, schema, type, function or extension there, so the migrations "
        "migrated another database. Check that database.export names the variable(s) your "
        "migrations read their database from"
    )
