"""The checks `blocking` and `blocking.unwatched`: calls and stalls that held the event loop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gate.blocking_triage import apart_summary, triage
from gate.checks.base import Check, Evidence, Finding, FindingKind, Judgement, names
from gate.findings import BlockingFinding, UnwatchedLoop

KIND = FindingKind(
    check="blocking",
    code="gate.blocking",
    heading="Blocking calls in the event loop",
    title="blocking call in the event loop",
    verb="blocked the event loop",
)


def blocking_check(
    all_findings: Sequence[BlockingFinding], mode: str, apart: str | None = None
) -> Check:
    """Judges the findings at project lines (gate.blocking_triage); `apart` says what else
    was found, inside libraries or warm-up, which does not fail."""
    # Places the ratchet baseline holds are known offenders: reported, not failing.
    findings = [f for f in all_findings if not f.known]
    known = len(all_findings) - len(findings)
    also = f"; {known} more at places the ratchet baseline holds" if known else ""
    also += "" if apart is None else f"; {apart}"
    places = sorted({f"{f.file}:{f.line}" for f in findings})
    if not findings and known:
        return Check(
            "blocking",
            True,
            0,
            0,
            f"no new blocking calls in the event loop; {known} at places the ratchet "
            "baseline holds" + ("" if apart is None else f"; {apart}"),
        )
    if not findings:
        return Check("blocking", True, 0, 0, f"no blocking calls in the event loop{also}")
    message = f"{len(findings)} blocking call(s) in the event loop at {names(places)}" + (
        "" if mode == "fail" else " (blocking.mode is warn: not failing the gate)"
    )
    return Check("blocking", mode != "fail", len(findings), 0, message + also)


def unwatched_check(unwatched: Sequence[UnwatchedLoop], mode: str) -> Check | None:
    if not unwatched:
        return None
    loops = sorted({u.loop for u in unwatched})
    return Check(
        "blocking.unwatched",
        mode != "fail",
        len(unwatched),
        0,
        f"{len(unwatched)} test(s) ran an event loop gate cannot watch ({', '.join(loops)}); "
        "their blocking calls were not checked",
    )


def as_finding(finding: BlockingFinding, *, failing: bool) -> Finding:
    return Finding(
        kind=KIND,
        what=finding.what,
        file=finding.file,
        line=finding.line,
        test=finding.test,
        phase=finding.phase,
        duration_ms=finding.duration_ms,
        note=finding.note,
        failing=failing,
    )


class BlockingCheck:
    name = "blocking"
    empty_report: Mapping[str, Any] = {"blocking_apart": []}

    def judge(self, evidence: Evidence) -> Judgement | None:
        mode = evidence.config.blocking.mode
        if mode == "off":
            return None
        results = evidence.results
        # Only a line the project can change fails; library calls, warm-up and test tooling
        # are counted in the message and listed, grouped, under blocking_apart.
        found = triage(results.blocking)
        checks = [blocking_check(found.failing, mode, apart_summary(found))]
        unwatched = unwatched_check(results.unwatched, mode)
        if unwatched is not None:
            checks.append(unwatched)
        failing = mode == "fail"
        return Judgement(
            checks=tuple(checks),
            findings=tuple(as_finding(f, failing=failing and not f.known) for f in found.failing),
            report={"blocking_apart": [group.as_report() for group in found.apart]},
        )


CHECK = BlockingCheck()
