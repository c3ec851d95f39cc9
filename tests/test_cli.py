"""The real `gate` command: exit codes and the exact paragraph for each kind of bad input."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gate import __version__

BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['x'] * 9)}]\n"
    for prev, name in zip(["", "a", "b", "c", "d", "e", "f", "g", "h"], "abcdefghi", strict=True)
)


def gate(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gate", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "NO_COLOR": "1",
            "CI": "true",
            "COLUMNS": "200",
            "GATE_STATE_DIR": str(cwd / ".state"),
        },
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A project with a package and a test, and no gate.yaml yet."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("def test_a():\n    pass\n")
    return tmp_path


BAD_CONFIGS = [
    pytest.param(
        b"covrage:\n  fail_under: 90\n",
        "gate.yaml:1:1: covrage: unknown key; did you mean 'coverage'?",
        id="unknown-key",
    ),
    pytest.param(
        b"coverage:\n  source: [pkg]\n  fail_under: 150\n",
        "gate.yaml:3:15: coverage.fail_under: must be at most 100 (got 150)",
        id="out-of-range",
    ),
    pytest.param(
        b"tests:\n  workers: many\n",
        "gate.yaml:2:12: tests.workers: must be a whole number of at least 1, or auto (got 'many')",
        id="wrong-type",
    ),
    pytest.param(
        b"blocking:\n  mode: strict\n",
        "gate.yaml:2:9: blocking.mode: must be one of 'fail', 'warn' or 'off' (got 'strict')",
        id="bad-enum",
    ),
    pytest.param(
        b"tests:\n  paths: [tests, missing]\n",
        "gate.yaml:2:18: tests.paths[1]: 'missing' does not exist in .; fix the path or remove it",
        id="missing-test-path",
    ),
    pytest.param(
        b"env:\n  KEY: ${NOT_SET_VAR}\n",
        "gate.yaml:2:8: env.KEY: environment variable NOT_SET_VAR is not set; export "
        "NOT_SET_VAR, or give a default with ${NOT_SET_VAR:-default}",
        id="undefined-variable",
    ),
    pytest.param(
        b"a: [1, 2\n",
        "gate.yaml:2:1: invalid YAML: expected ',' or ']', but got '<stream end>' "
        "(while parsing a flow sequence at 1:4)",
        id="invalid-yaml",
    ),
    pytest.param(
        b"# only a comment\n",
        "gate.yaml: the file is empty (no settings, only blank lines or comments); write `{}` "
        "to accept every default, or run `gate init --force` to replace it with a commented "
        "gate.yaml",
        id="empty",
    ),
    pytest.param(
        b"- a\n- b\n",
        None,  # checked by prefix below: the top level must be a mapping
        id="not-a-mapping",
    ),
    pytest.param(
        b"\x00\x01binary",
        "gate.yaml:1:1: this is a binary file (it contains NUL bytes), not a YAML or TOML "
        "config; check the path",
        id="binary",
    ),
    pytest.param(
        BOMB.encode(),
        "gate.yaml:1:32: too many YAML aliases (more than 100 uses of anchors, or more than "
        "10000 values once they are expanded); write the values out instead of using & and *",
        id="alias-bomb",
    ),
    pytest.param(
        b"coverage:\n  fail_under: 90\n",
        "gate.yaml:2:3: coverage.source: required when coverage is checked (fail_under is "
        "90); list the package(s) to measure, e.g. source: [your_package]",
        id="coverage-without-source",
    ),
    pytest.param(
        b"database:\n  mode: server\n",
        "database.mode is server but no server URL is set; set database.url in gate.yaml "
        "(e.g. url: ${DATABASE_URL}) or pass --database-url",
        id="server-without-url",
    ),
]


@pytest.mark.parametrize(("content", "message"), BAD_CONFIGS)
def test_bad_config_is_one_paragraph_and_exit_2(
    folder: Path, content: bytes, message: str | None
) -> None:
    (folder / "gate.yaml").write_bytes(content)
    started = time.monotonic()
    result = gate(folder, "run")
    assert time.monotonic() - started < 20  # the alias bomb is refused, never expanded
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    if message is None:
        assert result.stderr.startswith("gate: gate.yaml:1:1: ")
        assert "mapping" in result.stderr
    else:
        assert result.stderr == f"gate: {message}\n"
    assert result.stdout == ""


def test_bad_config_still_writes_an_error_report(folder: Path) -> None:
    (folder / "gate.yaml").write_text("covrage: {}\n")
    result = gate(folder, "run", "--json", "report.json")
    assert result.returncode == 2
    report = (folder / "report.json").read_text()
    assert '"verdict": "error"' in report and '"exit_code": 2' in report


def test_missing_config_suggests_gate_init(folder: Path) -> None:
    result = gate(folder, "run")
    assert result.returncode == 2
    assert result.stderr == (
        f"gate: no gate.yaml in {folder} and no [tool.gate] table in its pyproject.toml; run "
        "`gate init` to write a commented gate.yaml, or pass -c PATH\n"
    )


def test_config_path_that_does_not_exist(folder: Path) -> None:
    result = gate(folder, "run", "-c", "nope.yaml")
    assert result.returncode == 2
    assert result.stderr == (
        "gate: nope.yaml: no such file; check the path, or run `gate init` to write a "
        "commented gate.yaml\n"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["run", "--workers", "x"],
            "gate: --workers must be a number of at least 1 or auto (got 'x')\n",
        ),
        (
            ["run", "--color", "purple"],
            "gate: --color must be auto, always or never (got 'purple')\n",
        ),
        (
            ["run", "--json", "-", "--coverage-xml", "-"],
            "gate: --json and --coverage-xml both ask for stdout, which holds one report; "
            "send all but one to a file\n",
        ),
        (
            ["run", "--database-url", "http://db:5432/app"],
            "gate: --database-url: expected a postgresql:// URL (got 'http://db:5432/app'); write "
            "it like postgresql://user@host:5432/postgres (user:password@ when the role has a "
            "password)\n",
        ),
        (
            ["run", "--database-url", "mysql://app:hunter2@db/app"],
            "gate: --database-url: expected a postgresql:// URL (got 'mysql://app:***@db/app'); "
            "write it like postgresql://user@host:5432/postgres (user:password@ when the role "
            "has a password)\n",
        ),
        (
            ["clean", "--older-than", "-1"],
            "gate: --older-than must be a number of hours above 0 (got -1)\n",
        ),
        (
            ["clean", "--older-than", "nan"],
            "gate: --older-than must be a number of hours above 0 (got nan)\n",
        ),
    ],
)
def test_bad_flag_values_exit_2(folder: Path, args: list[str], expected: str) -> None:
    (folder / "gate.yaml").write_text("{}\n")
    result = gate(folder, *args)
    assert result.returncode == 2
    assert result.stderr == expected


def test_unknown_flag_exits_2_with_usage(folder: Path) -> None:
    result = gate(folder, "run", "--bogus")
    assert result.returncode == 2
    assert "No such option: --bogus" in result.stderr
    assert "Traceback" not in result.stderr


def test_version_and_help(folder: Path) -> None:
    assert gate(folder, "--version").stdout.startswith(f"gate {__version__}\n")
    for command in ("run", "init", "check", "clean"):
        result = gate(folder, command, "--help")
        assert result.returncode == 0
        assert f"gate {command}" in result.stdout
    run_help = gate(folder, "run", "--help").stdout
    for flag in (
        "--config",
        "--json",
        "--junit",
        "--coverage-xml",
        "--database-url",
        "--keep-db",
        "--workers",
        "--base",
        "--quiet",
        "--verbose",
        "--color",
    ):
        assert flag in run_help


def test_init_then_check_then_refuse_to_overwrite(folder: Path) -> None:
    created = gate(folder, "init")
    assert created.returncode == 0, created.stderr
    assert (folder / "gate.yaml").exists()
    check = gate(folder, "check")
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith(f"config: {folder / 'gate.yaml'} is valid\n")
    assert "tests: pytest tests with Python" in check.stdout
    again = gate(folder, "init")
    assert again.returncode == 2
    assert "gate.yaml" in again.stderr and "--force" in again.stderr


def test_check_names_the_bad_key(folder: Path) -> None:
    (folder / "gate.yaml").write_text("tests:\n  timeout: -1\n")
    result = gate(folder, "check")
    assert result.returncode == 2
    assert result.stderr.startswith("gate: gate.yaml:2:12: tests.timeout: ")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "database: {mode: server}\n",
            "database.mode is server but no server URL is set; set database.url in gate.yaml "
            "(e.g. url: ${DATABASE_URL}) or pass --database-url",
        ),
        (
            "database: {url: 'mysql://app:pw@db/app'}\n",
            "database.url: expected a postgresql:// URL (got 'mysql://app:***@db/app'); write it "
            "like postgresql://user@host:5432/postgres (user:password@ when the role has a "
            "password)",
        ),
        (
            "migrations: {command: nosuchtool upgrade}\n",
            "migrations.command: 'nosuchtool' was not found in {root} or on PATH; install it in "
            "the project's environment or fix migrations.command",
        ),
    ],
)
def test_check_refuses_what_run_refuses(folder: Path, content: str, message: str) -> None:
    (folder / "gate.yaml").write_text(content)
    result = gate(folder, "check")
    assert result.returncode == 2
    assert result.stdout == ""  # no half plan before the error
    assert result.stderr == "gate: " + message.replace("{root}", str(folder.resolve())) + "\n"


def test_a_fifo_as_config_is_refused_not_read(folder: Path) -> None:
    os.mkfifo(folder / "pipe.yaml")
    result = gate(folder, "check", "-c", "pipe.yaml")  # a read would block until the timeout
    assert result.returncode == 2
    assert result.stderr == "gate: pipe.yaml: is not a regular file; pass the config file itself\n"
