"""Where a failed test is reported: the innermost traceback frame in the project's own files.

Every report (terminal, JSON, GitHub annotations, GitLab code quality, Markdown) points at the
place chosen here, so they agree. A frame counts when its file lies under root, outside
installed packages and the test interpreter's standard library, and exists: an annotation on
`<frozen os>` or on a library's file helps no one and GitHub drops it.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from gate.results import Location, TestCase, TestResults

THIRD_PARTY_DIRS = frozenset({"site-packages", "dist-packages"})


def relative_to_root(path: str, root: str) -> str | None:
    """path relative to root when it lies under root and outside installed packages."""
    normal = posixpath.normpath(posixpath.join(root, path))
    relative = posixpath.relpath(normal, posixpath.normpath(root))
    parts = PurePosixPath(relative).parts
    if not parts or parts[0] == ".." or THIRD_PARTY_DIRS.intersection(parts):
        return None
    return relative


def _under(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip("/") + "/")


def _in_library(path: str, root: str, library_dirs: Sequence[str]) -> bool:
    # A folder that holds root itself (a base prefix of /usr, root /usr/src/app) says nothing.
    return any(_under(path, d) and not (_under(root, d) or root == d) for d in library_dirs)


def project_file(path: str, root: str, library_dirs: Sequence[str] = ()) -> str | None:
    """path relative to root when it is a file of the project's own, else None."""
    if path.startswith("<"):  # <frozen os>, <string>
        return None
    root = posixpath.normpath(root)
    absolute = posixpath.normpath(posixpath.join(root, path))
    relative = relative_to_root(absolute, root)
    if relative is None:
        # Through a symlink: the test process may have seen /private/tmp for /tmp.
        real_root, real_path = os.path.realpath(root), os.path.realpath(absolute)
        relative = relative_to_root(real_path, real_root)
        root, absolute = real_root, real_path
    if relative is None or _in_library(absolute, root, library_dirs):
        return None
    return relative if os.path.isfile(absolute) else None


def failure_location(
    case: TestCase, root: str, rootdir: str | None, library_dirs: Sequence[str] = ()
) -> Location | None:
    """The innermost project frame; else the test's own file and line (pytest's item location,
    relative to pytest's rootdir); None when neither is a file under root."""
    for path, line in case.frames:
        relative = project_file(path, root, library_dirs)
        if relative is not None:
            return Location(relative, line)
    base = rootdir or root
    if case.file:
        relative = project_file(posixpath.join(base, case.file), root, library_dirs)
        return None if relative is None else Location(relative, case.line)
    path = case.nodeid.partition("::")[0]  # a test stopped before pytest reported on it
    relative = project_file(posixpath.join(base, path), root, library_dirs) if path else None
    return None if relative is None else Location(relative, None)


def locate_failures(results: TestResults, root: Path) -> TestResults:
    """Sets the location of every failed test; looks at which files exist under root."""
    for case in results.bad_cases:
        case.location = failure_location(case, str(root), results.rootdir, results.library_dirs)
    return results
