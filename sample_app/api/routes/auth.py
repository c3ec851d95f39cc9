"""Registration and login."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, status

from sample_app import services
from sample_app.api.deps import Now, PasswordHasherDep, SessionDep, SettingsDep
from sample_app.core.security import create_access_token
from sample_app.schemas import LoginRequest, Token, UserCreate, UserPublic

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses={status.HTTP_409_CONFLICT: {"description": "Email already registered"}},
)
async def register(
    body: UserCreate, session: SessionDep, password_hasher: PasswordHasherDep
) -> UserPublic:
    try:
        user = await services.create_user(
            session, email=body.email, password=body.password, password_hasher=password_hasher
        )
    except services.EmailAlreadyRegisteredError:
        raise HTTPException(
            status_code=status.HTTP_409_CONFLICT, detail="Email already registered"
        ) from None
    return UserPublic.model_validate(user)


@router.post(
    "/login",
    responses={status.HTTP_401_UNAUTHORIZED: {"description": "Incorrect email or password"}},
)
async def login(
    body: LoginRequest,
    session: SessionDep,
    password_hasher: PasswordHasherDep,
    settings: SettingsDep,
    now: Now,
) -> Token:
    user = await services.authenticate(
        session, email=body.email, password=body.password, password_hasher=password_hasher
    )
    if user is None:
        # Same answer for an unknown email and a wrong password.
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect email or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    access_token = create_access_token(
        subject=str(user.id),
        secret_key=settings.secret_key,
        expires_delta=timedelta(minutes=settings.access_token_expire_minutes),
        now=now,
    )
    return Token(access_token=access_token)
