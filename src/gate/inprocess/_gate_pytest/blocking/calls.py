"""Intercepts known blocking functions; a call counts only inside a timed loop callback.

Most of its length is the table of intercepted functions (time, os, socket, subprocess,
ssl, DNS, sync HTTP and DB clients), kept whole so docs/blocking.md is checked against it.
"""

from __future__ import annotations

import builtins
import functools
import io
import os
import select
import socket
import subprocess
import sys
import time
from asyncio import base_events, events
from threading import get_ident as _get_ident
from time import perf_counter
from types import FrameType
from typing import Any, Callable, Optional, Protocol

from .loop import active
from .patch import Patches
from .sched import Held, call_held, call_started, run_queue_ns

Check = Callable[[tuple[Any, ...], dict[str, Any]], bool]


class CallRecorder(Protocol):
    """What the interceptors report to (the plugin)."""

    def blocked_call(self, call: str, held: Held, caller: FrameType | None) -> None: ...

    def foreign_loop(self, label: str) -> None: ...


def _positive_seconds(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    # time.sleep(0) only yields the GIL.
    seconds = args[0] if args else kwargs.get("secs", 1)
    return not isinstance(seconds, (int, float)) or seconds > 0


def _blocking_socket(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    # asyncio's own sockets are non-blocking (timeout 0.0); only blocking ones stall the loop.
    # Socket methods get a specialised interceptor that inlines this test.
    try:
        return bool(args[0].timeout != 0.0)
    except (AttributeError, IndexError):
        return True


def _path_not_fd(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    # open(fd) wraps an existing descriptor (pipes, sockets) and touches no disk.
    target = args[0] if args else kwargs.get("file", kwargs.get("path"))
    return not isinstance(target, int)


def _select_may_wait(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    timeout = args[3] if len(args) > 3 else kwargs.get("timeout")
    return timeout is None or timeout > 0


def _wait_may_block(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    timeout = args[1] if len(args) > 1 else kwargs.get("timeout")
    return timeout is None or timeout > 0


_SOCKET_METHODS = (
    "connect",
    "connect_ex",
    "accept",
    "recv",
    "recv_into",
    "recvfrom",
    "recvfrom_into",
    "send",
    "sendall",
    "sendto",
    "sendfile",
)
_SSL_METHODS = ("recv", "recv_into", "read", "write", "send", "sendall", "do_handshake")
_OS_FUNCTIONS = (
    "listdir",
    "scandir",
    "stat",
    "lstat",
    "mkdir",
    "makedirs",
    "rmdir",
    "remove",
    "unlink",
    "rename",
    "replace",
    "access",
    "chmod",
    "utime",
    "system",
)
_OS_PATH_FUNCTIONS = ("exists", "isfile", "isdir", "getsize", "getmtime")
_SUBPROCESS_FUNCTIONS = (
    "run",
    "call",
    "check_call",
    "check_output",
    "getoutput",
    "getstatusoutput",
)
# Modules that are patched only once something imports them: importing urllib.request
# eagerly would add ~30 ms and a dozen modules to every test run.
_LAZY_MODULES = ("sqlite3", "ssl", "urllib.request", "psycopg", "psycopg2")
# psycopg 3's sync API is Python over libpq, which does its own socket I/O in C: these are
# the calls that wait for the server. (psycopg2's cursors are C types and cannot be patched.)
_PSYCOPG_CALLS = (
    ("Connection", "connect"),
    ("Connection", "execute"),
    ("Connection", "commit"),
    ("Cursor", "execute"),
    ("Cursor", "executemany"),
)

Target = tuple[object, str, str, Optional[Check]]


def _eager_targets() -> list[Target]:
    targets: list[Target] = [(time, "sleep", "time.sleep", _positive_seconds)]
    targets += [
        (socket, name, f"socket.{name}", None)
        for name in (
            "getaddrinfo",
            "gethostbyname",
            "gethostbyname_ex",
            "gethostbyaddr",
            "getnameinfo",
            "create_connection",
        )
    ]
    targets += [
        (socket.socket, name, f"socket.socket.{name}", _blocking_socket) for name in _SOCKET_METHODS
    ]
    targets += [(builtins, "open", "open", _path_not_fd), (io, "open", "open", _path_not_fd)]
    targets += [(os, name, f"os.{name}", None) for name in _OS_FUNCTIONS]
    targets += [(os.path, name, f"os.path.{name}", None) for name in _OS_PATH_FUNCTIONS]
    targets += [(subprocess, name, f"subprocess.{name}", None) for name in _SUBPROCESS_FUNCTIONS]
    targets += [
        (subprocess.Popen, "__init__", "subprocess.Popen", None),
        (subprocess.Popen, "wait", "subprocess.Popen.wait", _wait_may_block),
        (subprocess.Popen, "communicate", "subprocess.Popen.communicate", None),
        (select, "select", "select.select", _select_may_wait),
    ]
    return targets


def _lazy_targets(module_name: str) -> list[Target]:
    module = sys.modules[module_name]
    if module_name == "sqlite3":
        return [(module, "connect", "sqlite3.connect", None)]
    if module_name == "ssl":
        return [
            (module.SSLSocket, name, f"ssl.SSLSocket.{name}", _blocking_socket)
            for name in _SSL_METHODS
        ]
    if module_name == "psycopg":
        # psycopg.connect is Connection.connect bound at import: it needs its own patch.
        return [(module, "connect", "psycopg.connect", None)] + [
            (getattr(module, owner), name, f"psycopg.{owner}.{name}", None)
            for owner, name in _PSYCOPG_CALLS
            if hasattr(module, owner)
        ]
    if module_name == "psycopg2":
        return [(module, "connect", "psycopg2.connect", None)]
    return [(module, "urlopen", "urllib.request.urlopen", None)]


_get_running_loop = events._get_running_loop
_modules = sys.modules

# Threads currently inside an intercepted call: nested ones (urlopen -> socket.connect)
# report only the outermost, the name the user wrote.
_busy: set[int] = set()


def _foreign_loop(loop: object) -> str | None:
    """Names a loop running in this thread that gate cannot time (uvloop, trio), if any."""
    if loop is not None:
        if isinstance(loop, base_events.BaseEventLoop):
            return None  # asyncio's own, between callbacks (its own plumbing)
        kind = type(loop)
        return f"{kind.__module__}.{kind.__qualname__}"
    trio = sys.modules.get("trio")
    in_trio_run = getattr(getattr(trio, "lowlevel", None), "in_trio_run", None)
    if in_trio_run is not None and in_trio_run():
        return "trio"
    return None


def _timed_call(
    original: Callable[..., Any],
    call: str,
    recorder: CallRecorder,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """Runs a call that may block; records it when it ran inside a timed loop callback."""
    loop = _get_running_loop()
    if not active.get(loop):
        # Not inside a timed callback: a plain call, unless a loop gate cannot time
        # (uvloop, trio) is running here.
        foreign = _foreign_loop(loop)
        if foreign is not None:
            recorder.foreign_loop(foreign)
        return original(*args, **kwargs)
    tid = _get_ident()
    if tid in _busy:
        return original(*args, **kwargs)
    _busy.add(tid)
    # The wait is read inside the clock's reads, so none outside the wall time is counted.
    start = perf_counter()
    waited = call_started()
    try:
        return original(*args, **kwargs)
    finally:
        # Recorded even when the call raised: it blocked all the same. Frame 2 is the caller
        # of the interceptor.
        try:
            after = run_queue_ns() if waited is not None else None
            held = call_held(waited, perf_counter() - start, after)
            recorder.blocked_call(call, held, sys._getframe(2))
        finally:
            _busy.discard(tid)


def _intercept(
    original: Callable[..., Any], call: str, check: Check | None, recorder: CallRecorder
) -> Callable[..., Any]:
    if check is _blocking_socket:
        return _intercept_socket_method(original, call, recorder)

    @functools.wraps(original)
    def intercepted(*args: Any, **kwargs: Any) -> Any:
        # No loop runs in this thread (nor trio, which sets none): a plain call, decided
        # without another Python call. pytest itself stats files for every test.
        if _get_running_loop() is None and "trio" not in _modules:
            return original(*args, **kwargs)
        if check is not None and not check(args, kwargs):
            return original(*args, **kwargs)  # cannot block: sleep(0), open(fd)
        return _timed_call(original, call, recorder, args, kwargs)

    return intercepted


def _intercept_socket_method(
    original: Callable[..., Any], call: str, recorder: CallRecorder
) -> Callable[..., Any]:
    # asyncio's own sockets are non-blocking (timeout 0.0) and make most socket calls in
    # a test run, so that case is decided here, with one attribute read and no extra call.
    @functools.wraps(original)
    def intercepted(sock: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            if sock.timeout == 0.0:
                return original(sock, *args, **kwargs)
        except AttributeError:  # not a socket: let the real method raise its error
            return original(sock, *args, **kwargs)
        return _timed_call(original, call, recorder, (sock, *args), kwargs)

    return intercepted


class CallInterceptor:
    """Installs the interceptors; `refresh` patches optional modules imported since."""

    def __init__(self, recorder: CallRecorder) -> None:
        self._recorder = recorder
        self._patches = Patches()
        self._lazy_done: set[str] = set()
        # Each original function -> how its interceptor reports it.
        self._intercepted: dict[object, tuple[str, Check | None]] = {}

    def install(self) -> None:
        self._apply(_eager_targets())
        self._patch_pathlib_accessor()
        self.refresh()

    def refresh(self) -> None:
        for name in _LAZY_MODULES:
            if name not in self._lazy_done and name in sys.modules:
                self._lazy_done.add(name)
                self._apply(_lazy_targets(name))

    def uninstall(self) -> None:
        self._patches.undo()
        self._lazy_done.clear()
        self._intercepted.clear()

    def _apply(self, targets: list[Target]) -> None:
        for owner, name, call, check in targets:
            original = getattr(owner, name, None)
            if original is None:
                continue  # not on this platform or version
            raw = vars(owner).get(name) if isinstance(owner, type) else None
            if isinstance(raw, classmethod):
                # Wrap the function, not the method bound to this class, so a subclass
                # calling connect() still gets an instance of itself.
                original = raw.__func__
                wrapper: Any = classmethod(_intercept(original, call, check, self._recorder))
            else:
                wrapper = _intercept(original, call, check, self._recorder)
            self._patches.replace(owner, name, wrapper)
            self._intercepted.setdefault(original, (call, check))
            if owner is os:
                # shutil and others test `os.stat in os.supports_dir_fd` to pick a code path.
                for fn_set in (
                    os.supports_dir_fd,
                    os.supports_fd,
                    os.supports_follow_symlinks,
                    os.supports_effective_ids,
                ):
                    if original in fn_set:
                        self._patches.add_to_set(fn_set, wrapper)

    def _patch_pathlib_accessor(self) -> None:
        # Python 3.9/3.10 pathlib calls os.stat, io.open... through class attributes bound
        # when pathlib was imported, so patching os alone misses Path.exists(), Path.open().
        accessor = getattr(sys.modules.get("pathlib"), "_NormalAccessor", None)
        if accessor is None:
            return
        for name, value in list(vars(accessor).items()):
            if callable(value) and value in self._intercepted:
                call, check = self._intercepted[value]
                wrapper = _intercept(value, call, check, self._recorder)
                self._patches.replace(accessor, name, staticmethod(wrapper))
