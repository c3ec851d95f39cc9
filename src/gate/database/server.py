"""Creates and drops gate's own databases on a PostgreSQL server (given, or one gate started).

psycopg is imported when a first connection is made (a fifth of a second): `gate check`, a run
with database.mode none and the command line itself do without it, and a run that needs it
has it loaded in the background meanwhile (gate.prefetch).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from gate.database.address import ServerAddress
from gate.errors import InfraError
from gate.redact import redact

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT_S = 5
MAINTENANCE_DATABASE = "postgres"
TEMPLATE_BUSY_WAIT_S = 5.0


def _describe(address: ServerAddress) -> str:
    return f"{address.host}:{address.port} as {address.user}"


@contextlib.contextmanager
def admin_connection(
    address: ServerAddress,
) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """Autocommit connection for CREATE/DROP DATABASE; an unreachable server fails in seconds.

    The URL's database is only where gate connects to: a CI's DATABASE_URL often names the
    app's database, which need not exist yet, so gate falls back to `postgres`.
    """
    import psycopg

    try:
        try:
            connection = _connect(address)
        except psycopg.OperationalError as exc:
            missing = f'database "{address.database}" does not exist' in str(exc)
            if not (missing and address.database not in ("", MAINTENANCE_DATABASE)):
                raise
            connection = _connect(address.with_database(MAINTENANCE_DATABASE))
    except psycopg.Error as exc:
        reason = redact(str(exc).strip(), [address.password]).splitlines()
        raise InfraError(
            f"could not connect to PostgreSQL at {_describe(address)}: "
            f"{reason[0] if reason else type(exc).__name__}. Check that the server is running "
            "and reachable, and that the URL's user and password are right."
        ) from exc
    try:
        yield connection
    finally:
        connection.close()


def _connect(address: ServerAddress) -> psycopg.Connection[tuple[object, ...]]:
    import psycopg
    from psycopg.conninfo import make_conninfo

    return psycopg.connect(
        make_conninfo("", **address.conninfo()), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
    )


def server_version(address: ServerAddress) -> str:
    with admin_connection(address) as connection:
        return str(connection.info.server_version)


def create_database(address: ServerAddress, name: str, *, template: str | None = None) -> None:
    import psycopg
    from psycopg import sql

    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    with admin_connection(address) as connection:
        deadline = time.monotonic() + TEMPLATE_BUSY_WAIT_S
        while True:
            try:
                connection.execute(statement)
                return
            except psycopg.errors.ObjectInUse as exc:
                # A migration's backend may still be exiting after its client closed; a clone
                # of a template fails while any session is connected to it, so wait briefly.
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                raise InfraError(
                    f"could not create database {name} from template {template}: another "
                    f"session stays connected to {template}; close it and run again"
                ) from exc
            except psycopg.Error as exc:
                raise InfraError(
                    f"could not create database {name} on {_describe(address)}: "
                    f"{redact(str(exc).strip(), [address.password])}. The role needs CREATEDB."
                ) from exc


def checkpoint(address: ServerAddress) -> None:
    """Write every dirty page to the data files (a superuser's command)."""
    with admin_connection(address) as connection:
        connection.execute("CHECKPOINT")


def drop_database(address: ServerAddress, name: str) -> None:
    """Drop even while a leaked connection is still open (PostgreSQL 13+ FORCE)."""
    from psycopg import sql

    with admin_connection(address) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def create_database_role(address: ServerAddress, name: str) -> None:
    """A login role named like a database, for code that connects as the user its database
    is named after. Each session of it acts as gate's own role (SET role at login), so
    whatever it creates belongs to gate's role, it sees what gate's role sees, and dropping
    it leaves nothing behind; it logs in with gate's password."""
    import psycopg
    from psycopg import sql

    role, gate_role = sql.Identifier(name), sql.Identifier(address.user)
    password = sql.SQL(" PASSWORD {}").format(sql.Literal(address.password))
    with admin_connection(address) as connection:
        try:
            with connection.transaction():
                connection.execute(
                    sql.SQL("CREATE ROLE {} LOGIN{}").format(
                        role, password if address.password else sql.SQL("")
                    )
                )
                connection.execute(sql.SQL("GRANT {} TO {}").format(gate_role, role))
                connection.execute(
                    sql.SQL("ALTER ROLE {} SET role = {}").format(role, sql.Literal(address.user))
                )
        except psycopg.Error as exc:
            raise InfraError(
                f"could not create the role {name} on {_describe(address)} that "
                "database.export's {database_role} names: "
                f"{redact(str(exc).strip(), [address.password])}. gate's role needs CREATEROLE "
                "and the right to grant itself (a superuser has both); or run with a private "
                "server (database.mode: ephemeral)"
            ) from exc


def drop_database_role(address: ServerAddress, name: str) -> None:
    from psycopg import sql

    with admin_connection(address) as connection:
        connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


@contextlib.contextmanager
def database_role(server: ServerAddress, name: str, *, keep: bool = False) -> Iterator[None]:
    """The login role `name` (create_database_role) for the block, dropped on every exit."""
    create_database_role(server, name)
    try:
        yield
    finally:
        if not keep:
            drop_database_role(server, name)


@contextlib.contextmanager
def throwaway_database(
    server: ServerAddress, name: str, *, keep: bool = False, template: str | None = None
) -> Iterator[ServerAddress]:
    """Create `name` on the server for the block and drop it afterwards, on every exit path."""
    create_database(server, name, template=template)
    try:
        yield server.with_database(name)
    finally:
        if not keep:
            drop_database(server, name)
