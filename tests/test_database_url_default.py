"""database.url defaults to ${DATABASE_URL:-} (the contract): a CI service's URL selects
server mode, also when it names an app database that does not exist yet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.config import Config, load_config
from gate.database.address import ServerAddress
from tests.conftest import GateRunner


def _config(tmp_path: Path, text: str, environ: dict[str, str]) -> Config:
    (tmp_path / "tests").mkdir(exist_ok=True)
    path = tmp_path / "gate.yaml"
    path.write_text(text)
    return load_config(path, environ)


@pytest.mark.parametrize(
    ("text", "environ", "mode", "url"),
    [
        ("{}", {}, "ephemeral", None),
        ("{}", {"DATABASE_URL": ""}, "ephemeral", None),
        ("{}", {"DATABASE_URL": "postgresql://u@h/app"}, "server", "postgresql://u@h/app"),
        # An explicit url, even an empty one, is the user's choice over the environment.
        ("database: {url: ''}", {"DATABASE_URL": "postgresql://u@h/app"}, "ephemeral", None),
        (
            "database: {url: 'postgresql://g@h/x'}",
            {"DATABASE_URL": "postgresql://u@h/app"},
            "server",
            "postgresql://g@h/x",
        ),
        ("database: {mode: none}", {"DATABASE_URL": "mysql://u@h/app"}, "none", "mysql://u@h/app"),
    ],
)
def test_the_url_defaults_to_database_url(
    tmp_path: Path, text: str, environ: dict[str, str], mode: str, url: str | None
) -> None:
    config = _config(tmp_path, text, environ)
    assert config.database.effective_mode == mode
    assert config.database.url == url


def test_a_url_from_the_environment_says_so(tmp_path: Path) -> None:
    config = _config(tmp_path, "{}", {"DATABASE_URL": "postgresql://u@h/app"})
    assert config.database.url_source == "DATABASE_URL (the default of database.url)"
    assert _config(tmp_path, "database: {url: 'postgresql://g@h/x'}", {}).database.url_source == (
        "database.url"
    )


def test_a_ci_database_url_naming_the_app_database_is_served(
    gate: GateRunner, tmp_path: Path, pg_server: ServerAddress
) -> None:
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_db.py").write_text(
        "import os\n\nimport psycopg\n\n\ndef test_db():\n"
        "    with psycopg.connect(os.environ['DATABASE_URL']) as c:\n"
        "        assert c.execute('select current_database()').fetchone()[0].startswith('gate_')\n"
    )
    (project / "gate.yaml").write_text("database: {scheme: postgresql}\n")
    # As a CI file sets it for the app: a database that does not exist on the server.
    app_url = pg_server.with_database("app_not_created_yet").url("postgresql+asyncpg")
    result = gate("run", "--json", "-", cwd=project, env={"DATABASE_URL": app_url})
    assert result.code == 0, result.output
    report = json.loads(result.stdout)
    assert f"on {pg_server.host}:{pg_server.port}" in report["steps"][1]["detail"]

    bad = gate("run", cwd=project, env={"DATABASE_URL": "mysql://u:pw@h/app"})
    assert bad.code == 2
    assert bad.stderr.startswith(
        "gate: DATABASE_URL (the default of database.url): expected a postgresql:// URL"
    )
    assert "pw" not in bad.output
