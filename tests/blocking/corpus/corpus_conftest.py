"""conftest.py of the corpus project: shared sync fixtures and a hand-driven coroutine runner."""

from __future__ import annotations

import contextlib
import functools
import http.server
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

# The fake third-party library lives in a site-packages folder inside the project.
sys.path.insert(0, str(Path(__file__).parent / ".venv" / "lib" / "site-packages"))


@pytest.fixture
def listener() -> Iterator[tuple[str, int]]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()


@pytest.fixture
def http_url(tmp_path: Path) -> Iterator[str]:
    # Large enough that reading the body goes back to the socket, past the header buffer.
    (tmp_path / "big.bin").write_bytes(b"x" * 1_000_000)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/big.bin"
    server.shutdown()
    server.server_close()


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.txt"
    path.write_text("settings")
    return path


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Drives tests marked `handrun` with coro.send(): a runner that uses no asyncio loop."""
    if pyfuncitem.get_closest_marker("handrun") is None:
        return None
    coro = pyfuncitem.obj()
    with contextlib.suppress(StopIteration):
        coro.send(None)
    return True


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "handrun: run the coroutine without an event loop")
