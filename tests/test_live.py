"""The live progress line: shown on a terminal only, with done/total, failures and elapsed."""

from __future__ import annotations

import io

from rich.console import Console

from gate.reporters.live import LiveProgress
from gate.results import TestCase, TestResults


def sample() -> TestResults:
    results = TestResults(collected=10)
    results.cases["t::a"] = TestCase("t::a", outcome="passed")
    results.cases["t::b"] = TestCase("t::b", outcome="failed")
    results.cases["t::c"] = TestCase("t::c")  # running
    return results


def test_terminal_shows_done_of_total_failures_and_running_test() -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=120, color_system=None)
    with LiveProgress(console, enabled=True) as live:
        live.update(sample(), 3.2)
        live._live.refresh()
        assert live.enabled
    text = stream.getvalue()
    assert "testing: 2/10 done, 1 failed, 3s  t::c" in text


def test_no_live_display_in_a_log() -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=False, width=120)
    with LiveProgress(console, enabled=True) as live:
        live.update(sample(), 1.0)
        assert not live.enabled
    assert stream.getvalue() == ""
