"""Reading a project's files for gate init: which to look at, and how much of each."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

# Folders that hold tools, caches or other people's code, never the project's own.
NOT_PROJECT = {
    "node_modules",
    "site-packages",
    "__pycache__",
    "build",
    "dist",
    "venv",
    "env",
    "htmlcov",
}


NOT_PACKAGES = {"tests", "test", "testing", "docs", "scripts", "migrations", "alembic"}


PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "alembic.ini")


DEPENDENCY_FILES = (
    "pyproject.toml",
    "uv.lock",
    "poetry.lock",
    "Pipfile",
    "Pipfile.lock",
    "setup.cfg",
    "setup.py",
)


# Reading a little is enough to spot a settings class; a huge tree must not make init slow.
_MAX_SCANNED_FILES = 2000


def scanned_files(root: Path, project: Path) -> Iterator[Path]:
    for folder in dict.fromkeys((root, project)):
        yield from sorted(path for path in folder.glob(".env*") if path.is_file())
    count = 0
    for parent, subfolders, files in os.walk(project):
        subfolders[:] = sorted(
            name for name in subfolders if not name.startswith(".") and name not in NOT_PROJECT
        )
        for name in sorted(files):
            if name.endswith(".py"):
                count += 1
                if count > _MAX_SCANNED_FILES:
                    return
                yield Path(parent) / name
