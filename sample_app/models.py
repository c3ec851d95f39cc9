"""Database tables, as typed SQLAlchemy 2 models."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Names the migration creates too; services.py recognises a duplicate email by this name.
EMAIL_UNIQUE_INDEX = "uq_users_email_lower"
PASSWORD_HASH_CHECK = "ck_users_password_hash_argon2id"
MAX_EMAIL_LENGTH = 320  # RFC 5321's limit for a forward path


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # Defence in depth: the database refuses to store anything but an argon2id hash.
        CheckConstraint("password_hash LIKE '$argon2id$%'", name=PASSWORD_HASH_CHECK),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(MAX_EMAIL_LENGTH))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# Emails are unique case-insensitively, enforced by the database rather than by a
# check-then-insert that two concurrent registrations could both pass.
Index(EMAIL_UNIQUE_INDEX, func.lower(User.email), unique=True)
