"""Notices loops gate cannot time (trio, uvloop) by wrapping their entry points once imported."""

from __future__ import annotations

import functools
from typing import Any, Callable, Protocol

from .patch import Patches


class ForeignLoopRecorder(Protocol):
    """What the entry-point wrappers report to (the plugin)."""

    def foreign_loop(self, label: str) -> None: ...


# (module, owner inside it, attribute, label). The interceptors already name a foreign loop
# when a known blocking call runs on it; these wrappers name it even when nothing intercepted
# ran (a CPU stall, an unknown C call, or clean code), so such a test is never silently passed.
# uvloop.Loop is a Python subclass of the Cython loop, so its run_forever can be replaced;
# run_until_complete and uvloop.run go through it.
_ENTRY_POINTS = (
    ("trio", "", "run", "trio (trio.run)"),
    ("trio", "lowlevel", "start_guest_run", "trio (trio.lowlevel.start_guest_run)"),
    ("uvloop", "Loop", "run_forever", "uvloop"),
)


def _announcing(
    original: Callable[..., Any], label: str, recorder: ForeignLoopRecorder
) -> Callable[..., Any]:
    @functools.wraps(original)
    def entry_point(*args: Any, **kwargs: Any) -> Any:
        recorder.foreign_loop(label)
        return original(*args, **kwargs)

    return entry_point


class ForeignLoopWatch:
    """Wraps the entry points of foreign loops; `refresh` catches modules imported since."""

    def __init__(self, recorder: ForeignLoopRecorder) -> None:
        self._recorder = recorder
        self._patches = Patches()
        self._done: set[str] = set()

    def refresh(self) -> None:
        for module_name, owner_name, attribute, label in _ENTRY_POINTS:
            key = f"{module_name}.{owner_name}.{attribute}"
            if key in self._done:
                continue
            wrap = functools.partial(_announcing, label=label, recorder=self._recorder)
            if self._patches.wrap_imported(module_name, owner_name, attribute, wrap):
                self._done.add(key)

    def uninstall(self) -> None:
        self._patches.undo()
        self._done.clear()
