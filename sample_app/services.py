"""User operations on a database session: registration, authentication, lookup.

Password hashing runs in a worker thread: argon2 holds the CPU for tens of
milliseconds by design, which must never stall the event loop.
"""

from __future__ import annotations

import uuid

from anyio import to_thread
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sample_app.core.security import MAX_PASSWORD_LENGTH, PasswordHasher
from sample_app.models import EMAIL_UNIQUE_INDEX, MAX_EMAIL_LENGTH, User


class EmailAlreadyRegisteredError(Exception):
    """Another user already has this email (compared case-insensitively)."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def create_user(
    session: AsyncSession, *, email: str, password: str, password_hasher: PasswordHasher
) -> User:
    """Store a new user with a hashed password; raise EmailAlreadyRegisteredError on a clash."""
    normalized_email = normalize_email(email)
    password_hash = await to_thread.run_sync(password_hasher.hash, password)
    user = User(email=normalized_email, password_hash=password_hash)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as error:
        # The unique index, not a prior SELECT, decides: two concurrent registrations
        # cannot both pass it. Any other integrity error is a bug and propagates.
        await session.rollback()
        if _violated_constraint(error) == EMAIL_UNIQUE_INDEX:
            raise EmailAlreadyRegisteredError(normalized_email) from error
        raise
    return user


async def authenticate(
    session: AsyncSession, *, email: str, password: str, password_hasher: PasswordHasher
) -> User | None:
    """Return the user when the password matches, else None (same cost either way)."""
    if len(email) > MAX_EMAIL_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        # Nobody can have registered these: answer as for an unknown email, at the same cost
        # (argon2 is only ever handed a bounded password).
        await to_thread.run_sync(password_hasher.verify_dummy, password[:MAX_PASSWORD_LENGTH])
        return None
    result = await session.execute(
        select(User).where(func.lower(User.email) == normalize_email(email))
    )
    user = result.scalar_one_or_none()
    if user is None:
        await to_thread.run_sync(password_hasher.verify_dummy, password)
        return None
    if not await to_thread.run_sync(password_hasher.verify, user.password_hash, password):
        return None
    if password_hasher.needs_rehash(user.password_hash):
        # The hashing parameters were raised since this hash was made: upgrade it now,
        # the only moment the plain password is at hand.
        user.password_hash = await to_thread.run_sync(password_hasher.hash, password)
        await session.commit()
    return user


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


def _violated_constraint(error: IntegrityError) -> str | None:
    # SQLAlchemy wraps the driver's exception; asyncpg's (the cause) names the constraint.
    driver_error = error.orig.__cause__ if error.orig is not None else None
    name = getattr(driver_error, "constraint_name", None)
    return name if isinstance(name, str) else None
