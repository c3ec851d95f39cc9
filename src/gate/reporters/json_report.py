"""The JSON report, schema gate.report/1 (see CONTRACT)."""

from __future__ import annotations

import json
from typing import Any

from gate import __version__
from gate.blocking_triage import triage
from gate.checks.floors import two_decimals
from gate.diff_coverage import DiffCoverage
from gate.outcome import RunOutcome

SCHEMA = "gate.report/1"


def _diff_coverage(diff: DiffCoverage | None) -> dict[str, Any] | None:
    if diff is None:
        return None
    return {
        "base": diff.base.ref,
        "base_from": diff.base.source,
        "merge_base": diff.merge_base or None,
        "percent": None if diff.problem else two_decimals(diff.percent),
        "changed_lines": diff.total,
        "covered_lines": diff.covered,
        "files": {
            path: {
                "changed": lines,
                "uncovered": diff.uncovered.get(path, []),
                "partial_branches": [list(arc) for arc in diff.partial.get(path, [])],
            }
            for path, lines in diff.changed.items()
        },
        "error": diff.problem,
    }


def render_json(outcome: RunOutcome) -> str:
    results = outcome.results
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "verdict": outcome.verdict,
        "exit_code": outcome.exit_code,
        "duration_s": round(outcome.duration_s, 3),
        "steps": [step.as_dict() for step in outcome.steps.values()],
        "tests": results.totals
        if results is not None
        else {"total": 0, "passed": 0, "failed": 0, "errors": 0, "skipped": 0},
        "coverage": None
        if outcome.coverage is None
        else {
            "percent": two_decimals(outcome.coverage.percent),
            "branch": outcome.coverage.branch,
            "files": {name: two_decimals(pct) for name, pct in outcome.coverage.files.items()},
            # The next run names the lines a file newly misses (previous_run.py).
            "missing_lines": {
                name: lines for name, lines in outcome.coverage.missing_lines.items() if lines
            },
        },
        "diff_coverage": _diff_coverage(outcome.diff_coverage),
        "checks": [check.as_dict() for check in outcome.checks],
        **outcome.report_sections,
        # Findings at project lines; the rest are grouped under blocking_apart (checks/blocking).
        "blocking": []
        if results is None
        else [f.as_report() for f in triage(results.blocking).failing],
        "blocking_unwatched": [] if results is None else [u.as_report() for u in results.unwatched],
        "gate_version": __version__,
        "run_id": outcome.run_id,
        "failed_tests": []
        if results is None
        else [
            {
                "test": case.nodeid,
                "outcome": case.outcome,
                "phase": case.phase,
                "message": case.message,
                "file": None if case.location is None else case.location.path,
                "line": None if case.location is None else case.location.line,
            }
            for case in results.bad_cases
        ],
        "notes": outcome.notes,
    }
    if outcome.error:
        report["error"] = outcome.error
    return json.dumps(report, indent=2) + "\n"
