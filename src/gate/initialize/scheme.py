"""The database URL scheme a project needs, from the driver its code imports."""

from __future__ import annotations

import re
from pathlib import Path

from gate.files import read_head
from gate.initialize.scan import DEPENDENCY_FILES


def choose_scheme(root: Path, project: Path, sources: dict[str, str]) -> str:
    """The URL scheme for the driver the code imports; the project's .env example decides
    when the code says nothing (or both ways)."""
    declared = ""
    for folder in dict.fromkeys((project, root)):
        paths = [folder / name for name in DEPENDENCY_FILES]
        paths += sorted(folder.glob("requirements*.txt")) + sorted(
            folder.glob("requirements/*.txt")
        )
        for path in paths:
            declared += read_head(path)
    code = "\n".join(text for path, text in sources.items() if path.endswith(".py"))
    imported = set(_IMPORT.findall(code))
    shown = _shown_scheme(sources)
    if imported & {"sqlalchemy", "sqlmodel"}:
        asynchronous = bool(_ASYNC_SQLALCHEMY.search(code))
        synchronous = bool(_SYNC_SQLALCHEMY.search(code))
        if shown is not None and (asynchronous == synchronous):
            return shown
        if asynchronous:
            if "psycopg" in imported or (
                re.search(r"\bpsycopg\b(?!2)", declared) and not re.search(r"\basyncpg\b", declared)
            ):
                return "postgresql+psycopg"
            return "postgresql+asyncpg"
        # Sync SQLAlchemy: psycopg2 is its default for postgresql://; psycopg 3 is named.
        if "psycopg" in imported or (
            re.search(r"\bpsycopg\b(?!2)", declared) and not re.search(r"\bpsycopg2", declared)
        ):
            return "postgresql+psycopg"
        return "postgresql"
    if imported & {"asyncpg", "psycopg", "psycopg2", "django"}:
        # asyncpg, psycopg and libpq take nothing but postgresql://.
        return "postgresql"
    if shown is not None:
        return shown
    # No code yet: what the dependency files declare.
    if not re.search(r"\b(sqlalchemy|sqlmodel)\b", declared, re.IGNORECASE):
        return "postgresql"
    if re.search(r"\basyncpg\b", declared):
        return "postgresql+asyncpg"
    if re.search(r"\bpsycopg\b", declared):  # psycopg 3; psycopg2 is SQLAlchemy's default anyway
        return "postgresql+psycopg"
    return "postgresql"


_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", re.MULTILINE)


_ASYNC_SQLALCHEMY = re.compile(r"\bcreate_async_engine\b|\bsqlalchemy\.ext\.asyncio\b")


_SYNC_SQLALCHEMY = re.compile(r"\b(?:create_engine|engine_from_config)\(")


# DATABASE_URL=postgresql+asyncpg://... in an .env example: the scheme only, never the rest.
_ENV_URL_SCHEME = re.compile(
    r"^\s*(?:export\s+)?\w*(?:DATABASE|DB|POSTGRES|SQLALCHEMY|DSN)\w*\s*=\s*[\"']?"
    r"(postgres(?:ql)?(?:\+\w+)?)://",
    re.MULTILINE | re.IGNORECASE,
)


def _shown_scheme(sources: dict[str, str]) -> str | None:
    for path, text in sources.items():
        if not path.endswith(".py") and (match := _ENV_URL_SCHEME.search(text)):
            scheme = match.group(1).lower()
            return "postgresql" + scheme.partition("+")[1] + scheme.partition("+")[2]
    return None
