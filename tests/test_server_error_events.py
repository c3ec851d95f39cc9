"""Server-error findings read from events, the allow list, and the check's verdict (pure)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.checks.base import Evidence
from gate.checks.server_errors import CHECK
from gate.config import load_config
from gate.errors import ConfigError
from gate.ratchet.baseline import Baseline
from gate.ratchet.setup import RatchetRun, mark_known
from gate.results import TestResults
from gate.server_error_events import (
    KINDS,
    allow_entry_problem,
    is_allowed,
    judge_server_errors,
    parse_server_error,
    with_allowed,
)


def _event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event": "server_error",
        "test": "tests/test_items.py::test_create[pen]",
        "phase": "call",
        "kind": "exception",
        "method": "POST",
        "path": "/items",
        "status": 500,
        "exception": "app.errors.UpstreamDown",
        "exception_types": ["app.errors.UpstreamDown", "app.errors.AppError", "Exception"],
        "message": "payments",
        "file": "app/items.py",
        "line": 30,
        "stack": [{"file": "app/items.py", "line": 30, "function": "create"}],
        "worker": "gw1",
    }
    event.update(changes)
    return event


def test_an_event_becomes_a_finding_and_back_into_the_report_entry() -> None:
    error = parse_server_error(_event())
    assert error is not None
    assert error.as_report() == {
        "test": "tests/test_items.py::test_create[pen]",
        "phase": "call",
        "kind": "exception",
        "method": "POST",
        "path": "/items",
        "status": 500,
        "exception": "app.errors.UpstreamDown",
        "message": "payments",
        "file": "app/items.py",
        "line": 30,
        "allowed": False,
        "stack": [{"file": "app/items.py", "line": 30, "function": "create"}],
    }
    assert (error.what, error.detail) == ("POST /items -> 500: app.errors.UpstreamDown", "payments")


@pytest.mark.parametrize(
    "event",
    [
        {"event": "server_error", "kind": "detector-error", "error": "Traceback ..."},
        _event(kind="mystery"),
        _event(test=None),
    ],
)
def test_what_is_not_a_finding(event: dict[str, Any]) -> None:
    assert parse_server_error(event) is None


@pytest.mark.parametrize(
    ("entry", "allowed"),
    [
        ("POST /items 500", True),
        ("post /items 500", True),
        ("POST /items 5xx", True),
        ("POST /items", True),
        ("POST /items/* 500", False),
        ("* /it* 500", True),
        ("GET /items 500", False),
        ("POST /items 503", False),
        ("tests/test_items.py::test_create[pen]", True),
        ("tests/test_items.py::test_create", True),
        ("tests/test_items.py", True),
        ("tests/test_items.py::test_create_many", False),
        ("app.errors.UpstreamDown", True),
        ("UpstreamDown", True),
        ("app.errors.AppError", True),  # a base class allows its subclasses
        ("errors.UpstreamDown", False),
        ("KeyError", False),
    ],
)
def test_allow_entries(entry: str, allowed: bool) -> None:
    error = parse_server_error(_event())
    assert error is not None
    assert is_allowed(error, [entry]) is allowed


def test_a_request_entry_never_allows_a_dead_thread() -> None:
    error = parse_server_error(_event(kind="thread", method=None, path=None, status=None))
    assert error is not None
    assert not is_allowed(error, ["* /*"])
    assert is_allowed(error, ["UpstreamDown"])


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("GET /health 503", None),
        ("GET /health", None),
        ("UpstreamDown", None),
        ("tests/test_x.py::test_y", None),
        (
            "GET health 503",
            "'GET health 503': a request entry is METHOD PATH [STATUS], "
            'e.g. "GET /health 503" (PATH starts with /)',
        ),
        ("GET /health five", "'GET /health five': STATUS must be a status code such as 503 or 5xx"),
        (
            "upstream is down",
            "'upstream is down' is neither a request (\"GET /health 503\"), a test id "
            '("tests/test_x.py::test_y") nor an exception type ("app.errors.UpstreamDown")',
        ),
    ],
)
def test_allow_entry_problems(entry: str, problem: str | None) -> None:
    assert allow_entry_problem(entry) == problem


def test_the_check_fails_only_on_findings_not_allowed() -> None:
    errors = [
        parse_server_error(_event()),
        parse_server_error(_event(path="/health", method="GET", status=503, line=12)),
    ]
    marked = with_allowed([e for e in errors if e is not None], ["GET /health 503"])
    failed = judge_server_errors(marked, "fail")
    assert (failed.passed, failed.actual) == (False, 1)
    assert failed.message == (
        "1 server error(s) during the tests at app/items.py:30: handle the error and answer "
        "4xx on purpose, or allow it in server_errors.allow; 1 allowed"
    )
    warned = judge_server_errors(marked, "warn")
    assert warned.passed
    assert warned.message.endswith("(server_errors.mode is warn: not failing the gate)")
    clean = judge_server_errors(marked[1:], "fail")
    assert (clean.passed, clean.message) == (True, "no server errors during the tests; 1 allowed")


def test_config_defaults_and_errors(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    config_file = tmp_path / "gate.yaml"
    config_file.write_text("database:\n  mode: none\n")
    defaults = load_config(config_file, {}).server_errors
    assert (defaults.mode, defaults.allow) == ("fail", [])

    config_file.write_text('server_errors:\n  allow: "GET /health 503"\n')
    assert load_config(config_file, {}).server_errors.allow == ["GET /health 503"]

    config_file.write_text("server_errors:\n  allow:\n    - UpstreamDown\n    - GET health\n")
    with pytest.raises(ConfigError) as info:
        load_config(config_file, {})
    assert str(info.value).endswith(
        "gate.yaml:4:7: server_errors.allow[1]: 'GET health': a request entry is METHOD PATH "
        '[STATUS], e.g. "GET /health 503" (PATH starts with /)'
    )


def test_the_docs_allow_examples_are_valid_and_the_kinds_table_is_complete() -> None:
    doc = (Path(__file__).parents[1] / "docs" / "server-errors.md").read_text()
    block = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    allow = yaml.safe_load(block)["server_errors"]["allow"]
    assert len(allow) == 6
    assert [allow_entry_problem(entry) for entry in allow] == [None] * len(allow)
    table_kinds = re.findall(r"^\| `(\w+)` \|", doc, flags=re.MULTILINE)
    assert sorted(table_kinds) == sorted(KINDS)


def test_the_check_module_judges_marks_allowed_and_reports(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    config_file = tmp_path / "gate.yaml"
    config_file.write_text("database: {mode: none}\nserver_errors:\n  allow: ['GET /health 503']\n")
    results = TestResults()
    for event in (_event(), _event(method="GET", path="/health", status=503, line=12)):
        error = parse_server_error(event)
        assert error is not None
        results.server_errors.append(error)
    evidence = Evidence(load_config(config_file, {}), results, None, None, root=tmp_path)
    judgement = CHECK.judge(evidence)
    assert judgement is not None
    [check] = judgement.checks
    assert (check.name, check.passed, check.actual) == ("server_errors", False, 1)
    assert [(f.what, f.file, f.line, f.failing) for f in judgement.findings] == [
        ("POST /items -> 500: app.errors.UpstreamDown", "app/items.py", 30, True),
        ("GET /health -> 503: app.errors.UpstreamDown", "app/items.py", 12, False),
    ]
    assert judgement.findings[1].note == "payments; allowed by server_errors.allow"
    assert [e["allowed"] for e in judgement.report["server_errors"]] == [False, True]
    assert CHECK.empty_report == {"server_errors": []}

    results.server_errors_recorder_failures.append("Traceback ...\nTypeError: boom\n")
    [check] = (CHECK.judge(evidence) or judgement).checks
    assert check.message.endswith(
        "(the recorder stopped on an internal error, TypeError: boom; findings may be incomplete)"
    )

    config_file.write_text("database: {mode: none}\nserver_errors: {mode: 'off'}\n")
    off = Evidence(load_config(config_file, {}), results, None, None, root=tmp_path)
    assert CHECK.judge(off) is None


def test_a_known_place_is_reported_not_failing_and_a_new_one_fails() -> None:
    """With a ratchet baseline, a crash at a place it holds is a known offender."""
    known = parse_server_error(_event())
    new = parse_server_error(_event(file="app/users.py", stack=[
        {"file": "app/users.py", "line": 9, "function": "register"}
    ]))  # fmt: skip
    assert known is not None and new is not None
    baseline = Baseline(server_errors=frozenset({"app/items.py:create app.errors.UpstreamDown"}))
    _, marked = mark_known(RatchetRun(Path("r.json"), "r.json", baseline), [], [known, new])
    assert [e.known for e in marked] == [True, False]
    assert marked[0].as_report()["known"] is True
    verdict = judge_server_errors(marked, "fail")
    assert (verdict.passed, verdict.actual) == (False, 1)
    assert verdict.message.endswith("; 1 at places the ratchet baseline holds")
    assert judge_server_errors(marked[:1], "fail").passed
