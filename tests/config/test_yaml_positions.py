"""YAML anchors and aliases: honoured, but a bomb fails fast."""

from __future__ import annotations

import time
from pathlib import Path

from tests.config.conftest import error_of, load


def test_alias_bomb_fails_fast_without_expanding(project: Path) -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
        previous = name
    started = time.perf_counter()

    message = error_of(project, "\n".join(lines) + "\n")

    assert time.perf_counter() - started < 0.5
    assert message.startswith("gate.yaml:1:")
    assert message.endswith(
        ": too many YAML aliases (more than 100 uses of anchors, or more than 10000 values "
        "once they are expanded); write the values out instead of using & and *"
    )


def test_a_few_aliases_are_fine(project: Path) -> None:
    config = load(
        project,
        "coverage:\n  source: &pkgs [app]\n  fail_under: &floor 80\n"
        "  diff: {fail_under: *floor}\nblocking:\n  allow: *pkgs\n",
    )

    assert config.coverage.diff is not None
    assert config.coverage.diff.fail_under == 80
    assert config.blocking.allow == ["app"]
