"""Stack frames of a blocking finding: capture, the project-path rule and allow-list matching."""

from __future__ import annotations

import fnmatch
import inspect
import os
import sys
import sysconfig
from collections.abc import Sequence
from types import CodeType, FrameType
from typing import NamedTuple

# Deep enough for framework stacks (FastAPI middleware chains run ~40 frames deep).
MAX_FRAMES = 80

_IMPORT_MODULES = frozenset(
    {
        "importlib._bootstrap",
        "importlib._bootstrap_external",
        "_frozen_importlib",
        "_frozen_importlib_external",
    }
)
_PACKAGE_DIRS = ("site-packages", "dist-packages")
_ASYNC_FLAGS = inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR | inspect.CO_ITERABLE_COROUTINE


class FrameInfo(NamedTuple):
    """One frame, copied out of the live frame so no frame object outlives the sample."""

    filename: str
    line: int
    function: str
    module: str
    qualname: str
    # A coroutine or async generator: a project line awaiting a library's async API that
    # blocks inside is the library's defect, not a line the project can change.
    is_async: bool = False


def capture(frame: FrameType | None, stop: CodeType, skip_files: frozenset[str]) -> list[FrameInfo]:
    """Frames from `frame` outwards, up to (not including) the frame running `stop`."""
    frames: list[FrameInfo] = []
    while frame is not None and len(frames) < MAX_FRAMES:
        code = frame.f_code
        if code is stop:
            break
        if code.co_filename not in skip_files:
            module = frame.f_globals.get("__name__")
            frames.append(
                FrameInfo(
                    code.co_filename,
                    frame.f_lineno or code.co_firstlineno,
                    code.co_name,
                    module if isinstance(module, str) else "",
                    # co_qualname is 3.11+; the bare name is the best 3.9/3.10 can do.
                    getattr(code, "co_qualname", code.co_name),
                    bool(code.co_flags & _ASYNC_FLAGS),  # inline: samples are taken often
                )
            )
        frame = frame.f_back
    return frames


def is_async(code: CodeType) -> bool:
    return bool(code.co_flags & _ASYNC_FLAGS)


def is_import_time(stack: Sequence[FrameInfo]) -> bool:
    """True when the block happens while a module is being imported (not a finding)."""
    return any(
        f.module in _IMPORT_MODULES or f.filename.startswith("<frozen importlib") for f in stack
    )


def _norm(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


class ProjectPaths:
    """Decides which files are the project's own code and how to print any file's path."""

    def __init__(self, root: str) -> None:
        self.root = _norm(root)
        self._roots = {self.root, _norm(os.path.realpath(root))}
        prefixes = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}
        # A virtualenv may live inside root (ROOT/.venv): its files are never project code.
        self._foreign = tuple(
            _norm(p) + os.sep for p in prefixes if not self.root.startswith(_norm(p) + os.sep)
        )
        self._stdlib = _norm(sysconfig.get_paths()["stdlib"]) + os.sep
        self._project: dict[str, bool] = {}
        self._display: dict[str, str] = {}

    def _under_root(self, path: str) -> str | None:
        for root in self._roots:
            if path.startswith(root + os.sep):
                return root
        return None

    def is_project(self, filename: str) -> bool:
        cached = self._project.get(filename)
        if cached is None:
            path = _norm(filename)
            parts = path.split(os.sep)
            cached = (
                not filename.startswith("<")
                and self._under_root(path) is not None
                and not path.startswith(self._foreign)
                and not any(d in parts for d in _PACKAGE_DIRS)
            )
            self._project[filename] = cached
        return cached

    def display(self, filename: str) -> str:
        """Root-relative for the project; after site-packages/ or the stdlib dir otherwise."""
        shown = self._display.get(filename)
        if shown is None:
            shown = self._display_uncached(filename)
            self._display[filename] = shown
        return shown

    def _display_uncached(self, filename: str) -> str:
        if filename.startswith("<"):
            return filename
        path = _norm(filename)
        root = self._under_root(path)
        if self.is_project(filename) and root is not None:
            return os.path.relpath(path, root).replace(os.sep, "/")
        for marker in _PACKAGE_DIRS:
            _head, sep, tail = path.rpartition(os.sep + marker + os.sep)
            if sep:
                return tail.replace(os.sep, "/")
        if path.startswith(self._stdlib):
            return path[len(self._stdlib) :].replace(os.sep, "/")
        if root is not None:
            return os.path.relpath(path, root).replace(os.sep, "/")
        return filename

    def blamed(self, stack: Sequence[FrameInfo]) -> FrameInfo | None:
        """The innermost project frame, else the innermost frame at all."""
        for frame in stack:
            if self.is_project(frame.filename):
                return frame
        return stack[0] if stack else None


class AllowList:
    """Matches allow entries: "package.module.function" or "path/to/file.py:function"."""

    def __init__(self, entries: Sequence[str], paths: ProjectPaths) -> None:
        self._paths = paths
        self._dotted: list[str] = []
        self._files: list[tuple[str, str]] = []
        self._seen: dict[FrameInfo, bool] = {}
        for raw in entries:
            entry = raw.strip()
            left, sep, right = entry.rpartition(":")
            if sep and left.endswith(".py"):
                path = left.replace("\\", "/")
                self._files.append((path[2:] if path.startswith("./") else path, right))
            elif entry:
                self._dotted.append(entry)

    def matches(self, stack: Sequence[FrameInfo]) -> bool:
        return any(self._frame_matches(frame) for frame in stack)

    def _frame_matches(self, frame: FrameInfo) -> bool:
        # Cached: a hot loop repeats the same frames for every call it makes.
        known = self._seen.get(frame)
        if known is None:
            known = any(_dotted_match(e, frame) for e in self._dotted) or any(
                self._file_match(path, func, frame) for path, func in self._files
            )
            self._seen[frame] = known
        return known

    def _file_match(self, path: str, func: str, frame: FrameInfo) -> bool:
        if func not in ("", "*") and not (
            fnmatch.fnmatchcase(frame.function, func) or fnmatch.fnmatchcase(frame.qualname, func)
        ):
            return False
        # Paths as the report prints them: root-relative for the project, from the package
        # folder for installed libraries ("starlette/routing.py"), absolute elsewhere.
        shown = self._paths.display(frame.filename)
        return shown == path or fnmatch.fnmatchcase(shown, path)


def _dotted_match(entry: str, frame: FrameInfo) -> bool:
    module, qualified = frame.module, f"{frame.module}.{frame.qualname}"
    if not module:
        return False
    if any(c in entry for c in "*?["):
        return fnmatch.fnmatchcase(qualified, entry) or fnmatch.fnmatchcase(module, entry)
    # A module or package entry covers everything in it; a class entry covers its methods.
    if entry == module or module.startswith(entry + "."):
        return True
    if qualified == entry or qualified.startswith(entry + "."):
        return True
    if entry == f"{module}.{frame.function}":
        return True
    # Before 3.11 there is no co_qualname, so "pkg.mod.Class.method" can only be
    # checked by its module and its last part.
    return (
        frame.qualname == frame.function
        and entry.startswith(module + ".")
        and entry.rsplit(".", 1)[1] == frame.function
    )
