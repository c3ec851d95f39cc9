"""What went wrong when gate was tried on real projects (issue 12), each in a temp folder."""

from __future__ import annotations

import configparser
import dataclasses
import json
import sys
from pathlib import Path

import pytest
from rich.console import Console

from gate.config import load_config
from gate.configure import Configured
from gate.coverage_data import write_rcfile
from gate.database.address import ServerAddress
from gate.errors import UsageError
from gate.findings import BlockingFinding
from gate.greenlet_use import uses_greenlets
from gate.initialize import allow_entries, sniff_project, with_allow, write_gate_yaml
from gate.interpreter import Interpreter
from gate.outcome import RunOutcome
from gate.preview import describe_run
from gate.reporters.terminal import render_terminal
from gate.results import TestCase, TestResults
from gate.template_key import KeyScope, template_key
from gate.test_step import coverage_settings
from tests.conftest import GateRunner, Project


def make(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def init(root: Path) -> tuple[str, dict[str, str]]:
    path = write_gate_yaml(root, force=False)
    return path.read_text(), dict(load_config(path, {}).env)


def test_a_conftest_assignment_gives_the_value_and_is_never_invented(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": "import os\nAPP_ENV = os.environ['APP_ENV']\n",
            "tests/conftest.py": "import os\n\nos.environ['APP_ENV'] = 'test'\n",
        },
    )
    text, env = init(tmp_path)
    # Before: `APP_ENV: gate-test-app-env`, which the app's enum setting refused.
    assert env == {"APP_ENV": "test"}
    assert "as tests/conftest.py sets it" in text


def test_an_assignment_alone_is_not_a_required_read(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "app/__init__.py": "",
            "tests/conftest.py": "import os\nos.environ['APP_ENV'] = 'test'\n",
        },
    )
    facts = sniff_project(tmp_path)
    assert [s.name for s in facts.required_settings] == []


def test_a_name_stem_is_asked_for_and_gate_check_lists_it(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/config.py": "import os\n"
            "ENV_FILE = f\"app/config/{os.environ['APP_CONFIG_FILE']}.env\"\n",
            "app/config/test.env": "X=1\n",
            "tests/test_app.py": "",
        },
    )
    text, env = init(tmp_path)
    # Before: `APP_CONFIG_FILE: app/config/test.env`, read as app/config/app/config/test.env.env.
    assert env == {}
    [number] = [n for n, line in enumerate(text.splitlines(), 1) if "TODO(gate init)" in line]
    todos = [
        line
        for line in describe_run(None, tmp_path, {"PATH": "/usr/bin"})
        if line.startswith("todo:")
    ]
    assert todos == [
        f"todo: gate.yaml:{number}: APP_CONFIG_FILE: ...  # TODO(gate init): required by "
        "os.environ[...] (str, no default): give it the value your tests use"
    ]


@pytest.mark.parametrize(
    ("files", "scheme"),
    [
        # asyncpg used directly; SQLAlchemy (sync) only for alembic; .env.example shows postgresql://
        (
            {
                "requirements.txt": "fastapi\nasyncpg\nsqlalchemy\nalembic\npsycopg2-binary\n",
                "app/db.py": "import asyncpg\n",
                "migrations/env.py": "from sqlalchemy import engine_from_config\n"
                "engine = engine_from_config({})\n",
                ".env.example": "DATABASE_URL=postgresql://app:app@localhost/app\n",
            },
            "postgresql",
        ),
        # sync SQLModel on psycopg 3
        (
            {
                "pyproject.toml": "[project]\ndependencies = ['sqlmodel', 'psycopg[binary]']\n",
                "app/db.py": "from sqlmodel import create_engine\nengine = create_engine(URL)\n",
            },
            "postgresql+psycopg",
        ),
        # async SQLAlchemy on asyncpg
        (
            {
                "pyproject.toml": "[project]\ndependencies = ['sqlalchemy[asyncio]', 'asyncpg']\n",
                "app/db.py": "from sqlalchemy.ext.asyncio import create_async_engine\n",
            },
            "postgresql+asyncpg",
        ),
    ],
)
def test_the_scheme_follows_the_driver_the_code_imports(
    tmp_path: Path, files: dict[str, str], scheme: str
) -> None:
    make(tmp_path, {"app/__init__.py": "", "tests/test_app.py": "", **files})
    assert sniff_project(tmp_path).scheme == scheme


def test_the_projects_own_floor_and_line_coverage_are_carried_over(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "app/__init__.py": "",
            "tests/test_app.py": "",
            ".github/workflows/ci.yml": "jobs:\n  test:\n    env:\n      APP_ENV: test\n"
            "      SECRET: ${{ secrets.X }}\n    steps:\n"
            "      - run: alembic upgrade head\n"
            "      - run: pytest --cov=app --cov-report xml --cov-fail-under=90\n",
        },
    )
    path = write_gate_yaml(tmp_path, force=False)
    config = load_config(path, {})
    # Before: branch coverage with a 90 floor, which failed at 87.8% a CI that gates lines.
    assert (config.coverage.fail_under, config.coverage.branch) == (90, False)
    assert config.migrations.command == ["alembic", "upgrade", "head"]


def test_addopts_floor_of_100_is_kept(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "app/__init__.py": "",
            "tests/test_app.py": "",
            "pyproject.toml": "[tool.pytest.ini_options]\n"
            'addopts = "--cov=app --cov-branch --cov-fail-under=100 -n auto"\n',
        },
    )
    config = load_config(write_gate_yaml(tmp_path, force=False), {})
    assert (config.coverage.fail_under, config.coverage.branch) == (100, True)


def test_migrations_without_a_run_database_are_refused(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "tests/test_x.py": "",
            "gate.yaml": "database:\n  export:\n    DB_URI: '{server_url}'\n"
            "migrations:\n  command: python -m app.migrate\n",
        },
    )
    with pytest.raises(UsageError) as refused:
        list(describe_run(None, tmp_path, {"PATH": "/usr/bin"}))
    # Before: the command migrated the server's `postgres` database and gate said ✓ migrate.
    assert str(refused.value).startswith(
        "migrations.command (python -m app.migrate) would run with no per-run database in its "
        "environment: database.export hands over DB_URI: '{server_url}'"
    )


def test_the_template_key_changes_with_export_and_scheme(tmp_path: Path) -> None:
    make(tmp_path, {"alembic.ini": "[alembic]\n"})
    command = ["alembic", "upgrade", "head"]
    keys = {
        template_key(command, tmp_path, 15, (), KeyScope(database=database))
        for database in (
            (("scheme", "postgresql"), ("DB_URI", "{server_url}")),
            (("scheme", "postgresql"), ("DB_URI", "{url}")),
            (("scheme", "postgresql+asyncpg"), ("DB_URI", "{url}")),
        )
    }
    assert len(keys) == 3


def test_greenlets_are_named_only_when_the_code_runs_in_them(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "sync_app/db.py": "from sqlmodel import create_engine\n",
            "async_app/db.py": "from sqlalchemy.ext.asyncio import create_async_engine\n",
            "wrapped_app/db.py": "from sqlmodel.ext.asyncio.session import AsyncSession\n",
        },
    )
    assert uses_greenlets(tmp_path, ["sync_app"]) is False
    assert uses_greenlets(tmp_path, ["async_app"]) is True
    assert uses_greenlets(tmp_path, ["wrapped_app"]) is True


@pytest.mark.parametrize(("source", "concurrency"), [("sync_app", None), ("async_app", "greenlet")])
def test_coverage_follows_greenlets_only_where_the_code_runs_in_them(
    tmp_path: Path, source: str, concurrency: str | None
) -> None:
    """greenlet comes with SQLAlchemy; coverage's greenlet support cost ~10% of a real
    project's run (fastapi-realworld-example-app, asyncpg without SQLAlchemy), so it is set
    only for code that runs in greenlets."""
    make(
        tmp_path,
        {
            "gate.yaml": f"database:\n  mode: none\ncoverage:\n  source: [{source}]\n",
            "tests/test_db.py": "def test_nothing():\n    pass\n",
            "sync_app/db.py": "from sqlmodel import create_engine\n",
            "async_app/db.py": "from sqlalchemy.ext.asyncio import create_async_engine\n",
        },
    )
    config = load_config(tmp_path / "gate.yaml", {})
    interpreter = Interpreter(Path(sys.executable), "3.11.7", {"greenlet": "3.1", "coverage": "7"})
    configured = Configured(tmp_path / "gate.yaml", config, None, interpreter, None)  # type: ignore[arg-type]
    outcome = RunOutcome(root=tmp_path, run_id="r")
    settings = coverage_settings(configured, outcome)
    assert settings is not None and settings.greenlet is (concurrency is not None)
    rcfile = tmp_path / "coveragerc"
    write_rcfile(rcfile, settings, tmp_path)
    run = configparser.ConfigParser()
    run.read(rcfile)
    assert ("greenlet" in run.get("run", "concurrency", fallback="")) is (concurrency is not None)
    assert any("greenlet" in note for note in outcome.notes) is (concurrency is not None)


def test_genuine_findings_are_written_into_blocking_allow_with_a_comment_each(
    tmp_path: Path,
) -> None:
    make(tmp_path, {"app/__init__.py": "", "tests/test_app.py": ""})
    path = write_gate_yaml(tmp_path, force=False)
    hashing = BlockingFinding.from_event(
        {
            "test": "tests/test_login.py::test_login",
            "kind": "slow",
            "file": "app/security.py",
            "line": 16,
            "duration_ms": 305.2,
            "stack": [
                {"file": "bcrypt/__init__.py", "line": 80, "function": "hashpw"},
                {"file": "app/security.py", "line": 16, "function": "get_password_hash"},
            ],
        }
    )
    again = dataclasses.replace(hashing, test="tests/test_users.py::test_me")
    entries = allow_entries([hashing, again])
    assert entries == [
        (
            "app/security.py:get_password_hash",
            "a callback holding the loop at line 16, x2 up to 305 ms (first in "
            "tests/test_login.py::test_login): found by gate init's first run; fix it, then "
            "remove this entry",
        )
    ]
    path.write_text(with_allow(path.read_text(), entries))
    assert load_config(path, {}).blocking.allow == ["app/security.py:get_password_hash"]


def test_a_django_project_is_gated_from_its_top_folder_without_coverage(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "manage.py": "",
            "pytest.ini": "[pytest]\nDJANGO_SETTINGS_MODULE = config.test\n",
            "requirements.txt": "django\npsycopg2\npytest-django\n",
            "config/__init__.py": "",
            "config/base.py": "DATABASES = {'default': env.db('DATABASE_URL')}\n",
            "shop/__init__.py": "",
            "shop/tests/test_views.py": "",
            ".venv/lib/python3.12/site-packages/django/__init__.py": "",
            ".github/workflows/ci.yml": "jobs:\n  build:\n    services:\n      postgres:\n"
            "        env:\n          POSTGRES_PASSWORD: postgres\n"
            "    steps:\n      - run: pytest\n",
        },
    )
    facts = sniff_project(tmp_path)
    assert (facts.project_dir, facts.has_coverage, facts.scheme) == (".", False, "postgresql")
    assert dict(facts.ci.env) == {}  # the service container's env is not the tests'
    config = load_config(write_gate_yaml(tmp_path, force=False, facts=facts), {})
    assert config.coverage.measured is False
    assert config.database.export == {"DATABASE_URL": "{url}"}


def test_failures_with_one_cause_are_shown_once_with_the_count() -> None:
    cause = (
        "ImportError while importing test module\n"
        "app/models.py:3: in <module>\n    def broken(:\n"
        "E   SyntaxError: invalid syntax"
    )
    results = TestResults(
        collect_errors=[(f"tests/test_{n}.py", cause) for n in range(83)],
    )
    for n in range(3):
        case = TestCase(f"tests/test_a.py::test_{n}", outcome="error", phase="setup")
        case.message, case.longrepr = "E   SyntaxError: invalid syntax", cause
        results.cases[case.nodeid] = case
    console = Console(record=True, width=200, color_system=None)
    render_terminal(console, RunOutcome(root=Path("."), run_id="x", results=results))
    text = console.export_text()
    # Before: 83 identical tracebacks, 453 lines.
    assert text.count("SyntaxError: invalid syntax") == 2  # once per cause
    assert "collection error tests/test_0.py and 82 more with the same error" in text
    assert "3 tests failed the same way: tests/test_a.py::test_0" in text


def test_migrations_that_leave_the_run_database_unchanged_fail(
    gate: GateRunner, small_app: Project, pg_server: ServerAddress
) -> None:
    # Migrating "elsewhere": the command reads no variable gate exports, as DB_URI pointed at
    # the server's `postgres` database did in the trial.
    small_app.write("migrate.py", "print('migrated somewhere else')\n")
    config = small_app.root / "gate.yaml"
    config.write_text(config.read_text() + "migrations:\n  command: python migrate.py\n")

    result = gate("run", "--database-url", pg_server.url(), cwd=small_app.root)

    assert result.code == 1, result.output
    report = json.loads((small_app.root / ".gate/report.json").read_text())
    [migrate] = [step for step in report["steps"] if step["name"] == "migrate"]
    assert migrate["status"] == "failed"
    [check] = [c for c in report["checks"] if c["name"] == "migrations"]
    assert check["message"].startswith("`python migrate.py` exited 0 but the run's database ")
    assert "is unchanged" in check["message"]
