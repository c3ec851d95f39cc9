"""Every key of gate.yaml with the default the models give it, as a user would write it."""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from gate.config import Config
from gate.config.document import KeyPath


def section_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a section key (`DiffConfig | None` too), else None for a plain value."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
    return None


def model_defaults(model: type[BaseModel] = Config, prefix: KeyPath = ()) -> dict[KeyPath, Any]:
    """{("coverage", "fail_under"): 90, ...} for every key that holds a value."""
    # root's default is the folder holding the config file: `.` as written in it.
    found: dict[KeyPath, Any] = {} if prefix else {("root",): "."}
    for name, info in model.model_fields.items():
        key = (*prefix, info.alias or name)
        if key in (("source",), ("root",)):  # the file itself, not a key; root: above
            continue
        inner = section_model(info.annotation)
        if inner is not None:
            found |= model_defaults(inner, key)
            continue
        default = info.get_default(call_default_factory=True)
        found[key] = default.as_posix() if isinstance(default, Path) else default
    return found


def leaves(data: dict[str, Any], prefix: KeyPath = ()) -> dict[KeyPath, Any]:
    """A parsed gate.yaml flattened the same way: sections opened, values kept whole."""
    found: dict[KeyPath, Any] = {}
    sections = {key[: len(prefix) + 1] for key in model_defaults() if len(key) > len(prefix) + 1}
    for name, value in data.items():
        key = (*prefix, name)
        if key in sections and isinstance(value, dict):
            found |= leaves(value, key)
        else:
            found[key] = value
    return found
