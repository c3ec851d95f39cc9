"""The kinds of value gate.yaml holds: each a type with its check, its error text and its schema.

A check raises `invalid(...)`; messages.py places the text at the key's file:line:col.
Where a kind accepts more than its Python type says (one string for a list, `false` for
"off"), WithJsonSchema tells editors the same, so the schema never flags a valid file.
"""

from __future__ import annotations

import re
import shlex
import string
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from gate.database.address import EXPORT_FIELDS
from gate.server_error_events import allow_entry_problem

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


def describe(value: object) -> str:
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


def invalid(message: str) -> PydanticCustomError:
    """A validation error whose text is shown as written."""
    # The message travels in the context so that braces such as {url} are not a template.
    return PydanticCustomError("gate", "{reason}", {"reason": message})


def _no_bool(value: object) -> object:
    # pydantic reads true as 1; a threshold of `yes` is a mistake, not 1 percent.
    if isinstance(value, bool):
        raise invalid(f"must be a number (got {describe(value)})")
    return value


def _empty_is_none(value: object) -> object:
    # `${DATABASE_URL:-}` expands to "": treat it like an unset value.
    return None if value == "" else value


def _path_or_off(value: object) -> object:
    # `junit: false` reads naturally as "no JUnit report"; "" comes from `${VAR:-}`.
    if value is False or value == "":
        return None
    if value is True:
        raise invalid("must be a path, or null to turn it off (got true)")
    return value


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _shell_words(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        return shlex.split(value)
    except ValueError as exc:
        raise invalid(f"cannot split into words: {exc} (got {describe(value)})") from None


def _command(value: object) -> object:
    words = _shell_words(value)
    return None if words == [] else words


def _env_name(name: str) -> str:
    if not _ENV_NAME.fullmatch(name):
        raise invalid(
            f"{name!r} is not an environment variable name (letters, digits and _, "
            "not starting with a digit)"
        )
    return name


def _export_template(template: str) -> str:
    fields = ", ".join("{" + name + "}" for name in EXPORT_FIELDS)
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise invalid(
            f"bad template {template!r}: {exc}; write {{{{ and }}}} for literal braces"
        ) from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in EXPORT_FIELDS or spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "")
            shown += (f":{spec}" if spec else "") + "}"
            raise invalid(f"unknown placeholder {shown} in {template!r}; use {fields}")
    return template


def _url_scheme(value: str) -> str:
    if not _URL_SCHEME.fullmatch(value):
        raise invalid(
            f"must be a URL scheme such as postgresql+asyncpg, without :// (got {describe(value)})"
        )
    return value


def _not_empty(value: str) -> str:
    if not value.strip():
        raise invalid("must not be empty")
    return value


def _workers(value: object) -> int | Literal["auto"]:
    if value == "auto":
        return "auto"
    number: object = value
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise invalid(f"must be a whole number of at least 1, or auto (got {describe(value)})")
    return number


def _under_root(value: Path | None, info: ValidationInfo) -> Path | None:
    if value is None:
        return None
    root = (info.context or {}).get("root")
    path = value.expanduser()
    if root is not None and not path.is_absolute():
        path = Path(root) / path
    return path.resolve() if path.is_absolute() else path


_TEXT: dict[str, Any] = {"type": "string"}
_TEXTS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}

Number = Annotated[float, BeforeValidator(_no_bool), Field(allow_inf_nan=False)]
Percent = Annotated[Number, Field(ge=0, le=100)]
WholeNumber = Annotated[int, BeforeValidator(_no_bool), Field(ge=0)]
Text = Annotated[str, AfterValidator(_not_empty)]
#: A list of words; one string is split the way a shell would.
Words = Annotated[
    list[str], BeforeValidator(_shell_words), WithJsonSchema({"anyOf": [_TEXT, _TEXTS]})
]
#: A command as words; an empty one means none.
Command = Annotated[
    list[str] | None,
    BeforeValidator(_command),
    WithJsonSchema({"anyOf": [_TEXT, _TEXTS, {"type": "null"}]}),
]
#: A list of names; one name alone is a list of one.
Names = Annotated[
    list[Text],
    BeforeValidator(_one_or_many),
    WithJsonSchema({"anyOf": [_TEXT, {**_TEXTS, "items": {"type": "string", "minLength": 1}}]}),
]


def _server_error_allow(entry: str) -> str:
    # A misspelt entry must not silently allow nothing (or everything): see docs/server-errors.md.
    problem = allow_entry_problem(entry.strip())
    if problem is not None:
        raise invalid(problem)
    return entry


#: server_errors.allow: "GET /health 503", a test id or an exception type, each checked.
ServerErrorAllows = Annotated[
    list[Annotated[Text, AfterValidator(_server_error_allow)]],
    BeforeValidator(_one_or_many),
    WithJsonSchema({"anyOf": [_TEXT, {**_TEXTS, "items": {"type": "string", "minLength": 1}}]}),
]
EnvName = Annotated[str, AfterValidator(_env_name)]
#: Environment values are text; a plain 5432 or true is taken as the text typed.
EnvValue = Annotated[str, WithJsonSchema({"type": ["string", "number", "boolean"]})]
ExportTemplate = Annotated[str, AfterValidator(_export_template)]
UrlScheme = Annotated[str, AfterValidator(_url_scheme)]
#: A URL, where "" (what `${VAR:-}` gives when VAR is unset) means none.
OptionalUrl = Annotated[str | None, BeforeValidator(_empty_is_none)]
Workers = Annotated[
    int | Literal["auto"],
    PlainValidator(_workers),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1}, {"const": "auto"}]}),
]
#: A path resolved against root; null, false or "" turn the thing off.
RootPath = Annotated[
    Path | None,
    BeforeValidator(_path_or_off),
    AfterValidator(_under_root),
    WithJsonSchema({"anyOf": [_TEXT, {"type": "null"}, {"const": False}]}),
]
