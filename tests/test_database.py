"""Private servers from the cluster cache, clones of templates, and worker counts."""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from gate.database.address import ServerAddress
from gate.database.binaries import find_binaries
from gate.database.cluster_cache import clear_cluster_cache, cluster_cache_dir
from gate.database.ephemeral import ephemeral_server, fast_temp_root
from gate.database.server import create_database, drop_database
from gate.provision import worker_count, worker_ids


def select_one(address: ServerAddress) -> object:
    with psycopg.connect(**address.conninfo()) as connection:
        row = connection.execute("SELECT 1").fetchone()
    return row[0] if row else None


def test_cold_start_fills_the_cache_and_a_warm_start_copies_it(tmp_path: Path) -> None:
    cache = tmp_path / "clusters"
    binaries = find_binaries()
    with ephemeral_server(binaries, cache=cache) as server:
        assert server.cluster_origin == "cold"
        assert select_one(server.address) == 1
    entries = list(cache.iterdir())
    assert [entry.name.startswith("pg") for entry in entries] == [True]
    assert (entries[0] / "PG_VERSION").is_file()
    assert not (entries[0] / "postmaster.pid").exists()  # saved before the server started

    started = time.monotonic()
    with ephemeral_server(binaries, cache=cache) as server:
        ready_s = time.monotonic() - started
        assert server.cluster_origin == "warm"
        assert select_one(server.address) == 1
        owner = server.data_dir.stat().st_uid
        if server.account is not None:  # as root, the copy belongs to the server's account
            assert owner == server.account.uid
        base = server.base_dir
    assert not base.exists()
    assert ready_s < 5  # generous: the figure that matters is in bench/provision_speed.py

    assert clear_cluster_cache(cache) == [f"cached cluster {entries[0]}"]
    assert list(cache.iterdir()) == []


def test_a_damaged_cached_cluster_is_rebuilt(tmp_path: Path) -> None:
    cache = tmp_path / "clusters"
    binaries = find_binaries()
    with ephemeral_server(binaries, cache=cache):
        pass
    (entry,) = cache.iterdir()
    (entry / "global" / "pg_control").write_bytes(b"not a control file")
    with ephemeral_server(binaries, cache=cache) as server:
        assert server.cluster_origin == "cold"
        assert select_one(server.address) == 1
    assert (entry / "global" / "pg_control").stat().st_size > 100


def test_without_a_cache_the_server_runs_initdb(tmp_path: Path) -> None:
    with ephemeral_server(find_binaries(), cache=None) as server:
        assert server.cluster_origin == "uncached"
        assert select_one(server.address) == 1
    assert not (tmp_path / "clusters").exists()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"GATE_CACHE_DIR": "/c", "XDG_CACHE_HOME": "/x"}, "/c/clusters"),
        ({"XDG_CACHE_HOME": "/x"}, "/x/gate/clusters"),
        ({}, str(Path.home() / ".cache/gate/clusters")),
    ],
)
def test_cluster_cache_folder(environ: dict[str, str], expected: str) -> None:
    assert cluster_cache_dir(environ) == Path(expected)


def test_an_explicit_tmpdir_wins_over_dev_shm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", "/tmp")
    assert fast_temp_root() is None
    monkeypatch.delenv("TMPDIR")
    assert fast_temp_root() in (None, Path("/dev/shm"))


def test_a_clone_waits_for_a_session_to_leave_its_template(pg_server: ServerAddress) -> None:
    template = "gate_test_tpl_" + uuid.uuid4().hex[:8]
    clone = template + "_clone"
    create_database(pg_server, template)
    try:
        lingering = psycopg.connect(**pg_server.with_database(template).conninfo())
        closer = threading.Timer(0.4, lingering.close)
        closer.start()
        create_database(pg_server, clone, template=template)  # retries until the session left
        closer.join()
        drop_database(pg_server, clone)
    finally:
        drop_database(pg_server, template)


@pytest.mark.parametrize(
    ("workers", "count", "ids"),
    [(1, 1, []), (2, 2, ["gw0", "gw1"]), ("3", 3, ["gw0", "gw1", "gw2"])],
)
def test_worker_count_and_ids(workers: int | str, count: int, ids: list[str]) -> None:
    assert worker_count(workers) == count
    assert worker_ids(count) == ids


def test_auto_workers_is_the_cpu_count() -> None:
    assert worker_count("auto") == (os.cpu_count() or 1)


def test_a_cluster_saved_with_a_template_starts_with_it(tmp_path: Path) -> None:
    cache = tmp_path / "clusters"
    binaries = find_binaries()
    with ephemeral_server(binaries, cache=cache, variant="tabc") as server:
        assert server.cluster_origin == "cold"
        create_database(server.address, "gate_template_0123456789ab")
        template = server.address.with_database("gate_template_0123456789ab")
        with psycopg.connect(**template.conninfo(), autocommit=True) as connection:
            connection.execute("CREATE TABLE migrated (id int)")
            connection.execute("INSERT INTO migrated VALUES (1)")
        server.save_variant("tabc")
    assert sorted(entry.name.rsplit("-", 1)[-1] for entry in cache.iterdir())[-1] == "tabc"

    with ephemeral_server(binaries, cache=cache, variant="tabc") as server:
        assert server.cluster_origin == "warm, with migrated template"
        template = server.address.with_database("gate_template_0123456789ab")
        with psycopg.connect(**template.conninfo()) as connection:
            assert connection.execute("SELECT id FROM migrated").fetchall() == [(1,)]
    with ephemeral_server(binaries, cache=cache, variant="tother") as server:
        assert server.cluster_origin == "warm"
