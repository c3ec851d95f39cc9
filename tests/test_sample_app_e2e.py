"""End to end: the real `gate run` on a copy of the bundled sample app, as the README promises.

The copy lives in a temp folder so the run writes its reports there, not into the repository;
gate's own interpreter runs the tests, since it holds the sample app's dependencies.
"""

from __future__ import annotations

import json
import shutil
from xml.etree import ElementTree

import pytest

from gate.database.address import ServerAddress
from gate.migration_capture import GIVEN_SERVER
from tests.conftest import REPO, GateRunner, Project


@pytest.fixture
def sample_copy(project: Project) -> Project:
    """The sample app and the repository's gate.yaml, copied as they are."""
    shutil.copytree(
        REPO / "sample_app",
        project.root / "sample_app",
        ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"),
    )
    shutil.copy(REPO / "gate.yaml", project.root / "gate.yaml")
    return project


def _report(project: Project) -> dict:
    return json.loads((project.root / ".gate/report.json").read_text())


def _collected(project: Project) -> int:
    """How many tests the sample app defines, counted independently of gate's report."""
    tests = project.root / "sample_app" / "tests"
    source = "\n".join(p.read_text() for p in tests.glob("test_*.py"))
    return source.count("\nasync def test_") + source.count("\ndef test_")


# The sample app's gate.yaml fails on any project callback that holds the event loop 100 ms
# (the default; FastAPI's first-request warm-up is reported apart): with the other worker
# busy, a 20 ms one has been seen to take 150-250 ms. Runs that must pass run alone.
@pytest.mark.alone
def test_sample_app_passes_out_of_the_box(gate: GateRunner, sample_copy: Project) -> None:
    result = gate("run", cwd=sample_copy.root, timeout=300)
    assert result.code == 0, result.output
    report = _report(sample_copy)
    assert report["verdict"] == "pass"
    assert {step["name"]: step["status"] for step in report["steps"]} == {
        "config": "ok",
        "provision": "ok",
        "migrate": "ok",
        "test": "ok",
        "evaluate": "ok",
        "report": "ok",
        "teardown": "ok",
    }
    tests = report["tests"]
    # Parametrized tests make the run count at least the number of test functions.
    assert tests["passed"] == tests["total"] >= _collected(sample_copy) > 20
    assert report["coverage"]["percent"] == 100.0 and report["coverage"]["branch"] is True
    assert report["blocking"] == []
    assert {check["name"] for check in report["checks"]} >= {
        "tests",
        "coverage.fail_under",
        "blocking",
    }
    # Its migration creates tables and an index on a new table: nothing that locks a live one.
    lint = next(check for check in report["checks"] if check["name"] == "migrations.lint")
    assert lint["passed"] and report["migration_findings"] == []


@pytest.mark.alone
def test_sample_app_passes_on_a_given_server(
    gate: GateRunner, sample_copy: Project, pg_server: ServerAddress
) -> None:
    result = gate("run", "--database-url", pg_server.url(), cwd=sample_copy.root, timeout=300)
    assert result.code == 0, result.output
    report = _report(sample_copy)
    assert f"{pg_server.host}:{pg_server.port}" in report["steps"][1]["detail"]
    # migrations.lint (mode: fail) cannot capture on a given server: one note, never a failure.
    assert GIVEN_SERVER in report["notes"]
    assert all(check["name"] != "migrations.lint" for check in report["checks"])


def test_a_duplicate_registration_that_crashes_fails_the_gate(
    gate: GateRunner, sample_copy: Project
) -> None:
    # Seed the bug the model suite exists to catch: the IntegrityError is no longer turned
    # into EmailAlreadyRegisteredError, so a duplicate registration answers 500, not 409.
    services = sample_copy.root / "sample_app" / "services.py"
    source = services.read_text()
    handled = "raise EmailAlreadyRegisteredError(normalized_email) from error"
    assert handled in source
    services.write_text(source.replace(handled, "raise"))

    result = gate("run", cwd=sample_copy.root, timeout=300)
    assert result.code == 1, result.output
    report = _report(sample_copy)
    assert report["verdict"] == "fail"
    assert report["tests"]["failed"] >= 1
    suite = next(check for check in report["checks"] if check["name"] == "tests")
    assert suite["passed"] is False
    junit = ElementTree.parse(sample_copy.root / ".gate/junit.xml")
    failed = {
        case.get("name")
        for case in junit.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    }
    assert "test_register_taken_email_in_other_case_is_409" in failed
    assert "test_concurrent_registrations_of_one_email_give_one_201_and_one_409" in failed
    assert "test_register_returns_id_and_normalised_email_only" not in failed


def test_sample_app_without_its_migrations_fails_at_the_migrate_step(
    gate: GateRunner, sample_copy: Project
) -> None:
    versions = sample_copy.root / "sample_app" / "alembic" / "versions"
    for migration in versions.glob("*.py"):
        text = migration.read_text()
        seeded = "def upgrade() -> None:\n    raise RuntimeError('seeded: broken migration')\n"
        migration.write_text(text.replace("def upgrade() -> None:\n", seeded, 1))

    result = gate("run", cwd=sample_copy.root, timeout=300)
    assert result.code == 1, result.output
    report = _report(sample_copy)
    statuses = {step["name"]: step["status"] for step in report["steps"]}
    assert statuses["migrate"] == "failed"
    assert statuses["test"] == "skipped"
    assert "seeded: broken migration" in result.output
