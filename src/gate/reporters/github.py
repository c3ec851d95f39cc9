"""GitHub Actions workflow commands: `::error file=…,line=…,title=…::message` annotations (pure).

Escaping follows @actions/core: data escapes %, CR and LF; property values also escape : and ,.
"""

from __future__ import annotations

from gate.diff_coverage import format_branch, line_ranges
from gate.outcome import RunOutcome
from gate.reporters.places import first_line, places


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    level: str,
    message: str,
    *,
    title: str,
    file: str | None = None,
    line: int | None = None,
    end_line: int | None = None,
) -> str:
    properties = []
    if file:
        properties.append(f"file={escape_property(file)}")
        if line:
            properties.append(f"line={line}")
            if end_line and end_line != line:
                properties.append(f"endLine={end_line}")
    properties.append(f"title={escape_property(title)}")
    return f"::{level} {','.join(properties)}::{escape_data(message)}"


def _join(prefix: str, path: str) -> str:
    return f"{prefix}{path}" if prefix else path


def render_annotations(outcome: RunOutcome, prefix: str = "") -> list[str]:
    """One line per annotation; prefix turns root-relative paths into repository-relative ones."""
    lines: list[str] = []
    results = outcome.results
    itemised: set[str] = set()
    if results is not None:
        for nodeid, text in results.collect_errors:
            path = nodeid.partition("::")[0]
            lines.append(
                annotation(
                    "error",
                    text.strip() or "collection failed",
                    title=f"collection error in {nodeid or 'the session'}",
                    file=_join(prefix, path) if path.endswith(".py") else None,
                )
            )
            itemised.add("tests")
        for case in results.bad_cases:
            location = case.location
            state = "failed" if case.outcome == "failed" else f"{case.outcome} in {case.phase}"
            lines.append(
                annotation(
                    "error",
                    case.message.strip() or first_line(case.longrepr) or state,
                    title=f"{case.nodeid} {state}",
                    file=None if location is None else _join(prefix, location.path),
                    line=None if location is None else location.line,
                )
            )
            itemised.add("tests")
    for place in places(outcome.findings):
        message = (
            f"{place.whats[0]} {place.kind.verb} {place.count} time(s){place.measure()}"
            f"{place.tests_named()}"
        )
        if place.notes:
            message += f"\n{place.notes[0]}"
        lines.append(
            annotation(
                "error" if place.failing else "warning",
                message,
                title=place.kind.title,
                file=None if place.path is None else _join(prefix, place.path),
                line=place.line,
            )
        )
        itemised.add(place.kind.check)
    lines += _diff_coverage_annotations(outcome, prefix)
    for check in outcome.failed_checks:
        if check.name in itemised:  # annotated one by one above
            continue
        lines.append(annotation("error", check.message, title=f"gate: {check.name}"))
    if outcome.error:
        lines.append(annotation("error", outcome.error, title="gate: error"))
    return lines


def _diff_coverage_annotations(outcome: RunOutcome, prefix: str) -> list[str]:
    """One annotation per run of uncovered changed lines: an error when they fail the gate."""
    diff = outcome.diff_coverage
    if diff is None:
        return []
    failed = any(c.name == "coverage.diff" and not c.passed for c in outcome.checks)
    lines = []
    for path, missing in diff.uncovered.items():
        for first, last in line_ranges(missing):
            where = f"line {first}" if first == last else f"lines {first}-{last}"
            lines.append(
                annotation(
                    "error" if failed else "warning",
                    f"{where} changed since {diff.base.label} and not covered by any test",
                    title="uncovered changed line" + ("" if first == last else "s"),
                    file=_join(prefix, path),
                    line=first,
                    end_line=last,
                )
            )
    for path, arcs in diff.partial.items():
        # A changed line that ran, but one of its branches never did.
        for start in sorted({start for start, _ in arcs}):
            taken = ", ".join(format_branch(a, b) for a, b in arcs if a == start)
            lines.append(
                annotation(
                    "error" if failed else "warning",
                    f"line {start} changed since {diff.base.label}; branch {taken} never taken",
                    title="partly covered changed line",
                    file=_join(prefix, path),
                    line=start,
                )
            )
    return lines
