"""Fixtures: one engine per run, one rolled-back transaction per test, the app over ASGI.

The database is real and already migrated (gate runs `alembic upgrade head` first).
Each test runs inside a connection-level transaction that is rolled back at the end;
the session joins it with `join_transaction_mode="create_savepoint"`, so code under
test may commit (and roll back after an IntegrityError) without ending it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import pytest
import pytest_asyncio
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from sample_app import services
from sample_app.api.deps import get_now, get_session
from sample_app.core.config import Settings
from sample_app.core.security import PasswordHasher
from sample_app.db import create_engine, create_sessionmaker
from sample_app.main import create_app
from sample_app.models import User
from sample_app.tests.support import CLOCK_START, PASSWORD, FrozenClock

# gate.yaml's `env` sets these too; the fallbacks let a bare `pytest` with only
# DATABASE_URL set run the suite the same way.
TEST_ENV_DEFAULTS = {
    "ENVIRONMENT": "test",
    "SECRET_KEY": "sample-app-test-secret-key-not-for-production",
    "ARGON2_TIME_COST": "1",
    "ARGON2_MEMORY_COST": "8",
    "ARGON2_PARALLELISM": "1",
}


@pytest.fixture(scope="session")
def settings() -> Settings:
    # The run's settings: gate's DATABASE_URL and env, test defaults for anything unset.
    if not os.environ.get("DATABASE_URL"):
        pytest.fail(
            "DATABASE_URL is not set. Run these tests through `gate run`, which provisions"
            " and migrates a database, or set DATABASE_URL to a migrated database"
            " (alembic -c sample_app/alembic.ini upgrade head).",
            pytrace=False,
        )
    return Settings.from_env({**TEST_ENV_DEFAULTS, **os.environ})


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    # One connection pool for the whole run; checks once that the schema is there.
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            users_table = await connection.scalar(text("SELECT to_regclass('users')"))
        if users_table is None:
            pytest.fail(
                "The database at DATABASE_URL is not migrated: run"
                " `alembic -c sample_app/alembic.ini upgrade head` first (gate run does).",
                pytrace=False,
            )
        yield engine
    finally:
        await engine.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def db_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    # The test's session: its commits become savepoints of a transaction rolled back at the end.
    async with engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()


@pytest.fixture
def password_hasher(settings: Settings) -> PasswordHasher:
    # The cheap argon2 parameters of the test settings, for service-level calls.
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
    )


@pytest.fixture(scope="session")
def session_app(settings: Settings) -> FastAPI:
    # One app for the run: FastAPI builds each route's validators on its first request, per
    # app; an app per test would pay that (tens of ms of CPU on the event loop) every test.
    return create_app(settings)


@pytest.fixture
def app(session_app: FastAPI) -> Iterator[FastAPI]:
    # The run's app; this test's dependency overrides are removed when it ends, never leaked.
    yield session_app
    session_app.dependency_overrides.clear()


@pytest_asyncio.fixture(loop_scope="session")
async def client(app: FastAPI, db_session: AsyncSession) -> AsyncIterator[AsyncClient]:
    # HTTP requests into the app in-process, every request on the test's rolled-back session.
    async def session_override() -> AsyncIterator[AsyncSession]:
        yield db_session

    app.dependency_overrides[get_session] = session_override
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        yield client


@pytest.fixture
def clock(app: FastAPI) -> FrozenClock:
    # Replaces the app's clock, so a test can issue a token and then move time past its expiry.
    frozen = FrozenClock(CLOCK_START)

    async def now_override() -> datetime:
        return frozen.now

    app.dependency_overrides[get_now] = now_override
    return frozen


@pytest_asyncio.fixture(loop_scope="session")
async def user(db_session: AsyncSession, password_hasher: PasswordHasher) -> User:
    # A registered user whose password is PASSWORD, inside the rolled-back transaction.
    return await services.create_user(
        db_session, email="alice@example.com", password=PASSWORD, password_hasher=password_hasher
    )


@pytest.fixture
def fresh_email() -> str:
    # An address no other test or earlier run uses, for rows that are really committed.
    return f"race-{uuid.uuid4().hex}@example.com"


@pytest_asyncio.fixture(loop_scope="session")
async def committing_client(
    app: FastAPI, engine: AsyncEngine, fresh_email: str
) -> AsyncIterator[AsyncClient]:
    # Each request gets its own pooled connection and really commits, as in production,
    # so concurrent requests can race; the rows for fresh_email are deleted at teardown.
    sessionmaker = create_sessionmaker(engine)

    async def session_per_request() -> AsyncIterator[AsyncSession]:
        async with sessionmaker() as session:
            yield session

    app.dependency_overrides[get_session] = session_per_request
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
            yield client
    finally:
        async with engine.begin() as connection:
            await connection.execute(delete(User).where(User.email == fresh_email))
