"""Password hashing (argon2id) and access tokens (HS256 JWT); pure and synchronous.

Hashing and verifying are CPU-heavy on purpose: callers on an event loop must run
them in a worker thread (see services.py).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import cached_property

import argon2
import jwt
from argon2.exceptions import VerifyMismatchError

TOKEN_ALGORITHM = "HS256"
# Bounds the work one request can ask of argon2.
MAX_PASSWORD_LENGTH = 1024


class PasswordHasher:
    """argon2id hashing with a lazily built dummy hash for users that do not exist."""

    def __init__(self, *, time_cost: int, memory_cost: int, parallelism: int) -> None:
        self._argon2 = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )

    def hash(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except VerifyMismatchError:
            return False

    def verify_dummy(self, password: str) -> bool:
        """Spend the time a real verification takes, so login does not reveal who exists."""
        return self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than this hasher's."""
        return self._argon2.check_needs_rehash(password_hash)

    @cached_property
    def _dummy_hash(self) -> str:
        # Built on first use (in the worker thread that verifies) with this hasher's own
        # parameters, so verifying against it costs exactly what a real verification costs.
        return self.hash(secrets.token_urlsafe(32))


def create_access_token(
    *, subject: str, secret_key: str, expires_delta: timedelta, now: datetime
) -> str:
    """Sign a token for `subject` that expires `expires_delta` after `now`."""
    payload = {"sub": subject, "exp": now + expires_delta}
    return jwt.encode(payload, secret_key, algorithm=TOKEN_ALGORITHM)


def read_access_token(token: str, *, secret_key: str, now: datetime) -> str:
    """Return the subject of a token valid at `now`; raise jwt.InvalidTokenError otherwise."""
    # The algorithm is pinned, so "alg": "none" and algorithm-confusion tokens are refused.
    # pyjwt would check "exp" against its own wall clock; we check it against `now` below
    # so callers (and tests) control time.
    payload = jwt.decode(
        token,
        secret_key,
        algorithms=[TOKEN_ALGORITHM],
        options={"require": ["exp", "sub"], "verify_exp": False},
    )
    try:
        expires_at = int(payload["exp"])
    except (TypeError, ValueError, OverflowError):
        raise jwt.DecodeError("Expiration Time claim (exp) must be an integer.") from None
    if expires_at <= now.timestamp():
        raise jwt.ExpiredSignatureError("Signature has expired")
    subject: str = payload["sub"]  # pyjwt has checked that "sub" is a string
    return subject
