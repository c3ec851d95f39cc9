"""The Markdown summary: verdict, checks, failed tests, findings and the worst-covered files.

Written to reports.markdown locally and appended to $GITHUB_STEP_SUMMARY in GitHub Actions.
"""

from __future__ import annotations

from gate.checks.floors import two_decimals
from gate.diff_coverage import format_branch, format_lines
from gate.outcome import RunOutcome
from gate.reporters.places import Place, first_line, places

VERDICT_MARK = {"pass": "✅", "fail": "❌", "error": "⚠️"}
WORST_FILES = 5
MAX_FAILED_TESTS = 50
MAX_MISSING_SHOWN = 10


def cell(text: object) -> str:
    """Text safe inside a table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def code(text: object) -> str:
    """Inline code that survives backticks in the text."""
    value = " ".join(str(text).split())
    fence = "``" if "`" in value else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def _headline(outcome: RunOutcome) -> list[str]:
    facts = [f"exit {outcome.exit_code}", f"{outcome.duration_s:.1f}s"]
    if outcome.results is not None:
        totals = outcome.results.totals
        facts.append(
            f"{totals['total']} tests: {totals['passed']} passed, {totals['failed']} failed, "
            f"{totals['errors']} errors, {totals['skipped']} skipped"
        )
    if outcome.coverage is not None:
        facts.append(f"coverage {two_decimals(outcome.coverage.percent):.2f}%")
    lines = [
        f"## {VERDICT_MARK[outcome.verdict]} gate: {outcome.verdict.upper()}",
        "",
        " · ".join(facts),
    ]
    if outcome.error:
        lines += ["", f"> **error:** {cell(outcome.error)}"]
    return lines


def _checks(outcome: RunOutcome) -> list[str]:
    if not outcome.checks:
        return []
    lines = ["", "### Checks", "", "| | check | actual | expected | detail |"]
    lines.append("|---|---|---|---|---|")
    for check in outcome.checks:
        mark = "✅" if check.passed else "❌"
        lines.append(
            f"| {mark} | {cell(check.name)} | {cell(_number(check.actual))} | "
            f"{cell(_number(check.expected))} | {cell(check.message)} |"
        )
    return lines


def _failed_tests(outcome: RunOutcome) -> list[str]:
    results = outcome.results
    if results is None or not (results.bad_cases or results.collect_errors):
        return []
    bad = results.bad_cases
    lines = ["", f"### Failed tests ({len(bad) + len(results.collect_errors)})", ""]
    for nodeid, text in results.collect_errors:
        lines.append(f"- {code(nodeid or '(session)')} failed to collect: {cell(first_line(text))}")
    for case in bad[:MAX_FAILED_TESTS]:
        location = case.location
        where = ""
        if location is not None:
            where = " at " + code(
                f"{location.path}:{location.line}" if location.line else location.path
            )
        state = "" if case.outcome == "failed" else f" ({case.outcome} in {case.phase})"
        message = first_line(case.message) or first_line(case.longrepr)
        lines.append(f"- {code(case.nodeid)}{state}{where}: {cell(message)}")
    if len(bad) > MAX_FAILED_TESTS:
        lines.append(f"- … and {len(bad) - MAX_FAILED_TESTS} more")
    return lines


def _findings(outcome: RunOutcome) -> list[str]:
    """A section per kind of finding, a line per place."""
    by_kind: dict[str, list[Place]] = {}
    for place in places(outcome.findings):
        by_kind.setdefault(place.kind.heading, []).append(place)
    lines = []
    for heading, found in by_kind.items():
        lines += ["", f"### {heading} ({len(found)} place(s))", ""]
        for place in found:
            tests = ""
            if place.tests:
                more = f" (+{len(place.tests) - 1} more)" if len(place.tests) > 1 else ""
                tests = f", in {code(place.tests[0])}{more}"
            lines.append(
                f"- {code(f'{place.path}:{place.line}')} {code(place.whats[0])} x{place.count}"
                f"{place.measure()}{tests}"
            )
    return lines


def _coverage(outcome: RunOutcome) -> list[str]:
    coverage = outcome.coverage
    if coverage is None:
        return []
    kind = "line+branch" if coverage.branch else "line"
    lines = ["", f"### Coverage {two_decimals(coverage.percent):.2f}% ({kind})"]
    worst = sorted(coverage.files.items(), key=lambda item: (item[1], item[0]))
    worst = [(name, pct) for name, pct in worst if pct < 100][:WORST_FILES]
    if not worst:
        return [*lines, "", "Every measured file is fully covered."]
    lines += ["", "| file | coverage | missing lines |", "|---|---:|---|"]
    for name, pct in worst:
        missing = coverage.missing_lines.get(name, [])
        shown = ", ".join(map(str, missing[:MAX_MISSING_SHOWN]))
        if len(missing) > MAX_MISSING_SHOWN:
            shown += ", …"
        lines.append(f"| {cell(name)} | {two_decimals(pct):.2f}% | {shown} |")
    return lines


def _diff_coverage(outcome: RunOutcome) -> list[str]:
    diff = outcome.diff_coverage
    if diff is None or diff.problem is not None:
        return []
    lines = [
        "",
        f"### Diff coverage {two_decimals(diff.percent):.2f}% ({diff.covered} of {diff.total} "
        f"changed lines since {code(diff.base.label)})",
    ]
    if not diff.uncovered and not diff.partial:
        return [*lines, "", "Every changed executable line and branch is covered."]
    lines += ["", "| file | uncovered changed lines | branches never taken |", "|---|---|---|"]
    for path in sorted({*diff.uncovered, *diff.partial}):
        missing = format_lines(diff.uncovered.get(path, []))
        branches = ", ".join(format_branch(a, b) for a, b in diff.partial.get(path, []))
        lines.append(f"| {cell(path)} | {missing} | {branches} |")
    return lines


def render_markdown(outcome: RunOutcome) -> str:
    lines = [
        *_headline(outcome),
        *_checks(outcome),
        *_failed_tests(outcome),
        *_findings(outcome),
        *_coverage(outcome),
        *_diff_coverage(outcome),
    ]
    return "\n".join(lines) + "\n"
