"""write_report: atomic for files, and never replaces a device such as /dev/null."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gate.reporters.output import write_report


def test_creates_folders_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "report.json"
    write_report(target, "{}\n")
    assert target.read_text() == "{}\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]


def test_replaces_an_existing_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old contents that are longer")
    write_report(target, "new")
    assert target.read_text() == "new"


def test_writes_through_a_fifo_instead_of_replacing_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_report(fifo, "through the pipe")
        assert os.read(reader, 100) == b"through the pipe"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_dev_null_stays_a_device() -> None:
    write_report("/dev/null", "discarded")
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)


def test_dash_means_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    write_report("-", "to stdout")
    assert capsys.readouterr().out == "to stdout"
