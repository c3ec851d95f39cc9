"""The summary a person reads after `gate run`: steps, tests, coverage, findings, verdict."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.markup import escape

from gate.checks.floors import two_decimals
from gate.diff_coverage import format_branch, format_lines
from gate.findings import UnwatchedLoop
from gate.outcome import RunOutcome
from gate.reporters.places import Place, places
from gate.results import TestCase

STATUS_MARK = {"ok": "[green]✓[/]", "failed": "[red]✗[/]", "skipped": "[dim]-[/]"}
VERDICT_STYLE = {"pass": "bold green", "fail": "bold red", "error": "bold red"}
WORST_FILES = 5
MAX_FAILURE_LINES = 12


def _steps(console: Console, outcome: RunOutcome) -> None:
    for step in outcome.steps.values():
        if step.name in ("evaluate", "report") and step.status == "ok":
            continue  # instant bookkeeping; shown only when something goes wrong there
        detail = f"  [dim]{escape(step.detail)}[/]" if step.detail else ""
        console.print(
            f" {STATUS_MARK[step.status]} {step.name:<10}{step.duration_s:6.2f}s{detail}",
            highlight=False,
        )


def _failed_output(console: Console, outcome: RunOutcome) -> None:
    for step in outcome.steps.values():
        if step.status == "failed" and step.output:
            console.print(f"\n[bold]{step.name} output[/] (last lines):")
            for line in step.output.rstrip().splitlines()[-25:]:
                console.print(f"  {escape(line)}", highlight=False)


def _cause(case: TestCase) -> tuple[str, str, str, str]:
    """Failures alike in outcome, message, the end of their traceback and the project line
    they point at share a cause; two tests that fail inside json.loads from different lines
    of the project do not."""
    tail = case.longrepr.strip().splitlines()[-MAX_FAILURE_LINES:]
    place = "" if case.location is None else f"{case.location.path}:{case.location.line}"
    return (case.outcome, case.message, "\n".join(tail), place)


def _failures(console: Console, outcome: RunOutcome, verbose: bool) -> None:
    results = outcome.results
    if results is None:
        return
    # One cause, shown once: a SyntaxError in an app module fails every test file importing it.
    errors: dict[str, list[str]] = {}
    for nodeid, text in results.collect_errors:
        tail = "\n".join(text.strip().splitlines()[-MAX_FAILURE_LINES:])
        errors.setdefault(tail, []).append(nodeid or "(session)")
    for tail, nodeids in errors.items():
        same = f" and {len(nodeids) - 1} more with the same error" if len(nodeids) > 1 else ""
        console.print(f"\n[red]collection error[/] {escape(nodeids[0])}{same}")
        if len(nodeids) > 1:
            console.print(f"  [dim]{escape(_named(nodeids[1:], verbose))}[/]", highlight=False)
        for line in tail.splitlines():
            console.print(f"  {escape(line)}", highlight=False)
    bad = results.bad_cases
    if not bad:
        return
    console.print(f"\n[bold]Failed tests[/] ({len(bad)})")
    causes: dict[tuple[str, str, str, str], list[str]] = {}
    for case in bad:
        causes.setdefault(_cause(case), []).append(case.nodeid)
    for case in bad:
        alike = causes[_cause(case)]
        if alike[0] != case.nodeid:
            continue  # shown with the first test that failed this way
        if len(alike) > 1:
            console.print(
                f"  [red]✗[/] {len(alike)} tests failed the same way: "
                f"{escape(_named(alike, verbose))}",
                highlight=False,
            )
        where = ""
        if case.location is not None:
            place = case.location.path + (f":{case.location.line}" if case.location.line else "")
            where = f" [dim]({escape(place)})[/]"
        label = "" if case.outcome == "failed" else f" [dim]\\[{case.outcome} in {case.phase}][/]"
        console.print(f"  [red]✗[/] {escape(case.nodeid)}{label}{where}", highlight=False)
        lines = (case.longrepr if verbose else case.message).strip().splitlines()
        for line in lines[-(200 if verbose else MAX_FAILURE_LINES) :]:
            console.print(f"      {escape(line)}", highlight=False)


def _coverage(console: Console, outcome: RunOutcome) -> None:
    coverage = outcome.coverage
    if coverage is None:
        return
    kind = "line+branch" if coverage.branch else "line"
    console.print(f"\n[bold]Coverage[/] {two_decimals(coverage.percent):.2f}% ({kind})")
    worst = sorted(coverage.files.items(), key=lambda item: item[1])[:WORST_FILES]
    for name, pct in worst:
        if pct < 100:
            missing = coverage.missing_lines.get(name, [])
            shown = ", ".join(map(str, missing[:8])) + (" ..." if len(missing) > 8 else "")
            tail = f" [dim]missing lines {shown}[/]" if missing else ""
            console.print(f"  {two_decimals(pct):6.2f}%  {escape(name)}{tail}", highlight=False)


def _diff_coverage(console: Console, outcome: RunOutcome) -> None:
    diff = outcome.diff_coverage
    if diff is None or diff.problem is not None:
        return  # the coverage.diff check says why
    console.print(
        f"\n[bold]Diff coverage[/] {two_decimals(diff.percent):.2f}% of {diff.total} "
        f"changed line(s) since {escape(diff.base.label)}",
        highlight=False,
    )
    for path, lines in diff.uncovered.items():
        # Every uncovered changed line, as path:line so editors and terminals can jump to it.
        console.print(
            f"  [yellow]{escape(path)}:{lines[0]}[/] not covered: lines {format_lines(lines)}",
            highlight=False,
        )
    for path, arcs in diff.partial.items():
        branches = ", ".join(format_branch(start, end) for start, end in arcs)
        console.print(
            f"  [yellow]{escape(path)}:{arcs[0][0]}[/] branch(es) never taken: {branches}",
            highlight=False,
        )


MAX_TESTS_NAMED = 3  # tests named per place unless -v


def _named(labels: list[str], verbose: bool) -> str:
    shown = labels if verbose else labels[:MAX_TESTS_NAMED]
    more = len(labels) - len(shown)
    return ", ".join(shown) + (f" (+{more} more)" if more else "")


def _findings(console: Console, outcome: RunOutcome, verbose: bool) -> None:
    """Findings grouped by the project line they blame, with counts and the tests that hit it."""
    by_kind: dict[str, list[Place]] = defaultdict(list)
    for place in places(outcome.findings):
        by_kind[place.kind.heading].append(place)
    for heading, found in by_kind.items():
        console.print(f"\n[bold]{escape(heading)}[/] ({len(found)} place(s))")
        for place in found:
            console.print(
                f"  [yellow]{escape(place.where)}[/] {escape(' / '.join(place.whats))} "
                f"x{place.count}{place.measure()}",
                highlight=False,
            )
            if place.labels:
                console.print(f"      in {escape(_named(place.labels, verbose))}", highlight=False)
            for note in place.notes:
                console.print(f"      [dim]{escape(note)}[/]", highlight=False)
    if outcome.results is not None:
        _unwatched(console, outcome.results.unwatched, verbose)


def _unwatched(console: Console, unwatched: list[UnwatchedLoop], verbose: bool) -> None:
    if not unwatched:
        return
    loops: dict[str, list[str]] = defaultdict(list)
    for entry in unwatched:
        loops[entry.loop].append(entry.test)
    console.print(
        f"\n[bold]Event loops gate cannot watch[/] ({len(unwatched)} test(s)): blocking calls "
        "in these tests were not checked"
    )
    for loop, tests in sorted(loops.items()):
        console.print(
            f"  [yellow]{escape(loop)}[/] in {escape(_named(sorted(set(tests)), verbose))}",
            highlight=False,
        )


def _checks(console: Console, outcome: RunOutcome) -> None:
    if not outcome.checks:
        return
    console.print("\n[bold]Checks[/]")
    for check in outcome.checks:
        mark = "[green]✓[/]" if check.passed else "[red]✗[/]"
        console.print(f"  {mark} {check.name}: {escape(check.message)}", highlight=False)


def render_terminal(console: Console, outcome: RunOutcome, *, verbose: bool = False) -> None:
    _steps(console, outcome)
    _failed_output(console, outcome)
    _failures(console, outcome, verbose)
    if outcome.results is not None and outcome.results.cases:
        totals = outcome.results.totals
        console.print(
            f"\n[bold]Tests[/] {totals['total']} total: {totals['passed']} passed, "
            f"{totals['failed']} failed, {totals['errors']} errors, {totals['skipped']} skipped",
            highlight=False,
        )
    _coverage(console, outcome)
    _diff_coverage(console, outcome)
    _findings(console, outcome, verbose)
    for note in outcome.notes:
        console.print(f"[dim]note: {escape(note)}[/]", highlight=False)
    _checks(console, outcome)
    if outcome.error:
        console.print(f"\n[red]error:[/] {escape(outcome.error)}", highlight=False)
    style = VERDICT_STYLE[outcome.verdict]
    console.print(
        f"\n[{style}]{outcome.verdict.upper()}[/] (exit {outcome.exit_code}) "
        f"in {outcome.duration_s:.1f}s",
        highlight=False,
    )
