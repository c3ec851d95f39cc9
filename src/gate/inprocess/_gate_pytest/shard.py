"""`gate run --shard I/N`: keep this shard's share of the collected tests, deselect the rest.

Every shard (and every xdist worker of a shard) computes the same split from the same inputs:
the collected node ids and the recorded durations. Longest tests first, each to the shard with
the least work so far; a test without a recorded duration counts as the median of those known,
so without any durations the split is round robin over the sorted node ids.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Callable

import pytest

DEFAULT_DURATION_S = 1.0


def read_durations(path: str | None) -> dict[str, float]:
    """{nodeid: seconds} from gate's durations file; nothing when it is missing or unreadable."""
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    tests = data.get("tests") if isinstance(data, dict) else None
    if not isinstance(tests, dict):
        return {}
    return {
        str(k): float(v)
        for k, v in tests.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
    }


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def assign_shards(nodeids: Sequence[str], durations: dict[str, float], total: int) -> list[int]:
    """The shard (0-based) of each node id, in the same order (pure)."""
    known = [durations[n] for n in nodeids if n in durations]
    fallback = _median(known) if known else DEFAULT_DURATION_S
    cost = [durations.get(n, fallback) for n in nodeids]
    order = sorted(range(len(nodeids)), key=lambda i: (-cost[i], nodeids[i]))
    load = [0.0] * total
    count = [0] * total
    owner = [0] * len(nodeids)
    for i in order:
        shard = min(range(total), key=lambda s: (load[s], count[s], s))
        owner[i] = shard
        load[shard] += cost[i]
        count[shard] += 1
    return owner


class ShardPlugin:
    def __init__(
        self,
        index: int,
        total: int,
        durations: dict[str, float],
        emit: Callable[[dict[str, Any]], None],
    ) -> None:
        self.index = index  # 1-based, as the user wrote it
        self.total = total
        self.durations = durations
        self.emit = emit

    # trylast: -k, -m and other plugins narrow the selection first; shards split what is left.
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        owner = assign_shards([item.nodeid for item in items], self.durations, self.total)
        keep = [item for item, shard in zip(items, owner) if shard == self.index - 1]
        dropped = [item for item, shard in zip(items, owner) if shard != self.index - 1]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = keep
        known = sum(1 for item in keep if item.nodeid in self.durations)
        self.emit(
            {
                "event": "shard",
                "index": self.index,
                "total": self.total,
                "selected": len(keep),
                "of": len(owner),
                "with_durations": known,
                "planned_s": round(sum(self.durations.get(i.nodeid, 0.0) for i in keep), 3),
            }
        )
