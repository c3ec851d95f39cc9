"""An anyio test on the trio backend (copied as test_trio.py): gate cannot time trio."""

from __future__ import annotations

import time

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


@pytest.mark.anyio
async def test_on_trio() -> None:
    time.sleep(0.001)
