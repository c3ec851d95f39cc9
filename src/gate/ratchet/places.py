"""Names a blocking finding or a server error by a place that survives lines moving (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def _function(finding: Mapping[str, Any]) -> str | None:
    """The function holding the finding's line: the stack frame at that file and line, else
    the innermost frame in that file."""
    file, line = finding.get("file"), finding.get("line")
    frames = [f for f in finding.get("stack") or [] if isinstance(f, Mapping)]
    for frame in frames:
        if frame.get("file") == file and frame.get("line") == line and frame.get("function"):
            return str(frame["function"])
    for frame in frames:
        if frame.get("file") == file and frame.get("function"):
            return str(frame["function"])
    return None


def code_place(finding: Mapping[str, Any]) -> str | None:
    """file:function, or file:line when no frame names the function; None without a file.

    A function name rather than a line, so that editing code above a known offender does not
    make it new.
    """
    file = finding.get("file")
    if not file:
        return None
    function = _function(finding)
    return f"{file}:{function}" if function else f"{file}:{finding.get('line')}"


def blocking_places(findings: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    return frozenset(p for p in map(code_place, findings) if p is not None)


def server_error_place(error: Mapping[str, Any]) -> str:
    """Where it crashed and with what (file:function Exception); a bare 5xx answer with no
    exception is named by its request (POST /items 500)."""
    place = code_place(error) if error.get("exception") else None
    if place is not None:
        return f"{place} {error['exception']}"
    return f"{error.get('method') or '?'} {error.get('path') or '?'} {error.get('status') or '?'}"


def server_error_places(errors: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """Allowed ones (server_errors.allow) are not the ratchet's business."""
    return frozenset(server_error_place(e) for e in errors if not e.get("allowed"))
