"""Where server errors are seen: app wrappers for the in-process clients and servers, framework
exception handlers, and the loop, thread and unraisable hooks. Frameworks are hooked only once
the project has imported them (nothing here imports one).

Long because it is a table: one small wrapper per framework and client (httpx, Starlette,
FastAPI, Django, Flask, uvicorn), each beside the target it patches.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, Callable, Optional

from .blocking.patch import Patches
from .server_errors import Hook, Request, ServerErrorPlugin

# The request an app in this thread or task is answering. A request made while another one is
# answered is the app calling its upstream (perhaps a mock app): its 5xx is the app's to handle.
# (Optional: evaluated at run time, and Python 3.9 has no `X | None`.)
_answering: ContextVar[Optional[Request]] = ContextVar("gate_answering", default=None)  # noqa: UP045
_recorder: ServerErrorPlugin | None = None


def note_handled(exc: BaseException) -> None:
    """A framework answered `exc` with a response; the status decides whether it counts."""
    request = _answering.get()
    if request is not None and request.handled is None:
        request.handled = exc
        request.handled_traceback = exc.__traceback__


@contextlib.contextmanager
def _answered(recorder: ServerErrorPlugin, method: object, path: object) -> Iterator[Request]:
    """One request an app answers: the recorder hears how it ended, exception included; a
    request made while another is answered is outbound (an upstream the app calls)."""
    request = Request(
        None if method is None else str(method),
        None if path is None else str(path),
        outbound=_answering.get() is not None,
    )
    token = _answering.set(request)
    escaped: BaseException | None = None
    try:
        yield request
    except BaseException as exc:
        escaped = exc
        raise
    finally:
        try:
            _answering.reset(token)
        except ValueError:  # reset from another context (an app that moved the call): harmless
            _answering.set(None)
        recorder.request_finished(request, escaped)


class RecordingASGI:
    """An ASGI app that notes the status it answers and the exception escaping it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        # Tests reach through the client to the app (app.dependency_overrides). `app` itself
        # is looked up here only before __init__ set it (a copy): no recursion.
        if name == "app":
            raise AttributeError(name)
        return getattr(self.app, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        recorder = _recorder
        if recorder is None or scope.get("type") != "http":
            return await self.app(scope, receive, send)  # type: ignore[no-any-return]
        with _answered(recorder, scope.get("method"), scope.get("path")) as request:

            async def send_noting_status(message: Any) -> None:
                if message.get("type") == "http.response.start":
                    request.status = message.get("status")
                await send(message)

            await self.app(scope, receive, send_noting_status)


class RecordingWSGI:
    """A WSGI app that notes the status it answers and the exception escaping it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        if name == "app":
            raise AttributeError(name)
        return getattr(self.app, name)

    def __call__(self, environ: Any, start_response: Any) -> Any:
        recorder = _recorder
        if recorder is None:
            return self.app(environ, start_response)
        with _answered(
            recorder, environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
        ) as request:

            def start_noting_status(status: str, headers: Any, *exc_info: Any) -> Any:
                with contextlib.suppress(ValueError):  # a malformed status line: no status
                    request.status = int(str(status)[:3])
                return start_response(status, headers, *exc_info)

            return self.app(environ, start_noting_status)


def _wrap_app(owner: Any, attribute: str, wrapper: type) -> None:
    app = getattr(owner, attribute, None)
    if app is not None and not isinstance(app, (RecordingASGI, RecordingWSGI)):
        setattr(owner, attribute, wrapper(app))


# -- wrappers put in place of framework functions; each takes the original ----------------


def _async_transport(original: Callable[..., Any]) -> Callable[..., Any]:
    # The app is wrapped at the first request, not in __init__: a client built at import
    # time (a module-level TestClient) was built before gate hooked anything.
    @functools.wraps(original)
    async def handle_async_request(self: Any, request: Any) -> Any:
        _wrap_app(self, "app", RecordingASGI)
        return await original(self, request)

    return handle_async_request


def _sync_transport(wrapper: type) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def patch(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def handle_request(self: Any, request: Any) -> Any:
            _wrap_app(self, "app", wrapper)
            return original(self, request)

        return handle_request

    return patch


def _uvicorn_load(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def load(self: Any) -> None:
        original(self)
        _wrap_app(self, "loaded_app", RecordingASGI)

    return load


def _werkzeug_run_wsgi_app(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def run_wsgi_app(app: Any, environ: Any, buffered: bool = False) -> Any:
        if _recorder is not None and not isinstance(app, RecordingWSGI):
            app = RecordingWSGI(app)
        return original(app, environ, buffered=buffered)

    return run_wsgi_app


def _django_sync_handler(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def __call__(self: Any, environ: Any) -> Any:
        recorder = _recorder
        if recorder is None:
            return original(self, environ)
        with _answered(
            recorder, environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
        ) as request:
            response = original(self, environ)
            request.status = getattr(response, "status_code", None)
            return response

    return __call__


def _django_async_handler(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def __call__(self: Any, scope: Any) -> Any:
        recorder = _recorder
        if recorder is None:
            return await original(self, scope)
        with _answered(recorder, scope.get("method"), scope.get("path")) as request:
            response = await original(self, scope)
            request.status = getattr(response, "status_code", None)
            return response

    return __call__


def _noting_handled_by_result(original: Callable[..., Any]) -> Callable[..., Any]:
    """Framework functions that return a response (or a handler) for an exception they got."""

    @functools.wraps(original)
    def handled(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if result is not None:
            exc = next((a for a in reversed(args) if isinstance(a, BaseException)), None)
            if exc is not None:
                note_handled(exc)
        return result

    return handled


def _noting_handled_before(original: Callable[..., Any]) -> Callable[..., Any]:
    """Flask's handle_exception: every exception it gets becomes a 500 (or is re-raised)."""

    @functools.wraps(original)
    def handled(self: Any, exc: BaseException) -> Any:
        note_handled(exc)
        return original(self, exc)

    return handled


def _loop_exception_handler(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def call_exception_handler(self: Any, context: Any) -> Any:
        recorder = _recorder
        if recorder is not None and isinstance(context, dict):
            recorder.loop_exception(context)
        return original(self, context)

    return call_exception_handler


Patch = Callable[[Callable[..., Any]], Callable[..., Any]]

# (module, owner inside it ("" for the module), attribute, wrapper). Checked against the
# installed versions: httpx 0.28, starlette 1.x (private names guarded: a missing one is skipped),
# uvicorn 0.3x-0.5x, werkzeug 3, flask 3, django 4.2-5.2.
TARGETS: tuple[tuple[str, str, str, Patch], ...] = (
    ("httpx._transports.asgi", "ASGITransport", "handle_async_request", _async_transport),
    ("httpx._transports.wsgi", "WSGITransport", "handle_request", _sync_transport(RecordingWSGI)),
    (
        "starlette.testclient",
        "_TestClientTransport",
        "handle_request",
        _sync_transport(RecordingASGI),
    ),
    ("starlette._exception_handler", "", "_lookup_exception_handler", _noting_handled_by_result),
    ("uvicorn.config", "Config", "load", _uvicorn_load),
    ("werkzeug.test", "", "run_wsgi_app", _werkzeug_run_wsgi_app),
    ("flask.app", "Flask", "handle_user_exception", _noting_handled_by_result),
    ("flask.app", "Flask", "handle_exception", _noting_handled_before),
    ("django.test.client", "ClientHandler", "__call__", _django_sync_handler),
    ("django.test.client", "AsyncClientHandler", "__call__", _django_async_handler),
    ("django.core.handlers.exception", "", "response_for_exception", _noting_handled_by_result),
    ("asyncio.base_events", "BaseEventLoop", "call_exception_handler", _loop_exception_handler),
)


class FrameworkHooks(Hook):
    """Patches each target once its module is imported; `refresh` catches later imports."""

    own_file = __file__

    def __init__(self) -> None:
        self._patches = Patches()
        self._done: set[tuple[str, str, str]] = set()

    def refresh(self, recorder: ServerErrorPlugin) -> None:
        global _recorder  # noqa: PLW0603 - the wrappers read it on every request
        _recorder = recorder
        for module_name, owner_name, attribute, patch in TARGETS:
            key = (module_name, owner_name, attribute)
            if key not in self._done and self._patches.wrap_imported(
                module_name, owner_name, attribute, patch
            ):
                self._done.add(key)

    def uninstall(self) -> None:
        global _recorder  # noqa: PLW0603 - the wrappers read it on every request
        _recorder = None
        self._patches.undo()
        self._done.clear()


class _Chained:
    """A process-wide hook (threading.excepthook, sys.unraisablehook) that reports, then passes
    the call to the hook it found. pytest puts its own on top at configure time and does not
    pass calls on, so each phase puts ours back on top of whatever is there."""

    def __init__(self, owner: Any, attribute: str, report: Callable[[Any], None]) -> None:
        self._owner, self._attribute, self._report = owner, attribute, report
        self._previous: Callable[[Any], object] = getattr(owner, attribute)
        self._inside = threading.local()
        self.active = False

    def __call__(self, args: Any) -> object:
        if self.active and not getattr(self._inside, "busy", False):
            self._inside.busy = True  # a hook that calls back into ours ends here
            try:
                self._report(args)
            finally:
                self._inside.busy = False
            return self._previous(args)
        return self._previous(args)

    def keep_on_top(self) -> None:
        current = getattr(self._owner, self._attribute)
        if current is not self:
            self._previous = current
            setattr(self._owner, self._attribute, self)
        self.active = True

    def remove(self) -> None:
        self.active = False
        if getattr(self._owner, self._attribute) is self:
            setattr(self._owner, self._attribute, self._previous)


class ProcessHooks(Hook):
    """Threads that died and unraisable exceptions."""

    own_file = __file__

    def __init__(self) -> None:
        self._hooks: list[_Chained] = []

    def refresh(self, recorder: ServerErrorPlugin) -> None:
        if not self._hooks:
            self._hooks = [
                _Chained(
                    threading,
                    "excepthook",
                    lambda a: recorder.thread_exception(a.exc_value, a.thread),
                ),
                _Chained(
                    sys,
                    "unraisablehook",
                    lambda a: recorder.unraisable(a.exc_value, a.err_msg, a.object),
                ),
            ]
        self.keep(recorder)

    def keep(self, recorder: ServerErrorPlugin) -> None:
        for hook in self._hooks:
            hook.keep_on_top()

    def uninstall(self) -> None:
        for hook in self._hooks:
            hook.remove()


def default_hooks() -> list[Hook]:
    return [FrameworkHooks(), ProcessHooks()]
