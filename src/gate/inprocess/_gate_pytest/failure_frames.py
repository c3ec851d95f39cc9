"""A failure's traceback as [file, line] pairs, innermost first: gate picks the project's line.

The plugin only records; gate decides which frame is the project's (it knows root and can see
which files exist there). What only this interpreter knows is sent along: where its standard
library and installed packages live.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from types import FrameType, TracebackType
from typing import Any

# A RecursionError's traceback runs a thousand frames deep; its innermost ones say where.
MAX_FRAMES = 200

_OWN_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def library_dirs() -> list[str]:
    """Folders holding this interpreter's standard library, installed packages and prefixes."""
    paths = sysconfig.get_paths()
    found = {paths.get(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")}
    found |= {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}
    return sorted({os.path.normpath(os.path.abspath(path)) for path in found if path})


def _hidden(frame: FrameType, excinfo: Any) -> bool:
    """pytest's rule: a frame whose locals (else globals) set __tracebackhide__ is not blamed,
    so an assertion helper that hides itself points at its caller, as pytest's output does."""
    for namespace in (frame.f_locals, frame.f_globals):
        if "__tracebackhide__" in namespace:
            hide = namespace["__tracebackhide__"]
            return bool(hide(excinfo) if callable(hide) else hide)
    return False


def _absolute(filename: str, base_dir: str) -> str:
    if filename.startswith("<"):  # <frozen os>, <string>: no file anywhere
        return filename
    return os.path.normpath(os.path.join(base_dir, filename))


def failure_frames(excinfo: Any, base_dir: str) -> list[list[Any]]:
    """The frames of excinfo's traceback, innermost first, without hidden ones and gate's own
    wrappers (a timeout raised in one must blame the test). Relative file names (a relative
    sys.path entry) are taken from base_dir, the folder pytest was started in."""
    tb: TracebackType | None = excinfo.tb
    frames: list[list[Any]] = []  # [path, line]: lists, as JSON gives them back
    while tb is not None:
        frame = tb.tb_frame
        filename = frame.f_code.co_filename
        line = tb.tb_lineno
        if (
            isinstance(line, int)
            and not filename.startswith(_OWN_DIR)
            and not _hidden(frame, excinfo)
        ):
            frames.append([_absolute(filename, base_dir), line])
        tb = tb.tb_next
    frames.reverse()
    return frames[:MAX_FRAMES]
