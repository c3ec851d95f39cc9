"""End to end: the sample app with its IntegrityError handling removed and a test that only
asserts `!= 201` passes under pytest, and the real `gate run` fails naming the line."""

from __future__ import annotations

import json
import shutil

from tests.conftest import REPO, GateRunner, Project

LOOSE_TEST = '''
"""A duplicate registration, checked only for not being a 201."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sample_app.api.deps import get_session
from sample_app.models import User

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_taken_email_is_not_created(
    app: FastAPI, db_session: AsyncSession, user: User
) -> None:
    async def session_override() -> AsyncIterator[AsyncSession]:
        yield db_session

    app.dependency_overrides[get_session] = session_override
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(
            "/auth/register", json={"email": "alice@example.com", "password": "another password"}
        )
    assert response.status_code != 201
'''


def test_a_crash_behind_a_loose_assert_fails_the_gate(gate: GateRunner, project: Project) -> None:
    shutil.copytree(
        REPO / "sample_app",
        project.root / "sample_app",
        ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"),
    )
    services = project.root / "sample_app" / "services.py"
    source = services.read_text()
    handled = "raise EmailAlreadyRegisteredError(normalized_email) from error"
    assert handled in source
    services.write_text(source.replace(handled, "raise"))
    crash_line = 1 + source.splitlines().index("        await session.commit()")
    project.write("sample_app/tests/test_loose_register.py", LOOSE_TEST)
    # Only the loose test runs (so coverage has no floor here), and blocking is off (its
    # stall threshold depends on the machine's load): every test passes, and the server_errors
    # check alone fails the run.
    config = (REPO / "gate.yaml").read_text()
    config = config.replace(
        "paths: [sample_app/tests]", "paths: [sample_app/tests/test_loose_register.py]"
    )
    config = config.replace("fail_under: 100", "fail_under: 0")
    config = config.replace("blocking:\n  mode: fail", "blocking:\n  mode: off")
    assert "blocking:\n  mode: off" in config
    (project.root / "gate.yaml").write_text(config)

    result = gate("run", cwd=project.root, timeout=300)

    assert result.code == 1, result.output
    report = json.loads((project.root / ".gate/report.json").read_text())
    assert report["tests"] == {"total": 1, "passed": 1, "failed": 0, "errors": 0, "skipped": 0}
    checks = {check["name"]: check for check in report["checks"]}
    assert [name for name, check in checks.items() if not check["passed"]] == ["server_errors"]
    assert checks["server_errors"]["message"] == (
        f"1 server error(s) during the tests at sample_app/services.py:{crash_line}: handle the "
        "error and answer 4xx on purpose, or allow it in server_errors.allow"
    )
    [error] = report["server_errors"]
    assert (
        error["test"] == "sample_app/tests/test_loose_register.py::test_taken_email_is_not_created"
    )
    assert (error["kind"], error["method"], error["path"], error["status"]) == (
        "exception",
        "POST",
        "/auth/register",
        500,
    )
    assert error["exception"] == "sqlalchemy.exc.IntegrityError"
    assert (error["file"], error["line"], error["allowed"]) == (
        "sample_app/services.py",
        crash_line,
        False,
    )
    assert "another password" not in json.dumps(report)
    assert f"sample_app/services.py:{crash_line}" in result.output
