"""The service layer against the real database, inside the rolled-back transaction."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from sample_app import services
from sample_app.core.config import Settings
from sample_app.core.security import PasswordHasher
from sample_app.models import User
from sample_app.tests.support import PASSWORD

pytestmark = pytest.mark.asyncio(loop_scope="session")


class CountingHasher(PasswordHasher):
    """A real hasher that counts dummy verifications (a spy, not a mock)."""

    dummy_verifications = 0

    def verify_dummy(self, password: str) -> bool:
        self.dummy_verifications += 1
        return super().verify_dummy(password)


class ThreadRecordingHasher(PasswordHasher):
    """A real hasher that records which thread each argon2 call ran in (a spy)."""

    def __init__(self, **parameters: int) -> None:
        super().__init__(**parameters)
        self.threads: list[int] = []

    def hash(self, password: str) -> str:
        self.threads.append(threading.get_ident())
        return super().hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        self.threads.append(threading.get_ident())
        return super().verify(password_hash, password)


class ForgetfulHasher(PasswordHasher):
    """A broken hasher that 'forgets' to hash: the database must refuse what it returns."""

    def hash(self, password: str) -> str:
        return password


async def test_create_user_stores_a_hash_that_verifies(
    db_session: AsyncSession, password_hasher: PasswordHasher
) -> None:
    user = await services.create_user(
        db_session, email="alice@example.com", password=PASSWORD, password_hasher=password_hasher
    )

    stored = await db_session.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored is not None
    assert stored != PASSWORD
    assert stored.startswith("$argon2id$")
    assert password_hasher.verify(stored, PASSWORD)


async def test_create_user_normalises_the_email(
    db_session: AsyncSession, password_hasher: PasswordHasher
) -> None:
    user = await services.create_user(
        db_session,
        email="  Alice@Example.COM ",
        password=PASSWORD,
        password_hasher=password_hasher,
    )

    assert user.email == "alice@example.com"
    assert await db_session.scalar(select(User.email).where(User.id == user.id)) == (
        "alice@example.com"
    )


async def test_duplicate_email_in_other_case_raises_domain_error(
    db_session: AsyncSession, password_hasher: PasswordHasher, user: User
) -> None:
    user_id = user.id  # the rollback below expires every loaded object
    with pytest.raises(services.EmailAlreadyRegisteredError) as raised:
        await services.create_user(
            db_session,
            email="ALICE@example.com",
            password="another password",
            password_hasher=password_hasher,
        )

    assert str(raised.value) == "alice@example.com"
    # The failed insert was rolled back to its savepoint; the session is still usable.
    assert await services.get_user(db_session, user_id) is user


async def test_other_integrity_errors_are_not_taken_for_duplicates(
    db_session: AsyncSession,
) -> None:
    forgetful = ForgetfulHasher(time_cost=1, memory_cost=8, parallelism=1)

    with pytest.raises(IntegrityError, match="ck_users_password_hash_argon2id"):
        await services.create_user(
            db_session, email="bob@example.com", password=PASSWORD, password_hasher=forgetful
        )


async def test_authenticate_returns_the_user_for_the_right_password(
    db_session: AsyncSession, password_hasher: PasswordHasher, user: User
) -> None:
    authenticated = await services.authenticate(
        db_session, email=" ALICE@example.com", password=PASSWORD, password_hasher=password_hasher
    )

    assert authenticated is user


async def test_authenticate_refuses_a_wrong_password(
    db_session: AsyncSession, password_hasher: PasswordHasher, user: User
) -> None:
    authenticated = await services.authenticate(
        db_session, email=user.email, password="wrong password", password_hasher=password_hasher
    )

    assert authenticated is None


async def test_authenticate_unknown_email_still_verifies_a_dummy_hash(
    db_session: AsyncSession,
) -> None:
    hasher = CountingHasher(time_cost=1, memory_cost=8, parallelism=1)

    authenticated = await services.authenticate(
        db_session, email="nobody@example.com", password=PASSWORD, password_hasher=hasher
    )

    assert authenticated is None
    assert hasher.dummy_verifications == 1


async def test_authenticate_upgrades_a_hash_made_with_weaker_parameters(
    db_session: AsyncSession, settings: Settings, user: User
) -> None:
    stronger = PasswordHasher(
        time_cost=settings.argon2_time_cost + 1,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
    )
    old_hash = user.password_hash

    authenticated = await services.authenticate(
        db_session, email=user.email, password=PASSWORD, password_hasher=stronger
    )

    assert authenticated is user
    new_hash = await db_session.scalar(select(User.password_hash).where(User.id == user.id))
    assert new_hash is not None
    assert new_hash != old_hash
    assert not stronger.needs_rehash(new_hash)
    assert stronger.verify(new_hash, PASSWORD)


async def test_get_user_finds_by_id_and_returns_none_when_absent(
    db_session: AsyncSession, user: User
) -> None:
    assert await services.get_user(db_session, user.id) is user
    assert await services.get_user(db_session, uuid.uuid4()) is None


async def test_argon2_never_runs_on_the_event_loop(
    db_session: AsyncSession, settings: Settings
) -> None:
    # argon2 holds the CPU by design; with cheap test parameters a call on the loop would
    # pass unnoticed by timing, so the thread is asserted directly.
    hasher = ThreadRecordingHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
    )
    loop_thread = threading.get_ident()
    await services.create_user(
        db_session, email="loop@example.com", password=PASSWORD, password_hasher=hasher
    )
    for email, password in [
        ("loop@example.com", PASSWORD),
        ("loop@example.com", "wrong password"),
        ("nobody@example.com", PASSWORD),
        ("x" * 400, PASSWORD),
    ]:
        await services.authenticate(
            db_session, email=email, password=password, password_hasher=hasher
        )

    assert len(hasher.threads) >= 5
    assert loop_thread not in hasher.threads
