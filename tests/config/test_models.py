"""The values a gate.yaml yields: defaults, types, paths resolved against root."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gate.config import SERVER_WITHOUT_URL, load_config
from gate.database.address import ServerAddress
from gate.errors import UsageError
from tests.config.conftest import load

# ---- values ----------------------------------------------------------------------------


def test_minimal_file_gives_every_default(project: Path) -> None:
    config = load(project, "{}\n")

    assert config.source == project / "gate.yaml"
    assert config.root == project.resolve()
    assert config.env == {}
    assert config.database.mode == "auto"
    assert config.database.url is None
    assert config.database.scheme == "postgresql+asyncpg"
    assert config.database.export == {"DATABASE_URL": "{url}"}
    assert config.database.keep is False
    assert config.database.bin_dir is None
    assert config.database.effective_mode == "ephemeral"
    assert config.migrations.command is None
    assert config.migrations.checks == []
    assert config.tests.paths == ["tests"]
    assert config.tests.args == []
    assert config.tests.python == "auto"
    assert config.tests.timeout == 300
    assert config.tests.workers == 1
    assert config.coverage.source == []
    assert config.coverage.measured is False
    assert config.coverage.branch is True
    assert config.coverage.fail_under == 90
    assert config.coverage.per_file == 0
    assert config.coverage.diff is None
    assert config.blocking.mode == "fail"
    assert config.blocking.slow_ms == 100
    assert config.blocking.allow == []
    gate_dir = project.resolve() / ".gate"
    assert config.reports.json == gate_dir / "report.json"
    assert config.reports.junit == gate_dir / "junit.xml"
    assert config.reports.coverage_xml == gate_dir / "coverage.xml"
    assert config.reports.html == gate_dir / "htmlcov"
    assert config.reports.markdown == gate_dir / "summary.md"


def test_contract_example_loads(project: Path) -> None:
    (project / "sample_app").mkdir()
    config = load(
        project,
        """\
root: .
env:
  SECRET_KEY: test-secret
database:
  mode: auto
  url: ${DATABASE_URL:-}
  scheme: postgresql+asyncpg
  export:
    DATABASE_URL: "{url}"
  keep: false
migrations:
  command: alembic upgrade head
tests:
  paths: [tests]
  args: []
  python: auto
  timeout: 300
  workers: 1
coverage:
  source: [sample_app]
  omit: []
  branch: true
  fail_under: 90
  per_file: 0
  diff:
    base: origin/main
    fail_under: 90
blocking:
  mode: fail
  slow_ms: 100
  allow: []
reports:
  json: .gate/report.json
  junit: .gate/junit.xml
  coverage_xml: .gate/coverage.xml
  html: .gate/htmlcov
""",
        {"DATABASE_URL": "postgresql://u:p@db:5432/postgres"},
    )

    assert config.env == {"SECRET_KEY": "test-secret"}
    assert config.database.url == "postgresql://u:p@db:5432/postgres"
    assert config.database.effective_mode == "server"
    assert config.migrations.command == ["alembic", "upgrade", "head"]
    assert config.coverage.source == ["sample_app"]
    assert config.coverage.measured is True
    assert config.coverage.fail_under == 90
    assert config.coverage.diff is not None
    assert config.coverage.diff.base == "origin/main"
    assert config.coverage.diff.fail_under == 90
    assert config.coverage.diff.min_lines == 0


@pytest.mark.parametrize(
    ("mode", "url", "effective"),
    [
        ("auto", "", "ephemeral"),
        ("auto", "postgresql://localhost/postgres", "server"),
        ("ephemeral", "postgresql://localhost/postgres", "ephemeral"),
        ("server", "", "server"),
        ("none", "", "none"),
    ],
)
def test_effective_database_mode(project: Path, mode: str, url: str, effective: str) -> None:
    config = load(project, f"database:\n  mode: {mode}\n  url: '{url}'\n")

    assert config.database.effective_mode == effective
    assert config.database.url == (url or None)


@pytest.mark.parametrize("mode", ["auto", "ephemeral", "none", "server"])
def test_a_server_url_from_the_command_line_means_server_mode(project: Path, mode: str) -> None:
    database = load(project, f"database: {{mode: {mode}}}\n").database
    given = database.with_server_url("postgresql://app:pw@db:6543/app", "--database-url")

    assert given.effective_mode == "server"
    assert given.url_source == "--database-url"
    assert given.server_address() == ServerAddress("db", 6543, "app", "pw", "app")
    assert database.with_server_url(None, "--database-url") is database
    assert database.with_server_url("", "--database-url") is database


def test_server_address_names_where_the_url_came_from(project: Path) -> None:
    written = load(project, "database: {url: 'mysql://db/app'}\n").database
    defaulted = load(project, "{}\n", {"DATABASE_URL": "mysql://db/app"}).database

    with pytest.raises(UsageError, match=r"^database\.url: expected a postgresql:// URL"):
        written.server_address()
    with pytest.raises(UsageError, match=r"^DATABASE_URL \(the default of database\.url\): "):
        defaulted.server_address()


def test_server_mode_without_a_url_is_refused_by_server_address(project: Path) -> None:
    database = load(project, "database: {mode: server}\n").database

    assert database.effective_mode == "server"
    with pytest.raises(UsageError) as caught:
        database.server_address()
    assert caught.value.message == SERVER_WITHOUT_URL


def test_coverage_is_measured_only_with_a_source(project: Path) -> None:
    (project / "app").mkdir()
    assert load(project, "coverage: {source: [app]}\n").coverage.measured is True
    assert load(project, "coverage: {branch: false}\n").coverage.measured is False


def test_config_is_frozen(project: Path) -> None:
    config = load(project, "{}\n")

    with pytest.raises(ValidationError):
        config.tests.workers = 4


def test_plain_yaml_scalars_in_text_settings_keep_the_text_typed(project: Path) -> None:
    # YAML 1.1 reads `off` as false and 5432 as a number; these settings want the text.
    config = load(
        project,
        "env:\n  PORT: 5432\n  DEBUG: off\n  RATIO: 1.50\n"
        "blocking:\n  mode: off\ntests:\n  args: [-k, 3.10]\n",
    )

    assert config.env == {"PORT": "5432", "DEBUG": "off", "RATIO": "1.50"}
    assert config.blocking.mode == "off"
    assert config.tests.args == ["-k", "3.10"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("alembic upgrade head", ["alembic", "upgrade", "head"]),
        (
            "alembic -c 'my dir/alembic.ini' upgrade head",
            ["alembic", "-c", "my dir/alembic.ini", "upgrade", "head"],
        ),
        ("[python, -m, alembic, upgrade, head]", ["python", "-m", "alembic", "upgrade", "head"]),
        ("''", None),
        ("[]", None),
        ("null", None),
    ],
)
def test_migrations_command_string_is_split_like_a_shell(
    project: Path, value: str, expected: list[str] | None
) -> None:
    config = load(project, f"migrations:\n  command: {value}\n")

    assert config.migrations.command == expected


def test_tests_args_string_is_split_and_paths_accept_one_string(project: Path) -> None:
    (project / "more").mkdir()
    config = load(project, "tests:\n  paths: more\n  args: -x --tb=short -k 'a and b'\n")

    assert config.tests.paths == ["more"]
    assert config.tests.args == ["-x", "--tb=short", "-k", "a and b"]


def test_test_paths_may_be_pytest_node_ids(project: Path) -> None:
    (project / "tests" / "test_x.py").write_text("", encoding="utf-8")
    config = load(project, "tests:\n  paths: ['tests/test_x.py::test_y']\n")

    assert config.tests.paths == ["tests/test_x.py::test_y"]


@pytest.mark.parametrize(("value", "expected"), [("auto", "auto"), ("4", 4), ("'4'", 4)])
def test_workers_takes_a_number_or_auto(project: Path, value: str, expected: object) -> None:
    assert load(project, f"tests:\n  workers: {value}\n").tests.workers == expected


def test_reports_resolve_against_root_and_null_disables(project: Path) -> None:
    config = load(
        project,
        "reports:\n  json: out/r.json\n  junit: null\n  coverage_xml: ''\n  html: /abs/html\n"
        "  markdown: false\n",
    )

    assert config.reports.json == project.resolve() / "out" / "r.json"
    assert config.reports.junit is None
    assert config.reports.coverage_xml is None
    assert config.reports.html == Path("/abs/html")
    assert config.reports.markdown is None
    assert config.reports.model_dump()["json"] == project.resolve() / "out" / "r.json"


def test_root_is_relative_to_the_config_file(project: Path) -> None:
    backend = project / "backend"
    (backend / "tests").mkdir(parents=True)
    (backend / "pg").mkdir()
    config = load(project, "root: backend\ndatabase:\n  bin_dir: pg\n")

    assert config.root == backend.resolve()
    assert config.database.bin_dir == backend.resolve() / "pg"
    assert config.reports.json == backend.resolve() / ".gate" / "report.json"


def test_config_in_another_folder_defaults_root_to_that_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "tests").mkdir(parents=True)
    (elsewhere / "gate.yaml").write_text("{}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    config = load_config(Path("elsewhere/gate.yaml"), {})

    assert config.root == elsewhere.resolve()
    assert config.source == elsewhere / "gate.yaml"


def test_sections_left_empty_mean_defaults(project: Path) -> None:
    # What a gate.yaml looks like after commenting out every key of a section.
    config = load(project, "env:\ndatabase:\ntests:\ncoverage:\nreports:\n")

    assert config.env == {}
    assert config.tests.paths == ["tests"]
    assert config.reports.json == project.resolve() / ".gate" / "report.json"


def test_merge_keys_are_honoured_and_explicit_keys_win(project: Path) -> None:
    config = load(
        project,
        "coverage:\n  source: [app]\n  diff:\n    <<: {base: main, fail_under: 10}\n"
        "    fail_under: 20\n",
    )

    assert config.coverage.diff is not None
    assert config.coverage.diff.base == "main"
    assert config.coverage.diff.fail_under == 20


def test_export_templates_may_use_every_field(project: Path) -> None:
    config = load(
        project,
        "database:\n  export:\n    POSTGRES_SERVER: '{host}'\n    POSTGRES_PORT: '{port}'\n"
        "    POSTGRES_USER: '{user}'\n    POSTGRES_PASSWORD: '{password}'\n"
        "    POSTGRES_DB: '{database}'\n    URL: '{url}?ssl=off'\n    LITERAL: '{{x}}'\n",
    )

    assert config.database.export["POSTGRES_DB"] == "{database}"
    assert config.database.export["URL"] == "{url}?ssl=off"
    assert config.database.export["LITERAL"] == "{{x}}"
