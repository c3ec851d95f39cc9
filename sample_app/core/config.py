"""Settings read from the environment, refusing unsafe values outside tests."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Environment = Literal["production", "test"]
_ENVIRONMENTS: dict[str, Environment] = {"production": "production", "test": "test"}

DATABASE_URL_SCHEME = "postgresql+asyncpg://"
# Used when SECRET_KEY is unset; long enough for HS256 but public, so refused outside tests.
DEFAULT_SECRET_KEY = "insecure-default-secret-key-for-tests-only"
MIN_SECRET_KEY_LENGTH = 32
# OWASP's minimum argon2id configuration (m=19 MiB, t=2, p=1); cheaper only under ENVIRONMENT=test.
ARGON2_FLOOR = {"ARGON2_TIME_COST": 2, "ARGON2_MEMORY_COST": 19456, "ARGON2_PARALLELISM": 1}


class SettingsError(Exception):
    """The environment does not describe a safe, usable configuration."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    database_url: str
    secret_key: str = DEFAULT_SECRET_KEY
    environment: Environment = "production"
    access_token_expire_minutes: int = 30
    # argon2-cffi's defaults (RFC 9106 "low memory"): 3 passes over 64 MiB with 4 lanes.
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536
    argon2_parallelism: int = 4

    def __post_init__(self) -> None:
        if not self.database_url.startswith(DATABASE_URL_SCHEME):
            shown = urlsplit(self.database_url).scheme or "no scheme"
            raise SettingsError(  # the scheme only: the rest of the URL may hold a password
                f"DATABASE_URL must start with {DATABASE_URL_SCHEME} (got {shown}://...)"
            )
        if self.environment == "test":
            return
        if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
            raise SettingsError(
                f"SECRET_KEY is unset, the public default, or shorter than {MIN_SECRET_KEY_LENGTH}"
                " characters. Set a random one, e.g. from"
                " `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
                " (only ENVIRONMENT=test accepts a weak key)."
            )
        costs = {
            "ARGON2_TIME_COST": self.argon2_time_cost,
            "ARGON2_MEMORY_COST": self.argon2_memory_cost,
            "ARGON2_PARALLELISM": self.argon2_parallelism,
        }
        for name, floor in ARGON2_FLOOR.items():
            if costs[name] < floor:
                raise SettingsError(
                    f"{name}={costs[name]} is below the production floor of {floor}"
                    " (only ENVIRONMENT=test accepts cheaper password hashing)."
                )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Build settings from environment variables; raise SettingsError naming the bad one."""
        database_url = environ.get("DATABASE_URL", "")
        if not database_url:
            raise SettingsError(
                "DATABASE_URL is not set; point it at a migrated PostgreSQL database"
                f" ({DATABASE_URL_SCHEME}user@host:port/name)."
            )
        raw_environment = environ.get("ENVIRONMENT", cls.environment)
        environment = _ENVIRONMENTS.get(raw_environment)
        if environment is None:
            allowed = ", ".join(_ENVIRONMENTS)
            raise SettingsError(f"ENVIRONMENT must be one of {allowed} (got {raw_environment!r})")
        # Class attributes of a dataclass hold the field defaults, so each default lives once.
        return cls(
            database_url=database_url,
            secret_key=environ.get("SECRET_KEY", cls.secret_key),
            environment=environment,
            access_token_expire_minutes=_positive_int(
                environ, "ACCESS_TOKEN_EXPIRE_MINUTES", cls.access_token_expire_minutes
            ),
            argon2_time_cost=_positive_int(environ, "ARGON2_TIME_COST", cls.argon2_time_cost),
            argon2_memory_cost=_positive_int(environ, "ARGON2_MEMORY_COST", cls.argon2_memory_cost),
            argon2_parallelism=_positive_int(environ, "ARGON2_PARALLELISM", cls.argon2_parallelism),
        )


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise SettingsError(f"{name} must be a positive integer (got {raw!r})")
    return value
