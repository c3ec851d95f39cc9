"""Defaults are stated once, in the models: README's gate.yaml and `gate init`'s agree with them."""

from __future__ import annotations

import re
from typing import Any

import yaml

from gate.config.document import KeyPath, dotted
from tests.config.conftest import readme_gate_yaml
from tests.config.model_defaults import leaves, model_defaults

# Keys whose value in the README is an example of what to write, not the default.
README_EXAMPLES = {("env",), ("migrations", "command"), ("coverage", "source")}
# Keys `gate init` shows commented out with an example rather than the default, or sets
# for the project it found.
INIT_EXAMPLES = {
    ("database", "bin_dir"),
    ("migrations", "command"),
    ("migrations", "checks"),
    ("coverage", "source"),
}
# Keys gate init does not write yet.
NOT_YET_IN_INIT = {
    ("tests", "durations"),
    ("migrations", "lint", "mode"),
    ("migrations", "lint", "allow"),
    ("server_errors", "mode"),
    ("server_errors", "allow"),
    ("ratchet",),
}


def commented_keys(text: str) -> tuple[dict[KeyPath, Any], set[KeyPath]]:
    """The `# key: value` lines of a gate.yaml, by key path; and every key path it names.

    Prose such as `# Default: ...` is not a key (keys are lower case, variables upper).
    Indentation after the `#` counts, so `#   base: origin/main` below `# diff:` is diff.base.
    """
    commented: dict[KeyPath, Any] = {}
    named: set[KeyPath] = set()
    open_sections: list[tuple[int, str]] = []
    for line in text.splitlines():
        match = re.fullmatch(r"( *)(# ?)?( *)([a-z_][a-z0-9_]*|[A-Z][A-Z0-9_]*):(?: +(.*))?", line)
        if match is None:
            continue
        before, hash_mark, after, key, value = match.groups()
        indent = len(before) + len(after)
        while open_sections and open_sections[-1][0] >= indent:
            open_sections.pop()
        path = (*(name for _, name in open_sections), key)
        named.add(path)
        if value is None:
            open_sections.append((indent, key))
        elif hash_mark:
            commented[path] = yaml.safe_load(value)
    return commented, named


def test_readme_gate_yaml_states_the_models_defaults() -> None:
    defaults = model_defaults()
    written = leaves(readme_gate_yaml())

    unknown = sorted(dotted(key) for key in written if key not in defaults)
    differ = {
        dotted(key): (value, defaults[key])
        for key, value in written.items()
        if key in defaults and key not in README_EXAMPLES and value != defaults[key]
    }
    missing = sorted(dotted(key) for key in defaults if key not in written)
    assert unknown == [], "README's gate.yaml names keys the models do not have"
    assert differ == {}, "README's gate.yaml (left) disagrees with the models (right)"
    assert missing == [], "README's gate.yaml leaves out keys"


def test_gate_init_comments_out_the_models_defaults(init_output: str) -> None:
    defaults = model_defaults()
    commented, named = commented_keys(init_output)

    shown = {key: value for key, value in commented.items() if key[0] != "env"}
    differ = {
        dotted(key): (value, defaults.get(key, "no such key"))
        for key, value in shown.items()
        if key not in INIT_EXAMPLES and value != defaults.get(key, object())
    }
    missing = {key for key in defaults if key not in named}
    assert differ == {}, "gate init's commented defaults (left) disagree with the models (right)"
    assert missing <= NOT_YET_IN_INIT, sorted(dotted(key) for key in missing - NOT_YET_IN_INIT)


def test_commented_keys_reads_nesting_inside_comments() -> None:
    text = "coverage:\n  # branch: true\n  # diff:\n  #   base: main\n  #   # prose: here\nx: 1\n"

    commented, named = commented_keys(text)

    assert commented == {("coverage", "branch"): True, ("coverage", "diff", "base"): "main"}
    assert ("x",) in named and ("coverage", "diff") in named
