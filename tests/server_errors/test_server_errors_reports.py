"""Server errors in every report, through the findings the check returns (pure)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from gate.checks.base import Evidence
from gate.checks.server_errors import CHECK
from gate.config import load_config
from gate.outcome import RunOutcome
from gate.reporters.github import render_annotations
from gate.reporters.gitlab import code_quality_issues
from gate.reporters.json_report import render_json
from gate.reporters.junit import render_junit
from gate.reporters.markdown import render_markdown
from gate.reporters.terminal import render_terminal
from gate.results import TestCase, TestResults
from gate.server_error_events import parse_server_error

CRASH = {
    "test": "tests/test_items.py::test_create",
    "phase": "call",
    "kind": "exception",
    "method": "POST",
    "path": "/items",
    "status": 500,
    "exception": "KeyError",
    "exception_types": ["KeyError", "LookupError", "Exception"],
    "message": "'apple'",
    "file": "app/items.py",
    "line": 30,
    "stack": [{"file": "app/items.py", "line": 30, "function": "create"}],
}
HEALTH = {
    **CRASH,
    "test": "tests/test_health.py::test_draining",
    "kind": "response",
    "method": "GET",
    "path": "/health",
    "status": 503,
    "exception": None,
    "exception_types": [],
    "message": None,
    "file": "tests/test_health.py",
    "line": 8,
}


def judged_outcome(tmp_path: Path) -> RunOutcome:
    (tmp_path / "tests").mkdir()
    (tmp_path / "gate.yaml").write_text(
        "database: {mode: none}\nserver_errors:\n  allow: ['GET /health 503']\n"
    )
    config = load_config(tmp_path / "gate.yaml", {})
    results = TestResults(rootdir=str(tmp_path))
    for nodeid in (CRASH["test"], HEALTH["test"]):
        results.cases[nodeid] = TestCase(nodeid, "passed", file=nodeid.split("::")[0], line=1)
    results.server_errors = [e for e in map(parse_server_error, (CRASH, HEALTH)) if e]
    judgement = CHECK.judge(Evidence(config, results, None, None, root=tmp_path))
    assert judgement is not None
    outcome = RunOutcome(root=tmp_path, run_id="r1", results=results, verdict="fail", exit_code=1)
    outcome.checks = list(judgement.checks)
    outcome.findings = list(judgement.findings)
    outcome.report_sections.update(judgement.report)
    return outcome


def test_every_report_names_the_line_and_keeps_the_allowed_one_from_failing(
    tmp_path: Path,
) -> None:
    outcome = judged_outcome(tmp_path)

    report = json.loads(render_json(outcome))
    assert [(e["path"], e["allowed"]) for e in report["server_errors"]] == [
        ("/items", False),
        ("/health", True),
    ]
    assert report["checks"][0]["name"] == "server_errors"

    annotations = render_annotations(outcome)
    assert annotations[0].startswith(
        "::error file=app/items.py,line=30,title=server error during the tests::"
        "POST /items -> 500: KeyError went unhandled 1 time(s), in tests/test_items.py::test_create"
    )
    assert annotations[1].startswith("::warning file=tests/test_health.py,line=8,")

    issues = code_quality_issues(outcome)
    assert [(i["check_name"], i["location"]["lines"]["begin"]) for i in issues] == [
        ("gate.server_errors", 30),
        ("gate.server_errors", 8),
    ]

    junit = render_junit(outcome)
    assert "gate: server error during the tests at app/items.py:30" in junit

    markdown = render_markdown(outcome)
    assert "### Server errors during the tests (2 place(s))" in markdown
    assert "app/items.py:30" in markdown

    stream = io.StringIO()
    render_terminal(Console(file=stream, width=200, color_system=None), outcome)
    terminal = stream.getvalue()
    assert "Server errors during the tests (2 place(s))" in terminal
    assert "app/items.py:30 POST /items -> 500: KeyError x1" in terminal
    assert "allowed by server_errors.allow" in terminal
