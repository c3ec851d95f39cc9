"""Parts of the in-process recorder: masking, and hooks that leave everything as they found it."""

from __future__ import annotations

import sys
import threading
from typing import Any

import httpx
import pytest

from gate.inprocess._gate_pytest.server_errors import ServerErrorPlugin, mask, type_name
from gate.inprocess._gate_pytest.server_errors_hooks import FrameworkHooks, ProcessHooks


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://app:s3cret@db:5432/app", "postgresql://app:***@db:5432/app"),
        ("login failed for password=hunter2, retry", "login failed for password=***, retry"),
        ('{"password": "hunter2"}', '{"password": "***"}'),
        ("token: abc.def", "token: ***"),
        ("no secret here", "no secret here"),
    ],
)
def test_mask(text: str, masked: str) -> None:
    assert mask(text) == masked


def test_type_names_are_module_qualified_except_builtins() -> None:
    assert type_name(KeyError) == "KeyError"
    assert type_name(httpx.ConnectError) == "httpx.ConnectError"


def test_hooks_report_pass_on_and_restore(tmp_path: Any) -> None:
    events: list[dict[str, object]] = []
    hooks = [FrameworkHooks(), ProcessHooks()]
    plugin = ServerErrorPlugin(emit=events.append, root=str(tmp_path), hooks=hooks)
    original_transport = httpx.ASGITransport.handle_async_request
    seen_by_previous: list[object] = []
    previous_hook = threading.excepthook
    previous_unraisable = sys.unraisablehook
    threading.excepthook = seen_by_previous.append
    try:
        plugin.refresh()
        assert httpx.ASGITransport.handle_async_request is not original_transport
        plugin._current = ("tests/test_x.py::test_y", "call")

        def fail() -> None:
            raise RuntimeError("worker gave up")

        worker = threading.Thread(target=fail)
        worker.start()
        worker.join()
        assert [(e["kind"], e["exception"], e["test"]) for e in events] == [
            ("thread", "RuntimeError", "tests/test_x.py::test_y")
        ]
        assert len(seen_by_previous) == 1  # passed on to the hook that was there
        # Something else replaces the hook during a test: the next phase puts ours back on top.
        threading.excepthook = seen_by_previous.append
        plugin.refresh()
        assert threading.excepthook is not seen_by_previous.append
    finally:
        plugin.uninstall()
        installed = threading.excepthook
        threading.excepthook = previous_hook
    assert installed == seen_by_previous.append
    assert sys.unraisablehook is previous_unraisable
    assert httpx.ASGITransport.handle_async_request is original_transport
