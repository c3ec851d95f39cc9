"""What the test process found besides results, as typed records read once from its events.

The plugin writes findings as JSON events (see inprocess/_gate_pytest/events.py); this module
is the one place that reads their fields, so checks and reporters use attributes, not `.get()`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def redact_record(record: Any, hide: Callable[[str], str]) -> Any:
    """The record with `hide` applied to every text in it, nested records and tuples included:
    a test id, a call or a stack may quote the database password gate handed the tests."""
    if isinstance(record, str):
        return hide(record)
    if isinstance(record, tuple):
        return tuple(redact_record(item, hide) for item in record)
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        fields = dataclasses.fields(record)
        changes = {f.name: redact_record(getattr(record, f.name), hide) for f in fields}
        return dataclasses.replace(record, **changes)
    return record


@dataclass(frozen=True)
class Frame:
    """One frame of a finding's stack, innermost first in the stack that holds it."""

    file: str
    line: int | None
    function: str
    # The project's own code (under root, not a virtualenv's); None: not recorded (an older
    # gate's events). With is_async, what gate.blocking_triage decides from.
    project: bool | None = None
    is_async: bool = False

    @classmethod
    def from_event(cls, raw: Any) -> Frame | None:
        if not isinstance(raw, Mapping):
            return None
        project = raw.get("project")
        return cls(
            str(raw.get("file")),
            _int(raw.get("line")),
            str(raw.get("function") or ""),
            project if isinstance(project, bool) else None,
            raw.get("async") is True,
        )

    def as_report(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"file": self.file, "line": self.line, "function": self.function}
        if self.project is not None:
            entry.update({"project": self.project, "async": self.is_async})
        return entry


@dataclass(frozen=True)
class BlockingFinding:
    """A blocking call (kind "call") or a callback that held the loop too long ("slow")."""

    test: str
    phase: str
    kind: str
    call: str | None
    file: str | None  # the innermost frame in the project's own code, relative to root
    line: int | None
    duration_ms: float
    wall_ms: float | None
    run_queue_ms: float | None
    stack: tuple[Frame, ...] = ()
    note: str = ""
    worker: str = "main"
    known: bool = False  # at a place the ratchet baseline holds: reported, not failing

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> BlockingFinding:
        frames = (Frame.from_event(raw) for raw in event.get("stack") or ())
        return cls(
            test=str(event.get("test")),
            phase=str(event.get("phase") or "call"),
            kind=str(event.get("kind") or "call"),
            call=_text(event.get("call")),
            file=_text(event.get("file")),
            line=_int(event.get("line")),
            duration_ms=_float(event.get("duration_ms")) or 0.0,
            wall_ms=_float(event.get("wall_ms")),
            run_queue_ms=_float(event.get("run_queue_ms")),
            stack=tuple(frame for frame in frames if frame is not None),
            note=str(event.get("note") or ""),
            worker=str(event.get("worker") or "main"),
        )

    @property
    def what(self) -> str:
        """The call, or what kind of callback held the loop."""
        return self.call or f"{self.kind} callback"

    @property
    def test_label(self) -> str:
        return self.test + ("" if self.phase == "call" else f" ({self.phase})")

    def as_report(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "test": self.test,
            "phase": self.phase,
            "kind": self.kind,
            "call": self.call,
            "file": self.file,
            "line": self.line,
            "duration_ms": self.duration_ms,
            "wall_ms": self.duration_ms if self.wall_ms is None else self.wall_ms,
            "run_queue_ms": self.run_queue_ms,
            "stack": [frame.as_report() for frame in self.stack],
        }
        if self.note:
            entry["note"] = self.note
        entry["worker"] = self.worker
        if self.known:
            entry["known"] = True
        return entry


@dataclass(frozen=True)
class UnwatchedLoop:
    """A test whose event loop gate cannot time: no finding about it is no clean bill."""

    test: str
    phase: str
    loop: str
    reason: str
    worker: str = "main"

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> UnwatchedLoop:
        return cls(
            test=str(event.get("test")),
            phase=str(event.get("phase") or "call"),
            loop=str(event.get("unwatched") or event.get("loop") or "unknown"),
            reason=str(event.get("reason") or ""),
            worker=str(event.get("worker") or "main"),
        )

    def as_report(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "phase": self.phase,
            "loop": self.loop,
            "reason": self.reason,
            "worker": self.worker,
        }
