"""Expand ${VAR} and ${VAR:-default} from the environment in every string value of the config."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gate.config.document import KeyPath

_REFERENCE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)


class ExpansionError(Exception):
    """A ${...} that cannot be expanded; the message says what to write instead."""


def expand(text: str, environ: Mapping[str, str]) -> str:
    """Replace ${VAR} and ${VAR:-default}; $${ writes a literal ${."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$${", i):
            out.append("${")
            i += 3
        elif text.startswith("${", i):
            end = _closing_brace(text, i)
            out.append(_lookup(text[i + 2 : end], environ))
            i = end + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def expand_tree(data: Any, environ: Mapping[str, str]) -> tuple[Any, list[tuple[KeyPath, str]]]:
    """Expand every string value (not keys) in nested dicts and lists.

    Returns the new data and one (key path, message) per value that could not be expanded,
    so that every bad reference in the file is reported at once.
    """
    problems: list[tuple[KeyPath, str]] = []

    def walk(value: Any, path: KeyPath) -> Any:
        if isinstance(value, str):
            try:
                return expand(value, environ)
            except ExpansionError as exc:
                problems.append((path, str(exc)))
                return value
        if isinstance(value, dict):
            return {key: walk(item, (*path, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, (*path, i)) for i, item in enumerate(value)]
        return value

    return walk(data, ()), problems


def _closing_brace(text: str, start: int) -> int:
    # Defaults may hold references themselves: ${A:-${B:-x}}.
    depth = 0
    i = start + 2
    while i < len(text):
        if text.startswith("$${", i):
            i += 3
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    raise ExpansionError(
        f"unclosed ${{ in {text!r}; close it with }}, or write $${{ for a literal ${{"
    )


def _lookup(inner: str, environ: Mapping[str, str]) -> str:
    match = _REFERENCE.fullmatch(inner)
    if match is None:
        raise ExpansionError(
            f"${{{inner}}} is not a variable reference; write ${{NAME}} or "
            f"${{NAME:-default}} (names are letters, digits and _), or $${{ for a literal ${{"
        )
    name, default = match.group(1), match.group(2)
    value = environ.get(name)
    if value:
        return value
    if default is not None:  # like the shell: the default also replaces an empty value
        return expand(default, environ)
    if value is not None:
        return value
    raise ExpansionError(
        f"environment variable {name} is not set; export {name}, "
        f"or give a default with ${{{name}:-default}}"
    )


def variables_in(text: str) -> list[str]:
    """The names a text refers to: '${A:-${B}}' -> ['A', 'B']."""
    return re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text)
