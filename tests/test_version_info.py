"""`gate --version`: what a run here would use, and never a failure, whatever is missing."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import gate
from gate.version_info import version_lines

ANSWER = "3.10.4\npytest 8.0.0\ncoverage -\npytest-cov -\npytest-xdist 3.5.0\n"


def fake_python(path: Path, answer: str, code: int = 0) -> Path:
    """An 'interpreter' that answers gate's probe as a real one would, in no time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\ncat <<'EOF'\n{answer}EOF\nexit {code}\n")
    path.chmod(0o755)
    return path


def lines_in(cwd: Path, monkeypatch: pytest.MonkeyPatch, **environ: str) -> dict[str, str]:
    (cwd / "tests").mkdir(exist_ok=True)  # a config names existing test paths
    monkeypatch.chdir(cwd)  # config errors are worded relative to the current folder
    lines = list(version_lines(cwd, {"PATH": "/usr/bin:/bin", **environ}))
    assert lines[0] == f"gate {gate.__version__}"  # alone on its line, for scripts
    assert lines[1] == (
        f"  installed as backend-gate in {Path(gate.__file__).parent}, running on Python "
        f"{sys.version.split()[0]} ({sys.executable})"
    )
    return dict(line.strip().split(": ", 1) for line in lines[2:])  # type: ignore[misc]


def test_without_a_config_the_active_virtualenv_runs_the_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = tmp_path / "venv"
    fake_python(venv / "bin" / "python", ANSWER)
    shown = lines_in(tmp_path, monkeypatch, VIRTUAL_ENV=str(venv))

    assert shown["config"] == "none here (./gate.yaml or [tool.gate] in ./pyproject.toml)"
    assert shown["tests' Python"] == (
        f"3.10.4 at {venv}/bin/python (auto: the active virtualenv); pytest 8.0.0, "
        "coverage not found, pytest-cov not found, pytest-xdist 3.5.0"
    )
    assert shown["coverage.py"] == (
        f"not found in the tests' Python (measures); {version('coverage')} in gate's (reports)"
    )


def test_the_config_chooses_the_python_and_the_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_python(tmp_path / "py" / "bin" / "python", ANSWER.replace("coverage -", "coverage 7.6.1"))
    (tmp_path / "no-postgres").mkdir()
    (tmp_path / "gate.yaml").write_text(
        "tests:\n  python: py/bin/python\ndatabase:\n  bin_dir: no-postgres\n"
    )
    shown = lines_in(tmp_path, monkeypatch)

    assert shown["config"] == "gate.yaml"
    assert shown["tests' Python"].startswith(f"3.10.4 at {tmp_path}/py/bin/python (tests.python);")
    assert shown["coverage.py"].startswith("7.6.1 in the tests' Python (measures)")
    assert shown["PostgreSQL"] == (
        "not found (looked in database.bin_dir; `gate run` says where exactly)"
    )


def test_what_cannot_be_asked_is_said_and_the_rest_still_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_python(tmp_path / ".venv" / "bin" / "python", "Fatal Python error: boom\n", code=1)
    (tmp_path / "pyproject.toml").write_text("[tool.gate]\ncovrage = 1\n")
    shown = lines_in(tmp_path, monkeypatch)

    assert shown["config"] == (
        "pyproject.toml [tool.gate] is not valid (pyproject.toml:2:1: tool.gate.covrage: "
        "unknown key; did you mean 'coverage'?); defaults shown"
    )
    assert shown["tests' Python"] == (
        f"{tmp_path}/.venv/bin/python (auto: ROOT/.venv): did not answer (exit 1): "
        "Fatal Python error: boom"
    )
    assert shown["coverage.py"].startswith("unknown in the tests' Python")
    # The machine's own PostgreSQL (the test suite needs one): its version and folder.
    assert re.fullmatch(r"\d+(\.\d+)* at /\S+", shown["PostgreSQL"]), shown["PostgreSQL"]


def test_a_missing_interpreter_is_named_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "gate.yaml").write_text("tests:\n  python: gone/bin/python\n")
    shown = lines_in(tmp_path, monkeypatch)

    assert shown["tests' Python"] == (
        "gone/bin/python (tests.python): tests.python: gone/bin/python does not exist; point it "
        "at the interpreter that runs your tests (e.g. .venv/bin/python) or use auto"
    )


def test_gate_version_on_the_command_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gate", "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "GATE_STATE_DIR": str(tmp_path / ".state")},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"gate {gate.__version__}"
    assert [line.split(":")[0].strip() for line in lines[2:]] == [
        "config",
        "tests' Python",
        "PostgreSQL",
        "coverage.py",
    ]
    assert f"(auto: gate's own); pytest {version('pytest')}" in lines[3]
