"""pytest-asyncio tests on a uvloop loop factory (copied as on_uvloop/test_uvloop_factory.py)."""

from __future__ import annotations

import hashlib
import time

import pytest


@pytest.mark.asyncio
async def test_pytest_asyncio_on_uvloop() -> None:
    time.sleep(0.001)  # unwatched: on_uvloop/test_uvloop_factory.py::test_pytest_asyncio_on_uvloop


@pytest.mark.asyncio
async def test_cpu_stall_on_uvloop() -> None:
    # unwatched: on_uvloop/test_uvloop_factory.py::test_cpu_stall_on_uvloop
    hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 200_000)
