"""Tests on uvloop (copied as test_uvloop.py): gate cannot time uvloop's callbacks."""

from __future__ import annotations

import time

import pytest
import uvloop


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, bool]]:
    return ("asyncio", {"use_uvloop": True})


@pytest.mark.anyio
async def test_anyio_on_uvloop() -> None:
    time.sleep(0.001)  # unwatched: test_uvloop.py::test_anyio_on_uvloop


def test_asyncio_run_on_uvloop() -> None:
    async def main() -> None:
        time.sleep(0.001)  # unwatched: test_uvloop.py::test_asyncio_run_on_uvloop

    loop = uvloop.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_uvloop_run_without_a_blocking_call() -> None:
    async def main() -> int:
        return 1  # unwatched: test_uvloop.py::test_uvloop_run_without_a_blocking_call

    assert uvloop.run(main()) == 1
