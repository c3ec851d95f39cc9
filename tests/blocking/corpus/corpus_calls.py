"""Blocking calls in async tests (copied as test_calls.py); each `expect:` names a finding."""

from __future__ import annotations

import asyncio
import ctypes
import hashlib
import os
import re
import select
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import fakelib
import pytest
import pytest_asyncio
from blocking_app import read_settings, spin

pytestmark = pytest.mark.asyncio


async def test_sleep_1ms() -> None:
    time.sleep(0.001)  # expect: test_calls.py::test_sleep_1ms call call time.sleep


async def test_sleep_300ms() -> None:
    time.sleep(0.3)  # expect: test_calls.py::test_sleep_300ms call call time.sleep


async def test_dns_getaddrinfo() -> None:
    # expect: test_calls.py::test_dns_getaddrinfo call call socket.getaddrinfo
    socket.getaddrinfo("localhost", 80)


async def test_dns_gethostbyname() -> None:
    # expect: test_calls.py::test_dns_gethostbyname call call socket.gethostbyname
    socket.gethostbyname("localhost")


async def test_sqlite(tmp_path: Path) -> None:
    # expect: test_calls.py::test_sqlite call call sqlite3.connect
    db = sqlite3.connect(str(tmp_path / "x.db"))
    db.close()


async def test_listdir(tmp_path: Path) -> None:
    os.listdir(tmp_path)  # expect: test_calls.py::test_listdir call call os.listdir


async def test_stat(tmp_path: Path) -> None:
    os.stat(tmp_path)  # expect: test_calls.py::test_stat call call os.stat


async def test_path_exists(tmp_path: Path) -> None:
    assert tmp_path.exists()  # expect: test_calls.py::test_path_exists call call os.stat


async def test_subprocess() -> None:
    # expect: test_calls.py::test_subprocess call call subprocess.run
    subprocess.run([sys.executable, "-c", "pass"], check=True)


async def test_socket_connect(listener: tuple[str, int]) -> None:
    with socket.socket() as sock:
        # expect: test_calls.py::test_socket_connect call call socket.socket.connect
        sock.connect(listener)


async def test_socket_recv() -> None:
    left, right = socket.socketpair()
    with left, right:
        right.setblocking(False)
        right.send(b"x")  # non-blocking socket: not a finding
        left.recv(1)  # expect: test_calls.py::test_socket_recv call call socket.socket.recv


async def test_select_waits() -> None:
    left, right = socket.socketpair()
    with left, right:
        right.setblocking(False)
        right.send(b"x")
        # expect: test_calls.py::test_select_waits call call select.select
        select.select([left], [], [], 1.0)


async def test_urlopen(http_url: str) -> None:
    # expect: test_calls.py::test_urlopen call call urllib.request.urlopen
    with urllib.request.urlopen(http_url, timeout=5) as response:
        response.read()  # expect: test_calls.py::test_urlopen call call socket.socket.recv_into


async def test_file_read(data_file: Path) -> None:
    with open(data_file) as f:  # expect: test_calls.py::test_file_read call call open
        f.read()


async def test_file_write(tmp_path: Path) -> None:
    (tmp_path / "out.txt").write_text("x")  # expect: test_calls.py::test_file_write call call open


async def test_read_in_helper(data_file: Path) -> None:
    assert read_settings(data_file) == "settings"


async def test_library_frames_are_not_blamed() -> None:
    # expect: test_calls.py::test_library_frames_are_not_blamed call call time.sleep
    fakelib.fetch()


async def test_cpu_loop() -> None:
    spin(0.3)


async def test_c_level_sleep() -> None:
    libc = ctypes.CDLL(None)
    libc.usleep(300_000)  # expect: test_calls.py::test_c_level_sleep call slow -


async def test_c_level_hashing() -> None:
    # expect: test_calls.py::test_c_level_hashing call slow -
    hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 1_500_000)


async def test_c_code_holding_the_gil() -> None:
    # sum() over a range never leaves C, so the watchdog thread cannot run until it returns.
    # expect: test_calls.py::test_c_code_holding_the_gil call slow -
    total = sum(range(30_000_000))
    assert total > 0


async def test_regex_backtracking() -> None:
    # expect: test_calls.py::test_regex_backtracking call slow -
    assert re.match(r"(a+)+$", "a" * 24 + "b") is None


async def test_plain_loop_callback() -> None:
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.call_soon(_blocking_callback, done)
    await done


def _blocking_callback(done: asyncio.Future[None]) -> None:
    time.sleep(0.001)  # expect: test_calls.py::test_plain_loop_callback call call time.sleep
    done.set_result(None)


async def test_awaited_child_task() -> None:
    await asyncio.create_task(_child())


async def _child() -> None:
    await asyncio.sleep(0)
    time.sleep(0.001)  # expect: test_calls.py::test_awaited_child_task call call time.sleep


@pytest_asyncio.fixture
async def slow_resource() -> AsyncIterator[str]:
    time.sleep(0.001)  # expect: test_calls.py::test_async_fixture setup call time.sleep
    yield "resource"
    time.sleep(0.001)  # expect: test_calls.py::test_async_fixture teardown call time.sleep


async def test_async_fixture(slow_resource: str) -> None:
    assert slow_resource == "resource"
