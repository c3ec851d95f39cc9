"""Which blocking findings fail: a table of stacks, innermost frame first."""

from __future__ import annotations

import pytest

from gate.blocking_triage import (
    FAILING,
    LIBRARY,
    TEST_TOOLING,
    WARM_UP,
    apart_summary,
    classify,
    triage,
)
from gate.findings import BlockingFinding, Frame


def frame(
    file: str, function: str = "f", *, project: bool = False, is_async: bool = False
) -> Frame:
    return Frame(file, 1, function, project, is_async)


TEST = frame("tests/test_api.py", "test_x", project=True, is_async=True)
HANDLER = frame("app/api.py", "create", project=True, is_async=True)
LOOP = frame("asyncio/events.py", "_run")


def finding(*stack: Frame, test: str = "tests/test_api.py::test_x") -> BlockingFinding:
    top = next((f for f in stack if f.project), stack[0])
    return BlockingFinding(
        test, "call", "slow", None, top.file, top.line, 150.0, None, None, tuple(stack)
    )


@pytest.mark.parametrize(
    ("stack", "reason"),
    [
        # time.sleep on the handler's own line (the interceptor's frames are never shown)
        ([HANDLER, LOOP], FAILING),
        # the handler calls a sync library function that hashes (passlib -> bcrypt)
        ([frame("passlib/context.py", "hash"), HANDLER, LOOP], FAILING),
        # stdlib reached by a sync call: path.read_text() -> open
        ([frame("pathlib.py", "read_text"), TEST, LOOP], FAILING),
        # a project hook a pydantic builder calls is still the project's code
        (
            [
                frame("app/types.py", "schema", project=True),
                frame("pydantic/type_adapter.py"),
                TEST,
                LOOP,
            ],
            FAILING,
        ),
        # `await client.get()`: httpx's async API stats ~/.netrc inside
        ([frame("netrc.py"), frame("httpx/_client.py", "get", is_async=True), TEST, LOOP], LIBRARY),
        # a stall with no project frame at all (a weakref finaliser, starlette internals)
        ([frame("weakref.py", "__getitem__"), LOOP], LIBRARY),
        # FastAPI building a route's validators on its first request
        (
            [
                frame("typing.py"),
                frame("fastapi/utils.py", "create_model_field"),
                frame("fastapi/applications.py", "__call__", is_async=True),
                TEST,
                LOOP,
            ],
            WARM_UP,
        ),
        # importlib.metadata reading the installed packages, wherever it is reached from
        (
            [
                frame("importlib/metadata/__init__.py"),
                frame("pydantic/plugin/_loader.py"),
                TEST,
                LOOP,
            ],
            WARM_UP,
        ),
        # freezegun patching every module, from a test
        ([frame("freezegun/api.py", "start"), TEST, LOOP], TEST_TOOLING),
        # the same tool from app code is the app's choice
        ([frame("freezegun/api.py", "start"), HANDLER, LOOP], FAILING),
    ],
)
def test_a_finding_fails_only_at_a_line_the_project_can_change(
    stack: list[Frame], reason: str
) -> None:
    assert classify(finding(*stack)) == reason


def test_events_without_frame_marks_fail_as_before() -> None:
    old = BlockingFinding.from_event(
        {"test": "t", "stack": [{"file": "weakref.py", "line": 1, "function": "f"}]}
    )
    assert classify(old) == FAILING


def test_apart_findings_are_grouped_with_counts_and_tests() -> None:
    weakref = [frame("weakref.py", "__getitem__"), LOOP]
    result = triage(
        [
            finding(*weakref, test="t.py::a"),
            finding(*weakref, test="t.py::b"),
            finding(frame("netrc.py"), frame("httpx/_client.py", is_async=True), TEST, LOOP),
            finding(HANDLER, LOOP),
        ]
    )
    assert [f.file for f in result.failing] == ["app/api.py"]
    first = result.apart[0]
    assert (first.reason, first.place, first.count, first.tests) == (
        LIBRARY,
        "weakref.py:1",
        2,
        ("t.py::a", "t.py::b"),
    )
    assert result.apart[1].entered_at == "tests/test_api.py:1"
    assert apart_summary(result) == (
        "3 more found inside libraries, warm-up or test tooling (3 library), not failing: "
        "see blocking_apart in the JSON report"
    )
    assert apart_summary(triage([])) is None
