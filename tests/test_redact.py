"""Passwords never leave gate: URL masking and secret redaction."""

from __future__ import annotations

import pytest

from gate.database.address import ServerAddress, export_environment, parse_server_url
from gate.errors import UsageError
from gate.redact import mask_url, redact


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql+asyncpg://u:p%40ss@h/db", "postgresql+asyncpg://u:***@h/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("see postgres://a:b@c/d and x", "see postgres://a:***@c/d and x"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_redact_masks_known_secrets_in_free_text() -> None:
    text = "FATAL: password authentication failed for hunter2 at postgresql://u:hunter2@h/d"
    assert redact(text, ["hunter2"]) == (
        "FATAL: password authentication failed for *** at postgresql://u:***@h/d"
    )


def test_parse_and_render_round_trip_with_special_characters() -> None:
    address = parse_server_url("postgresql+psycopg://app:p%40ss%2Fw@db.local:6543/app_db")
    assert address == ServerAddress("db.local", 6543, "app", "p@ss/w", "app_db")
    assert address.url("postgresql") == "postgresql://app:p%40ss%2Fw@db.local:6543/app_db"
    assert parse_server_url("postgresql://h").database == ""


def test_non_postgres_url_is_a_usage_error_without_the_password() -> None:
    with pytest.raises(UsageError) as caught:
        parse_server_url("mysql://root:topsecret@h/db")
    assert "topsecret" not in caught.value.message
    assert "expected a postgresql:// URL" in caught.value.message


def test_export_templates_serve_every_shape() -> None:
    address = ServerAddress("127.0.0.1", 5433, "postgres", "pw", "gate_x")
    env = export_environment(
        {
            "DATABASE_URL": "{url}",
            "POSTGRES_SERVER": "{host}",
            "POSTGRES_PORT": "{port}",
            "POSTGRES_USER": "{user}",
            "POSTGRES_PASSWORD": "{password}",
            "POSTGRES_DB": "{database}",
            "DATABASE__HOSTNAME": "{host}:{port}",
            "DATABASE_SERVER_URL": "{server_url}",
        },
        address,
        "postgresql+asyncpg",
    )
    assert env == {
        "DATABASE_URL": "postgresql+asyncpg://postgres:pw@127.0.0.1:5433/gate_x",
        "POSTGRES_SERVER": "127.0.0.1",
        "POSTGRES_PORT": "5433",
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": "pw",
        "POSTGRES_DB": "gate_x",
        "DATABASE__HOSTNAME": "127.0.0.1:5433",
        "DATABASE_SERVER_URL": "postgresql+asyncpg://postgres:pw@127.0.0.1:5433",
    }
