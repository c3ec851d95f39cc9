"""Tests that pass under plain pytest although the service crashed: gate must find each one."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from django.test import AsyncClient as DjangoAsyncClient
from django.test import Client as DjangoClient
from se_apps import app, plain_wsgi, tidy_app
from se_frameworks import flask_app
from starlette.testclient import TestClient


def asgi_client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.mark.asyncio
async def test_loose_assert_passes_on_500() -> None:
    async with asgi_client() as client:
        response = await client.post("/items", json={"name": "pen", "price": -1})
    assert response.status_code != 201


@pytest.mark.asyncio
async def test_unchecked_status() -> None:
    async with asgi_client() as client:
        await client.get("/crash")


@pytest.mark.asyncio
async def test_handler_returns_500() -> None:
    async with asgi_client() as client:
        # expect: test_leaks.py::test_handler_returns_500 response
        response = await client.get("/returns-500")
    assert response.json()["detail"]


def test_testclient_swallows_the_exception() -> None:
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/crash").status_code >= 400


def test_testclient_bare_500() -> None:
    client = TestClient(app)
    # expect: test_leaks.py::test_testclient_bare_500 response
    response = client.get("/returns-500")
    assert response.status_code != 201


def test_crash_asserted_with_pytest_raises() -> None:
    with pytest.raises(KeyError):
        TestClient(app).get("/crash")


def test_handled_exception_answered_with_500() -> None:
    response = TestClient(app).get("/sync-upstream")
    assert response.json() == {"detail": "try later"}


def test_tidy_500_from_exception_handler() -> None:
    client = TestClient(tidy_app, raise_server_exceptions=False)
    assert client.get("/boom").json() == {"detail": "internal error"}


def test_wsgi_transport() -> None:
    with httpx.Client(transport=httpx.WSGITransport(app=plain_wsgi), base_url="http://w") as client:
        response = client.get("/report")  # expect: test_leaks.py::test_wsgi_transport response
    assert response.text


def test_flask_client() -> None:
    response = flask_app.test_client().get("/cart")
    assert response.status_code != 201


def test_django_client() -> None:
    response = DjangoClient(raise_request_exception=False).get("/orders/boom")
    assert response.status_code != 201


@pytest.mark.asyncio
async def test_django_async_client() -> None:
    response = await DjangoAsyncClient(raise_request_exception=False).get("/orders/boom")
    assert response.status_code != 201


@pytest.fixture
def live_server() -> Iterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_live_uvicorn_server_in_a_thread(live_server: str) -> None:
    response = httpx.get(f"{live_server}/crash")
    assert response.status_code != 201


async def fetch_prices() -> None:
    await asyncio.sleep(0)
    # expect: test_leaks.py::test_dead_task task
    raise ConnectionError("prices service unreachable")


@pytest.mark.asyncio
async def test_dead_task() -> None:
    task = asyncio.get_running_loop().create_task(fetch_prices())
    await asyncio.sleep(0.01)
    del task  # nobody looks at its exception: "Task exception was never retrieved"
    await asyncio.sleep(0)


def warm_cache() -> None:
    # expect: test_leaks.py::test_callback_exception task
    raise LookupError("cache key missing")


@pytest.mark.asyncio
async def test_callback_exception() -> None:
    asyncio.get_running_loop().call_soon(warm_cache)
    await asyncio.sleep(0.01)


def send_email() -> None:
    # expect: test_leaks.py::test_dead_thread thread
    raise TimeoutError("SMTP server did not answer")


def test_dead_thread() -> None:
    worker = threading.Thread(target=send_email)
    worker.start()
    worker.join()


class Connection:
    def __del__(self) -> None:
        # expect: test_leaks.py::test_unraisable unraisable
        raise OSError("socket already closed")


def test_unraisable() -> None:
    connection = Connection()
    del connection
