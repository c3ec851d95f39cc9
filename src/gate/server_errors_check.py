"""The `server_errors` check of a run: allowed findings marked, the rest judged by the mode.

(Until the checks/ package lands on main this is called from the pipeline; there it becomes
checks/server_errors.py with the same logic.)
"""

from __future__ import annotations

from gate.config import ServerErrorsConfig
from gate.evaluate import Check
from gate.results import TestResults
from gate.server_error_events import judge_server_errors, with_allowed


def server_errors_checks(results: TestResults, config: ServerErrorsConfig) -> list[Check]:
    if config.mode == "off":
        return []
    # Marked on the results themselves: the JSON report lists allowed findings as allowed.
    results.server_errors = with_allowed(results.server_errors, config.allow)
    judged = judge_server_errors(results.server_errors, config.mode)
    return [Check("server_errors", judged.passed, judged.actual, judged.expected, judged.message)]
