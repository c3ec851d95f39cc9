"""Gives a run its database: none, a throwaway one on a given server, or one on a private server.

A run goes through three moments: the server (provision_database), the migrated source
(Provisioned.migration_target: the cached template, or the run database itself without the
cache), then the run's databases cloned from it, one per xdist worker (create_run_databases).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gate.database.address import (
    ServerAddress,
    export_environment,
    parse_server_url,
    wants_database_roles,
)
from gate.database.binaries import find_binaries
from gate.database.cluster_cache import (
    binaries_copies_record,
    clear_cluster_cache,
    cluster_cache_dir,
)
from gate.database.ephemeral import WARM_WITH_TEMPLATE, EphemeralServer, ephemeral_server
from gate.database.run_as import remove_binaries_copies
from gate.database.server import (
    database_role,
    drop_database,
    drop_database_role,
    server_version,
    throwaway_database,
)
from gate.database_use import DatabaseWatch
from gate.durations import read_durations, read_startup
from gate.ledger import Ledger
from gate.migration_target import names_run_database
from gate.prefetch import prefetch
from gate.template_cache import (
    TemplateIndex,
    TemplateSlot,
    clean_template_cache,
    migrated_template,
)
from gate.template_key import KeyScope, files_digest, template_key
from gate.workers import available_cpus, choose_workers, free_cpus


@dataclass(frozen=True)
class DatabaseRequest:
    mode: str  # ephemeral | server | none
    server: ServerAddress | None  # server mode's server, parsed from the config
    scheme: str
    export: Mapping[str, str]
    keep: bool
    bin_dir: Path | None
    cache: bool = True  # migrated templates and the initialised-cluster cache; --no-cache: False
    environ: Mapping[str, str] | None = None  # where GATE_CACHE_DIR and XDG_CACHE_HOME are read
    # migrations.command and the project root: a private server may start from a cached
    # cluster that already holds their migrated template.
    migrations: tuple[str, ...] = ()
    root: Path | None = None
    # migrations.checks whose results the template keeps (migration_checks.RECORDED)
    recorded_checks: tuple[str, ...] = ()
    key_scope: KeyScope = field(default_factory=KeyScope)  # the rest of the template key


@dataclass
class MigrationTarget:
    """Where migrations go: env hands over that database; cached means nothing to run."""

    env: dict[str, str]
    name: str
    cached: bool
    slot: TemplateSlot | None = None

    def succeeded(self) -> None:
        """Migrations went through: the template being built is published."""
        if self.slot is not None and not self.slot.cached:
            self.slot.built()

    @property
    def record(self) -> str | None:
        """What the cached template was built with (see keep)."""
        return self.slot.record if self.slot is not None else None

    def keep(self, record: str) -> None:
        """Text the template being built keeps for the runs that clone it; none without one."""
        if self.slot is not None and not self.slot.cached:
            self.slot.keep(record)


def run_database_name(run_id: str) -> str:
    return f"gate_{run_id}"


def worker_database_name(run_id: str, worker: str) -> str:
    return f"gate_{run_id}_{worker}"


def worker_count(workers: int | str, durations: Path | None = None) -> int:
    """tests.workers as a number, as gate passes `-n` concretely: auto is the count predicted
    to finish first from the durations recorded in tests.durations (gate.workers)."""
    if workers == "auto":
        tests = read_durations(durations)
        cpus = available_cpus()
        return choose_workers(tests, read_startup(durations), cpus, free_cpus(cpus))
    return max(1, int(workers))


def worker_ids(count: int) -> list[str]:
    """xdist's worker ids (PYTEST_XDIST_WORKER) for -n count; none when xdist is off."""
    return [f"gw{n}" for n in range(count)] if count > 1 else []


@dataclass
class Provisioned:
    """The run's database (None in mode none) and the environment that hands it over."""

    address: ServerAddress | None
    env: dict[str, str] = field(default_factory=dict)
    detail: str = "no database (database.mode: none)"
    secrets: list[str] = field(default_factory=list)
    server_started: bool = False
    worker_env: dict[str, dict[str, str]] = field(default_factory=dict)
    server: ServerAddress | None = None
    where: str = ""
    run_databases: list[str] = field(default_factory=list)  # the run's, then worker clones
    _request: DatabaseRequest | None = None
    _run_id: str = ""
    _ledger: Ledger | None = None
    _stack: contextlib.ExitStack | None = None
    _source: str | None = None  # the migrated database run databases are cloned from
    _private: EphemeralServer | None = None
    _variant: str | None = None  # the cached-cluster variant holding this run's template
    _files: str | None = None  # the project files' part of the template key, once per run

    @property
    def template(self) -> str | None:
        """The migrated template run databases are cloned from, when there is one."""
        if self._source is None or self._source.startswith(run_database_name(self._run_id)):
            return None
        return self._source

    @property
    def statement_log(self) -> Path | None:
        """The private server's log, where migration_capture reads what migrations ran; None
        on a given server, whose log gate cannot read."""
        return self._private.log_file if self._private is not None else None

    def _export(self, address: ServerAddress) -> dict[str, str]:
        assert self._request is not None
        return export_environment(self._request.export, address, self._request.scheme)

    @contextlib.contextmanager
    def scratch_clone(self, source: str, purpose: str) -> Iterator[dict[str, str]]:
        """A throwaway copy of `source` (gate_<run id>_<purpose>), handed over like the run's
        database (database.export) and dropped after the block."""
        assert self.server is not None and self._ledger is not None
        name = f"{run_database_name(self._run_id)}_{purpose}"
        with _database_on(self.server, name, self._ledger, False, source, self._roles) as clone:
            yield self._export(clone)

    def _database(self, name: str, template: str | None) -> ServerAddress:
        assert self.server is not None and self._stack is not None and self._ledger is not None
        assert self._request is not None
        return self._stack.enter_context(
            _database_on(self.server, name, self._ledger, self._request.keep, template, self._roles)
        )

    @property
    def _roles(self) -> bool:
        """database.export's {database_role}: each database gets a login role of its name."""
        return self._request is not None and wants_database_roles(self._request.export)

    @contextlib.contextmanager
    def migration_target(self, command: Sequence[str], root: Path) -> Iterator[MigrationTarget]:
        """The database migrations run into; call succeeded() on the target when they pass."""
        request = self._request
        if self.server is None or request is None or self._ledger is None:
            yield MigrationTarget(env={}, name="", cached=False)
            return
        if not request.cache:
            database = self._database(run_database_name(self._run_id), None)
            self.address = database
            yield MigrationTarget(env=self._export(database), name=database.database, cached=False)
            self._source = database.database
            return
        # Ephemeral servers vanish with the run; only templates on a given server are indexed.
        index = TemplateIndex.under(self._ledger.path.parent) if request.mode == "server" else None
        with migrated_template(self.server, command, root, self._run_id, self._ledger,
                               index, request.recorded_checks,
                               request.key_scope, self._files) as slot:  # fmt: skip
            if slot.build is None:
                yield MigrationTarget(env={}, name=slot.name, cached=True, slot=slot)
            else:
                # The role goes before the template is published: a cached cluster keeps
                # none of a past run's roles.
                with _role_on(self.server, slot.build.database, self._ledger, self._roles):
                    yield MigrationTarget(
                        env=self._export(slot.build),
                        name=slot.build.database,
                        cached=False,
                        slot=slot,
                    )
        if slot.succeeded or slot.cached:
            self._source = slot.name
        if slot.succeeded and self._private is not None and self._variant is not None:
            # Next time the private server starts with this template already in it.
            self._private.save_variant(self._variant)

    def create_run_databases(self, workers: int) -> None:
        """gate_<run id>, and one clone per xdist worker, from the migrated source if any."""
        if self.server is None:
            return
        name = run_database_name(self._run_id)
        if self.address is None and self._fresh_template_copy():
            # The private server is a fresh copy of a cached cluster that holds the migrated
            # template, and nothing else reads that copy: the template itself is the run's
            # database (a CREATE DATABASE saved), as pristine as a clone of it would be.
            assert self._source is not None
            self.address = self.server.with_database(self._source)
            name = self._source
        if self.address is None:
            self.address = self._database(name, self._source)
        self.env = self._export(self.address)
        self.run_databases = [self.address.database]
        ids = worker_ids(workers)
        for worker in ids:
            clone = self._database(worker_database_name(self._run_id, worker), self._source)
            self.worker_env[worker] = self._export(clone)
            self.run_databases.append(clone.database)
        origin = ""
        if self._source and self._source != name:
            origin = f" from {self._source}"
        elif name == self._source and self.template is not None:
            origin = " (the cached template itself, in this run's copy of the cluster)"
        per_worker = f" (+{len(ids)} worker clones)" if ids else ""
        database = f"database {name}{origin}{per_worker}"
        if self.server_started:
            self.detail = f"{self.where}, {database}"
        else:
            self.detail = f"{database} on {self.where}"

    def _fresh_template_copy(self) -> bool:
        """The run started its private server from a cached cluster holding its template (and
        needs no login role named after its database, which the template has not)."""
        return (
            self._private is not None
            and self._private.cluster_origin == WARM_WITH_TEMPLATE
            and self.template is not None
            and not self._roles
        )

    def watch_database_use(self, *, migrated: bool) -> DatabaseWatch | None:
        """Read the server's counters before the tests (see database_use.py); None without
        a database."""
        if self.server is None or self._request is None or not self.run_databases:
            return None
        ours = {*self.run_databases, *([self._source] if self._source else [])}
        return DatabaseWatch.start(
            self.server,
            tuple(self.run_databases),
            ours,
            private=self.server_started,
            export=dict(self._request.export),
            exported=dict(self.env),
            names_run_database=names_run_database(self._request.export),
            migrated=migrated,
        )


@contextlib.contextmanager
def _database_on(
    server: ServerAddress,
    name: str,
    ledger: Ledger,
    keep: bool,
    template: str | None = None,
    role: bool = False,
) -> Iterator[ServerAddress]:
    """The database `name` (and with `role` a login role of its name, made before it and
    dropped after it) for the block, recorded in the ledger while it exists."""
    with _role_on(server, name, ledger, role, keep):
        ledger.add_database(server.url(), name)  # recorded first: a kill mid-CREATE is cleaned
        try:
            with throwaway_database(server, name, keep=keep, template=template) as database:
                yield database
        finally:
            if not keep:
                ledger.forget_database(name)


@contextlib.contextmanager
def _role_on(
    server: ServerAddress, name: str, ledger: Ledger, wanted: bool, keep: bool = False
) -> Iterator[None]:
    if not wanted:
        yield
        return
    ledger.add_role(server.url(), name)  # recorded first, as every database
    try:
        with database_role(server, name, keep=keep):
            yield
    finally:
        if not keep:
            ledger.forget_role(name)


@contextlib.contextmanager
def provision_database(
    request: DatabaseRequest, run_id: str, ledger: Ledger
) -> Iterator[Provisioned]:
    """The server for the run; its databases come from Provisioned.create_run_databases."""
    if request.mode == "none":
        yield Provisioned(address=None)
        return
    if request.keep:
        ledger.kept = True  # for `gate clean`, not for the next run's reaping
    with contextlib.ExitStack() as stack:
        if request.mode == "server":
            assert request.server is not None
            server = request.server
            # Reached now, so that an unreachable server fails the provision step, not the
            # migrate step that would otherwise connect first.
            server_version(server)
            yield Provisioned(
                address=None,
                detail=f"server {server.host}:{server.port}",
                secrets=[server.password] if server.password else [],
                server=server,
                where=f"{server.host}:{server.port}",
                _request=request,
                _run_id=run_id,
                _ledger=ledger,
                _stack=stack,
            )
            return
        binaries = find_binaries(request.bin_dir)
        cache = cluster_cache_dir(request.environ) if request.cache else None
        variant = files = None
        if cache is not None and request.migrations and request.root is not None:
            files = files_digest(request.migrations, request.root, request.key_scope)
            key = template_key(
                request.migrations,
                request.root,
                "cluster",
                request.recorded_checks,
                request.key_scope,
                files,
            )
            variant = "t" + key[:12]
        # Loaded while the cluster is copied and started, when this thread only waits: not
        # earlier, where a thread importing it slowed the hashing above tenfold (each file
        # read hands the GIL over and waits up to 5 ms to get it back).
        prefetch("psycopg", "psycopg.conninfo", "psycopg.sql")
        private = stack.enter_context(
            ephemeral_server(
                binaries, keep=request.keep, cache=cache, variant=variant, ledger=ledger
            )
        )
        where = f"private PostgreSQL on 127.0.0.1:{private.port} ({private.cluster_origin})"
        yield Provisioned(
            address=None,
            detail=where,
            server_started=True,
            server=private.address,
            where=where,
            _private=private,
            _variant=variant,
            _files=files,
            _request=request,
            _run_id=run_id,
            _ledger=ledger,
            _stack=stack,
        )


def clean_caches(
    state_dir: Path, environ: Mapping[str, str] | None = None
) -> tuple[list[str], list[str]]:
    """`gate clean --cache`: the templates gate built on servers (as its index records them),
    the cached clusters and the binaries copies root runs made; returns (removed, problems)."""
    removed, problems = clean_template_cache(state_dir)
    removed += clear_cluster_cache(cluster_cache_dir(environ))
    removed += remove_binaries_copies(binaries_copies_record(environ))
    return removed, problems


def drop_leftover(url: str, name: str) -> None:
    """Used by gate clean for a database a killed run recorded."""
    drop_database(parse_server_url(url, source="ledger"), name)


def drop_leftover_role(url: str, name: str) -> None:
    """Used by gate clean for a role ({database_role}) a killed run recorded."""
    drop_database_role(parse_server_url(url, source="ledger"), name)
