"""The ASGI app: `create_app()` builds it, the lifespan connects it to its database.

Importing this module reads no settings and opens no connection; the environment is
read when the server starts the app (its lifespan), so a weak SECRET_KEY stops the
server at start-up rather than at import.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from sample_app.api import api_router
from sample_app.core.config import Settings
from sample_app.core.security import PasswordHasher
from sample_app.db import create_engine, create_sessionmaker


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; without `settings` they are read from the environment at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resolved = settings if settings is not None else Settings.from_env()
        password_hasher = _configure(app, resolved)
        # Build the dummy hash now, off the loop, so the first login for an unknown email
        # costs what every later one does.
        await to_thread.run_sync(password_hasher.verify_dummy, "")
        engine = create_engine(resolved.database_url)
        app.state.sessionmaker = create_sessionmaker(engine)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(title="sample_app", lifespan=lifespan)
    if settings is not None:
        # Lets tests drive the app without a lifespan, the session dependency overridden.
        _configure(app, settings)
    app.exception_handler(RequestValidationError)(_validation_error_without_input)
    app.include_router(api_router)
    return app


def _configure(app: FastAPI, settings: Settings) -> PasswordHasher:
    password_hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
    )
    app.state.settings = settings
    app.state.password_hasher = password_hasher
    return password_hasher


async def _validation_error_without_input(
    request: Request, exc: RequestValidationError
) -> JSONResponse:
    # FastAPI's default 422 echoes each rejected value back, a too-short password
    # included; keep the location and reason, drop the value.
    errors = [
        {key: value for key, value in error.items() if key != "input"} for error in exc.errors()
    ]
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": jsonable_encoder(errors)},
    )


app = create_app()
