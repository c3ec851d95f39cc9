"""POST /auth/register and POST /auth/login, through HTTP."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from sample_app.core.config import Settings
from sample_app.core.security import read_access_token
from sample_app.models import User
from sample_app.tests.support import BAD_CREDENTIALS, PASSWORD, FrozenClock

pytestmark = pytest.mark.asyncio(loop_scope="session")


def validation_errors(response: Response) -> list[dict[str, object]]:
    """The stable part of a 422 body: where each error is and what kind it is."""
    return [{"type": e["type"], "loc": e["loc"]} for e in response.json()["detail"]]


async def test_register_returns_id_and_normalised_email_only(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    response = await client.post(
        "/auth/register", json={"email": " Alice@Example.COM ", "password": PASSWORD}
    )

    assert response.status_code == 201
    body = response.json()
    assert body == {"id": body["id"], "email": "alice@example.com"}
    stored = await db_session.get(User, uuid.UUID(body["id"]))
    assert stored is not None
    assert stored.email == "alice@example.com"
    assert stored.password_hash not in response.text
    assert PASSWORD not in response.text


async def test_register_accepts_a_password_of_exactly_eight_characters(
    client: AsyncClient,
) -> None:
    response = await client.post(
        "/auth/register", json={"email": "eight@example.com", "password": "12345678"}
    )

    assert response.status_code == 201


async def test_register_taken_email_in_other_case_is_409(client: AsyncClient, user: User) -> None:
    response = await client.post(
        "/auth/register", json={"email": "ALICE@Example.com", "password": "another password"}
    )

    assert response.status_code == 409
    assert response.json() == {"detail": "Email already registered"}


async def test_register_invalid_email_is_422(client: AsyncClient) -> None:
    response = await client.post(
        "/auth/register", json={"email": "not-an-email", "password": PASSWORD}
    )

    assert response.status_code == 422
    assert validation_errors(response) == [{"type": "value_error", "loc": ["body", "email"]}]
    assert "value is not a valid email address" in response.json()["detail"][0]["msg"]


async def test_register_short_password_is_422_and_not_echoed(client: AsyncClient) -> None:
    response = await client.post(
        "/auth/register", json={"email": "bob@example.com", "password": "1234567"}
    )

    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "string_too_short",
                "loc": ["body", "password"],
                "msg": "String should have at least 8 characters",
                "ctx": {"min_length": 8},
            }
        ]
    }


async def test_register_password_over_the_length_limit_is_422(client: AsyncClient) -> None:
    response = await client.post(
        "/auth/register", json={"email": "bob@example.com", "password": "x" * 1025}
    )

    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "string_too_long",
                "loc": ["body", "password"],
                "msg": "String should have at most 1024 characters",
                "ctx": {"max_length": 1024},
            }
        ]
    }


async def test_register_without_fields_is_422(client: AsyncClient) -> None:
    response = await client.post("/auth/register", json={})

    assert response.status_code == 422
    assert validation_errors(response) == [
        {"type": "missing", "loc": ["body", "email"]},
        {"type": "missing", "loc": ["body", "password"]},
    ]


async def test_concurrent_registrations_of_one_email_give_one_201_and_one_409(
    committing_client: AsyncClient, engine: AsyncEngine, fresh_email: str
) -> None:
    # Two requests at once, each on its own connection: only the unique index can
    # separate them, and the loser must get a 409, never a 500.
    responses = await asyncio.gather(
        committing_client.post("/auth/register", json={"email": fresh_email, "password": PASSWORD}),
        committing_client.post(
            "/auth/register", json={"email": fresh_email.upper(), "password": PASSWORD}
        ),
    )

    assert sorted(r.status_code for r in responses) == [201, 409]
    conflict = next(r for r in responses if r.status_code == 409)
    assert conflict.json() == {"detail": "Email already registered"}
    async with engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(User).where(User.email == fresh_email)
        )
    assert count == 1


async def test_login_returns_a_bearer_token_for_the_user(
    client: AsyncClient, clock: FrozenClock, settings: Settings, user: User
) -> None:
    response = await client.post(
        "/auth/login", json={"email": "Alice@Example.com", "password": PASSWORD}
    )

    assert response.status_code == 200
    body = response.json()
    assert body == {"access_token": body["access_token"], "token_type": "bearer"}
    subject = read_access_token(body["access_token"], secret_key=settings.secret_key, now=clock.now)
    assert subject == str(user.id)


@pytest.mark.parametrize(
    ("email", "password"),
    [
        pytest.param("alice@example.com", "wrong password", id="wrong-password"),
        pytest.param("nobody@example.com", PASSWORD, id="unknown-email"),
        pytest.param("not-an-email", PASSWORD, id="not-an-email"),
        # Longer than anything registration accepts: unknown, not a 422 that tells them apart.
        pytest.param("a" * 400 + "@example.com", PASSWORD, id="over-long-email"),
        pytest.param("alice@example.com", "p" * 5000, id="over-long-password"),
    ],
)
async def test_login_failures_are_401_with_one_body(
    client: AsyncClient, user: User, email: str, password: str
) -> None:
    response = await client.post("/auth/login", json={"email": email, "password": password})

    assert response.status_code == 401
    assert response.json() == BAD_CREDENTIALS
    assert response.headers["www-authenticate"] == "Bearer"


async def test_login_without_fields_is_422(client: AsyncClient) -> None:
    response = await client.post("/auth/login", json={"email": "alice@example.com"})

    assert response.status_code == 422
    assert validation_errors(response) == [{"type": "missing", "loc": ["body", "password"]}]
