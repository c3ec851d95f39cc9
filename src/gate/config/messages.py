"""Error text: pydantic's errors in plain words, placed at file:line:col, with did-you-mean."""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from gate.config.document import ConfigDocument, KeyPath, dotted, format_problem
from gate.config.models import Config
from gate.config.values import describe

#: key path, message, whether to point at the key (else at its value)
Problem = tuple[KeyPath, str, bool]

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


def missing_migration_tool(executable: str, root: Path) -> str:
    """The paragraph for a migrations.command whose program is nowhere to be found."""
    return (
        f"migrations.command: {executable!r} was not found in {root} "
        "or on PATH; install it in the project's environment or fix migrations.command"
    )


def explain(error: ErrorDetails) -> Problem:
    """One pydantic error as a problem at its key path."""
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
            f"must be a mapping with keys {keys} (got {describe(error['input'])})",
            False,
        )
    template = _EXPLANATIONS.get(kind)
    if template is None:  # an error type we do not expect; still say it without noise
        message = error["msg"].replace("Input should be", "must be")
    else:
        numbers = {name: number(value) for name, value in context.items()}
        message = template.format(**numbers)
    if kind in ("missing", "too_short"):
        return key_path, message, at_key
    return key_path, f"{message} (got {describe(error['input'])})", at_key


def number(value: object) -> str:
    """90.0 as 90: thresholds are shown the way people write them."""
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


def format_problems(document: ConfigDocument, display: str, problems: list[Problem]) -> str:
    """One line per problem, in file order, so the first line is the first thing to fix."""
    lines = []
    for key_path, message, at_key in problems:
        where = document.locate(key_path, at_key=at_key)
        shown_path = (*document.prefix, *key_path)
        lines.append((where, format_problem(display, where, shown_path, message)))
    # Unplaced ones last.
    lines.sort(key=lambda item: (0, item[0].line, item[0].col) if item[0] else (1, 0, 0))
    return "\n".join(dict.fromkeys(line for _, line in lines))
