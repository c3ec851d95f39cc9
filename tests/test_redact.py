"""Passwords never leave gate: URL masking and secret redaction."""

from __future__ import annotations

import pytest

from gate.database.address import ServerAddress, export_environment, parse_server_url
from gate.errors import UsageError
from gate.redact import mask_url, redact, redact_tree


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


@pytest.mark.parametrize(
    "shortened",
    [
        "assert '…unter2Secret' == 'nope'",
        "postgresql://u:Hunter2Se...@h/db",
        "value 'Hunter2...' was cut",
        "value '...ter2Secret' was cut",
    ],
)
def test_a_secret_shortened_by_pytest_is_masked_too(shortened: str) -> None:
    masked = redact(shortened, ["Hunter2Secret"])
    assert "ter2" not in masked and "unt" not in masked.replace("***", "")
    assert "***" in masked


def test_short_pieces_and_pieces_away_from_an_ellipsis_stay() -> None:
    # "Secret" is part of the password, but not next to an ellipsis: ordinary text.
    assert redact("a Secret here...", ["Hunter2Secret"]) == "a Secret here..."
    assert redact("Hun...", ["Hunter2Secret"]) == "Hun..."


def test_a_percent_encoded_secret_is_masked() -> None:
    text = "password part: p%40ss%3Aw%2Frd%21x"
    assert redact(text, ["p@ss:w/rd!x"]) == "password part: ***"


def test_redact_tree_reaches_every_string() -> None:
    tree = {"a": ["x hunter2", ("hunter2",)], "b": {"c": "hunter2!"}, "n": 3, "none": None}
    assert redact_tree(tree, lambda text: redact(text, ["hunter2"])) == {
        "a": ["x ***", ("***",)],
        "b": {"c": "***!"},
        "n": 3,
        "none": None,
    }
