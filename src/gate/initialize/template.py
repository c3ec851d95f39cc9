"""The commented gate.yaml gate init writes, a section at a time, from what it found."""

from __future__ import annotations

import json
import re
import shlex

from gate.config.schema import SCHEMA_URL
from gate.database.address import DATABASE_ROLE
from gate.initialize.facts import ProjectFacts
from gate.initialize.settings import CHOICE_WORDS
from gate.settings_names import (
    is_text_type,
)

# gate check lists every line holding this: what gate init could not decide.
TODO_MARK = "TODO(gate init)"


_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def render_gate_yaml(facts: ProjectFacts) -> str:
    """A gate.yaml with every key: set where the project needs it, commented out elsewhere."""
    sections = [
        _header(facts),
        _database(facts),
        _migrations(facts),
        _tests(facts),
        _coverage(facts),
        _blocking(),
        _reports(),
    ]
    return "\n".join(sections)


def _header(facts: ProjectFacts) -> str:
    root = f"root: {yaml_text(facts.project_dir)}" if facts.project_dir != "." else "# root: ."
    return f"""\
# yaml-language-server: $schema={SCHEMA_URL}
# gate.yaml: the quality gate for this project, written by `gate init`.
# `gate check` says what a run would do; `gate run` runs it.
# Every key is optional; a commented-out key shows its default.
# ${{VAR}} and ${{VAR:-default}} expand from the environment in every value;
# write $${{ for a literal ${{.

# The project folder: relative paths below resolve against it and commands run in it.
# Default: the folder holding this file.
{root}

# Extra environment for migrations and tests.
env:
{_env(facts)}
"""


def _env(facts: ProjectFacts) -> str:
    lines = []
    for setting in facts.required_settings:
        why = f"required by {setting.read_by} ({setting.annotation}, no default)"
        if setting.value is not None:
            lines.append(f"  # {why}; {setting.value_from}")
            lines.append(f"  {setting.name}: {yaml_text(setting.value)}")
        elif setting.in_env_file:
            lines.append(f"  # {setting.name}: ...  # {why}; your .env sets it")
        elif is_text_type(setting.annotation) and not setting.name.endswith(CHOICE_WORDS):
            # Free text a settings class takes as it is: any value passes its validation.
            value = "gate-test-" + setting.name.lower().replace("_", "-")
            lines.append(f"  # {why}")
            lines.append(f"  {setting.name}: {yaml_text(value)}")
        else:
            # An enum, a Literal, a number or a value code uses in its own way (a name stem):
            # an invented value would be refused, so the user gives the one tests use.
            lines.append(
                f"  # {setting.name}: ...  # {TODO_MARK}: {why}: give it the value your tests use"
            )
    return "\n".join(lines) or "  # SECRET_KEY: test-secret"


def _export_line(name: str, template: str) -> str:
    line = f'    {name}: "{template}"'
    if template == DATABASE_ROLE:
        # Why not {user}: that names the server's postgres database, not the run's.
        line = (
            f"    # Your code connects as {name} to a database named {name}: both are the\n"
            "    # run's database (and a role gate names after it).\n" + line
        )
    return line


def _database(facts: ProjectFacts) -> str:
    scheme = f"scheme: {facts.scheme}"
    if facts.scheme == "postgresql+asyncpg":
        scheme = "# " + scheme
    export = "\n".join(_export_line(name, template) for name, template in facts.export.items())
    found = ", ".join(facts.database_variables) or "none found; DATABASE_URL assumed"
    return f"""\
# The PostgreSQL database the migrations and tests run against.
database:
  # auto | ephemeral | server | none. auto: server when url is set, else a throwaway
  # PostgreSQL that gate starts for the run and removes afterwards.
  # mode: auto
  # Server mode: a PostgreSQL server where gate may create and drop its own databases,
  # e.g. postgresql://postgres:postgres@localhost:5432/postgres. GATE_DATABASE_URL, not
  # DATABASE_URL, so that your app's own setting never points gate at a database by accident.
  url: ${{GATE_DATABASE_URL:-}}
  # URL scheme used for {{url}} below: the driver your app talks to PostgreSQL with.
  {scheme}
  # Environment handed to migrations and tests, filled in for each test database.
  # Templates over {{url}} {{host}} {{port}} {{user}} {{password}} {{database}}, and
  # {{server_url}}: the server without a database, for suites that create their own;
  # {{database_role}}: the database's name, for a variable your code uses as its user too
  # (gate then makes a login role of that name, acting as its own, and drops it after).
  # Variables your code reads: {found}.
  export:
{export}
  # Keep the database (and a server gate started) after the run, and say how to reach it.
  # keep: false
  # Folder with the PostgreSQL programs (initdb, pg_ctl); default: looked up on the system.
  # bin_dir: /usr/lib/postgresql/16/bin
"""


def _migrations(facts: ProjectFacts) -> str:
    command = facts.migrations_command
    line = (
        f"command: {yaml_text(shlex.join(command))}"
        if command
        else "# command: alembic upgrade head"
    )
    found = "no alembic.ini found"
    if facts.alembic_ini or facts.migrate_script:
        found = f"found: {facts.alembic_ini or facts.migrate_script}"
    elif facts.ci.migration_command:
        found = "as your CI runs it"
    return f"""\
# Migrations that bring each fresh database to the current schema.
migrations:
  # Runs before the tests against the fresh database: a string split like a shell
  # would, or a list. Omit for none ({found}).
  {line}
  # Extra checks: single_head (one head revision), drift (the models match the
  # migrations), roundtrip (downgrade and upgrade again).
  # checks: [single_head, drift, roundtrip]
"""


def _tests(facts: ProjectFacts) -> str:
    paths = list(facts.test_paths) or ["."]
    note = "" if facts.test_paths else " No tests folder was found, so the whole project."
    venv = "found" if facts.has_venv else "none found"
    python = "# python: auto"
    if facts.venv_python is not None:
        python = f"python: {yaml_text(facts.venv_python)}"
        venv = "found one folder up, so named here"
    return f"""\
# How pytest runs.
tests:
  # Test folders or files, relative to root.{note}
  paths: {_list(paths)}
  # Extra pytest arguments: a list, or a string split like a shell would.
  # args: []
  # Interpreter that runs pytest: auto = the active virtualenv, else ROOT/.venv
  # ({venv}), else gate's own.
  {python}
  # Seconds for any one test, enforced even when the test blocks in C; 0 = none.
  # timeout: 300
  # N or auto: run tests in parallel (pytest-xdist), each worker with its own database.
  # workers: 1
"""


def _omitted(facts: ProjectFacts) -> list[str]:
    """Tests and migrations that live inside a measured package: measuring them would
    count the tests as covered code."""
    inside = [
        path
        for path in (*facts.test_paths, *_migration_folders(facts))
        if any(package in path.split("/")[:-1] for package in facts.packages)
    ]
    return [f"{path}/*" for path in inside]


def _migration_folders(facts: ProjectFacts) -> list[str]:
    project = facts.root / facts.project_dir
    return [
        f"{layout}{package}/{name}"
        for package in facts.packages
        for layout in ("", "src/")
        for name in ("alembic", "migrations")
        if (project / f"{layout}{package}" / name).is_dir()
    ]


def _coverage(facts: ProjectFacts) -> str:
    ci = facts.ci
    if facts.has_coverage is False:
        source = (
            f"# source: {_list(list(facts.packages) or ['your_package'])}  # your project has "
            "no coverage.py (add pytest-cov or coverage to its test dependencies to measure)"
        )
    elif ci.source:
        source = f"source: {_list(list(ci.source))}  # as your pytest/coverage settings measure"
    elif facts.packages:
        source = f"source: {_list(list(facts.packages))}"
    else:
        source = "# source: [your_package]"
    said = f"  # as {ci.floor_from} says"
    # Your floor is kept; coverage.py counts lines only unless branch is set, so a floor
    # without it is a line floor (a branch floor of the same number would fail a passing CI).
    if ci.fail_under is not None:
        floor = f"fail_under: {ci.fail_under:g}{said}"
        branch = f"branch: {'true' if ci.branch else 'false'}"
    else:
        floor = "# fail_under: 90"
        branch = (
            "# branch: true"
            if ci.branch is not False
            else "branch: false  # as your coverage settings say"
        )
    omitted = _omitted(facts)
    omit = (
        f"omit: {_list(omitted)}  # tests and migrations inside the package"
        if omitted
        else "# omit: []"
    )
    return f"""\
# Coverage of the code by the tests, and the floors a run must reach.
coverage:
  # Packages to measure; coverage is measured, and its floors apply, only when this
  # lists something.
  {source}
  # File patterns to leave out, e.g. ["*/migrations/*"].
  {omit}
  # Measure branches as well as lines.
  {branch}
  # Total percent the tests must cover, 0..100; 0 = no floor.
  {floor}
  # Floor for every measured file, 0..100; 0 = none.
  # per_file: 0
  # Coverage of the lines changed since base.
  # diff:
  #   base: origin/main
  #   fail_under: 90
  #   # Changes of fewer lines than this are not checked.
  #   min_lines: 0
"""


def _blocking() -> str:
    return """\
# Calls that block the asyncio event loop while tests run.
blocking:
  # What a call that blocks the event loop does to the verdict: fail | warn | off.
  # mode: fail
  # A callback holding the loop this many milliseconds is a finding.
  # slow_ms: 100
  # Calls allowed to block: "package.module.function" or "path/to/file.py:function".
  # allow: []
"""


def _reports() -> str:
    return """\
# Where reports go, relative to root; null turns one off.
reports:
  # The machine-readable verdict (schema gate.report/1).
  # json: .gate/report.json
  # JUnit XML, for a CI system's test view.
  # junit: .gate/junit.xml
  # Cobertura XML, for a CI system's coverage view.
  # coverage_xml: .gate/coverage.xml
  # Coverage as browsable HTML.
  # html: .gate/htmlcov
  # A short Markdown summary, e.g. for a pull request comment.
  # markdown: .gate/summary.md
"""


def yaml_text(value: str) -> str:
    # Plain when YAML would read it back as the same text; else JSON, which YAML reads too.
    plain = re.fullmatch(r"[A-Za-z_./][A-Za-z0-9_./ +-]*[A-Za-z0-9_./+-]|[A-Za-z_./]", value)
    if plain and value.lower() not in _YAML_WORDS and ": " not in value and " #" not in value:
        return value
    return json.dumps(value)


def _list(values: list[str]) -> str:
    return "[" + ", ".join(yaml_text(value) for value in values) + "]"
