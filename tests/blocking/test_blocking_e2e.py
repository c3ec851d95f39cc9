"""End to end: `gate run` with the blocking check on the sample app and across xdist workers."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gate.database.address import ServerAddress
from gate.template_cache import clean_template_cache
from tests.conftest import REPO, GateRunner, Project

ENDPOINTS = Path("sample_app/api/routes/auth.py")


def read_report(project: Project) -> dict[str, Any]:
    return json.loads((project.root / ".gate/report.json").read_text())


def templates_on(server: ServerAddress) -> set[str]:
    with psycopg.connect(**server.conninfo(), autocommit=True) as connection:
        rows = connection.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'gate\\_template\\_%'"
        ).fetchall()
    return {str(row[0]) for row in rows}


@pytest.fixture
def sample_copy(
    project: Project, tmp_path: Path, state_dir: Path, pg_server: ServerAddress
) -> Iterator[tuple[Project, dict[str, str]]]:
    """The repository's sample app and gate.yaml, copied; the copy may be changed freely."""
    shutil.copytree(
        REPO / "sample_app",
        project.root / "sample_app",
        ignore=shutil.ignore_patterns("__pycache__", ".gate"),
    )
    shutil.copy(REPO / "gate.yaml", project.root / "gate.yaml")
    before = templates_on(pg_server)
    yield project, {"GATE_CACHE_DIR": str(tmp_path / "cache")}
    _, problems = clean_template_cache(state_dir)
    assert problems == []
    assert templates_on(pg_server) - before == set(), "a template gate built was not indexed"


def seed_sleep(path: Path) -> int:
    """Puts a time.sleep at the top of the async `register` endpoint; returns its line."""
    lines = path.read_text().splitlines(keepends=True)
    lines.insert(lines.index("from datetime import timedelta\n") + 1, "import time\n")
    signature = next(n for n, text in enumerate(lines) if text.startswith("async def register("))
    body = next(n for n in range(signature, len(lines)) if lines[n].rstrip().endswith(":")) + 1
    lines.insert(body, "    time.sleep(0.001)  # seeded: blocks the event loop\n")
    path.write_text("".join(lines))
    return body + 1


@pytest.mark.alone  # the sample app's gate.yaml: the default slow_ms 100, as in test_sample_app_e2e
def test_sample_app_passes_and_a_seeded_sleep_fails_naming_its_line(
    gate: GateRunner,
    sample_copy: tuple[Project, dict[str, str]],
    pg_server: ServerAddress,
) -> None:
    project, env = sample_copy
    run = ("run", "--database-url", pg_server.url())

    clean = gate(*run, cwd=project.root, env=env)
    assert clean.code == 0, clean.output
    report = read_report(project)
    assert report["blocking"] == []
    assert {c["name"]: c["passed"] for c in report["checks"]}["blocking"] is True

    line = seed_sleep(project.root / ENDPOINTS)
    seeded = gate(*run, cwd=project.root, env=env)

    assert seeded.code == 1, seeded.output
    report = read_report(project)
    assert report["tests"]["failed"] == 0  # only the blocking check fails the gate
    places = {(f["file"], f["line"], f["kind"], f["call"]) for f in report["blocking"]}
    assert places == {(ENDPOINTS.as_posix(), line, "call", "time.sleep")}
    tests = {f["test"] for f in report["blocking"]}
    api_tests = "sample_app/tests/test_auth_api.py::"
    assert f"{api_tests}test_register_returns_id_and_normalised_email_only" in tests
    assert report["blocking"][0]["stack"][0] == {
        "file": ENDPOINTS.as_posix(),
        "line": line,
        "function": "register",
        "project": True,
        "async": True,
    }
    check = next(c for c in report["checks"] if c["name"] == "blocking")
    assert check["passed"] is False
    assert f"at {ENDPOINTS.as_posix()}:{line}" in check["message"]
    assert f"{ENDPOINTS.as_posix()}:{line} time.sleep x{len(report['blocking'])}" in seeded.stdout
    junit = ET.parse(project.root / ".gate/junit.xml")
    notes = {p.get("value", "") for p in junit.iter("property") if p.get("name") == "gate.blocking"}
    assert notes and all(n.startswith(f"{ENDPOINTS.as_posix()}:{line} time.sleep (") for n in notes)


def test_findings_of_every_xdist_worker_are_merged(gate: GateRunner, project: Project) -> None:
    project.write(
        "tests/test_handlers.py",
        """
        import asyncio
        import time

        import pytest


        @pytest.mark.parametrize("n", range(8))
        def test_handler_blocks(n):
            async def handler():
                time.sleep(0.001)

            asyncio.run(handler())
        """,
    )
    project.write(
        "gate.yaml",
        f"""
        database: {{mode: none}}
        tests:
          workers: 2
          args: [--basetemp, {project.root.parent / "basetemp"}]
        blocking: {{mode: warn}}
        """,
    )
    result = gate("run", cwd=project.root)

    assert result.code == 0, result.output  # warn mode reports without failing
    findings = read_report(project)["blocking"]
    assert sorted(f["test"] for f in findings) == [
        f"tests/test_handlers.py::test_handler_blocks[{n}]" for n in range(8)
    ]
    assert {(f["file"], f["line"]) for f in findings} == {("tests/test_handlers.py", 10)}
    assert {f["worker"] for f in findings} == {"gw0", "gw1"}
    assert "tests/test_handlers.py:10 time.sleep x8" in result.stdout
