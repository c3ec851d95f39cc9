"""The check `tests`: every collected test ran and passed, and at least one ran."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.checks.base import Check, Evidence, Judgement, names
from gate.results import TestResults


def suite_check(results: TestResults) -> Check:
    totals = results.totals
    bad = [case.nodeid for case in results.bad_cases]
    errors = [nodeid or "(collection)" for nodeid, _ in results.collect_errors]
    if results.timed_out:
        stopped = sorted(results.timed_out)
        not_run = results.collected - len(results.cases)
        return Check(
            "tests",
            False,
            totals["failed"] + totals["errors"],
            0,
            f"{names(stopped)} {results.timed_out[stopped[0]]}"
            + (f"; {not_run} other test(s) did not run" if not_run > 0 else ""),
        )
    if errors:
        return Check(
            "tests",
            False,
            len(errors),
            0,
            f"{len(errors)} file(s) failed to collect: {names(errors)}",
        )
    if bad:
        return Check(
            "tests",
            False,
            len(bad),
            0,
            f"{len(bad)} of {totals['total']} tests failed: {names(bad)}",
        )
    if totals["total"] == 0 or totals["passed"] == 0:
        return Check("tests", False, 0, ">=1", "no test ran; check tests.paths and tests.args")
    return Check("tests", True, 0, 0, f"all {totals['passed']} tests passed")


class SuiteCheck:
    name = "tests"
    empty_report: Mapping[str, Any] = {}

    def judge(self, evidence: Evidence) -> Judgement:
        check = suite_check(evidence.results)
        shard = evidence.shard
        if shard is not None and not (evidence.results.cases or evidence.results.collect_errors):
            # More shards than tests: an empty shard passes; `gate merge` counts them all.
            message = f"shard {shard.label} has no tests: there are fewer tests than shards"
            check = Check("tests", True, 0, 0, message)
        return Judgement(checks=(check,))


CHECK = SuiteCheck()
