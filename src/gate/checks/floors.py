"""Floors compared exactly, and percentages shown so that they never seem to meet a floor they
missed (pure).

coverage.py reports an unrounded percentage; rounding it before the comparison let 99.996%
pass a floor of 100, and showing it with one decimal printed 89.96% as "90%" in the very
message that said it was below 90%. coverage.py's own `should_fail_under` avoids the first
by special-casing 100; comparing the unrounded value does it for every floor.
"""

from __future__ import annotations

import math

MAX_DECIMALS = 6


def meets_floor(percent: float, floor: float) -> bool:
    """The unrounded value against the floor: a floor of 100 means every line and branch."""
    return percent >= floor


def _truncated(value: float, decimals: int) -> float:
    scale: int = 10**decimals
    return math.floor(value * scale + 1e-9) / scale


def two_decimals(value: float) -> float:
    """The value cut to two decimals, for reports: 99.996 is 99.99, never 100.0."""
    return _truncated(value, 2)


def _text(value: float, decimals: int) -> str:
    return f"{_truncated(value, decimals):.{decimals}f}".rstrip("0").rstrip(".") + "%"


def shown_percent(value: float, floor: float | None = None) -> str:
    """value with one decimal, or as many more as it takes to be on the same side of floor
    as the value itself; digits are cut, never rounded up, so 99.96 is "99.9%", not "100%"."""
    if floor is None:
        return _text(value, 1)
    passed = meets_floor(value, floor)
    for decimals in range(1, MAX_DECIMALS + 1):
        if (_truncated(value, decimals) >= floor) == passed:
            return _text(value, decimals)
    return _text(value, MAX_DECIMALS)
