"""Blocking no project line can change (copied as test_apart.py): found, reported apart."""

import asyncio

import fakelib
import pytest


@pytest.mark.asyncio
async def test_awaits_a_library_that_blocks_inside():
    assert await fakelib.fetch_async() == b"data"


@pytest.mark.asyncio
async def test_a_library_callback_blocks():
    asyncio.get_running_loop().call_soon(fakelib.fetch)  # no project frame when it runs
    await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_calls_a_sync_library_function():
    # expect: test_apart.py::test_calls_a_sync_library_function call call time.sleep
    assert fakelib.fetch() == b"data"
