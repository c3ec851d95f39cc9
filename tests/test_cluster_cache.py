"""The cluster cache under concurrent use: `gate clean --cache` (or another run's pruning)
never takes away a cluster while a run copies it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from gate.database import cluster_cache
from gate.database.cluster_cache import clear_cluster_cache, copy_cached_cluster, forget_cluster


def complete_entry(cache: Path, key: str) -> Path:
    entry = cache / key
    (entry / "global").mkdir(parents=True)
    (entry / "PG_VERSION").write_text("15\n")
    (entry / "global" / "pg_control").write_bytes(b"\0" * 8192)
    (entry / "base").mkdir()
    for n in range(20):
        (entry / "base" / str(n)).write_bytes(bytes([n]) * 4096)
    return entry


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("remove", [clear_cluster_cache, lambda c: forget_cluster(c, "pg15-k")])
def test_removing_waits_for_a_copy_in_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, remove: Any
) -> None:
    cache = tmp_path / "clusters"
    expected = files_of(complete_entry(cache, "pg15-k"))
    copying, resume = threading.Event(), threading.Event()
    copy = cluster_cache._copy_tree

    def paused_copy(*args: Any, **kwargs: Any) -> Any:
        copying.set()
        assert resume.wait(30)  # mid-copy, as long as the test says
        return copy(*args, **kwargs)

    monkeypatch.setattr(cluster_cache, "_copy_tree", paused_copy)
    data_dir = tmp_path / "data"
    copied: list[bool] = []
    copier = threading.Thread(
        target=lambda: copied.append(copy_cached_cluster(cache, "pg15-k", data_dir))
    )
    copier.start()
    remover = threading.Thread(target=remove, args=(cache,))
    try:
        assert copying.wait(30)
        remover.start()
        remover.join(0.5)
        assert remover.is_alive(), "the entry was removed while a run was copying it"
    finally:
        resume.set()
        copier.join(30)
        if remover.ident is not None:
            remover.join(30)

    assert copied == [True]
    assert files_of(data_dir) == expected
    assert not (cache / "pg15-k").exists()
    assert list(cache.iterdir()) == []  # nothing set aside is left


def test_a_copy_after_the_removal_finds_no_entry(tmp_path: Path) -> None:
    cache = tmp_path / "clusters"
    entry = complete_entry(cache, "pg15-k")
    assert clear_cluster_cache(cache) == [f"cached cluster {entry}"]
    assert not copy_cached_cluster(cache, "pg15-k", tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_the_major_version_is_asked_once_per_build_and_cleared_with_the_cache(
    tmp_path: Path,
) -> None:
    """`postgres --version` ran on every warm start; a build's answer is now kept beside the
    clusters, and `gate clean --cache` takes it away with them."""
    from gate.database.binaries import find_binaries

    binaries = find_binaries()
    cache = tmp_path / "clusters"
    first = cluster_cache.cluster_key(binaries, ["--no-sync"], "owner", cache)
    notes = list((tmp_path / cluster_cache.VERSIONS_FOLDER).iterdir())
    assert first.startswith("pg") and len(notes) == 1
    assert first.split("-")[0] == f"pg{notes[0].read_text()}"
    # The remembered answer is what the next key is made of: postgres is not asked again.
    notes[0].write_text("99")
    assert cluster_cache.cluster_key(binaries, ["--no-sync"], "owner", cache).startswith("pg99-")
    assert cluster_cache.cluster_key(binaries, ["--no-sync"], "owner").split("-")[0] == (
        first.split("-")[0]
    )
    complete_entry(cache, first)
    clear_cluster_cache(cache)
    assert not (tmp_path / cluster_cache.VERSIONS_FOLDER).exists()
