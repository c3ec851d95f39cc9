"""Settings from the environment: defaults, parsing, and refusing unsafe values."""

from __future__ import annotations

import pytest

from sample_app.core.config import DEFAULT_SECRET_KEY, Settings, SettingsError

URL = "postgresql+asyncpg://app@db.internal:5432/app"
STRONG_KEY = "k" * 32


def test_production_defaults_are_strong() -> None:
    settings = Settings.from_env({"DATABASE_URL": URL, "SECRET_KEY": STRONG_KEY})

    assert settings == Settings(
        database_url=URL,
        secret_key=STRONG_KEY,
        environment="production",
        access_token_expire_minutes=30,
        argon2_time_cost=3,
        argon2_memory_cost=65536,
        argon2_parallelism=4,
    )


def test_every_setting_is_read_from_its_variable() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": URL,
            "SECRET_KEY": STRONG_KEY,
            "ENVIRONMENT": "production",
            "ACCESS_TOKEN_EXPIRE_MINUTES": "5",
            "ARGON2_TIME_COST": "4",
            "ARGON2_MEMORY_COST": "131072",
            "ARGON2_PARALLELISM": "2",
        }
    )

    assert (
        settings.access_token_expire_minutes,
        settings.argon2_time_cost,
        settings.argon2_memory_cost,
        settings.argon2_parallelism,
    ) == (5, 4, 131072, 2)


@pytest.mark.parametrize("secret_key", [None, "short"])
def test_test_environment_accepts_weak_key_and_cheap_hashing(secret_key: str | None) -> None:
    environ = {"DATABASE_URL": URL, "ENVIRONMENT": "test", "ARGON2_MEMORY_COST": "8"}
    if secret_key is not None:
        environ["SECRET_KEY"] = secret_key

    settings = Settings.from_env(environ)

    assert settings.secret_key == (secret_key or DEFAULT_SECRET_KEY)
    assert settings.argon2_memory_cost == 8


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        pytest.param({}, "DATABASE_URL is not set", id="no-database-url"),
        pytest.param(
            {"DATABASE_URL": "postgresql://app@db/app", "SECRET_KEY": STRONG_KEY},
            "DATABASE_URL must start with postgresql+asyncpg://",
            id="sync-driver-url",
        ),
        pytest.param(
            {"DATABASE_URL": URL, "SECRET_KEY": STRONG_KEY, "ENVIRONMENT": "staging"},
            "ENVIRONMENT must be one of production, test (got 'staging')",
            id="unknown-environment",
        ),
        pytest.param({"DATABASE_URL": URL}, "SECRET_KEY is unset", id="default-secret-key"),
        pytest.param(
            {"DATABASE_URL": URL, "SECRET_KEY": DEFAULT_SECRET_KEY},
            "SECRET_KEY is unset, the public default",
            id="explicit-default-secret-key",
        ),
        pytest.param(
            {"DATABASE_URL": URL, "SECRET_KEY": "k" * 31},
            "shorter than 32 characters",
            id="short-secret-key",
        ),
        pytest.param(
            {"DATABASE_URL": URL, "SECRET_KEY": STRONG_KEY, "ACCESS_TOKEN_EXPIRE_MINUTES": "x"},
            "ACCESS_TOKEN_EXPIRE_MINUTES must be a positive integer (got 'x')",
            id="expiry-not-a-number",
        ),
        pytest.param(
            {"DATABASE_URL": URL, "SECRET_KEY": STRONG_KEY, "ACCESS_TOKEN_EXPIRE_MINUTES": "0"},
            "ACCESS_TOKEN_EXPIRE_MINUTES must be a positive integer (got '0')",
            id="expiry-zero",
        ),
        pytest.param(
            {"DATABASE_URL": URL, "SECRET_KEY": STRONG_KEY, "ARGON2_TIME_COST": "1"},
            "ARGON2_TIME_COST=1 is below the production floor of 2",
            id="cheap-time-cost",
        ),
        pytest.param(
            {"DATABASE_URL": URL, "SECRET_KEY": STRONG_KEY, "ARGON2_MEMORY_COST": "8"},
            "ARGON2_MEMORY_COST=8 is below the production floor of 19456",
            id="cheap-memory-cost",
        ),
    ],
)
def test_unsafe_or_invalid_environment_is_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(environ)

    assert message in str(raised.value)


def test_a_refused_database_url_is_not_echoed() -> None:
    environ = {"DATABASE_URL": "postgresql://app:TopSecretPw@db/app", "SECRET_KEY": STRONG_KEY}
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(environ)

    assert str(raised.value) == (
        "DATABASE_URL must start with postgresql+asyncpg:// (got postgresql://...)"
    )
