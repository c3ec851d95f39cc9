"""Read [tool.gate] from pyproject.toml, with the best line and column tomllib lets us find."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from gate.config.document import ConfigDocument, KeyPath, Position
from gate.config.values import describe
from gate.errors import ConfigError

_TOML_ERROR_AT = re.compile(r"^(.*) \(at line (\d+), column (\d+)\)$")
_TOML_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_TOML_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_TOML_KEY = re.compile(rf"^(\s*)({_TOML_KEY_PART}(?:\s*\.\s*{_TOML_KEY_PART})*)\s*=\s*")


def parse_toml(text: str, display: str) -> dict[str, Any]:
    """The whole TOML file; a syntax error is a ConfigError naming line:col."""
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


def tool_gate_document(text: str, display: str) -> ConfigDocument:
    """The [tool.gate] table of a pyproject.toml, with positions."""
    tool = parse_toml(text, display).get("tool", {})
    if not isinstance(tool, dict) or "gate" not in tool:
        raise ConfigError(
            f"{display}: has no [tool.gate] table; add one, "
            "or run `gate init` to write a commented gate.yaml"
        )
    data = tool["gate"]
    if not isinstance(data, dict):
        raise ConfigError(f"{display}: tool.gate: must be a table (got {describe(data)})")
    values, keys = _toml_positions(text)
    return ConfigDocument(data, values, keys, prefix=("tool", "gate"))


def _toml_positions(text: str) -> tuple[dict[KeyPath, Position], dict[KeyPath, Position]]:
    # Best effort: tomllib keeps no positions, so find `[table]` and `key =` lines.
    # Keys inside inline tables or arrays fall back to the line of their parent.
    values: dict[KeyPath, Position] = {}
    keys: dict[KeyPath, Position] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TOML_TABLE.match(line)
        if header:
            table = _toml_key_parts(header.group(1))
            if table[:2] == ("tool", "gate") and len(table) > 2:
                where = Position(number, line.index("[") + 1)
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
            keys[full[2:]] = Position(number, len(pair.group(1)) + 1)
            values[full[2:]] = Position(number, pair.end() + 1)
    return values, keys


def _toml_key_parts(key: str) -> tuple[str, ...]:
    parts = re.findall(r"\"[^\"]*\"|'[^']*'|[^.\s]+", key)
    return tuple(part.strip("\"'") for part in parts)
