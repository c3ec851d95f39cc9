"""The settings a project's code reads from its environment, and the values gate init gives
them (the project's own test or CI value, or a TODO)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from gate.initialize.scan import NOT_PROJECT
from gate.project_ci import CiFacts
from gate.settings_names import (
    computed_names,
    database_template,
    literal_choices,
    names_in_env_file,
    names_in_text,
    opened_reads,
    required_reads,
    settings_fields,
)

# A group of separate variables is handed over whole, even the ones code reads with a default.
POSTGRES_GROUP = {
    "POSTGRES_PORT": "{port}",
    "POSTGRES_USER": "{user}",
    "POSTGRES_PASSWORD": "{password}",
    "POSTGRES_DB": "{database}",
}


@dataclass(frozen=True)
class RequiredSetting:
    """A settings field without a default that is not the database: tests need a value."""

    name: str
    annotation: str
    in_env_file: bool  # a .env file beside the project sets it already
    read_by: str = "your settings"
    value: str | None = None  # a value gate init found for it (a test config file)
    value_from: str = "the one test config file found"  # where that value came from


POSTGRES_HOSTS = ("POSTGRES_SERVER", "POSTGRES_HOST")


def required_settings(
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
CHOICE_WORDS = ("ENV", "ENVIRONMENT", "MODE", "LEVEL", "FILE", "PATH", "CONFIG", "TYPE", "BACKEND")


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
            if len(depth) < 2 and not name.startswith(".") and name not in NOT_PROJECT
        ]
        for name in files:
            path = Path(parent) / name
            if path.suffix in _CONFIG_SUFFIXES and _TEST_WORD.search(path.stem.lower()):
                found.append(path.relative_to(project).as_posix())
    return found[0] if len(found) == 1 else None
