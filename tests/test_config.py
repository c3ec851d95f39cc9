"""Tests for gate.yaml loading: the values it yields and the exact text of every error."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from gate.config import Config, find_config, load_config
from gate.config_env import ExpansionError, expand, expand_tree
from gate.errors import ConfigError, UsageError


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with a tests/ folder, and the current directory set to it."""
    (tmp_path / "tests").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load(project: Path, text: str, environ: dict[str, str] | None = None) -> Config:
    path = project / "gate.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ or {})


def error_of(project: Path, text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load(project, text, environ)
    return info.value.message


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


# ---- ${VAR} expansion -------------------------------------------------------------------


def test_variables_expand_in_every_string_value(project: Path) -> None:
    config = load(
        project,
        "env:\n  A: ${VALUE}\n  PLAIN: 'a ${VALUE} b'\n"
        "tests:\n  args: ['-k', '${VALUE}']\n  timeout: ${TIMEOUT:-30}\n"
        "database:\n  url: ${DB}\n  export:\n    URL: '{url}${SUFFIX:-?ssl=off}'\n",
        {"VALUE": "v", "DB": "postgresql://h/postgres"},
    )

    assert config.env == {"A": "v", "PLAIN": "a v b"}
    assert config.tests.args == ["-k", "v"]
    assert config.tests.timeout == 30
    assert config.database.url == "postgresql://h/postgres"
    assert config.database.export == {"URL": "{url}?ssl=off"}


def test_keys_are_not_expanded() -> None:
    data, problems = expand_tree({"${K}": {"${K}": "${V}"}}, {"K": "k", "V": "v"})

    assert data == {"${K}": {"${K}": "v"}}
    assert problems == []


def test_dollar_dollar_writes_a_literal_reference(project: Path) -> None:
    config = load(project, "env:\n  TEMPLATE: '$${HOME}/x'\n", {"HOME": "/home/me"})

    assert config.env == {"TEMPLATE": "${HOME}/x"}


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("${A}", {"A": "1"}, "1"),
        ("${A}", {"A": ""}, ""),
        ("${A:-d}", {}, "d"),
        ("${A:-d}", {"A": ""}, "d"),
        ("${A:-d}", {"A": "x"}, "x"),
        ("${A:-}", {}, ""),
        ("${A:-${B:-deep}}", {}, "deep"),
        ("${A:-${B}}", {"B": "b"}, "b"),
        ("$${A}", {"A": "1"}, "${A}"),
        ("cost: $5 and $A", {"A": "1"}, "cost: $5 and $A"),
        ("x${A}y${B:-z}", {"A": "1"}, "x1yz"),
    ],
)
def test_expand(text: str, environ: dict[str, str], expected: str) -> None:
    assert expand(text, environ) == expected


def test_expand_tree_reports_each_bad_value_with_its_path() -> None:
    data, problems = expand_tree({"a": ["${X}", "ok"], "b": {"c": "${Y}"}, "n": 5}, {})

    assert data == {"a": ["${X}", "ok"], "b": {"c": "${Y}"}, "n": 5}
    assert [path for path, _ in problems] == [("a", 0), ("b", "c")]


def test_undefined_variable_error_names_it() -> None:
    with pytest.raises(ExpansionError) as info:
        expand("${NOPE}", {})

    assert str(info.value) == (
        "environment variable NOPE is not set; export NOPE, or give a default with ${NOPE:-default}"
    )


# ---- errors: the exact message for each kind of mistake ----------------------------------

ERROR_CASES = [
    pytest.param(
        "tests:\n  paths: [tests\n",
        "gate.yaml:3:1: invalid YAML: expected ',' or ']', but got '<stream end>' "
        "(while parsing a flow sequence at 2:10)",
        id="yaml-syntax",
    ),
    pytest.param(
        "tests:\n  paths: a: b\n",
        "gate.yaml:2:11: invalid YAML: mapping values are not allowed here",
        id="yaml-colon",
    ),
    pytest.param(
        "tests:\n\tpaths: [tests]\n",
        "gate.yaml:2:1: invalid YAML: found character '\\t' that cannot start any token; "
        "indent with spaces, not tabs",
        id="yaml-tab",
    ),
    pytest.param(
        "tests: {}\n---\ncoverage: {}\n",
        "gate.yaml:2:1: invalid YAML: a second document starts here; gate.yaml holds one",
        id="yaml-two-documents",
    ),
    pytest.param(
        "",
        "gate.yaml: the file is empty (no settings, only blank lines or comments); "
        "write `{}` to accept every default, "
        "or run `gate init --force` to replace it with a commented gate.yaml",
        id="empty",
    ),
    pytest.param(
        "# only a comment\n\n",
        "gate.yaml: the file is empty (no settings, only blank lines or comments); "
        "write `{}` to accept every default, "
        "or run `gate init --force` to replace it with a commented gate.yaml",
        id="comments-only",
    ),
    pytest.param(
        'env:\n  A: "x\x07y"\n',
        "gate.yaml:2:8: invalid YAML: control character U+0007 is not allowed; "
        "remove it, or write \\x07 inside double quotes",
        id="control-character",
    ),
    pytest.param(
        "a: " + "[" * 3000 + "]" * 3000 + "\n",
        "gate.yaml: invalid YAML: lists or mappings are nested too deeply; "
        "gate.yaml needs only a few levels",
        id="nested-too-deeply",
    ),
    pytest.param(
        "- tests\n- coverage\n",
        "gate.yaml:1:1: the top of the file must be a mapping of settings such as `tests:` "
        "and `coverage:`, but it is a list",
        id="top-is-list",
    ),
    pytest.param(
        "hello\n",
        "gate.yaml:1:1: the top of the file must be a mapping of settings such as `tests:` "
        "and `coverage:`, but it is a single value ('hello')",
        id="top-is-scalar",
    ),
    pytest.param(
        "tests:\n  workers: 2\ntests: {}\n",
        "gate.yaml:3:1: tests: duplicate key (first set on line 1); keep only one",
        id="duplicate-key",
    ),
    pytest.param(
        "env:\n  A: !!python/object/apply:os.system [ls]\n",
        "gate.yaml:2:6: env.A: unsupported YAML tag !!python/object/apply:os.system; remove it",
        id="python-tag",
    ),
    pytest.param(
        "env:\n  A: !!python/name:os.system ''\n",
        "gate.yaml:2:6: env.A: unsupported YAML tag !!python/name:os.system; remove it",
        id="python-scalar-tag",
    ),
    pytest.param(
        "a: &a [*a]\n",
        "gate.yaml:1:4: a[0]: this YAML alias refers to an anchor that contains it (a loop)",
        id="recursive-alias",
    ),
    pytest.param(
        "covrage:\n  fail_under: 90\n",
        "gate.yaml:1:1: covrage: unknown key; did you mean 'coverage'?",
        id="unknown-top-key",
    ),
    pytest.param(
        "coverage:\n  source: [app]\n  fail_undr: 90\n",
        "gate.yaml:3:3: coverage.fail_undr: unknown key; did you mean 'fail_under'?",
        id="unknown-nested-key",
    ),
    pytest.param(
        "tests:\n  fail_under: 90\n",
        "gate.yaml:2:3: tests.fail_under: unknown key here; did you mean 'coverage.fail_under'?",
        id="key-in-wrong-section",
    ),
    pytest.param(
        "source: [app]\n",
        "gate.yaml:1:1: source: unknown key; did you mean 'coverage.source'?",
        id="top-level-source",
    ),
    pytest.param(
        "zzz: 1\n",
        "gate.yaml:1:1: zzz: unknown key; valid keys here are root, env, database, "
        "migrations, tests, coverage, blocking, reports, ratchet",
        id="unknown-key-no-match",
    ),
    pytest.param(
        "tests:\n  workers: many\n",
        "gate.yaml:2:12: tests.workers: must be a whole number of at least 1, or auto (got 'many')",
        id="workers-word",
    ),
    pytest.param(
        "tests:\n  workers: 0\n",
        "gate.yaml:2:12: tests.workers: must be a whole number of at least 1, or auto (got 0)",
        id="workers-zero",
    ),
    pytest.param(
        "coverage:\n  branch: maybe\n",
        "gate.yaml:2:11: coverage.branch: must be true or false (got 'maybe')",
        id="bool",
    ),
    pytest.param(
        "tests:\n  paths: 5\n",
        "gate.yaml:2:10: tests.paths: must be a list (got 5)",
        id="paths-number",
    ),
    pytest.param(
        "tests:\n  paths: []\n",
        "gate.yaml:2:10: tests.paths: must list at least one entry",
        id="paths-empty",
    ),
    pytest.param(
        "tests:\n  paths: [tests, {a: 1}]\n",
        "gate.yaml:2:18: tests.paths[1]: must be text (got a mapping)",
        id="paths-item-mapping",
    ),
    pytest.param(
        "tests:\n  python:\n",
        "gate.yaml:2:10: tests.python: must be text (got nothing)",
        id="python-null",
    ),
    pytest.param(
        "tests: 5\n",
        "gate.yaml:1:8: tests: must be a mapping with keys paths, args, python, timeout, "
        "workers, durations (got 5)",
        id="section-not-mapping",
    ),
    pytest.param(
        "env: [A]\n",
        "gate.yaml:1:6: env: must be a mapping of names to values (got a list)",
        id="env-list",
    ),
    pytest.param(
        "env:\n  A-B: x\n",
        "gate.yaml:2:3: env.A-B: 'A-B' is not an environment variable name "
        "(letters, digits and _, not starting with a digit)",
        id="env-bad-name",
    ),
    pytest.param(
        "env:\n  A: [1]\n",
        "gate.yaml:2:6: env.A: must be text (got a list)",
        id="env-value-list",
    ),
    pytest.param(
        "tests:\n  timeout: true\n",
        "gate.yaml:2:12: tests.timeout: must be a number (got true)",
        id="timeout-bool",
    ),
    pytest.param(
        "tests:\n  timeout: soon\n",
        "gate.yaml:2:12: tests.timeout: must be a number (got 'soon')",
        id="timeout-word",
    ),
    pytest.param(
        "tests:\n  timeout: -1\n",
        "gate.yaml:2:12: tests.timeout: must be at least 0 (got -1)",
        id="timeout-negative",
    ),
    pytest.param(
        "tests:\n  timeout: .inf\n",
        "gate.yaml:2:12: tests.timeout: must be a finite number (got inf)",
        id="timeout-infinite",
    ),
    pytest.param(
        "coverage:\n  source: [app]\n  fail_under: 150\n",
        "gate.yaml:3:15: coverage.fail_under: must be at most 100 (got 150)",
        id="fail-under-too-high",
    ),
    pytest.param(
        "coverage:\n  source: [app]\n  per_file: -5\n",
        "gate.yaml:3:13: coverage.per_file: must be at least 0 (got -5)",
        id="per-file-negative",
    ),
    pytest.param(
        "coverage:\n  source: [app]\n  diff:\n    min_lines: 1.5\n",
        "gate.yaml:4:16: coverage.diff.min_lines: must be a whole number (got 1.5)",
        id="min-lines-fraction",
    ),
    pytest.param(
        "blocking:\n  slow_ms: 0\n",
        "gate.yaml:2:12: blocking.slow_ms: must be more than 0 (got 0)",
        id="slow-ms-zero",
    ),
    pytest.param(
        "blocking:\n  mode: strict\n",
        "gate.yaml:2:9: blocking.mode: must be one of 'fail', 'warn' or 'off' (got 'strict')",
        id="blocking-mode",
    ),
    pytest.param(
        "database:\n  mode: local\n",
        "gate.yaml:2:9: database.mode: must be one of 'auto', 'ephemeral', 'server' or 'none' "
        "(got 'local')",
        id="database-mode",
    ),
    pytest.param(
        "migrations:\n  command: alembic upgrade head\n  checks: [single_head, heads]\n",
        "gate.yaml:3:25: migrations.checks[1]: must be one of 'single_head', 'drift' or "
        "'roundtrip' (got 'heads')",
        id="migration-check-name",
    ),
    pytest.param(
        "migrations:\n  checks: [drift]\n",
        "gate.yaml:2:11: migrations.checks: need migrations.command to run; set it "
        "(e.g. command: alembic upgrade head) or remove the checks",
        id="checks-without-command",
    ),
    pytest.param(
        'tests:\n  args: "-k \'unclosed"\n',
        "gate.yaml:2:9: tests.args: cannot split into words: No closing quotation "
        '(got "-k \'unclosed")',
        id="args-unbalanced-quote",
    ),
    pytest.param(
        "database:\n  scheme: postgresql://\n",
        "gate.yaml:2:11: database.scheme: must be a URL scheme such as postgresql+asyncpg, "
        "without :// (got 'postgresql://')",
        id="scheme-with-slashes",
    ),
    pytest.param(
        "database:\n  export:\n    DATABASE_URL: '{hostname}'\n",
        "gate.yaml:3:19: database.export.DATABASE_URL: unknown placeholder {hostname} in "
        "'{hostname}'; use {url}, {host}, {port}, {user}, {password}, {database}, "
        "{server_url}",
        id="export-unknown-placeholder",
    ),
    pytest.param(
        "database:\n  export:\n    PORT: '{port:05d}'\n",
        "gate.yaml:3:11: database.export.PORT: unknown placeholder {port:05d} in "
        "'{port:05d}'; use {url}, {host}, {port}, {user}, {password}, {database}, "
        "{server_url}",
        id="export-format-spec",
    ),
    pytest.param(
        "database:\n  export:\n    URL: '{url'\n",
        "gate.yaml:3:10: database.export.URL: bad template '{url': expected '}' before end "
        "of string; write {{ and }} for literal braces",
        id="export-unbalanced-brace",
    ),
    pytest.param(
        "database:\n  export:\n",
        "gate.yaml:2:10: database.export: must be a mapping of names to values (got nothing)",
        id="export-null",
    ),
    pytest.param(
        "coverage:\n  fail_under: 90\n",
        "gate.yaml:2:3: coverage.source: required when coverage is checked (fail_under is 90); "
        "list the package(s) to measure, e.g. source: [your_package]",
        id="coverage-floor-without-source",
    ),
    pytest.param(
        "coverage:\n  source: []\n  per_file: 50\n  diff: {}\n",
        "gate.yaml:2:11: coverage.source: required when coverage is checked (per_file is 50, "
        "diff is set); list the package(s) to measure, e.g. source: [your_package]",
        id="coverage-diff-without-source",
    ),
    pytest.param(
        "tests:\n  paths: [tests, tests/integration]\n",
        "gate.yaml:2:18: tests.paths[1]: 'tests/integration' does not exist in .; "
        "fix the path or remove it",
        id="test-path-missing",
    ),
    pytest.param(
        "coverage:\n  source: [app, src/ap]\n",
        "gate.yaml:2:17: coverage.source[1]: 'src/ap' is not a folder in .; name an existing "
        "folder or a package (e.g. your_package)",
        id="coverage-source-folder-missing",
    ),
    pytest.param(
        "root: nowhere\n",
        "gate.yaml:1:7: root: nowhere does not exist (root is relative to the folder holding "
        "gate.yaml); fix root or create the folder",
        id="root-missing",
    ),
    pytest.param(
        "root: 5\n",
        "gate.yaml:1:7: root: must be a folder path (got 5)",
        id="root-number",
    ),
    pytest.param(
        "database:\n  bin_dir: pg/bin\n",
        "gate.yaml:2:12: database.bin_dir: no such folder: pg/bin",
        id="bin-dir-missing",
    ),
    pytest.param(
        "reports:\n  junit: true\n",
        "gate.yaml:2:10: reports.junit: must be a path, or null to turn it off (got true)",
        id="report-true",
    ),
    pytest.param(
        "reports:\n  junit: [a]\n",
        "gate.yaml:2:10: reports.junit: must be a path (got a list)",
        id="report-list",
    ),
    pytest.param(
        "database:\n  url: 5432\n",
        "gate.yaml:2:8: database.url: must be text (got 5432)",
        id="url-number",
    ),
    pytest.param(
        "database:\n  url: ${DATABASE_URL}\n",
        "gate.yaml:2:8: database.url: environment variable DATABASE_URL is not set; "
        "export DATABASE_URL, or give a default with ${DATABASE_URL:-default}",
        id="undefined-variable",
    ),
    pytest.param(
        "tests:\n  args: [-x, '${PYTEST_K}']\nenv:\n  A: x-${SECRET}\n",
        "gate.yaml:2:14: tests.args[1]: environment variable PYTEST_K is not set; "
        "export PYTEST_K, or give a default with ${PYTEST_K:-default}\n"
        "gate.yaml:4:6: env.A: environment variable SECRET is not set; "
        "export SECRET, or give a default with ${SECRET:-default}",
        id="undefined-variables-in-list-and-mapping",
    ),
    pytest.param(
        "env:\n  A: ${1X}\n",
        "gate.yaml:2:6: env.A: ${1X} is not a variable reference; write ${NAME} or "
        "${NAME:-default} (names are letters, digits and _), or $${ for a literal ${",
        id="bad-variable-name",
    ),
    pytest.param(
        "env:\n  A: ${X-d}\n",
        "gate.yaml:2:6: env.A: ${X-d} is not a variable reference; write ${NAME} or "
        "${NAME:-default} (names are letters, digits and _), or $${ for a literal ${",
        id="unsupported-variable-operator",
    ),
    pytest.param(
        "env:\n  A: ab${X\n",
        "gate.yaml:2:6: env.A: unclosed ${ in 'ab${X'; close it with }, "
        "or write $${ for a literal ${",
        id="unclosed-variable",
    ),
    pytest.param(
        "coverage:\n  source: [app]\n  fail_under: 150\n  brnch: true\ntests:\n  workers: x\n",
        "gate.yaml:3:15: coverage.fail_under: must be at most 100 (got 150)\n"
        "gate.yaml:4:3: coverage.brnch: unknown key; did you mean 'branch'?\n"
        "gate.yaml:6:12: tests.workers: must be a whole number of at least 1, or auto (got 'x')",
        id="several-errors-in-file-order",
    ),
]


@pytest.mark.parametrize(("text", "expected"), ERROR_CASES)
def test_config_error_message(project: Path, text: str, expected: str) -> None:
    assert error_of(project, text) == expected


def test_config_error_is_a_usage_error_so_gate_exits_2(project: Path) -> None:
    with pytest.raises(UsageError) as info:
        load(project, "tests: 5\n")

    assert info.value.exit_code == 2


def test_alias_bomb_fails_fast_without_expanding(project: Path) -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
        previous = name
    started = time.perf_counter()

    message = error_of(project, "\n".join(lines) + "\n")

    assert time.perf_counter() - started < 0.5
    assert message.startswith("gate.yaml:1:")
    assert message.endswith(
        ": too many YAML aliases (more than 100 uses of anchors, or more than 10000 values "
        "once they are expanded); write the values out instead of using & and *"
    )


def test_a_few_aliases_are_fine(project: Path) -> None:
    config = load(
        project,
        "coverage:\n  source: &pkgs [app]\n  fail_under: &floor 80\n"
        "  diff: {fail_under: *floor}\nblocking:\n  allow: *pkgs\n",
    )

    assert config.coverage.diff is not None
    assert config.coverage.diff.fail_under == 80
    assert config.blocking.allow == ["app"]


# ---- errors about the file itself -----------------------------------------------------------


def test_binary_file(project: Path) -> None:
    path = project / "gate.yaml"
    path.write_bytes(b"tests:\n  \x00\x01\x02")

    with pytest.raises(ConfigError) as info:
        load_config(path, {})

    assert info.value.message == (
        "gate.yaml:2:3: this is a binary file (it contains NUL bytes), "
        "not a YAML or TOML config; check the path"
    )


def test_file_that_is_not_utf8(project: Path) -> None:
    path = project / "gate.yaml"
    path.write_bytes(b"env:\n  NAME: caf\xe9\n")

    with pytest.raises(ConfigError) as info:
        load_config(path, {})

    assert info.value.message == (
        "gate.yaml:2:12: not UTF-8 text (byte 0xe9); save the file as UTF-8"
    )


def test_utf8_byte_order_mark_is_accepted(project: Path) -> None:
    path = project / "gate.yaml"
    path.write_bytes(b"\xef\xbb\xbfenv:\n  NAME: caf\xc3\xa9\n")

    assert load_config(path, {}).env == {"NAME": "café"}


def test_missing_file(project: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(project / "gate.yaml", {})

    assert info.value.message == (
        "gate.yaml: no such file; check the path, or run `gate init` to write a commented gate.yaml"
    )


def test_folder_given_as_config(project: Path) -> None:
    with pytest.raises(ConfigError) as info:
        find_config(Path("tests"), project)

    assert info.value.message == (
        "tests: is a folder, not a config file; pass the file itself, e.g. -c tests/gate.yaml"
    )


def test_path_outside_cwd_is_shown_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    outside = tmp_path / "other.yaml"
    outside.write_text("tests: 5\n", encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        load_config(outside, {})

    assert info.value.message.startswith(f"{outside}:1:8: tests: must be a mapping")


# ---- find_config ----------------------------------------------------------------------------


def test_find_config_prefers_explicit_path(project: Path) -> None:
    (project / "gate.yaml").write_text("{}\n", encoding="utf-8")
    (project / "ci.yaml").write_text("{}\n", encoding="utf-8")

    assert find_config(Path("ci.yaml"), project) == project / "ci.yaml"


def test_find_config_uses_gate_yaml_before_pyproject(project: Path) -> None:
    (project / "gate.yaml").write_text("{}\n", encoding="utf-8")
    (project / "pyproject.toml").write_text("[tool.gate]\n", encoding="utf-8")

    assert find_config(None, project) == project / "gate.yaml"


def test_find_config_falls_back_to_pyproject_with_tool_gate(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.gate.tests]\nworkers = 2\n", encoding="utf-8")

    assert find_config(None, project) == project / "pyproject.toml"


def test_find_config_ignores_pyproject_without_tool_gate(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n", encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        find_config(None, project)

    assert info.value.message == (
        f"no gate.yaml in {project} and no [tool.gate] table in its pyproject.toml; "
        "run `gate init` to write a commented gate.yaml, or pass -c PATH"
    )


def test_find_config_reports_a_broken_pyproject(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.gate]\nenv = {\n", encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        find_config(None, project)

    assert info.value.message == (
        "pyproject.toml:2:8: invalid TOML: Invalid initial character for a key part"
    )


def test_find_config_points_out_gate_yml(project: Path) -> None:
    (project / "gate.yml").write_text("{}\n", encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        find_config(None, project)

    assert info.value.message == (
        f"no gate.yaml in {project} and no [tool.gate] table in its pyproject.toml "
        "(there is a gate.yml: rename it to gate.yaml); "
        "run `gate init` to write a commented gate.yaml, or pass -c PATH"
    )


def test_find_config_explicit_missing(project: Path) -> None:
    with pytest.raises(ConfigError) as info:
        find_config(Path("ci/gate.yaml"), project)

    assert info.value.message == (
        "ci/gate.yaml: no such file; check the path, "
        "or run `gate init` to write a commented gate.yaml"
    )


# ---- [tool.gate] in pyproject.toml ------------------------------------------------------------


def write_pyproject(project: Path, text: str) -> Path:
    path = project / "pyproject.toml"
    path.write_text('[project]\nname = "demo"\n\n' + text, encoding="utf-8")
    return path


def test_pyproject_tool_gate_loads(project: Path) -> None:
    (project / "app").mkdir()
    path = write_pyproject(
        project,
        "[tool.gate]\nenv = { PORT = 5432, DEBUG = true }\n\n[tool.gate.coverage]\n"
        'source = ["app"]\nfail_under = 85\n\n[tool.gate.coverage.diff]\nbase = "main"\n',
    )

    config = load_config(path, {})

    assert config.source == path
    assert config.root == project.resolve()
    assert config.env == {"PORT": "5432", "DEBUG": "true"}
    assert config.coverage.fail_under == 85
    assert config.coverage.diff is not None
    assert config.coverage.diff.base == "main"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            '[tool.gate.coverage]\nsource = ["app"]\nfail_under = 150\n',
            "pyproject.toml:6:14: tool.gate.coverage.fail_under: must be at most 100 (got 150)",
            id="value-out-of-range",
        ),
        pytest.param(
            "[tool.gate]\ncovrage = 1\n",
            "pyproject.toml:5:1: tool.gate.covrage: unknown key; did you mean 'coverage'?",
            id="unknown-key",
        ),
        pytest.param(
            '[tool.gate]\ntests.workers = "many"\n',
            "pyproject.toml:5:17: tool.gate.tests.workers: must be a whole number of at least 1, "
            "or auto (got 'many')",
            id="dotted-key",
        ),
        pytest.param(
            "[tool.gate]\ntests = { workers = 0 }\n",
            "pyproject.toml:5:9: tool.gate.tests.workers: must be a whole number of at least 1, "
            "or auto (got 0)",
            id="inline-table-points-at-parent",
        ),
        pytest.param(
            '[tool.gate.database]\nurl = "${PG_URL}"\n',
            "pyproject.toml:5:7: tool.gate.database.url: environment variable PG_URL is not set; "
            "export PG_URL, or give a default with ${PG_URL:-default}",
            id="undefined-variable",
        ),
        pytest.param(
            "[tool.gate]\ntests = 5\n",
            "pyproject.toml:5:9: tool.gate.tests: must be a mapping with keys paths, args, "
            "python, timeout, workers, durations (got 5)",
            id="section-not-a-table",
        ),
        pytest.param(
            "[tool.gate\n",
            "pyproject.toml:4:11: invalid TOML: Expected ']' at the end of a table declaration",
            id="invalid-toml",
        ),
        pytest.param(
            "[tool.ruff]\nline-length = 100\n",
            "pyproject.toml: has no [tool.gate] table; add one, "
            "or run `gate init` to write a commented gate.yaml",
            id="no-tool-gate",
        ),
        pytest.param(
            "[tool]\ngate = 5\n",
            "pyproject.toml: tool.gate: must be a table (got 5)",
            id="tool-gate-not-a-table",
        ),
    ],
)
def test_pyproject_errors(project: Path, text: str, expected: str) -> None:
    path = write_pyproject(project, text)

    with pytest.raises(ConfigError) as info:
        load_config(path, {})

    assert info.value.message == expected
