"""Gives a run its database: none, a throwaway one on a given server, or one on a private server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gate.database.address import ServerAddress, export_environment, parse_server_url
from gate.database.binaries import find_binaries
from gate.database.ephemeral import ephemeral_server
from gate.database.server import drop_database, throwaway_database
from gate.ledger import Ledger


@dataclass(frozen=True)
class DatabaseRequest:
    mode: str  # ephemeral | server | none
    server_url: str | None
    scheme: str
    export: Mapping[str, str]
    keep: bool
    bin_dir: Path | None


@dataclass
class Provisioned:
    """The run's database (None in mode none) and the environment that hands it over."""

    address: ServerAddress | None
    env: dict[str, str] = field(default_factory=dict)
    detail: str = "no database (database.mode: none)"
    secrets: list[str] = field(default_factory=list)
    server_started: bool = False


def run_database_name(run_id: str) -> str:
    return f"gate_{run_id}"


@contextlib.contextmanager
def _database_on(
    server: ServerAddress, name: str, ledger: Ledger, keep: bool
) -> Iterator[ServerAddress]:
    ledger.add_database(server.url(), name)  # recorded first: a kill mid-CREATE is still cleaned
    try:
        with throwaway_database(server, name, keep=keep) as database:
            yield database
    finally:
        if not keep:
            ledger.forget_database(name)


@contextlib.contextmanager
def provision_database(
    request: DatabaseRequest, run_id: str, ledger: Ledger
) -> Iterator[Provisioned]:
    if request.mode == "none":
        yield Provisioned(address=None)
        return
    name = run_database_name(run_id)
    if request.mode == "server":
        assert request.server_url is not None
        server = parse_server_url(request.server_url)
        with _database_on(server, name, ledger, request.keep) as database:
            yield Provisioned(
                address=database,
                env=export_environment(request.export, database, request.scheme),
                detail=f"database {name} on {server.host}:{server.port}",
                secrets=[server.password] if server.password else [],
            )
        return
    binaries = find_binaries(request.bin_dir)
    with contextlib.ExitStack() as stack:
        private = stack.enter_context(ephemeral_server(binaries, keep=request.keep))
        ledger.add_server(private.base_dir, private.process.pid if private.process else None)
        if not request.keep:
            stack.callback(ledger.forget_server, private.base_dir)
        database = stack.enter_context(_database_on(private.address, name, ledger, request.keep))
        yield Provisioned(
            address=database,
            env=export_environment(request.export, database, request.scheme),
            detail=f"private PostgreSQL on 127.0.0.1:{private.port}, database {name}",
            server_started=True,
        )


def drop_leftover(url: str, name: str) -> None:
    """Used by gate clean for a database a killed run recorded."""
    drop_database(parse_server_url(url, source="ledger"), name)
