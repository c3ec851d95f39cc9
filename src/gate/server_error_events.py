"""Server errors the test process reported ("409, not 500"): the finding, the allow list, the check.

The test process writes one ``{"event": "server_error", ...}`` line per finding (the format is
documented in inprocess/_gate_pytest/server_errors.py); this module turns those into
`ServerError` findings, decides which ones `server_errors.allow` allows, and judges them (pure).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gate.findings import Frame

KINDS = ("response", "exception", "task", "thread", "unraisable")
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})
ADVICE = "handle the error and answer 4xx on purpose, or allow it in server_errors.allow"
_STATUS = re.compile(r"[1-5](?:\d\d|xx)")


@dataclass(frozen=True)
class ServerError:
    """A request the tests made that crashed the service, or an exception nobody caught."""

    test: str
    phase: str
    kind: str  # one of KINDS
    method: str | None
    path: str | None
    status: int | None
    exception: str | None  # "KeyError", "app.errors.UpstreamDown"
    exception_types: tuple[str, ...]  # its classes, most derived first
    message: str | None
    file: str | None
    line: int | None
    stack: tuple[Frame, ...]
    worker: str = "main"
    note: str | None = None
    allowed: bool = False
    known: bool = False  # at a place the ratchet baseline holds: reported, not failing

    @property
    def request(self) -> str | None:
        """'POST /items -> 500' for a request, None otherwise."""
        if self.method is None and self.path is None:
            return None
        answer = "no answer" if self.status is None else str(self.status)
        return f"{self.method or '?'} {self.path or '?'} -> {answer}"

    @property
    def what(self) -> str:
        """Short, for grouping by place: "POST /items -> 500: KeyError", "KeyError in a thread"."""
        error = self.exception or "an exception"
        if self.kind == "task":
            return f"{error} in an asyncio task or callback"
        if self.kind == "thread":
            return f"{error} in a thread"
        if self.kind == "unraisable":
            return f"{error} (unraisable)"
        request = self.request or "a request"
        return request if self.exception is None else f"{request}: {self.exception}"

    @property
    def detail(self) -> str:
        """One more line: the exception's message, why it was charged, whether it is allowed."""
        parts = []
        if self.message and self.message.strip():
            parts.append(self.message.strip().splitlines()[0][:200])
        if self.note:
            parts.append(self.note)
        if self.allowed:
            parts.append("allowed by server_errors.allow")
        return "; ".join(part for part in parts if part)

    def as_report(self) -> dict[str, Any]:
        """The JSON report's `server_errors` entry (CONTRACT)."""
        return {
            "test": self.test,
            "phase": self.phase,
            "kind": self.kind,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "exception": self.exception,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "allowed": self.allowed,
            "stack": [frame.as_report() for frame in self.stack],
            **({"note": self.note} if self.note else {}),
            **({"known": True} if self.known else {}),
        }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_server_error(event: Mapping[str, Any]) -> ServerError | None:
    """The finding in one event; None for anything that is not one (the recorder's own errors)."""
    kind = event.get("kind")
    if kind not in KINDS or not isinstance(event.get("test"), str):
        return None
    frames = (Frame.from_event(raw) for raw in event.get("stack") or ())
    return ServerError(
        test=str(event["test"]),
        phase=str(event.get("phase") or "call"),
        kind=str(kind),
        method=_text(event.get("method")),
        path=_text(event.get("path")),
        status=_int(event.get("status")),
        exception=_text(event.get("exception")),
        exception_types=tuple(str(t) for t in event.get("exception_types") or ()),
        message=_text(event.get("message")),
        file=_text(event.get("file")),
        line=_int(event.get("line")),
        stack=tuple(frame for frame in frames if frame is not None),
        worker=str(event.get("worker") or "main"),
        note=_text(event.get("note")),
    )


# ---- server_errors.allow ----------------------------------------------------------------


def allow_entry_problem(entry: str) -> str | None:
    """Why an allow entry can never match (for config errors); None when it is fine."""
    words = entry.split()
    if words and words[0].upper() in HTTP_METHODS | {"*"}:
        if len(words) not in (2, 3) or not words[1].startswith(("/", "*")):
            return (
                f"{entry!r}: a request entry is METHOD PATH [STATUS], "
                'e.g. "GET /health 503" (PATH starts with /)'
            )
        if len(words) == 3 and not _STATUS.fullmatch(words[2]):
            return f"{entry!r}: STATUS must be a status code such as 503 or 5xx"
    elif len(words) != 1:
        return (
            f'{entry!r} is neither a request ("GET /health 503"), a test id '
            '("tests/test_x.py::test_y") nor an exception type ("app.errors.UpstreamDown")'
        )
    return None


def _request_matches(words: Sequence[str], error: ServerError) -> bool:
    if error.method is None or error.path is None:
        return False
    method, path = words[0].upper(), words[1]
    if method != "*" and method != error.method.upper():
        return False
    if path != error.path and not fnmatch.fnmatchcase(error.path, path):
        return False
    if len(words) == 3:
        status = words[2].lower()
        shown = "" if error.status is None else str(error.status)
        return shown == status or (status.endswith("xx") and shown[:1] == status[:1])
    return True


def _test_matches(entry: str, test: str) -> bool:
    # A file, a class or a test; a test entry covers its parametrized cases.
    return test == entry or test.startswith((entry + "::", entry + "["))


def _exception_matches(entry: str, error: ServerError) -> bool:
    names = error.exception_types or ((error.exception,) if error.exception else ())
    # "UpstreamDown" names the class wherever it is; a dotted entry names one exactly.
    return any(name == entry or ("." not in entry and name.endswith("." + entry)) for name in names)


def is_allowed(error: ServerError, entries: Iterable[str]) -> bool:
    for raw in entries:
        entry = raw.strip()
        words = entry.split()
        if not words:
            continue
        if words[0].upper() in HTTP_METHODS | {"*"} and len(words) > 1:
            if _request_matches(words, error):
                return True
        elif "::" in entry or entry.endswith(".py") or "/" in entry:
            if _test_matches(entry, error.test):
                return True
        elif _exception_matches(entry, error):
            return True
    return False


def with_allowed(errors: Iterable[ServerError], entries: Sequence[str]) -> list[ServerError]:
    return [replace(e, allowed=True) if is_allowed(e, entries) else e for e in errors]


# ---- judging ----------------------------------------------------------------------------


def places(errors: Iterable[ServerError]) -> dict[tuple[str, int | None], list[ServerError]]:
    """Findings grouped by the line to fix, first seen first."""
    grouped: dict[tuple[str, int | None], list[ServerError]] = {}
    for error in errors:
        grouped.setdefault((error.file or error.test.split("::")[0], error.line), []).append(error)
    return grouped


def _place_names(errors: Sequence[ServerError], most: int = 3) -> str:
    names = [f"{file}:{line}" if line else file for file, line in places(errors)]
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


@dataclass(frozen=True)
class ServerErrorsVerdict:
    """The `server_errors` check: what the JSON "checks" entry says."""

    passed: bool
    actual: int  # findings not allowed
    expected: int
    message: str


def judge_server_errors(errors: Sequence[ServerError], mode: str) -> ServerErrorsVerdict:
    failing = [e for e in errors if not (e.allowed or e.known)]
    allowed = sum(1 for e in errors if e.allowed)
    known = sum(1 for e in errors if e.known and not e.allowed)
    allowed_note = (f"; {allowed} allowed" if allowed else "") + (
        f"; {known} at places the ratchet baseline holds" if known else ""
    )
    if not failing:
        return ServerErrorsVerdict(True, 0, 0, f"no server errors during the tests{allowed_note}")
    message = (
        f"{len(failing)} server error(s) during the tests at {_place_names(failing)}: "
        f"{ADVICE}{allowed_note}"
    )
    if mode != "fail":
        message += " (server_errors.mode is warn: not failing the gate)"
    return ServerErrorsVerdict(mode != "fail", len(failing), 0, message)
