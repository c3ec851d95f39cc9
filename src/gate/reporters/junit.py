"""JUnit XML built from gate's own results, so it exists even when pytest was killed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TypeVar

from gate.checks.base import Finding
from gate.findings import UnwatchedLoop
from gate.outcome import RunOutcome
from gate.results import TestCase

_Record = TypeVar("_Record", Finding, UnwatchedLoop)


def _classname(case: TestCase) -> tuple[str, str]:
    path, _, name = case.nodeid.partition("::")
    module = path.removesuffix(".py").replace("/", ".")
    if "::" in name:
        klass, _, name = name.rpartition("::")
        module = f"{module}.{klass.replace('::', '.')}"
    return module, name or path


def _by_test(entries: Sequence[_Record]) -> dict[str, list[_Record]]:
    grouped: dict[str, list[_Record]] = {}
    for entry in entries:
        if entry.test is not None:
            grouped.setdefault(entry.test, []).append(entry)
    return grouped


def _outside_tests(suite: ET.Element, findings: Sequence[Finding]) -> None:
    """Findings no test made (migrations.lint's): one testcase per check, failed by the
    failing ones, so that a CI's test view shows them too."""
    by_check: dict[str, list[Finding]] = {}
    for finding in findings:
        by_check.setdefault(finding.kind.check, []).append(finding)
    for check, found in by_check.items():
        element = ET.SubElement(suite, "testcase", classname="gate", name=check)
        failing = [f for f in found if f.failing]
        if failing:
            ET.SubElement(
                element, "failure", message=f"{len(failing)} finding(s)"
            ).text = "\n".join(_finding_text(f) for f in failing)
        ET.SubElement(element, "system-out").text = _finding_properties(element, found, [])
        suite.set("tests", str(int(suite.get("tests", "0")) + 1))
        suite.set("failures", str(int(suite.get("failures", "0")) + bool(failing)))


def _finding_text(finding: Finding) -> str:
    lasted = "" if finding.duration_ms is None else f", {finding.duration_ms:.1f} ms"
    phase = f" ({finding.phase}{lasted})" if finding.test is not None else ""
    text = f"{finding.file}:{finding.line} {finding.what}{phase}"
    return f"{text}: {finding.note}" if finding.note else text


def _finding_properties(
    element: ET.Element, findings: list[Finding], unwatched: list[UnwatchedLoop]
) -> str:
    """Adds the test's findings as properties; returns the same as lines for system-out.

    Properties are for tools; many CI pages show only system-out, so the note goes there too.
    """
    if not findings and not unwatched:
        return ""
    properties = ET.Element("properties")
    element.insert(0, properties)  # first, where pytest's own junitxml puts it
    lines = []
    for finding in findings:
        text = _finding_text(finding)
        ET.SubElement(properties, "property", name=finding.kind.code, value=text)
        lines.append(f"gate: {finding.kind.title} at {text}")
    for entry in unwatched:
        loop = entry.loop
        ET.SubElement(properties, "property", name="gate.blocking.unwatched", value=loop)
        lines.append(f"gate: not watched for blocking calls: the test ran on {loop}")
    return "\n".join(lines) + "\n"


def render_junit(outcome: RunOutcome) -> str:
    results = outcome.results
    cases = [] if results is None else list(results.cases.values())
    totals = results.totals if results is not None else {}
    suite = ET.Element(
        "testsuite",
        name="gate",
        tests=str(len(cases)),
        failures=str(totals.get("failed", 0)),
        errors=str(totals.get("errors", 0)),
        skipped=str(totals.get("skipped", 0)),
        time=f"{outcome.duration_s:.3f}",
    )
    findings = _by_test(outcome.findings)
    unwatched = _by_test([] if results is None else results.unwatched)
    for case in cases:
        classname, name = _classname(case)
        element = ET.SubElement(
            suite, "testcase", classname=classname, name=name, time=f"{case.duration_s:.3f}"
        )
        if case.file:
            element.set("file", case.file)
        if case.line:
            element.set("line", str(case.line))
        if case.outcome == "failed":
            ET.SubElement(element, "failure", message=case.message[:500]).text = case.longrepr
        elif case.outcome == "error":
            ET.SubElement(element, "error", message=case.message[:500]).text = case.longrepr
        elif case.outcome in ("skipped", "xfailed"):
            ET.SubElement(element, "skipped", message=case.message[:500])
        note = _finding_properties(
            element, findings.get(case.nodeid, []), unwatched.get(case.nodeid, [])
        )
        stdout = case.output.get("Captured stdout call")
        if stdout or note:
            ET.SubElement(element, "system-out").text = (
                note + ("\n" if note and stdout else "") + (stdout or "")
            )
    for nodeid, text in [] if results is None else results.collect_errors:
        element = ET.SubElement(suite, "testcase", classname=nodeid, name="collect")
        ET.SubElement(element, "error", message="collection failed").text = text
    _outside_tests(suite, [f for f in outcome.findings if f.test is None])
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
