"""Tests on trio (copied as test_trio.py): gate cannot time trio, so it reports them unwatched."""

from __future__ import annotations

import time

import pytest
import trio


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


@pytest.mark.anyio
async def test_on_trio() -> None:
    time.sleep(0.001)  # unwatched: test_trio.py::test_on_trio


@pytest.mark.anyio
async def test_clean_on_trio() -> None:
    await trio.sleep(0)  # unwatched: test_trio.py::test_clean_on_trio


def test_trio_run_in_sync_test() -> None:
    async def main() -> None:
        time.sleep(0.001)  # unwatched: test_trio.py::test_trio_run_in_sync_test

    trio.run(main)


def test_trio_run_without_a_blocking_call() -> None:
    async def main() -> int:
        await trio.sleep(0)  # unwatched: test_trio.py::test_trio_run_without_a_blocking_call
        return 1

    assert trio.run(main) == 1
