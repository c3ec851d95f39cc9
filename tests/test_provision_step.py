"""End to end: a server that cannot be reached fails the provision step, whatever comes next."""

from __future__ import annotations

import json
import socket

import pytest

from tests.conftest import GateRunner, Project


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the block ends


@pytest.mark.parametrize("migrations", ["{}\n", "migrations: {command: [python, -c, 'pass']}\n"])
def test_unreachable_server_fails_provision_not_migrate(
    gate: GateRunner, project: Project, migrations: str
) -> None:
    project.write("tests/test_x.py", "def test_x():\n    pass\n")
    project.write("gate.yaml", migrations)
    url = f"postgresql://gate:s3cret-pw@127.0.0.1:{_closed_port()}/postgres"
    result = gate("run", "--database-url", url, "--json", "-", cwd=project.root)
    assert result.code == 3, result.output
    steps = {step["name"]: step["status"] for step in json.loads(result.stdout)["steps"]}
    assert steps["provision"] == "failed"
    assert steps["migrate"] == steps["test"] == "skipped"
    assert "s3cret-pw" not in result.output
