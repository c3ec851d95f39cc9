"""The JSON Schema of gate.yaml, made from the models, for editors (yaml-language-server).

`gate schema` prints it; schema/gate.schema.json at the repository root is a committed copy
that tests/config/test_schema.py keeps equal to this output.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core.core_schema import WithDefaultSchema

from gate.config.models import Config
from gate.config.validation import SECTIONS

#: Where the committed copy is published; `gate init` names it on gate.yaml's first line.
#: The owner is the placeholder docs/ci.md uses too, until the repository has its home.
SCHEMA_URL = "https://raw.githubusercontent.com/your-org/gate/main/schema/gate.schema.json"


def config_schema() -> dict[str, Any]:
    """The schema of the file a user writes: Config without what gate fills in itself."""
    schema = Config.model_json_schema(
        by_alias=True, mode="validation", schema_generator=_DefaultsShown
    )
    _standard_bounds(schema)
    properties = schema["properties"]
    # source is the file itself, not a key; root has a default (the file's folder) that
    # depends on where the file is, so the schema states it in words only.
    del properties["source"]
    properties["root"] = {
        "title": "root",
        "description": properties["root"]["description"],
        "type": "string",
    }
    schema.pop("required", None)
    for section in SECTIONS:  # `coverage:` with every line commented out reads as null
        value = dict(properties[section])
        words = {key: value.pop(key) for key in ("title", "description", "default") if key in value}
        properties[section] = {**words, "anyOf": [value, {"type": "null"}]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_URL,
        **schema,
    }


def schema_text() -> str:
    """The schema as `gate schema` prints it and the committed copy holds it."""
    return json.dumps(config_schema(), indent=2, ensure_ascii=False) + "\n"


class _DefaultsShown(GenerateJsonSchema):
    """pydantic leaves out defaults made by a factory ([] and {}); an editor should show them."""

    def default_schema(self, schema: WithDefaultSchema) -> JsonSchemaValue:
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            value = factory()  # type: ignore[call-arg]
            if not isinstance(value, BaseModel):  # a whole section's defaults are its keys'
                schema = schema.copy()
                schema["default"] = value
                del schema["default_factory"]
        return super().default_schema(schema)


# Bounds that pydantic could not fold into the number type (they follow a validator) come
# out under their Python names; JSON Schema spells them differently.
_BOUNDS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}


def _standard_bounds(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") in ("number", "integer"):
            for python, standard in _BOUNDS.items():
                if python in node:
                    node[standard] = node.pop(python)
        for value in node.values():
            _standard_bounds(value)
    elif isinstance(node, list):
        for value in node:
            _standard_bounds(value)
