"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

# Bounds the work one request can ask of argon2 and of the JSON parser.
MAX_PASSWORD_LENGTH = 1024
MIN_PASSWORD_LENGTH = 8


class UserCreate(BaseModel):
    email: Annotated[EmailStr, StringConstraints(strip_whitespace=True)]
    password: Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]


class LoginRequest(BaseModel):
    # Not validated as an email: anything that is not a registered address is simply
    # an unknown email, answered like a wrong password.
    email: Annotated[str, Field(max_length=320)]
    password: Annotated[str, Field(max_length=MAX_PASSWORD_LENGTH)]


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
