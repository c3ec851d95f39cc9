"""GET /users/me: the happy path, expiry by clock, and every kind of bad token."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta

import jwt
import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from sample_app.core.config import Settings
from sample_app.core.security import create_access_token
from sample_app.models import User
from sample_app.tests.support import (
    BAD_TOKEN,
    CLOCK_START,
    OTHER_SECRET_KEY,
    PASSWORD,
    FrozenClock,
    bearer,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Builds the Authorization header of a bad request from the user's id and the app's key.
HeaderFactory = Callable[[str, str], dict[str, str]]
VALID_UNTIL = int((CLOCK_START + timedelta(hours=1)).timestamp())


def signed(claims: dict[str, object], key: str, algorithm: str = "HS256") -> dict[str, str]:
    return bearer(jwt.encode(claims, key, algorithm=algorithm))


def unsigned(claims: dict[str, object]) -> dict[str, str]:
    """A token claiming "alg": "none", with an empty signature."""

    def segment(part: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    return bearer(f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims)}.")


async def test_me_returns_the_user_from_a_login_token(
    client: AsyncClient, clock: FrozenClock, user: User
) -> None:
    login = await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})

    response = await client.get("/users/me", headers=bearer(login.json()["access_token"]))

    assert response.status_code == 200
    assert response.json() == {"id": str(user.id), "email": "alice@example.com"}


async def test_token_is_accepted_until_expiry_and_refused_from_then_on(
    client: AsyncClient, clock: FrozenClock, settings: Settings, user: User
) -> None:
    login = await client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    headers = bearer(login.json()["access_token"])
    lifetime = timedelta(minutes=settings.access_token_expire_minutes)

    clock.advance(lifetime - timedelta(seconds=1))
    still_valid = await client.get("/users/me", headers=headers)
    clock.advance(timedelta(seconds=1))
    expired = await client.get("/users/me", headers=headers)

    assert still_valid.status_code == 200
    assert expired.status_code == 401
    assert expired.json() == BAD_TOKEN
    assert expired.headers["www-authenticate"] == "Bearer"


BAD_HEADERS: list[object] = [
    pytest.param(lambda user_id, key: {}, id="missing-header"),
    pytest.param(lambda user_id, key: {"Authorization": "Bearer"}, id="bearer-without-token"),
    pytest.param(lambda user_id, key: {"Authorization": f"Basic {key}"}, id="basic-scheme"),
    pytest.param(lambda user_id, key: bearer("not-a-jwt"), id="malformed"),
    pytest.param(lambda user_id, key: bearer("a.b.c"), id="malformed-segments"),
    pytest.param(
        lambda user_id, key: signed({"sub": user_id, "exp": VALID_UNTIL}, OTHER_SECRET_KEY),
        id="forged-wrong-key",
    ),
    pytest.param(
        lambda user_id, key: unsigned({"sub": user_id, "exp": VALID_UNTIL}), id="alg-none"
    ),
    pytest.param(
        lambda user_id, key: signed({"sub": user_id, "exp": VALID_UNTIL}, key, "HS512"),
        id="right-key-other-algorithm",
        # Signing HS512 with a key sized for HS256 makes pyjwt warn; that is the point here.
        marks=pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
    ),
    pytest.param(
        lambda user_id, key: signed({"sub": user_id, "exp": VALID_UNTIL - 7200}, key),
        id="expired",
    ),
    pytest.param(lambda user_id, key: signed({"sub": user_id}, key), id="no-exp"),
    pytest.param(lambda user_id, key: signed({"exp": VALID_UNTIL}, key), id="no-sub"),
    pytest.param(
        lambda user_id, key: signed({"sub": "not-a-uuid", "exp": VALID_UNTIL}, key),
        id="sub-not-a-user-id",
    ),
]


@pytest.mark.parametrize("make_headers", BAD_HEADERS)
async def test_bad_credentials_are_401_with_one_body(
    client: AsyncClient,
    clock: FrozenClock,
    settings: Settings,
    user: User,
    make_headers: HeaderFactory,
) -> None:
    response = await client.get(
        "/users/me", headers=make_headers(str(user.id), settings.secret_key)
    )

    assert response.status_code == 401
    assert response.json() == BAD_TOKEN
    assert response.headers["www-authenticate"] == "Bearer"


async def test_token_of_a_deleted_user_is_401(
    client: AsyncClient,
    clock: FrozenClock,
    db_session: AsyncSession,
    settings: Settings,
    user: User,
) -> None:
    token = create_access_token(
        subject=str(user.id),
        secret_key=settings.secret_key,
        expires_delta=timedelta(hours=1),
        now=clock.now,
    )
    await db_session.delete(user)
    await db_session.commit()

    response = await client.get("/users/me", headers=bearer(token))

    assert response.status_code == 401
    assert response.json() == BAD_TOKEN
    assert response.headers["www-authenticate"] == "Bearer"
