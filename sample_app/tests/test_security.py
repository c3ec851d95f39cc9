"""Password hashing and access tokens, without a database or an app."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from sample_app.core.security import PasswordHasher, create_access_token, read_access_token
from sample_app.tests.support import CLOCK_START, OTHER_SECRET_KEY, PASSWORD

KEY = "security-test-secret-key-0123456789abcdef"
EXPIRES = timedelta(minutes=30)


def cheap_hasher(time_cost: int = 1) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=8, parallelism=1)


def test_hash_is_argon2id_and_verifies_only_the_right_password() -> None:
    hasher = cheap_hasher()

    password_hash = hasher.hash(PASSWORD)

    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash
    assert hasher.verify(password_hash, PASSWORD) is True
    assert hasher.verify(password_hash, PASSWORD + "!") is False


def test_dummy_verification_fails_and_reuses_one_hash() -> None:
    hasher = cheap_hasher()

    assert hasher.verify_dummy(PASSWORD) is False
    first = hasher._dummy_hash
    assert hasher.verify_dummy("") is False
    assert hasher._dummy_hash is first  # made once, not a fresh hash per failed login
    assert hasher.needs_rehash(first) is False


def test_hash_made_with_other_parameters_needs_rehash() -> None:
    old_hash = cheap_hasher(time_cost=1).hash(PASSWORD)

    assert cheap_hasher(time_cost=2).needs_rehash(old_hash) is True
    assert cheap_hasher(time_cost=1).needs_rehash(old_hash) is False


def test_token_carries_its_subject_until_it_expires() -> None:
    token = create_access_token(
        subject="user-1", secret_key=KEY, expires_delta=EXPIRES, now=CLOCK_START
    )

    last_valid_instant = CLOCK_START + EXPIRES - timedelta(microseconds=1)
    assert read_access_token(token, secret_key=KEY, now=last_valid_instant) == "user-1"
    with pytest.raises(jwt.ExpiredSignatureError):
        read_access_token(token, secret_key=KEY, now=CLOCK_START + EXPIRES)


def test_token_signed_with_another_key_is_refused() -> None:
    token = create_access_token(
        subject="user-1", secret_key=OTHER_SECRET_KEY, expires_delta=EXPIRES, now=CLOCK_START
    )

    with pytest.raises(jwt.InvalidSignatureError):
        read_access_token(token, secret_key=KEY, now=CLOCK_START)


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        pytest.param({"sub": "user-1"}, jwt.MissingRequiredClaimError, id="no-exp"),
        pytest.param({"exp": 1_900_000_000}, jwt.MissingRequiredClaimError, id="no-sub"),
        pytest.param({"sub": "user-1", "exp": "soon"}, jwt.DecodeError, id="exp-not-a-number"),
        pytest.param(
            {"sub": 1, "exp": 1_900_000_000}, jwt.exceptions.InvalidSubjectError, id="sub-not-str"
        ),
    ],
)
def test_token_with_bad_claims_is_refused(
    claims: dict[str, object], error: type[jwt.InvalidTokenError]
) -> None:
    token = jwt.encode(claims, KEY, algorithm="HS256")

    with pytest.raises(error):
        read_access_token(token, secret_key=KEY, now=CLOCK_START)
