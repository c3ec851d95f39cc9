"""What a config file says and where: plain data plus the line and column of every key and value."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    """A 1-based line and column in the config file."""

    line: int
    col: int


@dataclass(frozen=True)
class ConfigDocument:
    """What a config file says, and where it says it."""

    data: dict[str, Any]
    values: dict[KeyPath, Position] = field(default_factory=dict)
    keys: dict[KeyPath, Position] = field(default_factory=dict)
    # Raw text of plain scalars YAML read as something else (5432, off, 3.12), so that
    # a text setting gets what the user typed rather than str(False).
    texts: dict[KeyPath, str] = field(default_factory=dict)
    # Shown before key paths: ("tool", "gate") for pyproject.toml.
    prefix: KeyPath = ()

    def locate(self, path: KeyPath, *, at_key: bool = False) -> Position | None:
        """The position of path's key or value, else of the nearest enclosing one."""
        if at_key and path in self.keys:
            return self.keys[path]
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get(())


def dotted(path: KeyPath) -> str:
    """('tests', 'paths', 1) -> 'tests.paths[1]'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def format_problem(display: str, where: Position | None, path: KeyPath, message: str) -> str:
    """One error line: 'gate.yaml:14:7: coverage.fail_under: must be at most 100 (got 150)'."""
    head = display if where is None else f"{display}:{where.line}:{where.col}"
    return f"{head}: {dotted(path)}: {message}" if path else f"{head}: {message}"


def display_path(path: Path, cwd: Path) -> str:
    """A path as messages show it: relative to where the user stands, if below it."""
    for base in (cwd, cwd.resolve()):
        for candidate in (path, path.resolve()):
            try:
                return str(candidate.relative_to(base))
            except ValueError:
                continue
    return str(path)
