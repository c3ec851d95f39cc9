"""The detector's pure parts: project paths, allow-list matching, deduplication, patches."""

from __future__ import annotations

import importlib
import os
import socket
import sysconfig
import types
from pathlib import Path
from typing import Any

import pytest

from gate.inprocess._gate_pytest.blocking.allowlist import DEFAULT_ALLOW
from gate.inprocess._gate_pytest.blocking.frames import (
    AllowList,
    FrameInfo,
    ProjectPaths,
    is_import_time,
)
from gate.inprocess._gate_pytest.blocking.patch import Patches
from gate.inprocess._gate_pytest.blocking.plugin import Finding

ROOT = "/proj"
STDLIB = sysconfig.get_paths()["stdlib"]
SITE = "/proj/.venv/lib/python3.11/site-packages"


def frame(filename: str, function: str = "f", module: str = "", qualname: str = "") -> FrameInfo:
    return FrameInfo(filename, 1, function, module, qualname or function)


@pytest.mark.parametrize(
    ("filename", "is_project", "shown"),
    [
        ("/proj/app/x.py", True, "app/x.py"),
        (f"{SITE}/starlette/routing.py", False, "starlette/routing.py"),
        (os.path.join(STDLIB, "asyncio", "events.py"), False, "asyncio/events.py"),
        ("<frozen posixpath>", False, "<frozen posixpath>"),
        ("/elsewhere/z.py", False, "/elsewhere/z.py"),
    ],
)
def test_project_paths(filename: str, is_project: bool, shown: str) -> None:
    paths = ProjectPaths(ROOT)
    assert paths.is_project(filename) is is_project
    assert paths.display(filename) == shown


def test_blame_goes_to_the_innermost_project_frame() -> None:
    paths = ProjectPaths(ROOT)
    library, mine, caller = frame(f"{SITE}/lib.py"), frame("/proj/a.py"), frame("/proj/b.py")
    assert paths.blamed([library, mine, caller]) is mine
    assert paths.blamed([library]) is library
    assert paths.blamed([]) is None


NAP = frame("/proj/app/x.py", "nap", "app.x", "Service.nap")
NAP_PY39 = frame("/proj/app/x.py", "nap", "app.x")  # no co_qualname before 3.11
ROUTING = frame(f"{SITE}/starlette/routing.py", "handle", "starlette.routing", "Route.handle")


@pytest.mark.parametrize(
    ("entry", "target", "allowed"),
    [
        ("app.x.Service.nap", NAP, True),
        ("app.x.Service.nap", NAP_PY39, True),
        ("app.x.nap", NAP, True),
        ("app.x.Service", NAP, True),
        ("app.x", NAP, True),
        ("app", NAP, True),
        ("app.*.nap", NAP_PY39, True),
        ("app.x.napper", NAP, False),
        ("app.xy", NAP, False),
        ("app.x.Other.nap", NAP, False),
        ("app/x.py:nap", NAP, True),
        ("./app/x.py:Service.nap", NAP, True),
        ("app/x.py:*", NAP, True),
        ("app/x.py:other", NAP, False),
        ("x.py:nap", NAP, False),
        ("starlette/routing.py:handle", ROUTING, True),
        ("starlette.routing.Route.handle", ROUTING, True),
        ("starlette", NAP, False),
    ],
)
def test_allow_entry_matching(entry: str, target: FrameInfo, allowed: bool) -> None:
    allow = AllowList([entry], ProjectPaths(ROOT))
    assert allow.matches([frame("/proj/test_a.py", "test_a", "test_a"), target]) is allowed


def test_import_time_frames() -> None:
    importing = frame("<frozen importlib._bootstrap>", "_call_with_frames_removed")
    assert is_import_time([NAP, importing])
    assert not is_import_time([NAP, ROUTING])


def _finding(kind: str, call: str | None, duration_ms: float, wall_ms: float) -> Finding:
    run_queue_ms = round(wall_ms - duration_ms, 1)
    return Finding(
        "t.py::t", "call", kind, call, "t.py", 3, duration_ms, (NAP,), None, wall_ms, run_queue_ms
    )


def test_a_call_and_a_stall_at_one_line_merge_into_the_call() -> None:
    call = _finding("call", "time.sleep", 300.1, 330.0)
    stall = _finding("slow", None, 301.4, 320.0)
    for merged in (call.merged(stall), stall.merged(call)):
        assert (merged.kind, merged.call) == ("call", "time.sleep")
        # The longest time, with the wall and run-queue times it was measured from.
        assert (merged.duration_ms, merged.wall_ms, merged.run_queue_ms) == (301.4, 320.0, 18.6)


def test_patches_undo_restores_own_and_inherited_attributes() -> None:
    class Base:
        def inherited(self) -> str:
            return "base"

    class Child(Base):
        def own(self) -> str:
            return "own"

    patches = Patches()
    patches.replace(Child, "inherited", lambda self: "patched")
    patches.replace(Child, "own", lambda self: "patched")
    supported: set[object] = {socket.socket}
    patches.add_to_set(supported, "wrapper")
    assert (Child().inherited(), Child().own(), len(supported)) == ("patched", "patched", 2)
    patches.undo()
    assert "inherited" not in vars(Child)
    assert (Child().inherited(), Child().own(), supported) == ("base", "own", {socket.socket})


def _resolve(dotted: str) -> Any:
    """The object a dotted allow entry names: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            target = getattr(target, name)
        return target
    raise ImportError(dotted)


@pytest.mark.parametrize(("entry", "reason"), DEFAULT_ALLOW, ids=[e for e, _ in DEFAULT_ALLOW])
def test_default_allow_entries_name_real_code_and_say_why(entry: str, reason: str) -> None:
    # A renamed function upstream would silently turn an entry into dead weight, and an entry
    # naming a method by a class that only inherits it would never match the running frame.
    target = _resolve(entry)
    if isinstance(target, types.ModuleType):
        running = frame(f"{SITE}/x.py", "f", target.__name__, "Any.f")
    else:
        code = target.__code__
        running = frame(code.co_filename, code.co_name, target.__module__, target.__qualname__)
    assert AllowList([entry], ProjectPaths(ROOT)).matches([running])
    assert len(reason.split()) >= 8, "each entry says why it is safe to allow"


def test_docs_list_every_default_allow_entry_with_its_reason() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "blocking.md").read_text()
    for entry, reason in DEFAULT_ALLOW:
        assert f"| `{entry}` | {reason} |" in docs.splitlines()
