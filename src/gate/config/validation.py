"""From a parsed config file to a Config: environment, root, the models, then checks across keys."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from gate.config.document import ConfigDocument, KeyPath, display_path
from gate.config.env import expand_tree, variables_in
from gate.config.messages import Problem, explain, format_problems, number
from gate.config.models import Config
from gate.config.values import describe
from gate.errors import ConfigError

#: Sections that may be left empty (`coverage:` with every line commented out).
SECTIONS = (
    "env",
    "database",
    "migrations",
    "tests",
    "coverage",
    "blocking",
    "server_errors",
    "reports",
)
# Settings that hold text: a plain `5432` or `off` there means the text the user typed.
_TEXT_SETTINGS: tuple[KeyPath, ...] = (
    ("env", "*"),
    ("database", "mode"),
    ("database", "scheme"),
    ("database", "export", "*"),
    ("migrations", "command"),
    ("migrations", "command", "*"),
    ("migrations", "lint", "mode"),
    ("migrations", "lint", "allow", "*"),
    ("tests", "paths", "*"),
    ("tests", "args"),
    ("tests", "args", "*"),
    ("tests", "python"),
    ("coverage", "source", "*"),
    ("coverage", "omit", "*"),
    ("coverage", "diff", "base"),
    ("blocking", "mode"),
    ("blocking", "allow", "*"),
    ("server_errors", "mode"),
    ("server_errors", "allow", "*"),
)


def validate(
    document: ConfigDocument, path: Path, display: str, environ: Mapping[str, str], cwd: Path
) -> Config:
    """The Config a document describes; every mistake in it is one line of a ConfigError."""

    def fail(problems: list[Problem]) -> ConfigError:
        return ConfigError(format_problems(document, display, problems))

    data = _texts_as_typed(document)
    for section in SECTIONS:
        if data.get(section) is None:
            data[section] = {}
    defaulted = _fill_environment_defaults(Config, data)
    data, env_problems = expand_tree(data, environ)
    if env_problems:
        raise fail([(key_path, message, False) for key_path, message in env_problems])
    root = _resolve_root(data.pop("root", None), path, cwd)
    if isinstance(root, str):
        raise fail([(("root",), root, False)])
    problems: list[Problem] = []
    if "source" in data:  # Config.source is the file itself, not a user setting
        data.pop("source")
        problems.append((("source",), "unknown key; did you mean 'coverage.source'?", True))
    context: dict[str, Any] = {"root": root}
    if ("database", "url") in defaulted:
        # A CI service's DATABASE_URL selected server mode: say so when the URL is wrong.
        names = variables_in(defaulted["database", "url"])
        context["url_source"] = f"{names[0]} (the default of database.url)"
    try:
        config = Config.model_validate({**data, "source": path, "root": root}, context=context)
    except ValidationError as exc:
        problems += [explain(error) for error in exc.errors(include_url=False)]
        raise fail(problems) from None
    problems += _cross_checks(config, cwd)
    if problems:
        raise fail(problems)
    return config


def _fill_environment_defaults(
    model: type[BaseModel], data: dict[str, Any], prefix: KeyPath = ()
) -> dict[KeyPath, str]:
    """Write in each absent key whose default reads the environment, such as database.url's
    ${DATABASE_URL:-}, so that it expands exactly as if the user had written it."""
    filled: dict[KeyPath, str] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if isinstance(info.default, str) and "${" in info.default and key not in data:
            data[key] = info.default
            filled[(*prefix, key)] = info.default
        inner = info.annotation
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            section = data.get(key)
            if isinstance(section, dict):
                filled |= _fill_environment_defaults(inner, section, (*prefix, key))
    return filled


def _texts_as_typed(document: ConfigDocument) -> dict[str, Any]:
    def walk(value: Any, key_path: KeyPath) -> Any:
        if isinstance(value, dict):
            return {key: walk(item, (*key_path, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, (*key_path, i)) for i, item in enumerate(value)]
        if value is None or isinstance(value, str):
            return value
        if not any(_matches(key_path, pattern) for pattern in _TEXT_SETTINGS):
            return value
        if key_path in document.texts:
            return document.texts[key_path]
        return describe(value) if isinstance(value, bool) else str(value)

    result: dict[str, Any] = walk(document.data, ())
    return result


def _matches(key_path: KeyPath, pattern: KeyPath) -> bool:
    return len(key_path) == len(pattern) and all(
        want in ("*", part) for part, want in zip(key_path, pattern, strict=True)
    )


def _resolve_root(value: object, config_path: Path, cwd: Path) -> Path | str:
    """The project folder, or a message saying why it is not one."""
    if value is None:
        return config_path.parent.resolve()
    if not isinstance(value, str) or not value.strip():
        return f"must be a folder path (got {describe(value)})"
    root = (config_path.parent / Path(value).expanduser()).resolve()
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        return (
            f"{display_path(root, cwd)} {what} (root is relative to the folder holding "
            f"{config_path.name}); fix root or create the folder"
        )
    return root


def _cross_checks(config: Config, cwd: Path) -> list[Problem]:
    problems: list[Problem] = []
    root_shown = display_path(config.root, cwd) or "."
    for index, spec in enumerate(config.tests.paths):
        # pytest node ids name a file then a test: tests/test_x.py::test_y.
        if not (config.root / spec.split("::")[0]).exists():
            problems.append(
                (
                    ("tests", "paths", index),
                    f"{spec!r} does not exist in {root_shown}; fix the path or remove it",
                    False,
                )
            )
    coverage = config.coverage
    for index, name in enumerate(coverage.source):
        # coverage.py takes an existing folder as a folder, anything else as a module name;
        # a path (with a slash) that does not exist would silently measure nothing.
        if "/" in name and not (config.root / name).is_dir():
            problems.append(
                (
                    ("coverage", "source", index),
                    f"{name!r} is not a folder in {root_shown}; name an existing folder or a "
                    "package (e.g. your_package)",
                    False,
                )
            )
    # A floor the user wrote needs a source; the default floor waits until source is set.
    written = coverage.model_fields_set
    floors = (
        [f"fail_under is {number(coverage.fail_under)}"]
        if coverage.fail_under and "fail_under" in written
        else []
    )
    floors += [f"per_file is {number(coverage.per_file)}"] if coverage.per_file else []
    floors += ["diff is set"] if coverage.diff is not None else []
    if floors and not coverage.measured:
        problems.append(
            (
                ("coverage", "source"),
                f"required when coverage is checked ({', '.join(floors)}); list the "
                "package(s) to measure, e.g. source: [your_package]",
                False,
            )
        )
    if config.migrations.checks and config.migrations.command is None:
        problems.append(
            (
                ("migrations", "checks"),
                "need migrations.command to run; set it (e.g. command: alembic upgrade head) "
                "or remove the checks",
                False,
            )
        )
    bin_dir = config.database.bin_dir
    if bin_dir is not None and not bin_dir.is_dir():
        problems.append(
            (("database", "bin_dir"), f"no such folder: {display_path(bin_dir, cwd)}", False)
        )
    return problems
