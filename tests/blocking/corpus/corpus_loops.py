"""Blocking under every kind of loop and runner (copied as test_loops.py)."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from blocking_app import app

_leaked: list[asyncio.Task[None]] = []


def test_asyncio_run_in_sync_test() -> None:
    async def main() -> None:
        # expect: test_loops.py::test_asyncio_run_in_sync_test call call time.sleep
        time.sleep(0.001)

    asyncio.run(main())


def test_loop_in_another_thread() -> None:
    async def main() -> None:
        # expect: test_loops.py::test_loop_in_another_thread call call time.sleep
        time.sleep(0.001)

    worker = threading.Thread(target=asyncio.run, args=(main(),))
    worker.start()
    worker.join()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_anyio_asyncio_backend() -> None:
    time.sleep(0.001)  # expect: test_loops.py::test_anyio_asyncio_backend call call time.sleep


@pytest.mark.asyncio
async def test_fastapi_async_endpoint() -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/async-blocking")
    assert response.status_code == 200


@pytest.mark.asyncio(loop_scope="module")
async def test_module_scoped_loop() -> None:
    time.sleep(0.001)  # expect: test_loops.py::test_module_scoped_loop call call time.sleep


@pytest.mark.asyncio(loop_scope="session")
async def test_session_scoped_loop() -> None:
    time.sleep(0.001)  # expect: test_loops.py::test_session_scoped_loop call call time.sleep


async def _late_blocker() -> None:
    await asyncio.sleep(0.02)
    time.sleep(0.001)  # expect: test_loops.py::test_leaks_a_task call call time.sleep outlived


@pytest.mark.asyncio(loop_scope="module")
async def test_leaks_a_task() -> None:
    _leaked.append(asyncio.get_running_loop().create_task(_late_blocker()))


@pytest.mark.asyncio(loop_scope="module")
async def test_runs_after_the_leak() -> None:
    await asyncio.sleep(0.1)  # the leaked task blocks now; it is charged to its creator


@pytest.mark.handrun
async def test_runner_without_asyncio() -> None:
    assert True  # unwatched: test_loops.py::test_runner_without_asyncio


class _ForeignLoop:
    """Stands in for uvloop's Loop: a running loop that is not asyncio's BaseEventLoop."""


def test_foreign_running_loop() -> None:
    asyncio.events._set_running_loop(_ForeignLoop())  # type: ignore[arg-type]
    try:
        time.sleep(0.001)  # unwatched: test_loops.py::test_foreign_running_loop
    finally:
        asyncio.events._set_running_loop(None)
