"""gate runs a project's tests with the project's own interpreter, on another Python version."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import GateRunner, Project


def find_python(version: str) -> str:
    """A CPython of this version on the machine (PATH or pyenv)."""
    candidates = sorted(glob.glob(str(Path.home() / f".pyenv/versions/{version}.*/bin/python")))
    candidates += [shutil.which(f"python{version}") or ""]
    for candidate in candidates:
        # pyenv shims exist for versions that are not active; ask each one to run.
        if (
            candidate
            and subprocess.run([candidate, "-c", ""], capture_output=True, check=False).returncode
            == 0
        ):
            return candidate
    pytest.fail(f"no Python {version} on this machine; install it (e.g. `pyenv install {version}`)")


def make_venv(root: Path, python: str, *packages: str) -> Path:
    """A project .venv with only the given packages, as uv or poetry would make it."""
    uv = shutil.which("uv")
    venv = root / ".venv"
    if uv:
        subprocess.run([uv, "venv", "-q", "-p", python, str(venv)], check=True)
        if packages:
            subprocess.run(
                [uv, "pip", "install", "-q", "-p", str(venv / "bin/python"), *packages],
                check=True,
            )
    else:
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        if packages:
            subprocess.run(
                [str(venv / "bin/python"), "-m", "pip", "install", "-q", *packages], check=True
            )
    return venv / "bin" / "python"


def write_calc_project(project: Project, version: str) -> None:
    project.write(
        "src/calc/__init__.py",
        """
        def div(a, b):
            if b == 0:
                raise ZeroDivisionError("b is zero")
            return a / b
        """,
    )
    major, minor = version.split(".")
    project.write(
        "tests/test_calc.py",
        f"""
        import asyncio
        import sys
        import time

        import pytest

        from calc import div


        def test_div():
            assert div(6, 3) == 2
            with pytest.raises(ZeroDivisionError):
                div(1, 0)


        def test_runs_on_the_project_interpreter():
            assert sys.version_info[:2] == ({major}, {minor})


        def test_blocks_the_loop():
            async def handler():
                time.sleep(0.15)

            asyncio.run(handler())
        """,
    )
    project.write("pyproject.toml", '[tool.pytest.ini_options]\npythonpath = ["src"]\n')
    project.write(
        "gate.yaml",
        """
        database: {mode: none}
        coverage: {source: [src/calc], fail_under: 100}
        """,
    )


@pytest.mark.parametrize("version", ["3.9", "3.13"])
def test_project_on_another_python_in_its_own_venv(
    gate: GateRunner, project: Project, version: str
) -> None:
    write_calc_project(project, version)
    make_venv(project.root, find_python(version), "pytest", "coverage")
    result = gate("run", cwd=project.root)
    assert result.code == 1, result.output  # only the blocking call fails the gate
    report = json.loads((project.root / ".gate/report.json").read_text())
    assert report["steps"][0]["detail"].startswith(f"gate.yaml; Python {version}.")
    assert report["tests"]["passed"] == 3
    assert report["coverage"]["percent"] == 100.0
    [finding] = report["blocking"]
    assert (finding["file"], finding["line"], finding["call"]) == (
        "tests/test_calc.py",
        22,
        "time.sleep",
    )


def test_a_failure_on_python_3_9_points_at_the_projects_line(
    gate: GateRunner, project: Project
) -> None:
    # the plugin's traceback walk on the oldest Python it supports, pytest in ROOT/.venv
    write_calc_project(project, "3.9")
    project.write(
        "tests/test_fails.py",
        """
        import os

        from calc import div


        def test_environ():
            os.environ["GATE_NEVER_SET"]


        def test_in_the_package():
            div(1, 0)
        """,
    )
    make_venv(project.root, find_python("3.9"), "pytest", "coverage")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(project.root)}
    result = gate("run", cwd=project.root, env=env)
    assert result.code == 1, result.output
    report = json.loads((project.root / ".gate/report.json").read_text())
    assert {t["test"]: (t["file"], t["line"]) for t in report["failed_tests"]} == {
        "tests/test_fails.py::test_environ": ("tests/test_fails.py", 7),  # not os.py
        "tests/test_fails.py::test_in_the_package": ("src/calc/__init__.py", 3),
    }
    annotations = [line for line in result.stdout.splitlines() if " failed::" in line]
    assert [line.split(",title=")[0] for line in annotations] == [
        "::error file=tests/test_fails.py,line=7",
        "::error file=src/calc/__init__.py,line=3",
    ]


def test_missing_coverage_in_the_project_venv_says_what_to_add(
    gate: GateRunner, project: Project
) -> None:
    write_calc_project(project, "3.13")
    project.write("uv.lock", "version = 1\n")
    python = make_venv(project.root, find_python("3.13"), "pytest")
    result = gate("run", cwd=project.root)
    assert result.code == 2, result.output
    assert result.stderr == (
        f"gate: the test interpreter {python} lacks coverage; add coverage to the project's "
        "test dependencies (pytest-cov brings coverage too): `uv add --dev coverage`; or point "
        "tests.python at an interpreter that has them\n"
    )
    report = json.loads((project.root / ".gate/report.json").read_text())
    assert (report["verdict"], report["exit_code"]) == ("error", 2)
    assert [s["name"] for s in report["steps"] if s["status"] != "skipped"] == [
        "config",
        "report",
        "teardown",
    ]  # stopped before anything was provisioned or run


@pytest.mark.parametrize(
    ("lock", "command"),
    [
        ("poetry.lock", "poetry add --group dev pytest and coverage"),
        (None, "uv pip install --python {python} pytest coverage"),
    ],
)
def test_an_empty_project_venv_names_both_and_the_projects_own_tool(
    gate: GateRunner, project: Project, lock: str | None, command: str
) -> None:
    write_calc_project(project, "3.12")
    if lock:
        project.write(lock, "")
    python = make_venv(project.root, find_python("3.12"))
    result = gate("run", cwd=project.root)
    assert result.code == 2, result.output
    add = command.format(python=python).replace(" and ", " ")
    assert result.stderr == (
        f"gate: the test interpreter {python} lacks pytest and coverage; add pytest and "
        "coverage to the project's test dependencies (pytest-cov brings coverage too): "
        f"`{add}`; or point tests.python at an interpreter that has them\n"
    )


def test_without_coverage_source_pytest_alone_is_enough(gate: GateRunner, project: Project) -> None:
    write_calc_project(project, "3.12")
    project.write("gate.yaml", "database: {mode: none}\nblocking: {mode: warn}\n")
    make_venv(project.root, find_python("3.12"), "pytest")
    result = gate("run", cwd=project.root)
    assert result.code == 0, result.output
    report = json.loads((project.root / ".gate/report.json").read_text())
    assert report["tests"]["passed"] == 3
    assert report["coverage"] is None


def test_tests_python_names_an_interpreter_outside_the_project(
    gate: GateRunner, project: Project, tmp_path: Path
) -> None:
    write_calc_project(project, "3.12")
    elsewhere = tmp_path / "envs" / "calc"
    elsewhere.mkdir(parents=True)
    python = make_venv(elsewhere, find_python("3.12"), "pytest", "coverage")
    make_venv(project.root, find_python("3.13"), "pytest", "coverage")  # not this one
    relative = os.path.relpath(python, project.root)
    project.write(
        "gate.yaml",
        f"""
        database: {{mode: none}}
        blocking: {{mode: warn}}
        tests: {{python: {relative}}}
        coverage: {{source: [src/calc], fail_under: 100}}
        """,
    )
    result = gate("run", cwd=project.root)
    assert result.code == 0, result.output  # test_runs_on_the_project_interpreter: 3.12
    report = json.loads((project.root / ".gate/report.json").read_text())
    assert report["steps"][0]["detail"] == f"gate.yaml; Python 3.12.1 at {python}"
