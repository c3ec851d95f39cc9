"""The signed-in user."""

from __future__ import annotations

from fastapi import APIRouter, status

from sample_app.api.deps import CurrentUser
from sample_app.schemas import UserPublic

router = APIRouter(prefix="/users", tags=["users"])


@router.get(
    "/me",
    responses={status.HTTP_401_UNAUTHORIZED: {"description": "Could not validate credentials"}},
)
async def read_current_user(current_user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(current_user)
