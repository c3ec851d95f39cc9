"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from sample_app.core.security import MAX_PASSWORD_LENGTH

MIN_PASSWORD_LENGTH = 8


class UserCreate(BaseModel):
    email: Annotated[EmailStr, StringConstraints(strip_whitespace=True)]
    password: Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]


class LoginRequest(BaseModel):
    # Not validated, nor bounded: an address that cannot be registered is simply an
    # unknown email, and a password too long to be anyone's is a wrong one (services.py).
    email: str
    password: str


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
