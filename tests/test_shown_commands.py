"""`gate run -v` shows each command gate runs, as a line a shell would run, secrets masked."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gate import proc
from gate.redact import redact
from gate.shown_commands import hiding, shell_line, showing

BEFORE = {"PATH": "/usr/bin:/bin", "HOME": "/home/u", "VIRTUAL_ENV": "/v"}


@pytest.mark.parametrize(
    ("argv", "cwd", "env", "shown"),
    [
        pytest.param(["pg_config", "--bindir"], None, None, "$ pg_config --bindir", id="probe"),
        pytest.param(
            ["alembic", "upgrade", "head"],
            Path("/src/my app"),
            {**BEFORE, "DATABASE_URL": "postgresql://gate:s3cret@db:5432/gate_1"},
            "$ cd '/src/my app' && DATABASE_URL='postgresql://gate:***@db:5432/gate_1' "
            "alembic upgrade head",
            id="url-password-masked",
        ),
        pytest.param(
            ["pytest"],
            Path("/p"),
            {
                **BEFORE,
                "SECRET_KEY": "abc",
                "API_TOKEN": "t",
                "PGPASSWORD": "pw",
                "EMPTY_SECRET": "",
            },
            "$ cd /p && API_TOKEN='***' EMPTY_SECRET='' PGPASSWORD='***' SECRET_KEY='***' pytest",
            id="secret-names-masked",
        ),
        pytest.param(
            ["python", "-m", "pytest", "-k", "a or b"],
            Path("/p"),
            {**BEFORE, "PATH": "/p/.venv/bin:/usr/bin:/bin"},
            "$ cd /p && PATH=/p/.venv/bin:\"$PATH\" python -m pytest -k 'a or b'",
            id="path-prepended",
        ),
        pytest.param(
            ["python", "-c", "import sys\nprint(sys.version)\n"],
            None,
            {k: v for k, v in BEFORE.items() if k != "VIRTUAL_ENV"},
            "$ env -u VIRTUAL_ENV python -c '<script of 2 lines>'",
            id="unset-and-script",
        ),
    ],
)
def test_shell_line(
    argv: list[str], cwd: Path | None, env: dict[str, str] | None, shown: str
) -> None:
    assert shell_line(argv, cwd, env, BEFORE) == shown


def test_proc_shows_what_it_runs_only_inside_showing(tmp_path: Path) -> None:
    lines: list[str] = []
    proc.capture(["true"])
    with showing(lines.append, {"PATH": "/usr/bin:/bin"}):
        proc.run(
            ["echo", "hi there"],
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "X": "1"},
            output_file=tmp_path / "out",
        )
    proc.capture(["true"])
    assert lines == [f"$ cd {tmp_path} && X=1 echo 'hi there'"]
    # pasted into a shell, the line runs the same command
    pasted = subprocess.run(
        ["bash", "-c", lines[0][2:]], capture_output=True, text=True, check=True
    )
    assert pasted.stdout == "hi there\n"


def test_a_run_hides_every_secret_it_knows_whatever_the_variable_is_called(
    tmp_path: Path,
) -> None:
    """`{password}` exported as PGPW: the name says nothing, the run's own secrets do."""
    lines: list[str] = []
    with (
        showing(lines.append, {"PATH": "/usr/bin:/bin"}),
        hiding(lambda text: redact(text, ["Hunter2Secret"])),
    ):
        proc.run(
            ["true"],
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "PGPW": "Hunter2Secret"},
            output_file=tmp_path / "out",
        )
    assert lines == [f"$ cd {tmp_path} && PGPW=*** true"]
