"""GitLab CI: the code-quality report (artifacts:reports:codequality) and the coverage line (pure).

https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from gate.checks.floors import two_decimals
from gate.diff_coverage import line_ranges
from gate.outcome import RunOutcome
from gate.reporters.places import first_line

REPORT_NAME = "gl-code-quality-report.json"


def coverage_line(outcome: RunOutcome) -> str | None:
    """Matches the job's `coverage: '/Coverage: \\d+\\.\\d+%/'`."""
    if outcome.coverage is None:
        return None
    return f"Coverage: {two_decimals(outcome.coverage.percent):.2f}%"


def fingerprint(check: str, path: str, line: int | None, test: str) -> str:
    key = "\0".join((check, path, str(line or 0), test))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _issue(
    check: str,
    description: str,
    severity: str,
    path: str,
    line: int | None,
    test: str,
    end_line: int | None = None,
) -> dict[str, Any]:
    lines: dict[str, int] = {"begin": line or 1}
    if end_line is not None:
        lines["end"] = end_line
    return {
        "type": "issue",
        "check_name": check,
        "description": description,
        "severity": severity,
        "fingerprint": fingerprint(check, path, line, test),
        "location": {"path": path, "lines": lines},
    }


def _join(prefix: str, path: str) -> str:
    return f"{prefix}{path}" if prefix else path


def code_quality_issues(outcome: RunOutcome, prefix: str = "") -> list[dict[str, Any]]:
    """Failed tests, every check's findings and uncovered changed lines.

    prefix makes root-relative paths repository-relative.
    """
    issues: list[dict[str, Any]] = []
    results = outcome.results
    if results is None:
        return issues
    for nodeid, text in results.collect_errors:
        path = nodeid.partition("::")[0] or "."
        description = f"{nodeid or 'the session'} failed to collect: {first_line(text)}"
        issues.append(
            _issue("gate.collect", description, "blocker", _join(prefix, path), None, nodeid)
        )
    for case in results.bad_cases:
        location = case.location
        # GitLab needs a path: without a file of the project's, the issue is on the project.
        path = _join(prefix, location.path if location else ".")
        state = "failed" if case.outcome == "failed" else f"{case.outcome} in {case.phase}"
        message = first_line(case.message) or first_line(case.longrepr)
        issues.append(
            _issue(
                "gate.test",
                f"{case.nodeid} {state}: {message}" if message else f"{case.nodeid} {state}",
                "major" if case.outcome == "failed" else "critical",
                path,
                location.line if location else None,
                case.nodeid,
            )
        )
    seen: dict[tuple[str, str, int | None, str], dict[str, Any]] = {}
    for finding in outcome.findings:
        line, test = finding.line, finding.test or ""
        path = _join(prefix, finding.file or ".")
        key = (finding.kind.code, path, line, test)
        if key in seen:  # the same place in the same test once more: one issue, not a duplicate
            continue
        lasted = "" if finding.duration_ms is None else f" for {finding.duration_ms:.1f} ms"
        seen[key] = _issue(
            finding.kind.code,
            f"{finding.what} {finding.kind.verb}{lasted}" + (f" in {test}" if test else ""),
            "major" if finding.failing else "minor",
            path,
            line,
            test,
        )
    issues += seen.values()
    issues += _diff_coverage_issues(outcome, prefix)
    return _unique(issues)


def _diff_coverage_issues(outcome: RunOutcome, prefix: str) -> list[dict[str, Any]]:
    """One issue per run of uncovered changed lines, so the merge request shows each one."""
    diff = outcome.diff_coverage
    if diff is None:
        return []
    failed = any(c.name == "coverage.diff" and not c.passed for c in outcome.checks)
    issues = []
    for path, missing in diff.uncovered.items():
        for first, last in line_ranges(missing):
            where = f"line {first}" if first == last else f"lines {first}-{last}"
            issues.append(
                _issue(
                    "gate.diff_coverage",
                    f"{path} {where} changed since {diff.base.label} and not covered by any test",
                    "major" if failed else "minor",
                    _join(prefix, path),
                    first,
                    f"{first}-{last}",  # stable across runs: the same lines, the same issue
                    end_line=last,
                )
            )
    return issues


def _unique(issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """GitLab merges issues that share a fingerprint; give every repeat a fingerprint of its own."""
    taken: set[str] = set()
    for issue in issues:
        value, repeat = issue["fingerprint"], 1
        while value in taken:
            repeat += 1
            value = hashlib.sha256(f"{issue['fingerprint']}#{repeat}".encode()).hexdigest()
        issue["fingerprint"] = value
        taken.add(value)
    return issues


def render_code_quality(outcome: RunOutcome, prefix: str = "") -> str:
    return json.dumps(code_quality_issues(outcome, prefix), indent=2) + "\n"
