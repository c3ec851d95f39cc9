"""migrations.lint through the real `gate run`: a risky revision new on a branch fails in fail
mode, and the cached template's run reports the same from what it keeps. (On a given server,
where nothing can be captured, the run passes with a note: test_sample_app_e2e.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import GateRunner, Project
from tests.test_migration_lint import ENV_PY, ON_MAIN, RISKY_NEW, git, revision

GIT_USER = ("-c", "user.name=t", "-c", "user.email=t@t")


@pytest.fixture
def risky_branch(project: Project) -> Project:
    """An alembic project: a revision on main and, on a branch, one adding a NOT NULL column."""
    project.write("alembic.ini", "[alembic]\nscript_location = migrations\n")
    project.write("migrations/env.py", ENV_PY)
    project.write("migrations/versions/0001_users.py", revision("0001", ON_MAIN))
    project.write("tests/test_ok.py", "def test_ok():\n    assert True\n")
    project.write(
        "gate.yaml",
        """
        database: {scheme: postgresql+psycopg}
        migrations:
          command: alembic upgrade head
          lint: {mode: fail}
        tests: {timeout: 60}
        """,
    )
    git(project.root, "init", "-q", "-b", "main")
    git(project.root, *GIT_USER, "add", ".")
    git(project.root, *GIT_USER, "commit", "-qm", "users")
    git(project.root, "checkout", "-qb", "feature")
    project.write("migrations/versions/0002_age.py", revision("0002", RISKY_NEW))
    return project


def report(project: Project) -> dict[str, Any]:
    return dict(json.loads((project.root / ".gate/report.json").read_text()))


def lint_check(data: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in data["checks"] if c["name"] == "migrations.lint")


def test_a_new_not_null_column_fails_and_a_cached_template_reports_it_again(
    gate: GateRunner, risky_branch: Project
) -> None:
    result = gate("run", "--base", "main", cwd=risky_branch.root)
    assert result.code == 1, result.output
    assert "migrations/versions/0002_age.py:9: adding-required-field" in result.output
    data = report(risky_branch)
    assert lint_check(data)["passed"] is False
    found = {(f["migration"], f["rule"], f["line"], f["new"]) for f in data["migration_findings"]}
    assert found == {
        ("migrations/versions/0002_age.py", "adding-required-field", 9, True),
        ("migrations/versions/0001_users.py", "adding-required-field", 12, False),
    }
    assert "already on main are history" in " ".join(data["notes"])

    again = gate("run", "--base", "main", cwd=risky_branch.root)
    assert again.code == 1, again.output
    data = report(risky_branch)
    assert "cached template" in data["steps"][2]["detail"]
    assert "(from the statements kept with gate_template_" in lint_check(data)["message"]
    assert len(data["migration_findings"]) == 2
