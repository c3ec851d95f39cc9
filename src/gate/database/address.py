"""PostgreSQL addresses: parse a server URL, render URLs, and fill database.export templates."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import quote, unquote, urlsplit

from gate.errors import UsageError
from gate.redact import mask_url

#: Placeholders of database.export. server_url is the server without a database name, for
#: suites that create their own databases (the role then needs CREATEDB). database_role is
#: the database's name for a variable code uses as both its user and its database name
#: (docker-compose's postgres image names the database after the user): gate then makes a
#: login role of that name for each database (database/server.py, database_role).
EXPORT_FIELDS = (
    "url", "host", "port", "user", "password", "database", "server_url", "database_role"
)  # fmt: skip
DATABASE_ROLE = "{database_role}"


def wants_database_roles(templates: Mapping[str, str]) -> bool:
    """database.export asks for a login role named after each database."""
    return any(DATABASE_ROLE in template for template in templates.values())


@dataclass(frozen=True)
class ServerAddress:
    """Where a PostgreSQL server listens and who gate is there; database may be empty."""

    host: str
    port: int
    user: str
    password: str = ""
    database: str = ""

    def with_database(self, database: str) -> ServerAddress:
        return replace(self, database=database)

    def url(self, scheme: str = "postgresql") -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{auth}@{host}:{self.port}/{quote(self.database, safe='')}"

    def server_url(self, scheme: str = "postgresql") -> str:
        """The server alone: no database name, not even a trailing slash."""
        return self.url(scheme).rsplit("/", 1)[0]

    def masked(self) -> str:
        return mask_url(self.url())

    def conninfo(self) -> dict[str, str]:
        """Keyword arguments for psycopg.connect."""
        info: dict[str, str] = {
            "host": self.host,
            "port": str(self.port),
            "user": self.user,
            "dbname": self.database or "postgres",
        }
        if self.password:
            info["password"] = self.password
        return info


def parse_server_url(url: str, *, source: str = "database.url") -> ServerAddress:
    """Read a postgresql:// (or postgresql+driver://) URL; a missing database means 'postgres'."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgresql", "postgres"):
        raise UsageError(
            f"{source}: expected a postgresql:// URL (got {mask_url(url)!r}); "
            "write it like postgresql://user@host:5432/postgres (user:password@ when the role "
            "has a password)"
        )
    try:
        port = parts.port or 5432
    except ValueError as exc:
        raise UsageError(f"{source}: the port in {mask_url(url)!r} is not a number") from exc
    return ServerAddress(
        host=parts.hostname or "127.0.0.1",
        port=port,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
        database=unquote(parts.path.lstrip("/")),
    )


def export_environment(
    templates: Mapping[str, str], address: ServerAddress, scheme: str
) -> dict[str, str]:
    """Fill each database.export template; {url} uses database.scheme."""
    values = {
        "url": address.url(scheme),
        "host": address.host,
        "port": str(address.port),
        "user": address.user,
        "password": address.password,
        "database": address.database,
        "server_url": address.server_url(scheme),
        "database_role": address.database,
    }
    formatter = string.Formatter()
    return {name: formatter.vformat(template, (), values) for name, template in templates.items()}
