"""The settings of gate.yaml: every key, its type, its default and what it means, stated once.

Longer than most modules on purpose: one place for every key is the point (the schema and
the defaults tests read it whole); a section per file would scatter the defaults again.

`gate init`'s template, the README's table and `gate schema` are tested against or made
from these models, so a default changed here is changed everywhere or a test says where not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, model_validator
from pydantic.fields import ComputedFieldInfo, FieldInfo

from gate.config.values import (
    Command,
    EnvName,
    EnvValue,
    ExportTemplate,
    Names,
    Number,
    OptionalUrl,
    Percent,
    RootPath,
    ServerErrorAllows,
    Text,
    UrlScheme,
    WholeNumber,
    Words,
    Workers,
)
from gate.database.address import ServerAddress, parse_server_url
from gate.errors import UsageError

#: How a check's findings count: fail the gate, only report them, or not look at all.
Mode = Literal["fail", "warn", "off"]

SERVER_WITHOUT_URL = (
    "database.mode is server but no server URL is set; set database.url in gate.yaml "
    "(e.g. url: ${DATABASE_URL}) or pass --database-url"
)

# The floors default to the contract's 90: a gate whose coverage check is on must not pass
# 10% coverage because a key was left out.
DEFAULT_FLOOR = 90


def _path(default: str | None, description: str) -> Any:
    # validate_default: a default report path resolves against root like a written one.
    value = None if default is None else Path(default)
    return Field(default=value, validate_default=True, description=description)


def _key_title(name: str, info: FieldInfo | ComputedFieldInfo) -> str:
    # An editor's hover shows the title: the key as written in gate.yaml, not "Slow Ms".
    return (info.alias if isinstance(info, FieldInfo) else None) or name


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, field_title_generator=_key_title)


class DatabaseConfig(_Section):
    """The PostgreSQL database the migrations and tests get."""

    model_config = ConfigDict(title="database")

    mode: Literal["auto", "ephemeral", "server", "none"] = Field(
        default="auto",
        description="auto: server if url is set, else ephemeral (a private PostgreSQL server "
        "gate starts and removes); server: a throwaway database on url; none: no database",
    )
    # The loader expands a default holding ${...} like a written value (validation.py), so a
    # CI service's DATABASE_URL selects server mode unless gate.yaml says otherwise.
    url: OptionalUrl = Field(
        default="${DATABASE_URL:-}",
        description="server mode: a PostgreSQL server where gate may create and drop its own "
        "gate_<run id> databases, e.g. postgresql://postgres@127.0.0.1:5432/postgres",
    )
    scheme: UrlScheme = Field(
        default="postgresql+asyncpg", description="URL scheme used for {url} in export"
    )
    export: dict[EnvName, ExportTemplate] = Field(
        default_factory=lambda: {"DATABASE_URL": "{url}"},
        description="environment handed to migrations and tests; templates over {url} {host} "
        "{port} {user} {password} {database} {server_url} {database_role}",
    )
    keep: bool = Field(
        default=False, description="keep the database after the run (like --keep-db)"
    )
    bin_dir: RootPath = _path(
        None, "folder holding initdb and postgres; default: searched (PATH, pg_config, ...)"
    )
    _url_source: str = PrivateAttr(default="database.url")

    @model_validator(mode="after")
    def _note_url_source(self, info: ValidationInfo) -> DatabaseConfig:
        # The loader says when url is its default read from the environment.
        source = (info.context or {}).get("url_source")
        if source and self.url:
            self._url_source = source
        return self

    @property
    def url_source(self) -> str:
        """Where url came from, for messages: database.url, the DATABASE_URL default, ..."""
        return self._url_source

    @property
    def effective_mode(self) -> Literal["ephemeral", "server", "none"]:
        """auto means server when a URL is given, else a throwaway server of gate's own."""
        if self.mode == "auto":
            return "server" if self.url else "ephemeral"
        return self.mode

    def with_server_url(self, url: str | None, source: str) -> DatabaseConfig:
        """These settings with a server named elsewhere (--database-url): server mode on url."""
        if not url:  # not given (None), or given empty: as before, the config decides
            return self
        changed = self.model_copy(update={"mode": "server", "url": url})
        changed._url_source = source
        return changed

    def server_address(self) -> ServerAddress:
        """The server of server mode; a UsageError says what is missing or malformed."""
        if not self.url:
            raise UsageError(SERVER_WITHOUT_URL)
        return parse_server_url(self.url, source=self._url_source)


class MigrationLintConfig(_Section):
    """The SQL the migrations ran, checked for what locks or breaks a live database."""

    model_config = ConfigDict(title="migrations.lint")

    mode: Mode = Field(
        default="warn",
        description="fail | warn | off; only migrations new since coverage.diff.base can fail",
    )
    allow: Names = Field(
        default_factory=list,
        description='findings not to report: "rule" or "path/to/migration:rule"',
    )


class MigrationsConfig(_Section):
    """How the project's schema is made."""

    model_config = ConfigDict(title="migrations")

    command: Command = Field(
        default=None,
        description="e.g. alembic upgrade head: a string (split like a shell would) or a list; "
        "omit for none",
    )
    checks: list[Literal["single_head", "drift", "roundtrip"]] = Field(
        default_factory=list,
        description="alembic checks, each a named check in the report",
    )
    lint: MigrationLintConfig = Field(default_factory=MigrationLintConfig)


class TestsConfig(_Section):
    """How pytest runs."""

    model_config = ConfigDict(title="tests")

    paths: Annotated[Names, Field(min_length=1)] = Field(
        default_factory=lambda: ["tests"], description="test files, folders or node ids"
    )
    args: Words = Field(default_factory=list, description="extra pytest arguments")
    python: Text = Field(
        default="auto",
        description="interpreter that runs pytest: auto = the active virtualenv, "
        "else ROOT/.venv, else gate's own",
    )
    timeout: Annotated[Number, Field(ge=0)] = Field(
        default=300,
        description="seconds for any one test, enforced even when the test blocks in C; 0 = none",
    )
    workers: Workers = Field(
        default=1, description="N or auto (pytest-xdist), each worker with its own database"
    )
    durations: RootPath = _path(
        ".gate/durations.json",
        "recorded test durations, written by every run and `gate merge`; --shard balances by them",
    )


class DiffConfig(_Section):
    """Coverage of the lines changed since base (git)."""

    model_config = ConfigDict(title="coverage.diff")

    base: Text = Field(
        default="origin/main",
        description="git ref the changes are measured from; --base REF overrides it",
    )
    fail_under: Percent = Field(
        default=DEFAULT_FLOOR, description="percent of changed lines covered"
    )
    min_lines: WholeNumber = Field(
        default=0, description="fewer changed executable lines than this: exempt"
    )


class CoverageConfig(_Section):
    """What coverage.py measures and the floors it must reach."""

    model_config = ConfigDict(title="coverage")

    source: Names = Field(
        default_factory=list,
        description="packages or folders to measure; required when coverage is checked",
    )
    omit: Names = Field(default_factory=list, description="file patterns not measured")
    branch: bool = Field(default=True, description="measure branches as well as lines")
    fail_under: Percent = Field(
        default=DEFAULT_FLOOR, description="floor for the total percent; applies when source is set"
    )
    per_file: Percent = Field(default=0, description="floor for every measured file, 0..100")
    diff: DiffConfig | None = Field(
        default=None, description="coverage of the lines changed since base; off when unset"
    )

    @property
    def measured(self) -> bool:
        """Coverage is measured only when there is something to measure."""
        return bool(self.source)


class BlockingConfig(_Section):
    """Calls that block the event loop during the tests."""

    model_config = ConfigDict(title="blocking")

    mode: Mode = Field(default="fail", description="fail | warn | off")
    slow_ms: Annotated[Number, Field(gt=0)] = Field(
        default=100, description="a callback holding the loop this long (ms) is a finding"
    )
    allow: Names = Field(
        default_factory=list,
        description='"package.module.function" or "path/to/file.py:function"',
    )


class ServerErrorsConfig(_Section):
    """Requests made during the tests that crashed the service ("409, not 500")."""

    model_config = ConfigDict(title="server_errors")

    mode: Mode = Field(default="fail", description="fail | warn | off")
    allow: ServerErrorAllows = Field(
        default_factory=list,
        description='"GET /health 503" (method, path, status), a test id, or an exception '
        'type ("app.errors.UpstreamDown"); allowed ones are reported, not failing',
    )


class ReportsConfig(_Section):
    """Where reports are written; null or false turns one off."""

    model_config = ConfigDict(title="reports", serialize_by_alias=True)

    # Stored as json_path because a field named json would shadow BaseModel.json;
    # the key in gate.yaml and the attribute callers read are both `json`.
    json_path: RootPath = Field(
        alias="json",
        default=Path(".gate/report.json"),
        validate_default=True,
        description="the JSON report (gate.report/1)",
    )
    junit: RootPath = _path(".gate/junit.xml", "JUnit XML of the tests")
    coverage_xml: RootPath = _path(".gate/coverage.xml", "Cobertura XML coverage")
    html: RootPath = _path(".gate/htmlcov", "folder for the HTML coverage report")
    markdown: RootPath = _path(".gate/summary.md", "a Markdown summary (CI job summaries)")

    @property
    def json(self) -> Path | None:  # type: ignore[override]
        """Where the JSON report goes; None when disabled."""
        return self.json_path


class Config(_Section):
    """gate.yaml, or [tool.gate] in pyproject.toml."""

    model_config = ConfigDict(title="gate.yaml")

    source: Path = Field(description="the config file itself; not a key")
    root: Path = Field(
        description="project folder: relative paths resolve against it and commands run "
        "in it; default: the folder holding the config file"
    )
    env: dict[EnvName, EnvValue] = Field(
        default_factory=dict, description="extra environment for migrations and tests"
    )
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    migrations: MigrationsConfig = Field(default_factory=MigrationsConfig)
    tests: TestsConfig = Field(default_factory=TestsConfig)
    coverage: CoverageConfig = Field(default_factory=CoverageConfig)
    blocking: BlockingConfig = Field(default_factory=BlockingConfig)
    server_errors: ServerErrorsConfig = Field(default_factory=ServerErrorsConfig)
    # A baseline file that may not exist yet: `gate run --update-ratchet` writes it.
    ratchet: RootPath = _path(
        None,
        "a committed baseline (e.g. gate-ratchet.json: .gate/ is usually not committed) of "
        "what the project already has; a run fails on anything worse, never on what it "
        "holds; off when unset",
    )
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
