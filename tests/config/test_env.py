"""${VAR} and ${VAR:-default} expansion in every string value."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.config.env import ExpansionError, expand, expand_tree
from tests.config.conftest import load

# ---- ${VAR} expansion -------------------------------------------------------------------


def test_variables_expand_in_every_string_value(project: Path) -> None:
    config = load(
        project,
        "env:\n  A: ${VALUE}\n  PLAIN: 'a ${VALUE} b'\n"
        "tests:\n  args: ['-k', '${VALUE}']\n  timeout: ${TIMEOUT:-30}\n"
        "database:\n  url: ${DB}\n  export:\n    URL: '{url}${SUFFIX:-?ssl=off}'\n",
        {"VALUE": "v", "DB": "postgresql://h/postgres"},
    )

    assert config.env == {"A": "v", "PLAIN": "a v b"}
    assert config.tests.args == ["-k", "v"]
    assert config.tests.timeout == 30
    assert config.database.url == "postgresql://h/postgres"
    assert config.database.export == {"URL": "{url}?ssl=off"}


def test_keys_are_not_expanded() -> None:
    data, problems = expand_tree({"${K}": {"${K}": "${V}"}}, {"K": "k", "V": "v"})

    assert data == {"${K}": {"${K}": "v"}}
    assert problems == []


def test_dollar_dollar_writes_a_literal_reference(project: Path) -> None:
    config = load(project, "env:\n  TEMPLATE: '$${HOME}/x'\n", {"HOME": "/home/me"})

    assert config.env == {"TEMPLATE": "${HOME}/x"}


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("${A}", {"A": "1"}, "1"),
        ("${A}", {"A": ""}, ""),
        ("${A:-d}", {}, "d"),
        ("${A:-d}", {"A": ""}, "d"),
        ("${A:-d}", {"A": "x"}, "x"),
        ("${A:-}", {}, ""),
        ("${A:-${B:-deep}}", {}, "deep"),
        ("${A:-${B}}", {"B": "b"}, "b"),
        ("$${A}", {"A": "1"}, "${A}"),
        ("cost: $5 and $A", {"A": "1"}, "cost: $5 and $A"),
        ("x${A}y${B:-z}", {"A": "1"}, "x1yz"),
    ],
)
def test_expand(text: str, environ: dict[str, str], expected: str) -> None:
    assert expand(text, environ) == expected


def test_expand_tree_reports_each_bad_value_with_its_path() -> None:
    data, problems = expand_tree({"a": ["${X}", "ok"], "b": {"c": "${Y}"}, "n": 5}, {})

    assert data == {"a": ["${X}", "ok"], "b": {"c": "${Y}"}, "n": 5}
    assert [path for path, _ in problems] == [("a", 0), ("b", "c")]


def test_undefined_variable_error_names_it() -> None:
    with pytest.raises(ExpansionError) as info:
        expand("${NOPE}", {})

    assert str(info.value) == (
        "environment variable NOPE is not set; export NOPE, or give a default with ${NOPE:-default}"
    )
