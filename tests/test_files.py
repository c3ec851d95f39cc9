"""files: the one cache root and the one whole-or-nothing write."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gate.files import cache_root, write_atomic
from gate.ledger import state_dir


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"GATE_CACHE_DIR": "/c", "XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/c"),
        ({"XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/x/gate"),
        ({"GATE_CACHE_DIR": "", "XDG_CACHE_HOME": "", "HOME": "/h"}, "/h/.cache/gate"),
    ],
)
def test_the_cache_root_and_what_lives_under_it(
    environ: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", environ["HOME"])
    assert cache_root(environ) == Path(expected)
    assert state_dir(environ) == Path(expected) / "runs"
    assert state_dir({**environ, "GATE_STATE_DIR": "/s"}) == Path("/s")


@pytest.mark.parametrize("mode", [0o600, 0o777, 0o666])
def test_a_write_replaces_the_file_whole_with_the_mode_asked(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "deep" / "report.txt"
    write_atomic(target, "first")
    write_atomic(target, "second", mode=mode)
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.read_text() == "second"
    assert stat.S_IMODE(target.stat().st_mode) == mode & ~umask  # as for any new file
    assert [p.name for p in target.parent.iterdir()] == ["report.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "ledger.json"
    write_atomic(target, "old")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "\ud800")  # a lone surrogate cannot be written as UTF-8
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["ledger.json"]


def test_a_rewritten_file_keeps_its_mode_and_a_new_one_gets_a_new_file_s(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    fresh = tmp_path / "report.json"
    write_atomic(fresh, "{}")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask
    kept = tmp_path / "gate.yaml"
    kept.write_text("old")
    kept.chmod(0o640)
    write_atomic(kept, "new")
    assert (kept.read_text(), stat.S_IMODE(kept.stat().st_mode)) == ("new", 0o640)
