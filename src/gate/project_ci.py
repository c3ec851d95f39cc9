"""What a project's own CI and test settings already say, for gate init to carry over.

Read, never run: GitHub workflows, .gitlab-ci.yml, tox.ini, noxfile.py, a Makefile, the
pytest settings (addopts) and coverage.py's settings give the coverage floor and whether it
counts branches, what coverage measures, the migration command the CI runs before the tests,
and the values the CI or the test setup gives environment variables (APP_ENV: test).
"""

from __future__ import annotations

import configparser
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gate.files import read_head

_FAIL_UNDER = re.compile(
    r"--(?:cov-)?fail-under[= ]+(\d+(?:\.\d+)?)"
)  # pytest-cov, coverage report
_COV_SOURCE = re.compile(r"--cov[= ]+([A-Za-z_][\w./-]*)")
_COV_BRANCH = re.compile(r"--cov-branch\b")
# The commands that bring a database to the schema, as a CI step or a make target runs them.
_MIGRATE = re.compile(
    r"^\s*(?:-\s*)?(?:run:\s*)?(?:\$\s*)?((?:uv run |poetry run |pdm run |python -m )?"
    r"(?:alembic(?: -c \S+)? upgrade \S+|python3? (?:-m )?\S*migrat\S*(?: \S+)*?"
    r"|python3? manage\.py migrate))\s*$",
    re.MULTILINE,
)
# Values a test setup gives: os.environ["X"] = "v", os.environ.setdefault("X", "v"),
# monkeypatch.setenv("X", "v").
_ASSIGNED = re.compile(
    r"""environ\[\s*["']([A-Za-z_]\w*)["']\s*\]\s*=\s*["']([^"'\n]*)["']"""
    r"""|(?:environ\.setdefault|setenv)\(\s*["']([A-Za-z_]\w*)["']\s*,\s*["']([^"'\n]*)["']"""
)


@dataclass(frozen=True)
class CiFacts:
    """What the project's own configuration decides; None where it says nothing."""

    fail_under: float | None = None
    branch: bool | None = None
    source: tuple[str, ...] = ()
    migration_command: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)  # name -> value, with where below
    env_from: Mapping[str, str] = field(default_factory=dict)  # name -> file that set it
    read: tuple[str, ...] = ()  # the files that said something, relative to the project
    floor_from: str | None = None  # the file the coverage floor came from


def _ci_files(root: Path, project: Path) -> Iterator[Path]:
    for folder in dict.fromkeys((project, root)):
        for name in ("tox.ini", "noxfile.py", "Makefile", ".gitlab-ci.yml", "justfile"):
            if (folder / name).is_file():
                yield folder / name
        workflows = folder / ".github" / "workflows"
        if workflows.is_dir():
            yield from sorted(p for p in workflows.iterdir() if p.suffix in (".yml", ".yaml"))


def _settings_files(project: Path) -> Iterator[Path]:
    for name in ("pyproject.toml", "setup.cfg", "pytest.ini", "tox.ini", ".coveragerc"):
        if (project / name).is_file():
            yield project / name


def read_ci_facts(root: Path, project: Path, test_sources: Mapping[str, str]) -> CiFacts:
    """Facts from the project's files; `test_sources` maps a test file's path to its text."""
    fail_under: float | None = None
    branch: bool | None = None
    source: list[str] = []
    migration: str | None = None
    env: dict[str, str] = {}
    env_from: dict[str, str] = {}
    read: list[str] = []

    floor_from: str | None = None
    source_on_command_line = False

    def shown(path: Path) -> str:
        try:
            return path.relative_to(project).as_posix()
        except ValueError:
            return path.relative_to(root).as_posix()

    # Coverage.py's own settings first; a command line (CI, addopts) says the last word.
    for path in _settings_files(project):
        settings = _coverage_settings(path)
        if settings:
            read.append(shown(path))
        if "fail_under" in settings:
            fail_under, floor_from = _number(settings["fail_under"]), shown(path)
        if "branch" in settings:
            branch = str(settings["branch"]).strip().lower() in ("true", "1", "yes", "on")
        if "source" in settings and not source:
            source = _names(settings["source"])
    texts = [(p, read_head(p)) for p in _settings_files(project)]
    texts += [(p, read_head(p)) for p in _ci_files(root, project)]
    for path, text in texts:
        said = False
        if match := _FAIL_UNDER.search(text):
            fail_under, said, floor_from = float(match.group(1)), True, shown(path)
        if _COV_BRANCH.search(text):
            branch, said = True, True
        found = [m for m in _COV_SOURCE.findall(text) if m not in ("report", "config")]
        if found and not source_on_command_line:  # --cov overrides coverage.py's source
            source, said, source_on_command_line = list(dict.fromkeys(found)), True, True
        if migration is None and (match := _MIGRATE.search(text)):
            migration, said = _without_runner(match.group(1)), True
        # Only jobs that run the tests: a deploy job's values are production's.
        values = _ci_env(path, text) if _TEST_JOB.search(text) else {}
        for name, value in values.items():
            env.setdefault(name, value)
            env_from.setdefault(name, shown(path))
            said = True
        if said and shown(path) not in read:
            read.append(shown(path))
    for path_text, text in test_sources.items():
        for match in _ASSIGNED.finditer(text):
            name = match.group(1) or match.group(3)
            value = match.group(2) if match.group(1) else match.group(4)
            if name not in env:
                env[name], env_from[name] = value, path_text
    return CiFacts(
        fail_under, branch, tuple(source), migration, env, env_from, tuple(read), floor_from
    )


def _number(value: object) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


def _names(value: object) -> list[str]:
    items = value if isinstance(value, list) else re.split(r"[\s,]+", str(value))
    return [str(item).strip() for item in items if str(item).strip()]


def _without_runner(command: str) -> str:
    # gate puts the project's interpreter first on PATH: `uv run` / `poetry run` would
    # start another environment.
    return re.sub(r"^(?:uv run|poetry run|pdm run) ", "", command.strip())


def _coverage_settings(path: Path) -> dict[str, Any]:
    """[tool.coverage.run]/[report] in pyproject.toml, [coverage:run] in setup.cfg, .coveragerc."""
    found: dict[str, Any] = {}
    if path.name == "pyproject.toml":
        try:
            data = tomllib.loads(read_head(path))
        except tomllib.TOMLDecodeError:
            return found
        coverage = data.get("tool", {}).get("coverage", {})
        for section in ("run", "report"):
            part = coverage.get(section)
            if isinstance(part, dict):
                found.update({k: v for k, v in part.items() if k in _COVERAGE_KEYS})
        return found
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(read_head(path))
    except configparser.Error:
        return found
    prefix = "" if path.name == ".coveragerc" else "coverage:"
    for section in ("run", "report"):
        name = prefix + section
        if parser.has_section(name):
            found.update({k: v for k, v in parser.items(name) if k in _COVERAGE_KEYS})
    return found


_COVERAGE_KEYS = ("fail_under", "branch", "source")


def _ci_env(path: Path, text: str) -> dict[str, str]:
    """Plain values a workflow or GitLab job sets under env:/variables: (never secrets)."""
    if path.suffix not in (".yml", ".yaml"):
        return _tox_setenv(text) if path.name == "tox.ini" else {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    found: dict[str, str] = {}
    for mapping in _env_maps(data):
        for name, value in mapping.items():
            if not isinstance(name, str) or isinstance(value, (dict, list)) or value is None:
                continue
            text_value = str(value).lower() if isinstance(value, bool) else str(value)
            if "$" not in text_value:  # ${{ secrets.X }}, $CI_VAR: not a value of its own
                found.setdefault(name, text_value)
    return found


_TEST_JOB = re.compile(r"\b(?:pytest|py\.test|coverage|tox|nox|make test)\b")


def _env_maps(data: object) -> Iterator[Mapping[Any, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "services":  # a service container's settings, not the tests' environment
                continue
            if key in ("env", "variables") and isinstance(value, dict):
                yield value
            else:
                yield from _env_maps(value)
    elif isinstance(data, list):
        for item in data:
            yield from _env_maps(item)


def _tox_setenv(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for block in re.findall(r"^setenv\s*=\s*\n((?:[ \t]+.+\n?)+)", text, re.MULTILINE):
        for line in block.splitlines():
            name, sep, value = line.strip().partition("=")
            if sep and "{" not in value and "$" not in value:
                found[name.strip()] = value.strip()
    return found
