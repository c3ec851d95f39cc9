"""Server errors ("409, not 500"): requests the tests made that crashed the service, and
exceptions that died in a loop, a thread or a finaliser, charged to the test that was running.

Events: one ``{"event": "server_error", ...}`` line per finding, written through EventWriter:

    test, phase         the test and phase running when it happened (else the last one, with a note)
    kind                "response"    a 5xx answered by an app served in the test process
                        "exception"   an exception escaped a request handler, even where a handler
                                      or middleware then turned it into a response
                        "task"        the asyncio loop's exception handler got it
                        "thread"      it ended a thread (threading.excepthook)
                        "unraisable"  sys.unraisablehook got it (a __del__, a finaliser)
    method, path        the request's; null for task, thread and unraisable
    status              the status answered; null when none was sent
    exception           "KeyError", "app.errors.UpstreamDown" (module-qualified unless a builtin)
    exception_types     the exception's classes, most derived first, for allowing a base class
    message             str(exception) with URL passwords and password=... values masked
    file, line          the innermost project frame of the exception (the line that raised);
                        without an exception, the test line that made the request
    stack               [{"file", "line", "function"}], innermost first
    worker, note        the xdist worker; why the test was charged when it is not obvious

Nothing runs per test beyond noting which test and phase run: the framework hooks
(server_errors_hooks) cost something per request only, and the rest only when an error happens.
Its length is mostly this documented event format and the masking of what a finding quotes.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import traceback as tracebacks
from collections.abc import Sequence
from types import FrameType, TracebackType
from typing import Callable

import pytest

from .blocking.frames import FrameInfo, ProjectPaths

Emit = Callable[[dict[str, object]], None]

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
MAX_MESSAGE = 2000
MAX_STACK = 40
_SEEN = "_gate_server_error_seen"  # set on an exception once reported, so no channel repeats it
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@")
_PASSWORD_VALUE = re.compile(
    r"""((?:password|passwd|pwd|secret|token)["']?\s*[:=]\s*["']?)[^"'\s,;)}&]+""", re.IGNORECASE
)


def mask(text: str) -> str:
    """URL passwords and password=... values masked; gate masks its known secrets again."""
    return _PASSWORD_VALUE.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))


def type_name(cls: type) -> str:
    module = getattr(cls, "__module__", "") or ""
    name = getattr(cls, "__qualname__", cls.__name__)
    return name if module == "builtins" else f"{module}.{name}"


class Request:
    """One request an app in this process is answering; frameworks note what they handled."""

    __slots__ = ("handled", "handled_traceback", "method", "outbound", "path", "status")

    def __init__(self, method: str | None, path: str | None, outbound: bool) -> None:
        self.method = method
        self.path = path
        self.status: int | None = None
        self.handled: BaseException | None = None  # an exception a handler answered
        # Kept apart: Starlette clears a handled exception's __traceback__ once it answered.
        self.handled_traceback: TracebackType | None = None
        self.outbound = outbound  # made while answering another request: the app's upstream


Phase = tuple[str, str]  # (test nodeid, "setup" | "call" | "teardown")


class ServerErrorPlugin:
    """Pytest plugin: knows the running test; the hooks report through `request_finished` etc."""

    def __init__(self, *, emit: Emit, root: str, hooks: Sequence[Hook]) -> None:
        self._emit = emit
        self._paths = ProjectPaths(root)
        self._hooks = hooks
        self._current: Phase | None = None
        self._last: Phase | None = None
        self._current_item: pytest.Item | None = None
        self._test_thread = threading.get_ident()
        self._modules_seen = -1
        self._lock = threading.Lock()
        self._errors: list[str] = []
        self._own_files = frozenset({__file__, *(h.own_file for h in hooks)})

    # -- lifecycle -------------------------------------------------------------------------

    def refresh(self) -> None:
        """Hooks frameworks imported since the last look; one length check when none were."""
        count = len(sys.modules)
        if count != self._modules_seen:
            self._modules_seen = count
            for hook in self._hooks:
                hook.refresh(self)
        else:
            for hook in self._hooks:
                hook.keep(self)

    def uninstall(self) -> None:
        for hook in self._hooks:
            hook.uninstall()
        self._modules_seen = -1  # a later refresh installs everything again

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # After every plugin's pytest_configure: pytest's own thread and unraisable hooks are
        # in place by now, and ours go on top of them and pass everything on.
        self._test_thread = threading.get_ident()
        self.refresh()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self._errors:
            error = self._errors[0]
            self._emit({"event": "server_error", "kind": "detector-error", "error": error})
            self._errors.clear()

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.uninstall()

    # Plain hooks, not wrappers: the whole per-test cost is these four calls and a look at
    # sys.modules. tryfirst: the phase is known before any fixture or test code runs.
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.refresh()
        self._current_item = item
        self._current = (item.nodeid, "setup")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        self._current = (item.nodeid, "call")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        self._current = (item.nodeid, "teardown")

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        if self._current is not None:
            self._last, self._current = self._current, None

    # -- what the hooks report (from any thread; must never raise) -------------------------

    def request_finished(self, request: Request, escaped: BaseException | None) -> None:
        try:
            if request.outbound:
                return
            exc = escaped if isinstance(escaped, Exception) else None
            status = request.status
            traceback = None if exc is None else exc.__traceback__
            if exc is None:
                if status is None or status < 500:
                    return
                exc = request.handled if isinstance(request.handled, Exception) else None
                traceback = request.handled_traceback
            kind = "response" if exc is None else "exception"
            self._record(
                kind, exc, traceback, method=request.method, path=request.path, status=status
            )
        except Exception:
            self._record_error()

    def loop_exception(self, context: dict[str, object]) -> None:
        try:
            exc = context.get("exception")
            if isinstance(exc, Exception):
                message = str(context.get("message") or "") or None
                self._record("task", exc, exc.__traceback__, note=message)
        except Exception:
            self._record_error()

    def thread_exception(self, exc: BaseException | None, thread: object) -> None:
        try:
            if isinstance(exc, Exception):
                name = getattr(thread, "name", None)
                note = f"in thread {name}" if name else None
                self._record("thread", exc, exc.__traceback__, note=note)
        except Exception:
            self._record_error()

    def unraisable(self, exc: BaseException | None, err_msg: str | None, obj: object) -> None:
        try:
            if isinstance(exc, Exception) and not isinstance(exc, Warning):
                where = err_msg or "Exception ignored in"
                try:
                    shown = repr(obj)[:200]
                except Exception:
                    shown = f"<{type(obj).__name__}>"
                self._record("unraisable", exc, exc.__traceback__, note=f"{where}: {shown}")
        except Exception:
            self._record_error()

    # -- findings --------------------------------------------------------------------------

    def _record(
        self,
        kind: str,
        exc: Exception | None,
        traceback: TracebackType | None,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        note: str | None = None,
    ) -> None:
        if exc is not None:
            if getattr(exc, _SEEN, False):
                return
            with contextlib.suppress(Exception):  # an exception class with __slots__
                setattr(exc, _SEEN, True)
        charged = self._current or self._last
        if charged is None:
            return  # before the first test (collection): no test to charge
        if self._current is None:
            after = f"after this test's {charged[1]} phase ended"
            note = f"{note}; {after}" if note else after
        stack = [f for f in _traceback_frames(traceback) if f.filename not in self._own_files]
        blamed = next((f for f in stack if self._paths.is_project(f.filename)), None)
        if method is not None or blamed is None:
            # A request's stack goes on to the test line that made it.
            caller = self._test_place()
            stack += caller
            if blamed is None and caller:
                blamed = caller[-1]  # the test's own line
        if blamed is None and stack:
            blamed = stack[0]
        event: dict[str, object] = {
            "event": "server_error",
            "test": charged[0],
            "phase": charged[1],
            "kind": kind,
            "method": method,
            "path": path,
            "status": status,
            "exception": None if exc is None else type_name(type(exc)),
            "exception_types": []
            if exc is None
            else [type_name(c) for c in type(exc).__mro__ if c not in (BaseException, object)],
            "message": None if exc is None else mask(_exception_text(exc))[:MAX_MESSAGE],
            "file": None if blamed is None else self._paths.display(blamed.filename),
            "line": None if blamed is None else blamed.line,
            "stack": [
                {"file": self._paths.display(f.filename), "line": f.line, "function": f.function}
                for f in stack[:MAX_STACK]
            ],
            "worker": WORKER,
        }
        if note:
            event["note"] = mask(note)
        self._emit(event)

    def _test_place(self) -> list[FrameInfo]:
        """The frames from the client call out to the test line that made the request,
        innermost first; the test's own line last. Looked for in this thread, then in the
        thread running the tests (a TestClient's app runs in a portal thread, a live server
        in its own)."""
        item = self._current_item
        if item is None:
            return []
        test_file = os.path.normcase(os.path.abspath(str(getattr(item, "path", ""))))
        frames: list[FrameType | None] = [sys._getframe(1)]
        if threading.get_ident() != self._test_thread:
            frames.append(sys._current_frames().get(self._test_thread))
        for frame in frames:
            stack = _frames_to(frame, test_file, self._own_files)
            if stack:
                return stack
        location = getattr(item, "location", None)
        if location and location[1] is not None:
            path = os.path.join(str(item.config.rootpath), location[0])
            return [FrameInfo(path, location[1] + 1, location[2], "", location[2])]
        return []

    def _record_error(self) -> None:
        # Record, never raise: a recorder bug must not change the tests' behaviour.
        with self._lock:
            if not self._errors:
                self._errors.append(tracebacks.format_exc())


def _exception_text(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return f"<{type(exc).__name__}: str() failed>"


def _traceback_frames(tb: TracebackType | None) -> list[FrameInfo]:
    """The traceback's frames, innermost (the line that raised) first."""
    frames: list[FrameInfo] = []
    while tb is not None:
        code = tb.tb_frame.f_code
        module = tb.tb_frame.f_globals.get("__name__")
        frames.append(
            FrameInfo(
                code.co_filename,
                tb.tb_lineno,
                code.co_name,
                module if isinstance(module, str) else "",
                getattr(code, "co_qualname", code.co_name),
            )
        )
        tb = tb.tb_next
    frames.reverse()
    return frames


def _frames_to(
    frame: FrameType | None, test_file: str, own_files: frozenset[str]
) -> list[FrameInfo]:
    """Frames from `frame` outwards up to the innermost one in the test's file; [] if none."""
    stack: list[FrameInfo] = []
    while frame is not None and len(stack) < 200:
        code = frame.f_code
        if code.co_filename not in own_files:
            stack.append(
                FrameInfo(code.co_filename, frame.f_lineno or 0, code.co_name, "", code.co_name)
            )
            if os.path.normcase(os.path.abspath(code.co_filename)) == test_file:
                return stack[-MAX_STACK:] if len(stack) > MAX_STACK else stack
        frame = frame.f_back
    return []


class Hook:
    """One way server errors reach the recorder (a framework, a loop, thread or unraisable hook)."""

    own_file: str = ""

    def refresh(self, recorder: ServerErrorPlugin) -> None:
        """Called at the start of a phase when modules were imported since the last one."""

    def keep(self, recorder: ServerErrorPlugin) -> None:
        """Called at the start of a phase otherwise: put back what others replaced."""

    def uninstall(self) -> None:
        """Leave everything as it was."""
