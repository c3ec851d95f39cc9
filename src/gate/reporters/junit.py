"""JUnit XML built from gate's own results, so it exists even when pytest was killed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from gate.outcome import RunOutcome
from gate.results import TestCase


def _classname(case: TestCase) -> tuple[str, str]:
    path, _, name = case.nodeid.partition("::")
    module = path.removesuffix(".py").replace("/", ".")
    if "::" in name:
        klass, _, name = name.rpartition("::")
        module = f"{module}.{klass.replace('::', '.')}"
    return module, name or path


def _blocking_notes(outcome: RunOutcome) -> dict[str, list[dict[str, Any]]]:
    notes: dict[str, list[dict[str, Any]]] = {}
    if outcome.results is not None:
        for finding in outcome.results.blocking:
            notes.setdefault(str(finding.get("test")), []).append(finding)
    return notes


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
    blocking = _blocking_notes(outcome)
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
        findings = blocking.get(case.nodeid, [])
        if findings:
            properties = ET.SubElement(element, "properties")
            for finding in findings:
                ET.SubElement(
                    properties,
                    "property",
                    name="gate.blocking",
                    value=f"{finding.get('file')}:{finding.get('line')} "
                    f"{finding.get('call') or finding.get('kind')} "
                    f"({finding.get('phase')}, {float(finding.get('duration_ms') or 0):.1f} ms)",
                )
        stdout = case.output.get("Captured stdout call")
        if stdout:
            ET.SubElement(element, "system-out").text = stdout
    for nodeid, text in [] if results is None else results.collect_errors:
        element = ET.SubElement(suite, "testcase", classname=nodeid, name="collect")
        ET.SubElement(element, "error", message="collection failed").text = text
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
