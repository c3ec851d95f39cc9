"""The exact error message for each kind of mistake in gate.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.errors import UsageError
from tests.config.conftest import error_of, load

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
        "migrations, tests, coverage, blocking, server_errors, ratchet, reports",
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
        "{server_url}, {database_role}",
        id="export-unknown-placeholder",
    ),
    pytest.param(
        "database:\n  export:\n    PORT: '{port:05d}'\n",
        "gate.yaml:3:11: database.export.PORT: unknown placeholder {port:05d} in "
        "'{port:05d}'; use {url}, {host}, {port}, {user}, {password}, {database}, "
        "{server_url}, {database_role}",
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
