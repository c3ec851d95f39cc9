"""Names a blocking finding or a server error by a place that survives lines moving (pure).

Findings arrive as typed records (gate.findings) or, from older report data, as mappings;
both are read through `_field`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def _field(record: Any, name: str) -> Any:
    if isinstance(record, Mapping):
        return record.get(name)
    return getattr(record, name, None)


def _function(finding: Any) -> str | None:
    """The function holding the finding's line: the stack frame at that file and line, else
    the innermost frame in that file."""
    file, line = _field(finding, "file"), _field(finding, "line")
    frames = list(_field(finding, "stack") or ())
    for frame in frames:
        at_line = _field(frame, "file") == file and _field(frame, "line") == line
        if at_line and _field(frame, "function"):
            return str(_field(frame, "function"))
    for frame in frames:
        if _field(frame, "file") == file and _field(frame, "function"):
            return str(_field(frame, "function"))
    return None


def code_place(finding: Any) -> str | None:
    """file:function, or file:line when no frame names the function; None without a file.

    A function name rather than a line, so that editing code above a known offender does not
    make it new.
    """
    file = _field(finding, "file")
    if not file:
        return None
    function = _function(finding)
    return f"{file}:{function}" if function else f"{file}:{_field(finding, 'line')}"


def blocking_places(findings: Iterable[Any]) -> frozenset[str]:
    return frozenset(p for p in map(code_place, findings) if p is not None)


def server_error_place(error: Any) -> str:
    """Where it crashed and with what (file:function Exception); a bare 5xx answer with no
    exception is named by its request (POST /items 500)."""
    exception = _field(error, "exception")
    place = code_place(error) if exception else None
    if place is not None:
        return f"{place} {exception}"
    return " ".join(str(_field(error, key) or "?") for key in ("method", "path", "status"))


def server_error_places(errors: Iterable[Any]) -> frozenset[str]:
    """Allowed ones (server_errors.allow) are not the ratchet's business."""
    return frozenset(server_error_place(e) for e in errors if not _field(e, "allowed"))
