"""A tests.python that is not a Python 3.9+ interpreter is a config error: one paragraph, exit 2."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import GateRunner, Project

PYENV = Path.home() / ".pyenv" / "versions"


def old_python(version: str) -> Path:
    found = sorted(PYENV.glob(f"{version}.*/bin/python"))
    if not found:
        pytest.fail(f"no Python {version} on this machine; install it (`pyenv install {version}`)")
    return found[-1]


def write_project(project: Project, python: str) -> None:
    project.write("tests/test_one.py", "def test_one():\n    assert True\n")
    project.write(
        "gate.yaml",
        f"""
        database: {{mode: none}}
        tests: {{python: "{python}"}}
        coverage: {{source: []}}
        """,
    )


def assert_config_error(gate: GateRunner, project: Project, *expected: str) -> str:
    for command in ("check", "run"):
        result = gate(command, cwd=project.root)
        assert result.code == 2, (command, result.output)
        assert "Traceback" not in result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr  # one paragraph
        for part in expected:
            assert part in lines[0], lines[0]
    report = json.loads((project.root / ".gate/report.json").read_text())
    assert (report["verdict"], report["exit_code"]) == ("error", 2)
    return lines[0]


@pytest.mark.parametrize("program", ["/bin/true", "/bin/echo", "/bin/ls"])
def test_a_program_that_is_not_python(gate: GateRunner, project: Project, program: str) -> None:
    write_project(project, program)
    assert_config_error(
        gate, project, f"tests.python: {program} is not a Python interpreter", ".venv/bin/python"
    )


def test_a_test_file_that_cannot_be_executed(gate: GateRunner, project: Project) -> None:
    write_project(project, "tests/test_one.py")
    assert_config_error(
        gate,
        project,
        f"tests.python: {project.root}/tests/test_one.py cannot be executed (Permission denied)",
    )


def test_an_executable_file_that_is_no_program(gate: GateRunner, project: Project) -> None:
    script = project.write("notes.txt", "just words\n")
    script.chmod(0o755)
    write_project(project, "notes.txt")
    assert_config_error(gate, project, "tests.python:", "notes.txt cannot be executed (")


def test_a_venv_folder_points_at_the_python_inside(gate: GateRunner, project: Project) -> None:
    venv = project.root / "env"
    (venv / "bin").mkdir(parents=True)
    os.symlink(old_python("3.11"), venv / "bin" / "python")
    write_project(project, "env")
    assert_config_error(
        gate, project, "tests.python: env is a folder, not an interpreter", f"{venv}/bin/python"
    )


@pytest.mark.parametrize("version", ["2.7", "3.8"])
def test_a_python_older_than_3_9(gate: GateRunner, project: Project, version: str) -> None:
    python = old_python(version)
    write_project(project, str(python))
    line = assert_config_error(gate, project, f"tests.python: {python} is Python {version}.")
    assert "gate needs 3.9 or newer" in line
