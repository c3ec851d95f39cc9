"""Which blocking findings fail the gate: those naming a line of the project's own code (pure).

A finding fails only when a user can act on it: the blocking call or the stall is reached
from the project's code (app or tests) through a synchronous call. The rest are reported
apart, grouped and counted, never hidden:

- "library": no project frame between the loop and the call, or the project only awaited
  a library's async API that blocks inside (httpx reading ~/.netrc in `await client.get()`);
  that is the library's defect, and no line of the project can change it.
- "warm-up": one-time work a framework does the first time something is used (pydantic
  building a model's validators, FastAPI building a route's on its first request,
  importlib.metadata reading installed packages).
- "test tooling": a test calling a test-only tool that is slow by design (freezegun
  scanning every module to patch the clock).

The frames come from the test process, innermost first, each marked `project` (under root,
not in a virtualenv or site-packages) and `is_async` (a coroutine or async generator).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gate.findings import BlockingFinding, Frame

FAILING = "project"
LIBRARY = "library"
WARM_UP = "warm-up"
TEST_TOOLING = "test tooling"

# One-time builders, by the path a frame shows (after site-packages/ or the stdlib folder),
# optionally with ":function".
_WARM_UP = (
    "pydantic/_internal/_generate_schema.py",
    "pydantic/_internal/_model_construction.py",
    "pydantic/_internal/_core_utils.py",
    "pydantic/type_adapter.py",
    "fastapi/dependencies/utils.py:get_dependant",
    "fastapi/utils.py:create_model_field",
    "fastapi/routing.py:_populate_api_route_state",
    "importlib/metadata/",
    "importlib/__init__.py:import_module",
)
# Test-only tools whose cost is theirs by design, entered from a test.
_TEST_TOOLS = ("freezegun/", "time_machine", "_pytest/", "pytest_", "factory/", "faker/")
_TEST_FILE_PARTS = ("tests/", "test/", "conftest.py")
MAX_GROUP_TESTS = 10  # tests named per group in the report; the count says how many in all


@dataclass(frozen=True)
class ApartGroup:
    """Findings not failing the gate, grouped by why and where (the innermost frame)."""

    reason: str  # LIBRARY | WARM_UP | TEST_TOOLING
    place: str  # "file:line" of the innermost frame, e.g. "weakref.py:369"
    what: str  # the call, or "slow callback"
    count: int
    longest_ms: float
    tests: tuple[str, ...]
    entered_at: str | None  # the project line that led into it, when there is one

    def as_report(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "place": self.place,
            "what": self.what,
            "count": self.count,
            "longest_ms": self.longest_ms,
            "tests": list(self.tests[:MAX_GROUP_TESTS]),
            "entered_at": self.entered_at,
        }


def _is_warm_up(frames: Sequence[Frame]) -> bool:
    return any(
        f"{frame.file}:{frame.function}".startswith(marker)
        for frame in frames
        for marker in _WARM_UP
    )


def _is_test_file(frame: Frame) -> bool:
    name = frame.file.rsplit("/", 1)[-1]
    return name.startswith("test_") or any(part in frame.file for part in _TEST_FILE_PARTS)


def classify(finding: BlockingFinding) -> str:
    """FAILING, LIBRARY, WARM_UP or TEST_TOOLING for one finding."""
    frames = finding.stack
    if not frames or all(frame.project is None for frame in frames):
        # A finding without the frame marks (an older gate's events): it fails, as it did.
        return FAILING
    innermost = next((at for at, frame in enumerate(frames) if frame.project), None)
    # Only what runs beneath the project's last line counts: a project hook that a
    # framework's builder calls is still the project's own code.
    beneath = frames if innermost is None else frames[:innermost]
    if _is_warm_up(beneath):
        return WARM_UP
    if innermost is None:
        return LIBRARY
    if innermost == 0:
        return FAILING  # the project's own line blocks (a call, or its own stalled code)
    entered = frames[innermost - 1]  # the library function the project line called
    if entered.is_async:
        return LIBRARY
    if _is_test_file(frames[innermost]) and any(tool in entered.file for tool in _TEST_TOOLS):
        return TEST_TOOLING
    return FAILING


@dataclass(frozen=True)
class BlockingTriage:
    failing: tuple[BlockingFinding, ...]
    apart: tuple[ApartGroup, ...]

    @property
    def apart_count(self) -> int:
        return sum(group.count for group in self.apart)


def triage(findings: Sequence[BlockingFinding]) -> BlockingTriage:
    """The failing findings, and the others grouped by reason and place, most frequent first."""
    failing: list[BlockingFinding] = []
    grouped: dict[tuple[str, str, str], list[BlockingFinding]] = {}
    for finding in findings:
        reason = classify(finding)
        if reason == FAILING:
            failing.append(finding)
            continue
        top = finding.stack[0] if finding.stack else None
        place = f"{top.file}:{top.line}" if top is not None else "unknown"
        what = finding.call or "slow callback"
        grouped.setdefault((reason, place, what), []).append(finding)
    groups = [
        ApartGroup(
            reason=reason,
            place=place,
            what=what,
            count=len(members),
            longest_ms=max(m.duration_ms for m in members),
            tests=tuple(sorted({m.test for m in members})),
            entered_at=_entered_at(members[0]),
        )
        for (reason, place, what), members in grouped.items()
    ]
    groups.sort(key=lambda g: (-g.count, g.reason, g.place))
    return BlockingTriage(tuple(failing), tuple(groups))


def _entered_at(finding: BlockingFinding) -> str | None:
    for frame in finding.stack:
        if frame.project:
            return f"{frame.file}:{frame.line}"
    return None


def apart_summary(found: BlockingTriage) -> str | None:
    """What was found but does not fail, in a few words: "13 inside libraries or warm-up"."""
    if not found.apart:
        return None
    by_reason: dict[str, int] = {}
    for group in found.apart:
        by_reason[group.reason] = by_reason.get(group.reason, 0) + group.count
    parts = ", ".join(f"{count} {reason}" for reason, count in sorted(by_reason.items()))
    return (
        f"{found.apart_count} more found inside libraries, warm-up or test tooling ({parts}), "
        "not failing: see blocking_apart in the JSON report"
    )
