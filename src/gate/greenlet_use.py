"""Whether the project's own code runs in greenlets (async SQLAlchemy, gevent, greenlet)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

_GREENLET_CODE = re.compile(
    # async SQLAlchemy, also through a wrapper (sqlmodel.ext.asyncio, AsyncSession)
    r"\.ext\.asyncio|create_async_engine|async_engine_from_config|AsyncSession|async_sessionmaker"
    r"|^\s*(?:from|import)\s+"
    r"(?:greenlet|gevent|eventlet)\b",
    re.MULTILINE,
)
_MAX_FILES = 2000
_MAX_BYTES = 256 * 1024


def uses_greenlets(root: Path, sources: Sequence[str]) -> bool:
    """True when code under the measured sources imports what runs in greenlets."""
    seen = 0
    for source in sources:
        base = root / source.replace(".", "/") if not (root / source).exists() else root / source
        for folder in (base, root / "src" / source):
            if folder.is_file() and folder.suffix == ".py":
                files = [str(folder)]
            elif folder.is_dir():
                files = [
                    os.path.join(parent, name)
                    for parent, _, names in os.walk(folder)
                    for name in names
                    if name.endswith(".py")
                ]
            else:
                continue
            for name in files:
                seen += 1
                if seen > _MAX_FILES:
                    return False
                try:
                    with open(name, "rb") as stream:
                        text = stream.read(_MAX_BYTES).decode("utf-8", "replace")
                except OSError:
                    continue
                if _GREENLET_CODE.search(text):
                    return True
    return False
