"""A JSON Schema checker for the few keywords gate's schema uses, so tests need no new package.

test_schema.py asserts that the schema uses no other keyword, so a check here that passes
is a check an editor's full validator would pass too.
"""

from __future__ import annotations

from typing import Any

KEYWORDS = {
    "$schema", "$id", "$defs", "$ref", "title", "description", "default", "type", "enum",
    "const", "anyOf", "properties", "additionalProperties", "items", "minimum", "maximum",
    "exclusiveMinimum", "minLength", "minItems",
}  # fmt: skip

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def problems(schema: dict[str, Any], value: Any) -> list[str]:
    """What is wrong with value under schema; [] when it is valid."""
    return _check(schema, schema, value, "")


def _is(value: Any, kind: str) -> bool:
    if isinstance(value, bool) and kind in ("number", "integer"):
        return False
    return isinstance(value, _TYPES[kind])


def _check(root: dict[str, Any], node: dict[str, Any], value: Any, where: str) -> list[str]:
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/$defs/")
        return _check(root, root["$defs"][name], value, where)
    if "anyOf" in node:
        options = [_check(root, option, value, where) for option in node["anyOf"]]
        if any(not found for found in options):
            return []
        # The option that matched here but not further in says best what is wrong.
        deeper = [found for found in options if all(p.startswith(where + ".") for p in found)]
        return deeper[0] if deeper else [f"{where}: matches no option"]
    kinds = node.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is(value, kind) for kind in kinds):
            return [f"{where}: {value!r} is not {kinds}"]
    if "enum" in node and value not in node["enum"]:
        return [f"{where}: {value!r} not in {node['enum']}"]
    if "const" in node and (value != node["const"] or type(value) is not type(node["const"])):
        return [f"{where}: {value!r} is not {node['const']!r}"]
    found: list[str] = []
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in node and value < node["minimum"]:
            found.append(f"{where}: {value} < {node['minimum']}")
        if "maximum" in node and value > node["maximum"]:
            found.append(f"{where}: {value} > {node['maximum']}")
        if "exclusiveMinimum" in node and value <= node["exclusiveMinimum"]:
            found.append(f"{where}: {value} <= {node['exclusiveMinimum']}")
    if isinstance(value, str) and len(value) < node.get("minLength", 0):
        found.append(f"{where}: too short")
    if isinstance(value, list):
        if len(value) < node.get("minItems", 0):
            found.append(f"{where}: too few items")
        for index, item in enumerate(value):
            found += _check(root, node.get("items", {}), item, f"{where}[{index}]")
    if isinstance(value, dict):
        properties = node.get("properties", {})
        for key, item in value.items():
            if key in properties:
                found += _check(root, properties[key], item, f"{where}.{key}")
            elif node.get("additionalProperties") is False:
                found.append(f"{where}.{key}: unknown key")
            elif isinstance(node.get("additionalProperties"), dict):
                found += _check(root, node["additionalProperties"], item, f"{where}.{key}")
    return found
