"""The end of gate init: what it could not decide, the blocking findings a first run allows,
and the file it writes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gate.errors import UsageError
from gate.files import write_atomic
from gate.findings import BlockingFinding
from gate.initialize.facts import ProjectFacts, sniff_project
from gate.initialize.settings import CHOICE_WORDS
from gate.initialize.template import TODO_MARK, render_gate_yaml, yaml_text
from gate.settings_names import (
    is_text_type,
)


def undetermined(facts: ProjectFacts) -> str | None:
    """One paragraph: what gate init could not find out, and where in gate.yaml to say it."""
    unknown = []
    if facts.has_coverage is False:
        unknown.append("coverage: your test environment has no coverage.py, so none is measured")
    elif not facts.packages and not facts.ci.source:
        unknown.append("which package to measure (coverage.source is unset: no coverage)")
    if not facts.test_paths:
        unknown.append("where the tests are (tests.paths is the whole project)")
    if not facts.database_variables:
        unknown.append("how the code reads its database (DATABASE_URL assumed)")
    if facts.migrations_command is None:
        unknown.append(
            "how the schema is made (no alembic.ini, migrate script or migration command in "
            "your CI; set migrations.command unless the tests make it)"
        )
    if facts.ci.fail_under is None and facts.has_coverage is not False:
        unknown.append("your coverage floor (gate's default, 90% of lines and branches)")
    todo = [s.name for s in facts.required_settings if s.value is None and not s.in_env_file]
    asked = [name for name in todo if not _invented(facts, name)]
    if asked:
        unknown.append(
            f"the test value of {', '.join(asked)} (marked {TODO_MARK} under env: in gate.yaml)"
        )
    if not unknown:
        return None
    return "gate init could not determine " + "; ".join(unknown) + "."


def _invented(facts: ProjectFacts, name: str) -> bool:
    setting = next(s for s in facts.required_settings if s.name == name)
    return is_text_type(setting.annotation) and not name.endswith(CHOICE_WORDS)


def allow_entries(findings: Sequence[BlockingFinding]) -> list[tuple[str, str]]:
    """blocking.allow entries ("path.py:function") for the places of a first run's findings,
    each with a comment naming what was found there, most frequent first."""
    places: dict[str, list[BlockingFinding]] = {}
    for finding in findings:
        function = next(
            (
                frame.function
                for frame in finding.stack
                if frame.file == finding.file and frame.line == finding.line
            ),
            "*",
        )
        places.setdefault(f"{finding.file}:{function}", []).append(finding)
    entries = []
    for entry, found in sorted(places.items(), key=lambda item: (-len(item[1]), item[0])):
        first = found[0]
        what = first.call or "a callback holding the loop"
        longest = max(f.duration_ms for f in found)
        comment = (
            f"{what} at line {first.line}, x{len(found)} up to {longest:.0f} ms "
            f"(first in {first.test}): found by gate init's first run; fix it, "
            "then remove this entry"
        )
        entries.append((entry, comment))
    return entries


def with_allow(text: str, entries: Sequence[tuple[str, str]]) -> str:
    """The gate.yaml text with blocking.allow set to these entries, a comment above each."""
    lines = ["  allow:"]
    for entry, comment in entries:
        lines.append(f"    # {comment}")
        lines.append(f"    - {yaml_text(entry)}")
    marker = "  # allow: []\n"
    if marker not in text:
        raise UsageError("gate.yaml has no `# allow: []` line under blocking: to add to")
    return text.replace(marker, "\n".join(lines) + "\n", 1)


def write_gate_yaml(root: Path, *, force: bool, facts: ProjectFacts | None = None) -> Path:
    """Write ROOT/gate.yaml for the project found there; an existing one needs force."""
    target = root / "gate.yaml"
    if target.exists() and not force:
        raise UsageError(
            f"{target} already exists; edit it, or run `gate init --force` to replace it"
        )
    # Whole or not at all: an interrupted init never leaves half a gate.yaml.
    write_atomic(target, render_gate_yaml(facts or sniff_project(root)))
    return target
