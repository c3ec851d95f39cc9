"""Request dependencies, exposed as `Annotated` aliases for route signatures.

All are `async def`: FastAPI runs plain `def` dependencies in a thread pool, a hop
that trivial lookups do not need.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sample_app import services
from sample_app.core.config import Settings
from sample_app.core.security import PasswordHasher, read_access_token
from sample_app.models import User

# auto_error=False: every failure, a missing header included, gets our one 401 below.
bearer_scheme = HTTPBearer(auto_error=False)


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_password_hasher(request: Request) -> PasswordHasher:
    password_hasher: PasswordHasher = request.app.state.password_hasher
    return password_hasher


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        yield session


async def get_now() -> datetime:
    """The clock tokens are issued and checked against; tests override it to travel in time."""
    return datetime.now(UTC)


SettingsDep = Annotated[Settings, Depends(get_settings)]
PasswordHasherDep = Annotated[PasswordHasher, Depends(get_password_hasher)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
Now = Annotated[datetime, Depends(get_now)]
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def credentials_error() -> HTTPException:
    # One answer for missing, malformed, forged and expired tokens and for deleted users.
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Could not validate credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def get_current_user(
    session: SessionDep, settings: SettingsDep, now: Now, credentials: BearerCredentials
) -> User:
    if credentials is None:
        raise credentials_error()
    try:
        subject = read_access_token(
            credentials.credentials, secret_key=settings.secret_key, now=now
        )
        user_id = uuid.UUID(subject)
    except (jwt.InvalidTokenError, ValueError):
        raise credentials_error() from None
    user = await services.get_user(session, user_id)
    if user is None:
        raise credentials_error()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
