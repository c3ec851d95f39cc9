"""gate init: look at the project in a folder and write a commented gate.yaml that fits it."""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gate.config.schema import SCHEMA_URL
from gate.errors import UsageError
from gate.files import write_atomic
from gate.findings import BlockingFinding
from gate.project_ci import CiFacts, read_ci_facts
from gate.settings_names import (
    computed_names,
    database_template,
    is_text_type,
    literal_choices,
    names_in_env_file,
    names_in_text,
    opened_reads,
    required_reads,
    settings_fields,
)

# gate check lists every line holding this: what gate init could not decide.
TODO_MARK = "TODO(gate init)"

# Folders that hold tools, caches or other people's code, never the project's own.
_NOT_PROJECT = {
    "node_modules",
    "site-packages",
    "__pycache__",
    "build",
    "dist",
    "venv",
    "env",
    "htmlcov",
}
_NOT_PACKAGES = {"tests", "test", "testing", "docs", "scripts", "migrations", "alembic"}
_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "alembic.ini")
_DEPENDENCY_FILES = (
    "pyproject.toml",
    "uv.lock",
    "poetry.lock",
    "Pipfile",
    "Pipfile.lock",
    "setup.cfg",
    "setup.py",
)
# Reading a little is enough to spot a settings class; a huge tree must not make init slow.
_MAX_SCANNED_FILES = 2000
_MAX_SCANNED_BYTES = 256 * 1024
# A group of separate variables is handed over whole, even the ones code reads with a default.
_POSTGRES_GROUP = {
    "POSTGRES_PORT": "{port}",
    "POSTGRES_USER": "{user}",
    "POSTGRES_PASSWORD": "{password}",
    "POSTGRES_DB": "{database}",
}
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


@dataclass(frozen=True)
class RequiredSetting:
    """A settings field without a default that is not the database: tests need a value."""

    name: str
    annotation: str
    in_env_file: bool  # a .env file beside the project sets it already
    read_by: str = "your settings"
    value: str | None = None  # a value gate init found for it (a test config file)
    value_from: str = "the one test config file found"  # where that value came from


@dataclass(frozen=True)
class ProjectFacts:
    """What gate init found out about a project; paths are relative, written with /."""

    root: Path  # the folder gate.yaml goes in
    project_dir: str = "."  # the project inside it, e.g. "backend" in a monorepo
    packages: tuple[str, ...] = ()
    test_paths: tuple[str, ...] = ()  # relative to project_dir
    alembic_ini: str | None = None  # relative to project_dir
    has_venv: bool = False
    database_variables: tuple[str, ...] = ()
    scheme: str = "postgresql"
    # The .venv's python relative to project_dir, when auto would not find it there.
    venv_python: str | None = None
    required_settings: tuple[RequiredSetting, ...] = ()
    migrate_script: str | None = None  # without alembic: a migrate.py, relative to project_dir
    ci: CiFacts = field(default_factory=CiFacts)  # what the project's CI and settings say
    # False: the project's virtualenv and dependencies have no coverage.py (its CI measures
    # none), so gate measures none either; None: not known.
    has_coverage: bool | None = None

    @property
    def migrations_command(self) -> list[str] | None:
        if self.alembic_ini is None:
            if self.migrate_script is not None:
                return ["python", self.migrate_script]
            command = self.ci.migration_command
            return None if command is None else shlex.split(command)
        if self.alembic_ini == "alembic.ini":
            return ["alembic", "upgrade", "head"]
        return ["alembic", "-c", self.alembic_ini, "upgrade", "head"]

    @property
    def export(self) -> dict[str, str]:
        """Environment for the project's settings, from the variable names it reads."""
        names = self.database_variables
        export: dict[str, str] = {}
        for name in sorted(names, key=lambda n: (database_template(n) != "{url}", n)):
            template = database_template(name)
            if template is not None:
                export[name] = template
        if any(name in _POSTGRES_GROUP or name in _POSTGRES_HOSTS for name in names):
            hosts = [host for host in _POSTGRES_HOSTS if host in names]
            for host in hosts or ["POSTGRES_SERVER"]:
                export[host] = "{host}"
            export.update({k: v for k, v in _POSTGRES_GROUP.items() if k not in export})
        return export or {"DATABASE_URL": "{url}"}


_POSTGRES_HOSTS = ("POSTGRES_SERVER", "POSTGRES_HOST")


# ---- sniffing ------------------------------------------------------------------------------


def sniff_project(root: Path) -> ProjectFacts:
    """Find packages, tests, alembic, the virtualenv and how the app reads its database."""
    project_dir = _project_dir(root)
    project = root / project_dir
    packages = _packages(project)
    sources = _sources(root, project)
    test_sources = {path: text for path, text in sources.items() if _is_test_source(path)}
    ci = read_ci_facts(root, project, test_sources)
    names, required = _settings(root, project, sources, ci)
    return ProjectFacts(
        root=root,
        project_dir=project_dir,
        packages=tuple(packages),
        test_paths=tuple(_test_paths(project, packages)),
        alembic_ini=_alembic_ini(project),
        migrate_script=next(
            (name for name in _MIGRATE_SCRIPTS if (project / name).is_file()), None
        ),
        has_venv=(project / ".venv").is_dir() or (root / ".venv").is_dir(),
        database_variables=tuple(sorted(names)),
        scheme=_scheme(root, project, sources),
        venv_python=_venv_python(root, project),
        required_settings=tuple(required),
        ci=ci,
        has_coverage=_has_coverage(root, project),
    )


def _has_coverage(root: Path, project: Path) -> bool | None:
    installed: bool | None = None
    for venv in dict.fromkeys((project / ".venv", root / ".venv")):
        for site in venv.glob("lib/python*/site-packages"):
            installed = installed or (site / "coverage").is_dir()
    if installed:
        return True
    declared = "".join(
        _head(folder / name)
        for folder in dict.fromkeys((project, root))
        for name in (*_DEPENDENCY_FILES, "requirements.txt", "tox.ini")
    )
    for folder in dict.fromkeys((project, root)):
        for path in sorted(folder.glob("requirements*.txt")) + sorted(
            folder.glob("requirements/*.txt")
        ):
            declared += _head(path)
    if re.search(r"\b(?:coverage|pytest-cov)\b", declared):
        return True
    return installed


def _sources(root: Path, project: Path) -> dict[str, str]:
    """The text of every scanned file, by its path relative to root (.env files too)."""
    return {
        path.relative_to(root).as_posix(): _head(path) for path in _scanned_files(root, project)
    }


def _is_test_source(path: str) -> bool:
    parts = path.split("/")
    return parts[-1] == "conftest.py" or parts[-1].startswith("test") or "tests" in parts[:-1]


def _project_dir(root: Path) -> str:
    # A monorepo keeps the backend one level down (full-stack-fastapi-template: backend/),
    # and its settings read an env file relative to it, so commands must run there.
    if _has_code(root) or _runs_pytest_here(root):
        return "."
    found = [sub.name for sub in _subfolders(root) if _has_code(sub)]
    if not found:
        found = [sub.name for sub in _subfolders(root) if _looks_like_project(sub)]
        if _looks_like_project(root):
            return "."
    if "backend" in found:
        return "backend"
    return found[0] if len(found) == 1 else "."


def _runs_pytest_here(folder: Path) -> bool:
    """pytest settings or a Django manage.py: the project's tests run from this folder."""
    if (folder / "pytest.ini").is_file() or (folder / "manage.py").is_file():
        return True
    return any(
        marker in _head(folder / name)
        for name, marker in (
            ("pyproject.toml", "[tool.pytest.ini_options]"),
            ("setup.cfg", "[tool:pytest]"),
            ("tox.ini", "[pytest]"),
        )
    )


def _has_code(folder: Path) -> bool:
    """A package and tests of its own: the project, not a repository's tooling top."""
    packages = _packages(folder)
    return bool(packages) and bool(_test_paths(folder, packages))


def _looks_like_project(folder: Path) -> bool:
    return any((folder / marker).is_file() for marker in _PROJECT_MARKERS) or bool(
        _packages(folder)
    )


def _subfolders(folder: Path) -> list[Path]:
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return []
    return [
        child
        for child in children
        if child.is_dir()
        and not child.name.startswith((".", "_"))
        and child.name not in _NOT_PROJECT
    ]


def _packages(project: Path) -> list[str]:
    found: list[str] = []
    for base in (project, project / "src"):
        for child in _subfolders(base):
            if child.name not in _NOT_PACKAGES and (child / "__init__.py").is_file():
                found.append(child.name)
    return sorted(set(found))


def _test_paths(project: Path, packages: list[str]) -> list[str]:
    candidates = ["tests", "test"]
    for package in packages:
        candidates += [f"{package}/tests", f"src/{package}/tests"]
    return [path for path in candidates if (project / path).is_dir()]


_MIGRATE_SCRIPTS = ("migrate.py", "scripts/migrate.py")


def _alembic_ini(project: Path) -> str | None:
    if (project / "alembic.ini").is_file():
        return "alembic.ini"
    for child in _subfolders(project):
        for folder in (child, *_subfolders(child)):
            if (folder / "alembic.ini").is_file():
                return (folder / "alembic.ini").relative_to(project).as_posix()
    return None


def _settings(
    root: Path, project: Path, sources: dict[str, str], ci: CiFacts
) -> tuple[set[str], list[RequiredSetting]]:
    """Database variable names, and the other settings tests must be given."""
    # Names only: .env files hold secrets, and gate never reads or repeats the values.
    names: set[str] = set()
    in_env_files: set[str] = set()
    texts: list[str] = []
    reads: set[str] = set()
    opened: set[str] = set()
    for path, text in sources.items():
        if path.endswith(".py"):
            names |= names_in_text(text)
            reads |= required_reads(text)
            opened |= opened_reads(text)
            texts.append(text)
        else:
            found = names_in_env_file(text)
            names |= found
            if path.rsplit("/", 1)[-1] == ".env":  # what settings load; .env.example documents
                in_env_files |= found
    names -= computed_names(texts)
    required: dict[str, RequiredSetting] = {}
    for setting in settings_fields(texts):
        names.add(setting.env)
        if setting.required and database_template(setting.env) is None:
            required.setdefault(
                setting.env,
                _with_value(
                    RequiredSetting(setting.env, setting.annotation, setting.env in in_env_files),
                    ci,
                ),
            )
    for name in reads - set(required):
        if database_template(name) is None:
            # A name stem (f"{APP_CONFIG_FILE}.env") is not a path: only a value code
            # opens as it is may be a test config file.
            value = _test_config_file(project) if name in opened else None
            read = RequiredSetting(name, "str", name in in_env_files, "os.environ[...]", value)
            required[name] = _with_value(read, ci)
    database = {name for name in names if database_template(name) is not None}
    return database, sorted(required.values(), key=lambda r: r.name)


# Names whose value code compares or builds on (APP_ENV == "test", f"{CONFIG_FILE}.env"):
# a made-up value would be refused, so gate init asks instead of inventing one.
_CHOICE_WORDS = ("ENV", "ENVIRONMENT", "MODE", "LEVEL", "FILE", "PATH", "CONFIG", "TYPE", "BACKEND")


def _with_value(setting: RequiredSetting, ci: CiFacts) -> RequiredSetting:
    """The value the project's own CI or test setup gives, or a Literal's test-like choice."""
    if setting.name in ci.env:
        return RequiredSetting(
            setting.name,
            setting.annotation,
            setting.in_env_file,
            setting.read_by,
            ci.env[setting.name],
            f"as {ci.env_from[setting.name]} sets it",
        )
    choices = literal_choices(setting.annotation)
    testing = [c for c in choices if _TEST_WORD.search(c.lower())]
    if len(testing) == 1:
        return RequiredSetting(
            setting.name,
            setting.annotation,
            setting.in_env_file,
            setting.read_by,
            testing[0],
            "the test choice of its Literal",
        )
    return setting


_TEST_WORD = re.compile(r"(^|[._-])test(s|ing)?($|[._-])")  # test.toml, app-testing.yaml
_CONFIG_SUFFIXES = {".toml", ".yaml", ".yml", ".json", ".ini", ".cfg", ".conf", ".env"}


def _test_config_file(project: Path) -> str | None:
    """The one config file meant for tests (config/test.toml, settings/testing.yaml), if any."""
    found = []
    for parent, subfolders, files in os.walk(project):
        depth = Path(parent).relative_to(project).parts
        subfolders[:] = [
            name
            for name in subfolders
            if len(depth) < 2 and not name.startswith(".") and name not in _NOT_PROJECT
        ]
        for name in files:
            path = Path(parent) / name
            if path.suffix in _CONFIG_SUFFIXES and _TEST_WORD.search(path.stem.lower()):
                found.append(path.relative_to(project).as_posix())
    return found[0] if len(found) == 1 else None


def _venv_python(root: Path, project: Path) -> str | None:
    # tests.python auto looks in ROOT/.venv; a monorepo may keep it one level up.
    if project == root or (project / ".venv").is_dir() or not (root / ".venv").is_dir():
        return None
    return Path(os.path.relpath(root / ".venv" / "bin" / "python", project)).as_posix()


def _head(path: Path) -> str:
    """The start of a text file; "" for one that is missing or unreadable."""
    try:
        with path.open("rb") as stream:
            return stream.read(_MAX_SCANNED_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""


def _scanned_files(root: Path, project: Path) -> Iterator[Path]:
    for folder in dict.fromkeys((root, project)):
        yield from sorted(path for path in folder.glob(".env*") if path.is_file())
    count = 0
    for parent, subfolders, files in os.walk(project):
        subfolders[:] = sorted(
            name for name in subfolders if not name.startswith(".") and name not in _NOT_PROJECT
        )
        for name in sorted(files):
            if name.endswith(".py"):
                count += 1
                if count > _MAX_SCANNED_FILES:
                    return
                yield Path(parent) / name


def _scheme(root: Path, project: Path, sources: dict[str, str]) -> str:
    """The URL scheme for the driver the code imports; the project's .env example decides
    when the code says nothing (or both ways)."""
    declared = ""
    for folder in dict.fromkeys((project, root)):
        paths = [folder / name for name in _DEPENDENCY_FILES]
        paths += sorted(folder.glob("requirements*.txt")) + sorted(
            folder.glob("requirements/*.txt")
        )
        for path in paths:
            declared += _head(path)
    code = "\n".join(text for path, text in sources.items() if path.endswith(".py"))
    imported = set(_IMPORT.findall(code))
    shown = _shown_scheme(sources)
    if imported & {"sqlalchemy", "sqlmodel"}:
        asynchronous = bool(_ASYNC_SQLALCHEMY.search(code))
        synchronous = bool(_SYNC_SQLALCHEMY.search(code))
        if shown is not None and (asynchronous == synchronous):
            return shown
        if asynchronous:
            if "psycopg" in imported or (
                re.search(r"\bpsycopg\b(?!2)", declared) and not re.search(r"\basyncpg\b", declared)
            ):
                return "postgresql+psycopg"
            return "postgresql+asyncpg"
        # Sync SQLAlchemy: psycopg2 is its default for postgresql://; psycopg 3 is named.
        if "psycopg" in imported or (
            re.search(r"\bpsycopg\b(?!2)", declared) and not re.search(r"\bpsycopg2", declared)
        ):
            return "postgresql+psycopg"
        return "postgresql"
    if imported & {"asyncpg", "psycopg", "psycopg2", "django"}:
        # asyncpg, psycopg and libpq take nothing but postgresql://.
        return "postgresql"
    if shown is not None:
        return shown
    # No code yet: what the dependency files declare.
    if not re.search(r"\b(sqlalchemy|sqlmodel)\b", declared, re.IGNORECASE):
        return "postgresql"
    if re.search(r"\basyncpg\b", declared):
        return "postgresql+asyncpg"
    if re.search(r"\bpsycopg\b", declared):  # psycopg 3; psycopg2 is SQLAlchemy's default anyway
        return "postgresql+psycopg"
    return "postgresql"


_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", re.MULTILINE)
_ASYNC_SQLALCHEMY = re.compile(r"\bcreate_async_engine\b|\bsqlalchemy\.ext\.asyncio\b")
_SYNC_SQLALCHEMY = re.compile(r"\b(?:create_engine|engine_from_config)\(")
# DATABASE_URL=postgresql+asyncpg://... in an .env example: the scheme only, never the rest.
_ENV_URL_SCHEME = re.compile(
    r"^\s*(?:export\s+)?\w*(?:DATABASE|DB|POSTGRES|SQLALCHEMY|DSN)\w*\s*=\s*[\"']?"
    r"(postgres(?:ql)?(?:\+\w+)?)://",
    re.MULTILINE | re.IGNORECASE,
)


def _shown_scheme(sources: dict[str, str]) -> str | None:
    for path, text in sources.items():
        if not path.endswith(".py") and (match := _ENV_URL_SCHEME.search(text)):
            scheme = match.group(1).lower()
            return "postgresql" + scheme.partition("+")[1] + scheme.partition("+")[2]
    return None


# ---- rendering -----------------------------------------------------------------------------


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
    root = f"root: {_text(facts.project_dir)}" if facts.project_dir != "." else "# root: ."
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
            lines.append(f"  {setting.name}: {_text(setting.value)}")
        elif setting.in_env_file:
            lines.append(f"  # {setting.name}: ...  # {why}; your .env sets it")
        elif is_text_type(setting.annotation) and not setting.name.endswith(_CHOICE_WORDS):
            # Free text a settings class takes as it is: any value passes its validation.
            value = "gate-test-" + setting.name.lower().replace("_", "-")
            lines.append(f"  # {why}")
            lines.append(f"  {setting.name}: {_text(value)}")
        else:
            # An enum, a Literal, a number or a value code uses in its own way (a name stem):
            # an invented value would be refused, so the user gives the one tests use.
            lines.append(
                f"  # {setting.name}: ...  # {TODO_MARK}: {why}: give it the value your tests use"
            )
    return "\n".join(lines) or "  # SECRET_KEY: test-secret"


def _database(facts: ProjectFacts) -> str:
    scheme = f"scheme: {facts.scheme}"
    if facts.scheme == "postgresql+asyncpg":
        scheme = "# " + scheme
    export = "\n".join(f'    {name}: "{template}"' for name, template in facts.export.items())
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
  # {{server_url}}: the server without a database, for suites that create their own.
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
        f"command: {_text(shlex.join(command))}" if command else "# command: alembic upgrade head"
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
        python = f"python: {_text(facts.venv_python)}"
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


def _text(value: str) -> str:
    # Plain when YAML would read it back as the same text; else JSON, which YAML reads too.
    plain = re.fullmatch(r"[A-Za-z_./][A-Za-z0-9_./ +-]*[A-Za-z0-9_./+-]|[A-Za-z_./]", value)
    if plain and value.lower() not in _YAML_WORDS and ": " not in value and " #" not in value:
        return value
    return json.dumps(value)


def _list(values: list[str]) -> str:
    return "[" + ", ".join(_text(value) for value in values) + "]"


# ---- writing -------------------------------------------------------------------------------


def undetermined(facts: ProjectFacts) -> str | None:
    """One paragraph: what gate init could not find out, and where in gate.yaml to say it."""
    unknown = []
    if facts.has_coverage is False:
        unknown.append("coverage: your test environment has no coverage.py, so none is measured")
    elif not facts.packages and not facts.ci.source:
        unknown.append("which package to measure (coverage.source is unset: no coverage)")
    if not facts.test_paths:
        unknown.append("where the tests are (tests.paths is the whole project)")
    if not facts.database_variables:
        unknown.append("how the code reads its database (DATABASE_URL assumed)")
    if facts.migrations_command is None:
        unknown.append(
            "how the schema is made (no alembic.ini, migrate script or migration command in "
            "your CI; set migrations.command unless the tests make it)"
        )
    if facts.ci.fail_under is None and facts.has_coverage is not False:
        unknown.append("your coverage floor (gate's default, 90% of lines and branches)")
    todo = [s.name for s in facts.required_settings if s.value is None and not s.in_env_file]
    asked = [name for name in todo if not _invented(facts, name)]
    if asked:
        unknown.append(
            f"the test value of {', '.join(asked)} (marked {TODO_MARK} under env: in gate.yaml)"
        )
    if not unknown:
        return None
    return "gate init could not determine " + "; ".join(unknown) + "."


def _invented(facts: ProjectFacts, name: str) -> bool:
    setting = next(s for s in facts.required_settings if s.name == name)
    return is_text_type(setting.annotation) and not name.endswith(_CHOICE_WORDS)


def allow_entries(findings: Sequence[BlockingFinding]) -> list[tuple[str, str]]:
    """blocking.allow entries ("path.py:function") for the places of a first run's findings,
    each with a comment naming what was found there, most frequent first."""
    places: dict[str, list[BlockingFinding]] = {}
    for finding in findings:
        function = next(
            (
                frame.function
                for frame in finding.stack
                if frame.file == finding.file and frame.line == finding.line
            ),
            "*",
        )
        places.setdefault(f"{finding.file}:{function}", []).append(finding)
    entries = []
    for entry, found in sorted(places.items(), key=lambda item: (-len(item[1]), item[0])):
        first = found[0]
        what = first.call or "a callback holding the loop"
        longest = max(f.duration_ms for f in found)
        comment = (
            f"{what} at line {first.line}, x{len(found)} up to {longest:.0f} ms "
            f"(first in {first.test}): found by gate init's first run; fix it, "
            "then remove this entry"
        )
        entries.append((entry, comment))
    return entries


def with_allow(text: str, entries: Sequence[tuple[str, str]]) -> str:
    """The gate.yaml text with blocking.allow set to these entries, a comment above each."""
    lines = ["  allow:"]
    for entry, comment in entries:
        lines.append(f"    # {comment}")
        lines.append(f"    - {_text(entry)}")
    marker = "  # allow: []\n"
    if marker not in text:
        raise UsageError("gate.yaml has no `# allow: []` line under blocking: to add to")
    return text.replace(marker, "\n".join(lines) + "\n", 1)


def write_gate_yaml(root: Path, *, force: bool, facts: ProjectFacts | None = None) -> Path:
    """Write ROOT/gate.yaml for the project found there; an existing one needs force."""
    target = root / "gate.yaml"
    if target.exists() and not force:
        raise UsageError(
            f"{target} already exists; edit it, or run `gate init --force` to replace it"
        )
    # Whole or not at all: an interrupted init never leaves half a gate.yaml.
    write_atomic(target, render_gate_yaml(facts or sniff_project(root)))
    return target
