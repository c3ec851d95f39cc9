"""gate.yaml: its schema, where to find it, and loading it with file:line:col errors."""

from __future__ import annotations

import difflib
import re
import shlex
import string
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from gate.config_env import expand_tree
from gate.config_yaml import ConfigDocument, KeyPath, Location, dotted, format_problem, parse_yaml
from gate.database.address import EXPORT_FIELDS
from gate.errors import ConfigError
from gate.server_error_events import allow_entry_problem

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_SECTIONS = (
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


# ---- value checks used by the models -------------------------------------------------


def _describe(value: object) -> str:
    """A value as the user wrote it, for '(got ...)'."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return str(value)


def _invalid(message: str) -> PydanticCustomError:
    # The message travels in the context so that braces such as {url} are not a template.
    return PydanticCustomError("gate", "{reason}", {"reason": message})


def _no_bool(value: object) -> object:
    # pydantic reads true as 1; a threshold of `yes` is a mistake, not 1 percent.
    if isinstance(value, bool):
        raise _invalid(f"must be a number (got {_describe(value)})")
    return value


def _empty_is_none(value: object) -> object:
    # `${DATABASE_URL:-}` expands to "": treat it like an unset value.
    return None if value == "" else value


def _path_or_off(value: object) -> object:
    # `junit: false` reads naturally as "no JUnit report"; "" comes from `${VAR:-}`.
    if value is False or value == "":
        return None
    if value is True:
        raise _invalid("must be a path, or null to turn it off (got true)")
    return value


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _shell_words(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        return shlex.split(value)
    except ValueError as exc:
        raise _invalid(f"cannot split into words: {exc} (got {_describe(value)})") from None


def _command(value: object) -> object:
    words = _shell_words(value)
    return None if words == [] else words


def _env_name(name: str) -> str:
    if not _ENV_NAME.fullmatch(name):
        raise _invalid(
            f"{name!r} is not an environment variable name (letters, digits and _, "
            "not starting with a digit)"
        )
    return name


def _export_template(template: str) -> str:
    fields = ", ".join("{" + name + "}" for name in EXPORT_FIELDS)
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise _invalid(
            f"bad template {template!r}: {exc}; write {{{{ and }}}} for literal braces"
        ) from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in EXPORT_FIELDS or spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "")
            shown += (f":{spec}" if spec else "") + "}"
            raise _invalid(f"unknown placeholder {shown} in {template!r}; use {fields}")
    return template


def _url_scheme(value: str) -> str:
    if not _URL_SCHEME.fullmatch(value):
        raise _invalid(
            f"must be a URL scheme such as postgresql+asyncpg, without :// (got {_describe(value)})"
        )
    return value


def _not_empty(value: str) -> str:
    if not value.strip():
        raise _invalid("must not be empty")
    return value


def _workers(value: object) -> int | Literal["auto"]:
    if value == "auto":
        return "auto"
    number: object = value
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise _invalid(f"must be a whole number of at least 1, or auto (got {_describe(value)})")
    return number


def _under_root(value: Path | None, info: ValidationInfo) -> Path | None:
    if value is None:
        return None
    root = (info.context or {}).get("root")
    path = value.expanduser()
    if root is not None and not path.is_absolute():
        path = Path(root) / path
    return path.resolve() if path.is_absolute() else path


Number = Annotated[float, BeforeValidator(_no_bool), Field(allow_inf_nan=False)]
Percent = Annotated[Number, Field(ge=0, le=100)]
Words = Annotated[list[str], BeforeValidator(_shell_words)]
Names = Annotated[list[Annotated[str, AfterValidator(_not_empty)]], BeforeValidator(_one_or_many)]
EnvName = Annotated[str, AfterValidator(_env_name)]
RootPath = Annotated[Path | None, BeforeValidator(_path_or_off), AfterValidator(_under_root)]


def _report(default: str) -> Any:
    return Field(default=Path(default), validate_default=True)


# ---- the models -----------------------------------------------------------------------


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Section):
    mode: Literal["auto", "ephemeral", "server", "none"] = "auto"
    url: Annotated[str | None, BeforeValidator(_empty_is_none)] = None
    scheme: Annotated[str, AfterValidator(_url_scheme)] = "postgresql+asyncpg"
    export: dict[EnvName, Annotated[str, AfterValidator(_export_template)]] = Field(
        default_factory=lambda: {"DATABASE_URL": "{url}"}
    )
    keep: bool = False
    bin_dir: RootPath = None
    _url_source: str = PrivateAttr(default="database.url")

    @property
    def url_source(self) -> str:
        """Where url came from, for messages: database.url, or the DATABASE_URL default."""
        return self._url_source

    @property
    def effective_mode(self) -> Literal["ephemeral", "server", "none"]:
        """auto means server when a URL is given, else a throwaway server of gate's own."""
        if self.mode == "auto":
            return "server" if self.url else "ephemeral"
        return self.mode


SERVER_WITHOUT_URL = (
    "database.mode is server but no server URL is set; set database.url in gate.yaml "
    "(e.g. url: ${DATABASE_URL}) or pass --database-url"
)


def missing_migration_tool(executable: str, root: Path) -> str:
    return (
        f"migrations.command: {executable!r} was not found in {root} "
        "or on PATH; install it in the project's environment or fix migrations.command"
    )


class MigrationsConfig(_Section):
    command: Annotated[list[str] | None, BeforeValidator(_command)] = None
    checks: list[Literal["single_head", "drift", "roundtrip"]] = Field(default_factory=list)


class TestsConfig(_Section):
    paths: Annotated[Names, Field(min_length=1)] = Field(default_factory=lambda: ["tests"])
    args: Words = Field(default_factory=list)
    python: Annotated[str, AfterValidator(_not_empty)] = "auto"
    timeout: Annotated[Number, Field(ge=0)] = 300
    workers: Annotated[int | Literal["auto"], PlainValidator(_workers)] = 1
    # Recorded per-test durations: written by every run and `gate merge`, read by --shard.
    durations: RootPath = _report(".gate/durations.json")


# The floors default to the contract's 90: a gate whose coverage check is on must not pass
# 10% coverage because a key was left out.
DEFAULT_FLOOR = 90


class DiffConfig(_Section):
    base: Annotated[str, AfterValidator(_not_empty)] = "origin/main"
    fail_under: Percent = DEFAULT_FLOOR
    min_lines: Annotated[int, BeforeValidator(_no_bool), Field(ge=0)] = 0


class CoverageConfig(_Section):
    source: Names = Field(default_factory=list)
    omit: Names = Field(default_factory=list)
    branch: bool = True
    fail_under: Percent = DEFAULT_FLOOR  # applies when source is set
    per_file: Percent = 0
    diff: DiffConfig | None = None

    @property
    def measured(self) -> bool:
        """Coverage is measured only when there is something to measure."""
        return bool(self.source)


class BlockingConfig(_Section):
    mode: Literal["fail", "warn", "off"] = "fail"
    slow_ms: Annotated[Number, Field(gt=0)] = 100
    allow: Names = Field(default_factory=list)


def _server_error_allow(entry: str) -> str:
    problem = allow_entry_problem(entry.strip())
    if problem is not None:
        raise _invalid(problem)
    return entry


class ServerErrorsConfig(_Section):
    mode: Literal["fail", "warn", "off"] = "fail"
    # "GET /health 503", a test id, or an exception type: see docs/server-errors.md.
    allow: Annotated[
        list[Annotated[str, AfterValidator(_not_empty), AfterValidator(_server_error_allow)]],
        BeforeValidator(_one_or_many),
    ] = Field(default_factory=list)


class ReportsConfig(_Section):
    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    # Stored as json_path because a field named json would shadow BaseModel.json;
    # the key in gate.yaml and the attribute callers read are both `json`.
    json_path: RootPath = Field(
        alias="json", default=Path(".gate/report.json"), validate_default=True
    )
    junit: RootPath = _report(".gate/junit.xml")
    coverage_xml: RootPath = _report(".gate/coverage.xml")
    html: RootPath = _report(".gate/htmlcov")
    markdown: RootPath = _report(".gate/summary.md")

    @property
    def json(self) -> Path | None:  # type: ignore[override]
        """Where the JSON report goes; None when disabled."""
        return self.json_path


class Config(_Section):
    source: Path
    root: Path
    env: dict[EnvName, str] = Field(default_factory=dict)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    migrations: MigrationsConfig = Field(default_factory=MigrationsConfig)
    tests: TestsConfig = Field(default_factory=TestsConfig)
    coverage: CoverageConfig = Field(default_factory=CoverageConfig)
    blocking: BlockingConfig = Field(default_factory=BlockingConfig)
    server_errors: ServerErrorsConfig = Field(default_factory=ServerErrorsConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)


# ---- finding and reading the file -----------------------------------------------------


def find_config(explicit: Path | None, cwd: Path) -> Path:
    """-c PATH, else ./gate.yaml, else ./pyproject.toml when it has a [tool.gate] table."""
    if explicit is not None:
        path = explicit if explicit.is_absolute() else cwd / explicit
        _read_text(path, _display(path, cwd))  # a missing file or a folder fails here
        return path
    candidate = cwd / "gate.yaml"
    if candidate.is_file():
        return candidate
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        display = _display(pyproject, cwd)
        tool = _toml_table(_read_text(pyproject, display), display).get("tool")
        if isinstance(tool, dict) and "gate" in tool:
            return pyproject
    hint = ""
    if (cwd / "gate.yml").is_file():
        hint = " (there is a gate.yml: rename it to gate.yaml)"
    raise ConfigError(
        f"no gate.yaml in {cwd} and no [tool.gate] table in its pyproject.toml{hint}; "
        "run `gate init` to write a commented gate.yaml, or pass -c PATH"
    )


def load_config(path: Path, environ: Mapping[str, str]) -> Config:
    """Read, expand and validate a config file; every mistake is a ConfigError."""
    cwd = Path.cwd()
    path = path if path.is_absolute() else cwd / path
    display = _display(path, cwd)
    text = _read_text(path, display)
    if path.suffix == ".toml":
        document = _toml_document(text, display)
    else:
        document = parse_yaml(text, display)
    return _validate(document, path, display, environ, cwd)


def _display(path: Path, cwd: Path) -> str:
    # Relative to where the user stands when the file is below it; else as given.
    for base in (cwd, cwd.resolve()):
        for candidate in (path, path.resolve()):
            try:
                return str(candidate.relative_to(base))
            except ValueError:
                continue
    return str(path)


def _read_text(path: Path, display: str) -> str:
    if path.is_dir():
        raise ConfigError(
            f"{display}: is a folder, not a config file; "
            f"pass the file itself, e.g. -c {Path(display) / 'gate.yaml'}"
        )
    if path.exists() and not path.is_file():
        # A FIFO or a device would block the read, or never end it.
        raise ConfigError(f"{display}: is not a regular file; pass the config file itself")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{display}: no such file; check the path, "
            "or run `gate init` to write a commented gate.yaml"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{display}: cannot read the file: {exc.strerror}") from None
    if b"\0" in raw:
        where = _byte_position(raw, raw.index(b"\0"), display)
        raise ConfigError(
            f"{where}: this is a binary file (it contains NUL bytes), "
            "not a YAML or TOML config; check the path"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        where = _byte_position(raw, exc.start, display)
        raise ConfigError(
            f"{where}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        ) from None


def _byte_position(raw: bytes, offset: int, display: str) -> str:
    line = raw.count(b"\n", 0, offset) + 1
    col = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
    return f"{display}:{line}:{col}"


# ---- [tool.gate] in pyproject.toml ----------------------------------------------------

_TOML_ERROR_AT = re.compile(r"^(.*) \(at line (\d+), column (\d+)\)$")
_TOML_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_TOML_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_TOML_KEY = re.compile(rf"^(\s*)({_TOML_KEY_PART}(?:\s*\.\s*{_TOML_KEY_PART})*)\s*=\s*")


def _toml_table(text: str, display: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ConfigError(f"{display}: invalid TOML: arrays or tables nested too deeply") from None
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_ERROR_AT.match(str(exc))
        if match is None:
            raise ConfigError(f"{display}: invalid TOML: {exc}") from None
        problem, line, col = match.groups()
        raise ConfigError(f"{display}:{line}:{col}: invalid TOML: {problem}") from None


def _toml_document(text: str, display: str) -> ConfigDocument:
    tool = _toml_table(text, display).get("tool", {})
    if not isinstance(tool, dict) or "gate" not in tool:
        raise ConfigError(
            f"{display}: has no [tool.gate] table; add one, "
            "or run `gate init` to write a commented gate.yaml"
        )
    data = tool["gate"]
    if not isinstance(data, dict):
        raise ConfigError(f"{display}: tool.gate: must be a table (got {_describe(data)})")
    values, keys = _toml_positions(text)
    return ConfigDocument(data, values, keys, prefix=("tool", "gate"))


def _toml_positions(text: str) -> tuple[dict[KeyPath, Location], dict[KeyPath, Location]]:
    # Best effort: tomllib keeps no positions, so find `[table]` and `key =` lines.
    # Keys inside inline tables or arrays fall back to the line of their parent.
    values: dict[KeyPath, Location] = {}
    keys: dict[KeyPath, Location] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TOML_TABLE.match(line)
        if header:
            table = _toml_key_parts(header.group(1))
            if table[:2] == ("tool", "gate") and len(table) > 2:
                where = Location(number, line.index("[") + 1)
                keys[table[2:]] = values[table[2:]] = where
            continue
        if line.lstrip().startswith("[["):
            table = ()
            continue
        pair = _TOML_KEY.match(line)
        if pair is None:
            continue
        full = table + _toml_key_parts(pair.group(2))
        if full[:2] == ("tool", "gate") and len(full) > 2:
            keys[full[2:]] = Location(number, len(pair.group(1)) + 1)
            values[full[2:]] = Location(number, pair.end() + 1)
    return values, keys


def _toml_key_parts(key: str) -> tuple[str, ...]:
    parts = re.findall(r"\"[^\"]*\"|'[^']*'|[^.\s]+", key)
    return tuple(part.strip("\"'") for part in parts)


# ---- validation ----------------------------------------------------------------------

Problem = tuple[KeyPath, str, bool]  # key path, message, whether to point at the key


def _validate(
    document: ConfigDocument, path: Path, display: str, environ: Mapping[str, str], cwd: Path
) -> Config:
    def fail(problems: list[Problem]) -> ConfigError:
        return ConfigError(_format_problems(document, display, problems))

    data = _texts_as_typed(document)
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
    for section in _SECTIONS:
        if data.get(section) is None:  # `coverage:` with every line commented out
            data[section] = {}
    database = data["database"]
    url_from_env = isinstance(database, dict) and "url" not in database
    if url_from_env:
        # The contract's default, `url: ${DATABASE_URL:-}`: a CI service's URL selects server
        # mode. gate only ever creates and drops its own gate_<run id> databases there.
        database["url"] = environ.get("DATABASE_URL") or None
    try:
        config = Config.model_validate(
            {**data, "source": path, "root": root}, context={"root": root}
        )
    except ValidationError as exc:
        problems += [_explain(error) for error in exc.errors(include_url=False)]
        raise fail(problems) from None
    problems += _cross_checks(config, cwd)
    if problems:
        raise fail(problems)
    if url_from_env and config.database.url:
        config.database._url_source = "DATABASE_URL (the default of database.url)"
    return config


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
        return _describe(value) if isinstance(value, bool) else str(value)

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
        return f"must be a folder path (got {_describe(value)})"
    root = (config_path.parent / Path(value).expanduser()).resolve()
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        return (
            f"{_display(root, cwd)} {what} (root is relative to the folder holding "
            f"{config_path.name}); fix root or create the folder"
        )
    return root


def _cross_checks(config: Config, cwd: Path) -> list[Problem]:
    problems: list[Problem] = []
    root_shown = _display(config.root, cwd) or "."
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
        [f"fail_under is {_number(coverage.fail_under)}"]
        if coverage.fail_under and "fail_under" in written
        else []
    )
    floors += [f"per_file is {_number(coverage.per_file)}"] if coverage.per_file else []
    floors += ["diff is set"] if coverage.diff is not None else []
    if floors and not coverage.source:
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
            (("database", "bin_dir"), f"no such folder: {_display(bin_dir, cwd)}", False)
        )
    return problems


# ---- turning pydantic's errors into plain English ----------------------------------------

_EXPLANATIONS = {
    "missing": "required key is missing",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of names to values",
    "path_type": "must be a path",
    "literal_error": "must be one of {expected}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "too_short": "must list at least one entry",
}


def _explain(error: ErrorDetails) -> Problem:
    key_path: KeyPath = tuple(error["loc"])
    at_key = bool(key_path) and key_path[-1] == "[key]"
    if at_key:
        key_path = key_path[:-1]
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == "gate":
        return key_path, str(context["reason"]), at_key
    if kind == "extra_forbidden":
        return key_path, _unknown_key(key_path), True
    if kind in ("model_type", "model_attributes_type"):
        keys = ", ".join(_keys_at(key_path))
        return (
            key_path,
            f"must be a mapping with keys {keys} (got {_describe(error['input'])})",
            False,
        )
    template = _EXPLANATIONS.get(kind)
    if template is None:  # an error type we do not expect; still say it without noise
        message = error["msg"].replace("Input should be", "must be")
    else:
        numbers = {name: _number(value) for name, value in context.items()}
        message = template.format(**numbers)
    if kind in ("missing", "too_short"):
        return key_path, message, at_key
    return key_path, f"{message} (got {_describe(error['input'])})", at_key


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _unknown_key(key_path: KeyPath) -> str:
    valid = _keys_at(key_path[:-1])
    key = str(key_path[-1])
    close = difflib.get_close_matches(key, valid, n=1)
    if close:
        return f"unknown key; did you mean {close[0]!r}?"
    elsewhere = [dotted(other) for other in _all_keys() if other[-1] == key]
    if elsewhere:
        return f"unknown key here; did you mean {elsewhere[0]!r}?"
    return f"unknown key; valid keys here are {', '.join(valid)}"


def _model_at(key_path: KeyPath) -> type[BaseModel] | None:
    model: type[BaseModel] = Config
    for part in key_path:
        fields = {info.alias or name: info for name, info in model.model_fields.items()}
        if part not in fields:
            return None
        inner = _model_in(fields[str(part)].annotation)
        if inner is None:
            return None
        model = inner
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    # Unwrap `DiffConfig | None` and Annotated[...] down to the model class, if any.
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _keys_at(key_path: KeyPath) -> list[str]:
    model = _model_at(key_path)
    if model is None:
        return []
    names = [info.alias or name for name, info in model.model_fields.items()]
    return [name for name in names if key_path or name != "source"]


def _all_keys(prefix: KeyPath = ()) -> list[KeyPath]:
    found: list[KeyPath] = []
    for name in _keys_at(prefix):
        found.append((*prefix, name))
        if _model_at((*prefix, name)) is not None:
            found += _all_keys((*prefix, name))
    return found


def _format_problems(document: ConfigDocument, display: str, problems: list[Problem]) -> str:
    lines = []
    for key_path, message, at_key in problems:
        where = document.locate(key_path, at_key=at_key)
        shown_path = (*document.prefix, *key_path)
        lines.append((where, format_problem(display, where, shown_path, message)))
    # In file order, so the first line is the first thing to fix; unplaced ones last.
    lines.sort(key=lambda item: (0, item[0].line, item[0].col) if item[0] else (1, 0, 0))
    return "\n".join(dict.fromkeys(line for _, line in lines))
