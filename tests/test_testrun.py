"""Tests for the pure parts of testrun: the pytest command and the notes on what gate overrode."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.interpreter import Interpreter, add_command
from gate.testrun import TestPlan, build_argv, override_notes

ALL = {"pytest": "8.3", "coverage": "7.6", "pytest_cov": "6.0", "xdist": "3.6", "pip": "24"}


def plan(packages: dict[str, str | None], workers: int | str = 1) -> TestPlan:
    return TestPlan(
        root=Path("/p"),
        interpreter=Interpreter(Path("/p/.venv/bin/python"), "3.12.1", packages),
        paths=["tests"],
        args=[],
        extra_args=[],
        workers=workers,
        timeout_s=60,
        run_dir=Path("/tmp/run"),
        rcfile=None,
        blocking=None,
    )


def test_argv_switches_off_pytest_cov_and_sets_workers_only_when_installed() -> None:
    assert build_argv(plan(ALL))[-3:] == ["--no-cov", "-n", "0"]
    assert build_argv(plan({"pytest": "8", "coverage": "7"}))[-2:] == ["-p", "_gate_pytest"]


@pytest.mark.parametrize(
    ("args", "workers", "expected"),
    [
        ([], 1, []),
        (["-ra", "--strict-markers", "-p", "no:warnings"], 1, []),
        (
            ["--cov=app", "--cov-fail-under", "100"],
            1,
            ["pytest-cov (--cov=app --cov-fail-under 100); ... not --cov-fail-under=100"],
        ),
        # Values kept: issue 12 saw `(--cov --cov-report --cov-report --cov-fail-under=100)`.
        (
            ["--cov", "--cov-report", "xml", "--cov-report", "term-missing", "--cov-branch", "-x"],
            1,
            ["pytest-cov (--cov --cov-report xml --cov-report term-missing --cov-branch);"],
        ),
        (["--cov"], 1, ["pytest-cov (--cov); ... decide the verdict"]),
        (["-n", "auto"], 1, ["-n auto; gate passed -n 0, so tests.workers (1)"]),
        (["-nauto"], 2, ["-n auto; gate passed -n 2, so tests.workers (2)"]),
        (["--numprocesses=4", "--dist", "loadfile"], 1, ["-n 4; gate passed -n 0"]),
    ],
)
def test_notes_name_what_gate_overrode(args: list[str], workers: int, expected: list[str]) -> None:
    notes = override_notes(plan(ALL, workers), args, "pyproject.toml")
    assert len(notes) == len(expected)
    for note, fragment in zip(notes, expected, strict=True):
        assert note.startswith("the project's pytest settings (pyproject.toml) ")
        for part in fragment.split(" ... "):
            assert part in note


def test_a_note_names_the_arguments_given_to_gate_when_they_ask_for_workers() -> None:
    [note] = override_notes(
        plan(ALL, 1), ["-n", "3"], "", whose="the pytest arguments given to gate"
    )
    assert note == (
        "the pytest arguments given to gate ask for -n 3; gate passed -n 0, so tests.workers (1) "
        "decides how many workers run"
    )


def test_no_note_when_the_plugin_is_not_installed() -> None:
    packages = {"pytest": "8", "coverage": "7"}
    assert override_notes(plan(packages), ["--cov=app", "-n", "auto"], "pytest.ini") == []


@pytest.mark.parametrize(
    ("files", "packages", "expected"),
    [
        (["uv.lock"], ALL, "uv add --dev coverage"),
        (["poetry.lock"], ALL, "poetry add --group dev coverage"),
        (["../uv.lock", "../.git/"], ALL, "uv add --dev coverage"),  # a uv workspace's top
        (["../../uv.lock", ".git/"], ALL, "/p/.venv/bin/python -m pip install coverage"),
        ([], {"pytest": "8"}, "uv pip install --python /p/.venv/bin/python coverage"),
    ],
)
def test_add_command_follows_the_projects_tool(
    tmp_path: Path, files: list[str], packages: dict[str, str | None], expected: str
) -> None:
    root = tmp_path / "a" / "project"
    root.mkdir(parents=True)
    for name in files:
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True)
        else:
            path.write_text("")
    interpreter = Interpreter(Path("/p/.venv/bin/python"), "3.12.1", packages)
    assert add_command(["coverage"], interpreter, root) == expected
