"""The app factory and its lifespan: settings from the environment, refused when unsafe."""

from __future__ import annotations

import pytest
from httpx import ASGITransport, AsyncClient

from sample_app.core.config import Settings, SettingsError
from sample_app.main import app as module_app
from sample_app.main import create_app
from sample_app.tests.support import BAD_CREDENTIALS, PASSWORD

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_module_app_reads_no_settings_at_import() -> None:
    assert not hasattr(module_app.state, "settings")


@pytest.mark.usefixtures("engine")  # for its check that the database is migrated
async def test_lifespan_reads_the_environment_and_serves_from_its_own_pool(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SECRET_KEY", "lifespan-test-secret-key-0123456789abc")
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("ARGON2_TIME_COST", "1")
    monkeypatch.setenv("ARGON2_MEMORY_COST", "8")
    monkeypatch.setenv("ARGON2_PARALLELISM", "1")
    app = create_app()

    async with app.router.lifespan_context(app):
        assert app.state.settings.secret_key == "lifespan-test-secret-key-0123456789abc"
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
            # Read-only on purpose: this request commits nothing, through the real session.
            response = await client.post(
                "/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
            )

    assert response.status_code == 401
    assert response.json() == BAD_CREDENTIALS


async def test_lifespan_refuses_to_start_with_a_weak_secret_key(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SECRET_KEY", "too-short")
    monkeypatch.setenv("ENVIRONMENT", "production")
    app = create_app()

    with pytest.raises(SettingsError, match="SECRET_KEY"):
        async with app.router.lifespan_context(app):
            pass


async def test_app_given_settings_is_ready_without_a_lifespan(settings: Settings) -> None:
    app = create_app(settings)

    assert app.state.settings is settings
    assert not hasattr(app.state, "sessionmaker")
