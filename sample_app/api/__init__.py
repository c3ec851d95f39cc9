"""The HTTP API: one router per resource, gathered into `api_router`."""

from __future__ import annotations

from fastapi import APIRouter

from sample_app.api.routes import auth, users

api_router = APIRouter()
api_router.include_router(auth.router)
api_router.include_router(users.router)
