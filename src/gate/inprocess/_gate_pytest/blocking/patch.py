"""Reversible attribute patches: every change to a module or class is undone in reverse order."""

from __future__ import annotations

import sys
from typing import Any, Callable

_MISSING = object()


class Patches:
    """Remembers what it replaced so `undo` leaves objects exactly as they were."""

    def __init__(self) -> None:
        self._done: list[tuple[object, str, object]] = []
        self._set_additions: list[tuple[set[Any], object]] = []

    def replace(self, owner: object, name: str, value: object) -> None:
        # Classes may inherit the attribute (socket.socket.recv comes from _socket.socket):
        # remember whether it was the owner's own, so undo deletes rather than shadows.
        own = vars(owner).get(name, _MISSING) if hasattr(owner, "__dict__") else _MISSING
        setattr(owner, name, value)
        self._done.append((owner, name, own))

    def wrap_imported(
        self, module_name: str, owner_name: str, attribute: str, wrap: Callable[[Any], Any]
    ) -> bool:
        """Replaces module.owner.attribute (module.attribute when owner_name is "") with
        wrap(original) once the project has imported the module; False while it has not,
        so that a caller retries later instead of importing a framework itself."""
        module = sys.modules.get(module_name)
        if module is None:
            return False
        owner = getattr(module, owner_name, None) if owner_name else module
        original = getattr(owner, attribute, None)
        if owner is not None and callable(original):
            self.replace(owner, attribute, wrap(original))
        return True

    def add_to_set(self, target: set[Any], value: object) -> None:
        if value not in target:
            target.add(value)
            self._set_additions.append((target, value))

    def undo(self) -> None:
        for owner, name, own in reversed(self._done):
            if own is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, own)
        for target, value in self._set_additions:
            target.discard(value)
        self._done.clear()
        self._set_additions.clear()
