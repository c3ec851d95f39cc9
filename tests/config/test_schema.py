"""`gate schema`: the JSON Schema of gate.yaml, made from the models, and its committed copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from gate.cli import app
from gate.config.document import KeyPath, dotted
from gate.config.schema import SCHEMA_URL, config_schema, schema_text
from tests.config.conftest import readme_gate_yaml
from tests.config.model_defaults import model_defaults
from tests.config.schema_subset import KEYWORDS, problems

REPOSITORY = Path(__file__).parents[2]
COMMITTED = REPOSITORY / "schema" / "gate.schema.json"


def test_committed_copy_is_what_gate_schema_prints() -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    printed = result.stdout

    assert printed == schema_text()
    assert COMMITTED.read_text(encoding="utf-8") == printed, (
        "schema/gate.schema.json is out of date: run `gate schema > schema/gate.schema.json`"
    )


def properties_by_key(schema: dict[str, Any]) -> dict[KeyPath, dict[str, Any]]:
    """Every key the schema describes, sections opened, by key path."""
    found: dict[KeyPath, dict[str, Any]] = {}

    def section(node: dict[str, Any]) -> dict[str, Any] | None:
        refs = [node, *node.get("anyOf", [])]
        for ref in refs:
            if "$ref" in ref:
                target: dict[str, Any] = schema["$defs"][ref["$ref"].removeprefix("#/$defs/")]
                return target
        return None

    def walk(node: dict[str, Any], prefix: KeyPath) -> None:
        for key, prop in node["properties"].items():
            inner = section(prop)
            if inner is None:
                found[(*prefix, key)] = prop
            else:
                walk(inner, (*prefix, key))

    walk(schema, ())
    return found


def test_every_key_has_its_default_and_a_description() -> None:
    described = properties_by_key(config_schema())
    defaults = model_defaults()

    assert set(described) == set(defaults)
    wrong = {
        dotted(key): (described[key].get("default"), default)
        for key, default in defaults.items()
        if key != ("root",) and described[key].get("default", "none given") != default
    }
    assert wrong == {}, "schema default (left) differs from the model's (right)"
    undescribed = sorted(
        dotted(key) for key, prop in described.items() if not prop.get("description")
    )
    assert undescribed == []


def test_modes_are_enums() -> None:
    described = properties_by_key(config_schema())

    assert described["database", "mode"]["enum"] == ["auto", "ephemeral", "server", "none"]
    for key in [("blocking", "mode"), ("server_errors", "mode"), ("migrations", "lint", "mode")]:
        assert described[key]["enum"] == ["fail", "warn", "off"]


def test_schema_uses_only_keywords_the_subset_checker_knows() -> None:
    used: set[str] = set()

    def walk(node: Any, in_properties: bool) -> None:
        if isinstance(node, dict):
            if not in_properties:
                used.update(node)
            for key, value in node.items():
                if key == "default":
                    continue
                walk(value, key in ("properties", "$defs"))
        elif isinstance(node, list):
            for value in node:
                walk(value, False)

    walk(config_schema(), False)
    assert used <= KEYWORDS, used - KEYWORDS


def test_schema_names_itself_and_forbids_unknown_keys() -> None:
    schema = config_schema()

    assert schema["$id"] == SCHEMA_URL
    assert schema["title"] == "gate.yaml"
    assert schema["additionalProperties"] is False
    assert "source" not in schema["properties"]


def test_gate_init_names_the_schema_on_the_first_line(init_output: str) -> None:
    assert init_output.splitlines()[0] == f"# yaml-language-server: $schema={SCHEMA_URL}"


def test_real_config_files_are_valid_under_the_schema(init_output: str) -> None:
    schema = config_schema()
    files = {
        "gate.yaml": yaml.safe_load((REPOSITORY / "gate.yaml").read_text(encoding="utf-8")),
        "README": readme_gate_yaml(),
        "gate init": yaml.safe_load(init_output),
    }

    assert {name: problems(schema, data) for name, data in files.items()} == {
        name: [] for name in files
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("covrage: {}\n", ".covrage: unknown key"),
        ("blocking: {mode: loud}\n", ".blocking.mode: 'loud' not in ['fail', 'warn', 'off']"),
        ("coverage: {fail_under: 150}\n", ".coverage.fail_under: 150 > 100"),
        ("tests: {workers: 0}\n", ".tests.workers: matches no option"),
        ("reports: {junit: true}\n", ".reports.junit: matches no option"),
        ("migrations: {lint: {mode: strict}}\n", ".migrations.lint.mode: 'strict' not in"),
    ],
)
def test_mistakes_are_flagged_by_the_schema(text: str, problem: str) -> None:
    found = problems(config_schema(), yaml.safe_load(text))

    assert len(found) == 1 and found[0].startswith(problem), found


def test_values_gate_accepts_in_two_forms_are_valid() -> None:
    text = "tests: {args: -x -q, paths: tests}\nenv: {PORT: 5432}\nreports: {html: false}\n"

    assert problems(config_schema(), yaml.safe_load(text)) == []
    assert json.loads(schema_text()) == config_schema()
