"""gate init: look at the project in a folder and write a commented gate.yaml that fits it.

scan.py reads the project's files within limits; facts.py and settings.py work out what the
project is and what it reads from its environment; scheme.py the database driver it uses;
template.py writes the gate.yaml; adopt.py says what init could not decide and allows the
genuine blocking findings of a first run.
"""

from __future__ import annotations

from gate.initialize.adopt import allow_entries, undetermined, with_allow, write_gate_yaml
from gate.initialize.facts import ProjectFacts, sniff_project
from gate.initialize.settings import RequiredSetting
from gate.initialize.template import TODO_MARK, render_gate_yaml

__all__ = [
    "TODO_MARK",
    "ProjectFacts",
    "RequiredSetting",
    "allow_entries",
    "render_gate_yaml",
    "sniff_project",
    "undetermined",
    "with_allow",
    "write_gate_yaml",
]
