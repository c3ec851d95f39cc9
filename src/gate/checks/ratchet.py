"""The check `ratchet`: nothing worse than the committed baseline, file by file and place by
place; what improved is said, so the baseline never goes slack unnoticed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.checks.base import Check, Evidence, Finding, FindingKind, Judgement, names
from gate.ratchet.baseline import Baseline, Comparison, Measured, compare, measure_run
from gate.ratchet.setup import RatchetRun

SHOW = 5  # entries named in the check's message; the findings and the report list every one
UPDATE_HINT = "run `gate run --update-ratchet` to lock it in"
KIND = FindingKind(
    check="ratchet",
    code="gate.ratchet",
    heading="Worse than the ratchet baseline",
    title="worse than the ratchet baseline",
    verb="got worse",
)


def measured(evidence: Evidence) -> Measured:
    """The run in baseline terms; what the run did not measure is neither judged nor updated."""
    config, results = evidence.config, evidence.results
    return measure_run(
        evidence.coverage if config.coverage.measured else None,
        results.blocking if config.blocking.mode != "off" else None,
        results.server_errors if config.server_errors.mode != "off" else None,
    )


def comparison(ratchet: RatchetRun, evidence: Evidence) -> Comparison:
    diff = evidence.config.coverage.diff
    return compare(
        ratchet.baseline or Baseline(),
        measured(evidence),
        evidence.diff_coverage,
        diff.fail_under if diff is not None else 100.0,
    )


def improvement_line(comparison: Comparison) -> str:
    count = comparison.improvements
    if not count:
        return ""
    files = len(comparison.improved) + len(comparison.gone_files)
    places = count - files
    what = [f"{files} file{'s' if files != 1 else ''}"] if files else []
    what += [f"{places} place{'s' if places != 1 else ''}"] if places else []
    return f"{' and '.join(what)} improved: {UPDATE_HINT}"


def _worse(comparison: Comparison) -> list[str]:
    return [
        *(change.describe() for change in comparison.worse),
        *(f"{new.path} ({new.why})" for new in comparison.failing_new_files),
        *(f"new blocking call in {place}" for place in comparison.new_blocking),
        *(f"new server error at {place}" for place in comparison.new_server_errors),
    ]


def ratchet_check(comparison: Comparison, shown: str) -> Check:
    """Fails on any entry worse than the baseline, and names them."""
    worse = _worse(comparison)
    improved = improvement_line(comparison)
    tail = f"; {improved}" if improved else ""
    if worse:
        message = f"{len(worse)} worse than the baseline {shown}: {names(worse, SHOW)}{tail}"
        return Check("ratchet", False, len(worse), 0, message)
    return Check("ratchet", True, 0, 0, f"nothing worse than the baseline {shown}{tail}")


def _findings(comparison: Comparison) -> tuple[Finding, ...]:
    """Files that got worse, at the file (a new blocking call or server error is already a
    finding of its own check)."""
    found = [
        Finding(KIND, change.describe().removeprefix(f"{change.path} "), change.path, None)
        for change in comparison.worse
    ]
    found += [Finding(KIND, new.why, new.path, None) for new in comparison.failing_new_files]
    return tuple(found)


def _report(comparison: Comparison, shown: str) -> dict[str, Any]:
    return {
        "baseline": shown,
        "worse": _worse(comparison),
        "improved": [change.describe() for change in comparison.improved],
        "gone": [
            *comparison.gone_files,
            *(f"blocking {p}" for p in comparison.gone_blocking),
            *(f"server error {p}" for p in comparison.gone_server_errors),
        ],
    }


class RatchetCheck:
    name = "ratchet"
    empty_report: Mapping[str, Any] = {"ratchet": None}

    def judge(self, evidence: Evidence) -> Judgement | None:
        ratchet = evidence.ratchet
        if ratchet is None or evidence.partial:
            return None  # off, or one shard: `gate merge` judges the union
        found = comparison(ratchet, evidence)
        if ratchet.baseline is None:
            check = Check(
                "ratchet", True, 0, 0, f"no baseline yet: {ratchet.shown} is written by this run"
            )
            return Judgement(checks=(check,))
        return Judgement(
            checks=(ratchet_check(found, ratchet.shown),),
            findings=_findings(found),
            report={"ratchet": _report(found, ratchet.shown)},
        )


CHECK = RatchetCheck()
