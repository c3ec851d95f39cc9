"""Findings dropped by `blocking.allow` entries (copied as test_allow.py)."""

from __future__ import annotations

import pytest
from blocking_app import nap_allowed_by_name, nap_allowed_by_path, nap_not_allowed

pytestmark = pytest.mark.asyncio


async def test_allowed_by_name() -> None:
    nap_allowed_by_name()


async def test_allowed_by_path() -> None:
    nap_allowed_by_path()


async def test_not_allowed() -> None:
    nap_not_allowed()
