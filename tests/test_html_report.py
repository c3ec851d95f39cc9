"""coverage.py's HTML report runs in a process of its own (coverage_data.HtmlReport): its
failure still stops the run as an infrastructure error, with coverage.py's own words."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.coverage_data import HtmlReport
from gate.errors import InfraError


def test_a_report_coverage_cannot_write_is_an_infrastructure_error(tmp_path: Path) -> None:
    rcfile = tmp_path / "coveragerc"
    rcfile.write_text("[run]\nbranch = maybe\n")  # not a boolean: coverage.py refuses it
    report = HtmlReport.start(
        tmp_path / "data", rcfile, tmp_path, tmp_path / "html", tmp_path / "html.log"
    )
    with pytest.raises(
        InfraError, match=r"coverage could not write its HTML report: .*Not a boolean"
    ):
        report.finish()
    assert not (tmp_path / "html").exists()


def test_no_data_is_no_report_and_no_error(tmp_path: Path) -> None:
    rcfile = tmp_path / "coveragerc"
    rcfile.write_text("[run]\nbranch = true\n")
    report = HtmlReport.start(
        tmp_path / "data", rcfile, tmp_path, tmp_path / "html", tmp_path / "html.log"
    )
    report.finish()
    assert not (tmp_path / "html" / "index.html").exists()
