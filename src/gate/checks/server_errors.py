"""The check `server_errors` ("409, not 500"): requests the tests made that crashed the service,
and exceptions that died in a task, a thread or a finaliser (see docs/server-errors.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.checks.base import Check, Evidence, Finding, FindingKind, Judgement
from gate.server_error_events import ServerError, judge_server_errors, with_allowed

KIND = FindingKind(
    check="server_errors",
    code="gate.server_errors",
    heading="Server errors during the tests",
    title="server error during the tests",
    verb="went unhandled",
)


def as_finding(error: ServerError, *, failing: bool) -> Finding:
    return Finding(
        kind=KIND,
        what=error.what,
        file=error.file,
        line=error.line,
        test=error.test,
        phase=error.phase,
        note=error.detail,
        failing=failing,
    )


class ServerErrorsCheck:
    name = "server_errors"
    empty_report: Mapping[str, Any] = {"server_errors": []}

    def judge(self, evidence: Evidence) -> Judgement | None:
        settings = evidence.config.server_errors
        if settings.mode == "off":
            return None
        errors = with_allowed(evidence.results.server_errors, settings.allow)
        judged = judge_server_errors(errors, settings.mode)
        message = judged.message
        failures = evidence.results.server_errors_recorder_failures
        if failures:
            last = failures[0].strip().splitlines()[-1:] or ["unknown error"]
            message += (
                f" (the recorder stopped on an internal error, {last[0]}; findings may be "
                "incomplete)"
            )
        check = Check(self.name, judged.passed, judged.actual, judged.expected, message)
        fails = settings.mode == "fail"
        return Judgement(
            checks=(check,),
            findings=tuple(
                as_finding(e, failing=fails and not (e.allowed or e.known)) for e in errors
            ),
            report={"server_errors": [error.as_report() for error in errors]},
        )


CHECK = ServerErrorsCheck()
