"""End to end: a report sent to stdout (`-`) owns stdout; the summary goes to stderr."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest

from tests.conftest import GateRunner, Project


@pytest.fixture
def no_database_app(project: Project) -> Project:
    project.write("app/__init__.py", "def double(x):\n    return 2 * x\n")
    project.write(
        "tests/test_app.py",
        "from app import double\n\n\ndef test_double():\n    assert double(2) == 4\n",
    )
    project.write("gate.yaml", "database: {mode: none}\ncoverage: {source: [app]}\n")
    return project


def test_json_to_stdout_is_one_document(gate: GateRunner, no_database_app: Project) -> None:
    result = gate("run", "--json", "-", cwd=no_database_app.root)
    assert result.code == 0, result.output
    report = json.loads(result.stdout)  # nothing else on stdout
    assert report["schema"] == "gate.report/1" and report["verdict"] == "pass"
    assert "PASS (exit 0)" in result.stderr


@pytest.mark.parametrize(
    ("flag", "root_tag"), [("--coverage-xml", "coverage"), ("--junit", "testsuites")]
)
def test_xml_reports_to_stdout(
    gate: GateRunner, no_database_app: Project, flag: str, root_tag: str
) -> None:
    result = gate("run", flag, "-", cwd=no_database_app.root)
    assert result.code == 0, result.output
    document = ElementTree.fromstring(result.stdout)
    assert document.tag == root_tag
    if root_tag == "coverage":
        assert document.get("line-rate") == "1"
    else:
        assert [case.get("name") for case in document.iter("testcase")] == ["test_double"]
    assert "PASS (exit 0)" in result.stderr


@pytest.mark.parametrize(
    ("flag", "where", "reason"),
    [
        ("--json", "/proc/gate/report.json", "No such file or directory"),
        ("--junit", "{root}/gate.yaml/junit.xml", "is not a folder"),
        ("--coverage-xml", "{root}/tests", "it is a folder"),
    ],
)
def test_a_report_that_cannot_be_written_stops_the_run_before_it_starts(
    gate: GateRunner, no_database_app: Project, flag: str, where: str, reason: str
) -> None:
    project = no_database_app
    target = where.format(root=project.root)
    result = gate("run", flag, target, cwd=project.root)
    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    assert f"gate: {flag}: cannot write the report to {target}: " in result.stderr
    assert reason in result.stderr
    if flag == "--json":
        return  # the one JSON report was to go there
    report = json.loads((project.root / ".gate/report.json").read_text())
    assert [s["name"] for s in report["steps"] if s["status"] != "skipped"] == [
        "config",
        "report",
        "teardown",
    ]  # nothing was provisioned or tested


def test_gate_check_refuses_a_configured_report_path_it_cannot_write(
    gate: GateRunner, no_database_app: Project
) -> None:
    project = no_database_app
    config = project.root / "gate.yaml"
    config.write_text(config.read_text() + "reports: {markdown: /proc/gate/summary.md}\n")
    result = gate("check", cwd=project.root)
    assert result.code == 2, result.output
    assert "gate: reports.markdown: cannot write the report to /proc/gate/summary.md" in (
        result.stderr
    )
