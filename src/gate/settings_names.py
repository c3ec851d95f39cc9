"""Finds the environment variables a project's settings read, and which hold its database.

gate init reads source without running it: pydantic-settings classes (env_prefix,
env_nested_delimiter, aliases, nested models), plain names in code and .env files. Only names
are collected; values (secrets) are never read back out.

One module for one parse: every reader here walks the same syntax tree of a settings module
and shares its notion of a settings class; split, each part would reparse or pass the tree.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from gate.database.address import DATABASE_ROLE

# A name's words that say it is about the database, and what its last word asks for.
_DATABASE_WORDS = {"DATABASE", "DB", "POSTGRES", "POSTGRESQL", "PG", "SQL", "SQLALCHEMY", "PSQL"}
_SERVER_WORDS = {"SERVER", "ADMIN", "MAINTENANCE", "ROOT", "SUPERUSER"}
_ROLES = {
    "URL": "{url}",
    "URI": "{url}",
    "DSN": "{url}",
    "HOST": "{host}",
    "HOSTNAME": "{host}",
    "SERVER": "{host}",
    "PORT": "{port}",
    "USER": "{user}",
    "USERNAME": "{user}",
    "PASSWORD": "{password}",
    "PASS": "{password}",
    "DB": "{database}",
    "NAME": "{database}",
    "DATABASE": "{database}",
    "DBNAME": "{database}",
}
_LIBPQ = {
    "PGHOST": "{host}",
    "PGPORT": "{port}",
    "PGUSER": "{user}",
    "PGPASSWORD": "{password}",
    "PGDATABASE": "{database}",
}
_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:__?[A-Z0-9]+)+\b|\bPG[A-Z]+\b")
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", re.MULTILINE)
_TEXT_TYPES = {"str", "SecretStr"}
# os.environ["NAME"]: read with no default, so the code fails without it; not
# `os.environ["NAME"] = "test"`, which sets it (a conftest's own test value).
_REQUIRED_READ = re.compile(
    r"\benviron\[\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']\s*\](?!\s*(?:=(?!=)|[-+*/|&]=))"
)


def database_template(name: str) -> str | None:
    """The database.export template for an environment variable, or None if it is not one.

    DATABASE_URL -> {url}; POSTGRES_SERVER -> {host}; DATABASE__HOSTNAME -> {host};
    DATABASE_SERVER_URL -> {server_url}; REDIS_HOST and DATABASE_POOL_SIZE -> None."""
    upper = name.upper()
    if upper in _LIBPQ:
        return _LIBPQ[upper]
    context, _, last = upper.rpartition("__")
    if context:
        context_words = set(re.split(r"_+", context))
        leaf = last
    else:
        words = upper.split("_")
        if len(words) < 2:
            return None
        context_words, leaf = set(words[:-1]), words[-1]
    template = _ROLES.get(leaf)
    if template is None or not context_words & _DATABASE_WORDS:
        return None
    if template == "{url}" and context_words & _SERVER_WORDS:
        return "{server_url}"
    return template


@dataclass
class SettingsField:
    env: str  # the environment variable pydantic-settings reads it from
    annotation: str  # the type as written, e.g. "str", "PostgresDsn", "int | None"
    required: bool


@dataclass
class _Class:
    name: str
    bases: list[str]
    fields: list[tuple[str, ast.expr, bool, str | None]] = field(default_factory=list)
    config: dict[str, object] = field(default_factory=dict)
    computed: list[str] = field(default_factory=list)  # @computed_field / @property names


def settings_fields(sources: Iterable[str]) -> list[SettingsField]:
    """The environment variables of every pydantic-settings class in these source texts."""
    every: list[_Class] = []
    for tree in _trees(sources, ("Settings", "BaseModel")):
        for node in ast.walk(tree):
            # pydantic v1's inner `class Config:` is read as part of its model, not as one.
            if isinstance(node, ast.ClassDef) and (node.bases or node.name != "Config"):
                every.append(_read_class(node))
    classes: dict[str, _Class] = {}
    for cls in every:
        classes.setdefault(cls.name, cls)  # a base named twice: the first one found
    found: list[SettingsField] = []
    for cls in every:
        if _is_settings(cls, classes, set()):
            found += _class_fields(cls, classes)
    return found


def _read_class(node: ast.ClassDef) -> _Class:
    cls = _Class(node.name, [_dotted_tail(base) for base in node.bases])
    for statement in node.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            name = statement.target.id
            if (
                name == "model_config"
                or name.startswith("_")
                or "ClassVar" in ast.dump(statement.annotation)
            ):
                continue
            required, alias = _default_and_alias(statement.value)
            cls.fields.append((name, statement.annotation, required, alias))
        elif isinstance(statement, ast.FunctionDef) and any(
            _dotted_tail(d.func if isinstance(d, ast.Call) else d)
            in ("computed_field", "property", "cached_property")
            for d in statement.decorator_list
        ):
            cls.computed.append(statement.name)  # derived from other fields: no variable
        elif isinstance(statement, ast.Assign) and _assigns(statement, "model_config"):
            cls.config.update(_call_or_dict_keywords(statement.value))
        elif isinstance(statement, ast.ClassDef) and statement.name == "Config":
            # pydantic v1 style: class Config: env_prefix = "APP_"
            for inner in statement.body:
                if isinstance(inner, ast.Assign) and isinstance(inner.value, ast.Constant):
                    for target in inner.targets:
                        if isinstance(target, ast.Name):
                            cls.config[target.id] = inner.value.value
    return cls


def _dotted_tail(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Subscript):
        return _dotted_tail(node.value)
    return ""


def _assigns(statement: ast.Assign, name: str) -> bool:
    return any(isinstance(t, ast.Name) and t.id == name for t in statement.targets)


def _call_or_dict_keywords(value: ast.expr) -> dict[str, object]:
    """SettingsConfigDict(env_prefix="X_") or {"env_prefix": "X_"}: the constant settings."""
    found: dict[str, object] = {}
    if isinstance(value, ast.Call):
        for keyword in value.keywords:
            if keyword.arg and isinstance(keyword.value, ast.Constant):
                found[keyword.arg] = keyword.value.value
    elif isinstance(value, ast.Dict):
        for key, item in zip(value.keys, value.values, strict=True):
            if isinstance(key, ast.Constant) and isinstance(item, ast.Constant):
                found[str(key.value)] = item.value
    return found


def _default_and_alias(value: ast.expr | None) -> tuple[bool, str | None]:
    """(required, alias) of a field's right-hand side: none, a constant, or Field(...)."""
    if value is None:
        return True, None
    if not (isinstance(value, ast.Call) and _dotted_tail(value.func) == "Field"):
        return False, None
    keywords = {k.arg: k.value for k in value.keywords if k.arg}
    alias = None
    for key in ("validation_alias", "alias", "env"):  # env: pydantic v1
        candidate = keywords.get(key)
        if isinstance(candidate, ast.Constant) and isinstance(candidate.value, str):
            alias = candidate.value
            break
    has_default = "default" in keywords or "default_factory" in keywords
    if value.args:
        first = value.args[0]
        has_default = not (isinstance(first, ast.Constant) and first.value is Ellipsis)
    return not has_default, alias


def _is_settings(cls: _Class, classes: dict[str, _Class], seen: set[str]) -> bool:
    if cls.name in seen:
        return False
    seen.add(cls.name)
    for base in cls.bases:
        if base == "BaseSettings":
            return True
        parent = classes.get(base)
        if parent is not None and _is_settings(parent, classes, seen):
            return True
    return False


def _inherited(cls: _Class, classes: dict[str, _Class], seen: set[str]) -> Iterator[_Class]:
    """The class and its known bases, base classes first, so a subclass's settings win."""
    if cls.name in seen:
        return
    seen.add(cls.name)
    for base in cls.bases:
        parent = classes.get(base)
        if parent is not None:
            yield from _inherited(parent, classes, seen)
    yield cls


def _class_fields(cls: _Class, classes: dict[str, _Class]) -> list[SettingsField]:
    chain = list(_inherited(cls, classes, set()))
    config: dict[str, object] = {}
    fields: dict[str, tuple[ast.expr, bool, str | None]] = {}
    for member in chain:
        config.update(member.config)
        for name, annotation, required, alias in member.fields:
            fields[name] = (annotation, required, alias)
    prefix = str(config.get("env_prefix") or "")
    delimiter = config.get("env_nested_delimiter")
    case_sensitive = bool(config.get("case_sensitive"))
    found = []
    for name, (annotation, required, alias) in fields.items():
        env = alias or prefix + name
        env = env if case_sensitive else env.upper()
        nested = []
        if isinstance(delimiter, str) and delimiter and not alias:
            nested = _nested(env, annotation, classes, delimiter, case_sensitive, depth=0)
        # A nested model is given through its own variables (APP_JWT__SECRET), which say
        # what is required; the model's variable itself (APP_JWT, as JSON) is not needed.
        found.append(SettingsField(env, ast.unparse(annotation), required and not nested))
        found += nested
    return found


def computed_names(sources: Iterable[str]) -> set[str]:
    """Names of settings' computed fields and properties: read in code, never variables."""
    names: set[str] = set()
    for tree in _trees(sources, ("Settings",)):
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                names.update(_read_class(node).computed)
    return names


def _trees(sources: Iterable[str], words: tuple[str, ...]) -> Iterator[ast.Module]:
    """The parsed sources that mention one of these words (the others are not settings)."""
    for source in sources:
        if any(word in source for word in words):
            try:
                yield ast.parse(source)
            except (SyntaxError, ValueError):
                continue


def _nested(
    env: str,
    annotation: ast.expr,
    classes: dict[str, _Class],
    delimiter: str,
    case_sensitive: bool,
    depth: int,
) -> list[SettingsField]:
    """DATABASE__HOSTNAME for `database: DatabaseConfig` under env_nested_delimiter="__"."""
    if depth > 3:
        return []
    found = []
    for node in ast.walk(annotation):
        model = classes.get(node.id) if isinstance(node, ast.Name) else None
        if model is None or _is_settings(model, classes, set()):
            continue  # a nested BaseSettings reads its own variables, found on its own
        for member in _inherited(model, classes, set()):
            for name, inner, required, _ in member.fields:
                part = name if case_sensitive else name.upper()
                nested = f"{env}{delimiter}{part}"
                found.append(SettingsField(nested, ast.unparse(inner), required))
                found += _nested(nested, inner, classes, delimiter, case_sensitive, depth + 1)
    return found


def names_in_text(text: str) -> set[str]:
    """Upper-case names written in code: os.environ["DATABASE_URL"], POSTGRES_SERVER: str."""
    return set(_NAME.findall(text))


def required_reads(text: str) -> set[str]:
    """Names code reads as os.environ["NAME"], which raises when the variable is unset."""
    return set(_REQUIRED_READ.findall(text))


def opened_reads(text: str) -> set[str]:
    """Names whose value code opens as a path: open(os.environ["APP_CONFIG_FILE"])."""
    return set(_OPENED_READ.findall(text))


_OPENED_READ = re.compile(
    r"\b(?:open|Path|load|read_text)\(\s*(?:os\.)?environ(?:\[|\.get\()\s*[\"']([A-Za-z_]\w*)[\"']"
)


def literal_choices(annotation: str) -> tuple[str, ...]:
    """The values a Literal["dev", "test"] annotation allows; () for any other type."""
    match = re.fullmatch(r"(?:typing\.)?Literal\[(.*)\]", annotation.strip())
    if match is None:
        return ()
    return tuple(re.findall(r"[\"']([^\"']*)[\"']", match.group(1)))


def names_in_env_file(text: str) -> set[str]:
    """The variables a .env file sets (names only)."""
    return set(_ENV_LINE.findall(text))


def is_text_type(annotation: str) -> bool:
    return annotation in _TEXT_TYPES


# Where a value lands in the connection code builds: a URL's path (or libpq's dbname=) is
# the database, its user part (or user=) the role. Keywords of a connect call say the same.
_DATABASE_KEYWORDS = {"database", "dbname", "db", "db_name", "database_name"}
_USER_KEYWORDS = {"user", "username", "db_user"}
_URL_PARTS = re.compile(
    r"^[A-Za-z][A-Za-z0-9+.-]*://(?:(?P<user>[^:@/]*)(?::[^@/]*)?@)?[^/?#]*/(?P<database>[^?#]*)"
)
_LIBPQ_KEYWORD = re.compile(r"\b(?P<key>dbname|user)\s*=\s*(?P<value>\S+)")
_HOLE = "\x00{}\x00"  # an f-string's {expression}, numbered, while its literal text is read
_ONE_HOLE = re.compile(r"^\x00(\d+)\x00$")


def database_positions(sources: Iterable[str]) -> dict[str, set[str]]:
    """Which names code puts where in the connection it builds, upper-cased:
    f"postgresql://{DB_USER}:{DB_PASSWORD}@{DB_HOST}/{DB_USER}" gives
    {"DB_USER": {"user", "database"}}; connect(dbname=settings.APP_DB) {"APP_DB": {"database"}}.

    A name is the last one of the expression (settings.DB_USER, os.environ["DB_USER"],
    getenv("DB_USER") all give DB_USER): what matters is which variable it was read from."""
    found: dict[str, set[str]] = {}
    for source in sources:
        if "://" not in source and "=" not in source:
            continue
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                for position, expression in _fstring_positions(node):
                    _note(found, expression, position)
            elif isinstance(node, ast.Call):
                for keyword in node.keywords:
                    arg = (keyword.arg or "").lower()
                    if arg in _DATABASE_KEYWORDS:
                        _note(found, keyword.value, "database")
                    elif arg in _USER_KEYWORDS:
                        _note(found, keyword.value, "user")
    return found


def _fstring_positions(node: ast.JoinedStr) -> Iterator[tuple[str, ast.expr]]:
    holes: list[ast.expr] = []
    text = ""
    for part in node.values:
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            text += part.value.replace("\x00", "")
        elif isinstance(part, ast.FormattedValue):
            text += _HOLE.format(len(holes))
            holes.append(part.value)
    url = _URL_PARTS.match(text)
    pairs = [] if url is None else [("user", url["user"]), ("database", url["database"])]
    pairs += [
        ("database" if m["key"] == "dbname" else "user", m["value"])
        for m in _LIBPQ_KEYWORD.finditer(text)
    ]
    for position, value in pairs:
        hole = _ONE_HOLE.match(value or "")
        if hole is not None:
            yield position, holes[int(hole.group(1))]


def _note(found: dict[str, set[str]], expression: ast.expr, position: str) -> None:
    name = _read_name(expression)
    if name:
        found.setdefault(name.upper(), set()).add(position)


def _read_name(expression: ast.expr) -> str | None:
    """DB_USER, settings.DB_USER, os.environ["DB_USER"], getenv("DB_USER", "x")."""
    if isinstance(expression, ast.Name):
        return expression.id
    if isinstance(expression, ast.Attribute):
        return expression.attr
    if isinstance(expression, ast.Subscript):
        key = expression.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return key.value
        return None
    if isinstance(expression, ast.Call) and expression.args:
        first = expression.args[0]
        if _dotted_tail(expression.func) in ("getenv", "get") and isinstance(first, ast.Constant):
            return str(first.value)
    return None


def export_template(name: str, positions: set[str]) -> str | None:
    """database_template, corrected by where code puts the variable: one it names its
    database by gets the run's database, even when its name says USER, and one that is both
    its user and its database name gets {database_role} (a role gate names after it)."""
    template = database_template(name)
    if template is None or "database" not in positions:
        return template
    if "user" in positions or template == "{user}":
        return DATABASE_ROLE
    return "{database}"
