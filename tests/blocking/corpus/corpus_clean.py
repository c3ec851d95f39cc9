"""Code that must not be flagged (copied as test_clean.py)."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import anyio
import httpx
import pytest
from blocking_app import app, spin


@pytest.mark.asyncio
async def test_await_sleep() -> None:
    await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_to_thread() -> None:
    await asyncio.to_thread(time.sleep, 0.01)


@pytest.mark.asyncio
async def test_run_in_executor() -> None:
    await asyncio.get_running_loop().run_in_executor(None, time.sleep, 0.01)


def test_sync_test_sleeps() -> None:
    time.sleep(0.01)


@pytest.mark.asyncio
async def test_sync_fastapi_endpoint() -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/sync-sleeps")
    assert response.status_code == 200


@pytest.mark.asyncio
async def test_jinja2_template_endpoint() -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for _ in range(2):  # loads the file, then checks it is up to date
            response = await client.get("/page")
            assert response.text == "<p>Hello gate</p>"


@pytest.mark.asyncio
async def test_import_time_io() -> None:
    import blocking_importtime

    assert blocking_importtime.SOURCE


@pytest.mark.asyncio
async def test_uncontended_lock() -> None:
    lock = threading.Lock()
    with lock:
        pass


@pytest.mark.asyncio
async def test_asyncio_lock() -> None:
    lock = asyncio.Lock()
    async with lock:
        await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_asyncio_streams_to_local_server() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"ping\n")
    assert await reader.readline() == b"ping\n"
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()


@pytest.mark.asyncio
async def test_non_blocking_socket() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.setblocking(False)
        right.setblocking(False)
        left.send(b"x")
        await asyncio.sleep(0.01)
        assert right.recv(1) == b"x"


@pytest.mark.asyncio
async def test_asyncio_subprocess() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "pass", stdout=subprocess.DEVNULL
    )
    assert await proc.wait() == 0


@pytest.mark.asyncio
async def test_loop_getaddrinfo() -> None:
    await asyncio.get_running_loop().getaddrinfo("localhost", 80)


@pytest.mark.asyncio
async def test_short_cpu_work() -> None:
    spin(0.005)


@pytest.mark.asyncio
async def test_sleep_zero() -> None:
    time.sleep(0)


@pytest.mark.asyncio
async def test_queue_ping_pong() -> None:
    ping: asyncio.Queue[int] = asyncio.Queue()
    pong: asyncio.Queue[int] = asyncio.Queue()

    async def player() -> None:
        for _ in range(100):
            await pong.put(await ping.get() + 1)

    task = asyncio.create_task(player())
    value = 0
    for _ in range(100):
        await ping.put(value)
        value = await pong.get()
    await task
    assert value == 100


@pytest.mark.asyncio
async def test_logging_to_a_file(tmp_path: Path) -> None:
    handler = logging.FileHandler(tmp_path / "app.log", delay=True)
    log = logging.getLogger("corpus.clean")
    log.addHandler(handler)
    try:
        log.warning("written by stdlib logging, allowed by default")
    finally:
        log.removeHandler(handler)
        handler.close()


@pytest.mark.asyncio
async def test_traceback_formatting() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        assert "boom" in traceback.format_exc()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_anyio_to_thread() -> None:
    await anyio.to_thread.run_sync(time.sleep, 0.01)
