"""The exceptions gate raises on purpose; the cli package turns each into an exit code and one
paragraph."""

from __future__ import annotations


class GateError(Exception):
    """A problem gate explains to the user instead of showing a traceback."""

    exit_code = 3

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(GateError):
    """Bad flags, a bad gate.yaml or a path in it that does not exist: exit 2."""

    exit_code = 2


class ConfigError(UsageError):
    """gate.yaml (or [tool.gate]) is invalid; the message names file:line:col and the key."""


class InfraError(GateError):
    """No database could be provisioned or reached, or pytest could not start: exit 3."""

    exit_code = 3


class Interrupted(GateError):
    """Ctrl-C or SIGTERM arrived; raised after the signal so teardown runs: exit 130."""

    exit_code = 130
