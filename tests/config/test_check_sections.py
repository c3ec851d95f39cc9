"""The config sections of the newer checks: server_errors, ratchet and migrations.lint."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.conftest import error_of, load


def test_defaults_are_the_contracts(project: Path) -> None:
    config = load(project, "{}\n")

    assert config.server_errors.mode == "fail"
    assert config.server_errors.allow == []
    assert config.ratchet is None
    assert config.migrations.lint.mode == "warn"
    assert config.migrations.lint.allow == []


def test_values_are_read(project: Path) -> None:
    config = load(
        project,
        """\
server_errors:
  mode: off
  allow: ["GET /health 503", app.errors.UpstreamDown]
ratchet: .gate/ratchet.json
migrations:
  command: alembic upgrade head
  lint:
    mode: fail
    allow: adding_not_null
""",
    )

    assert config.server_errors.mode == "off"  # YAML's `off` is the word, not false
    assert config.server_errors.allow == ["GET /health 503", "app.errors.UpstreamDown"]
    assert config.ratchet == project.resolve() / ".gate" / "ratchet.json"
    assert config.migrations.lint.mode == "fail"
    assert config.migrations.lint.allow == ["adding_not_null"]


@pytest.mark.parametrize("off", ["null", "false", "''"])
def test_ratchet_off(project: Path, off: str) -> None:
    assert load(project, f"ratchet: {off}\n").ratchet is None


def test_ratchet_may_name_a_file_that_does_not_exist_yet(project: Path) -> None:
    # `gate run --update-ratchet` writes it the first time.
    assert load(project, "ratchet: base.json\n").ratchet == project.resolve() / "base.json"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "server_errors:\n  mode: loud\n",
            "gate.yaml:2:9: server_errors.mode: must be one of 'fail', 'warn' or 'off' "
            "(got 'loud')",
            id="server-errors-mode",
        ),
        pytest.param(
            "server_errors:\n  alow: []\n",
            "gate.yaml:2:3: server_errors.alow: unknown key; did you mean 'allow'?",
            id="server-errors-misspelt",
        ),
        pytest.param(
            "server_error:\n  mode: warn\n",
            "gate.yaml:1:1: server_error: unknown key; did you mean 'server_errors'?",
            id="server-errors-section-misspelt",
        ),
        pytest.param(
            "server_errors:\n  allow: ['']\n",
            "gate.yaml:2:11: server_errors.allow[0]: must not be empty",
            id="server-errors-empty-allow",
        ),
        pytest.param(
            "ratchet: true\n",
            "gate.yaml:1:10: ratchet: must be a path, or null to turn it off (got true)",
            id="ratchet-true",
        ),
        pytest.param(
            "ratchet:\n  path: x.json\n",
            "gate.yaml:2:3: ratchet: must be a path (got a mapping)",
            id="ratchet-mapping",
        ),
        pytest.param(
            "ratchett: x.json\n",
            "gate.yaml:1:1: ratchett: unknown key; did you mean 'ratchet'?",
            id="ratchet-misspelt",
        ),
        pytest.param(
            "migrations:\n  lint:\n    mode: strict\n",
            "gate.yaml:3:11: migrations.lint.mode: must be one of 'fail', 'warn' or 'off' "
            "(got 'strict')",
            id="lint-mode",
        ),
        pytest.param(
            "migrations:\n  lint:\n    mod: fail\n",
            "gate.yaml:3:5: migrations.lint.mod: unknown key; did you mean 'mode'?",
            id="lint-misspelt",
        ),
        pytest.param(
            "migrations:\n  lnt:\n    mode: fail\n",
            "gate.yaml:2:3: migrations.lnt: unknown key; did you mean 'lint'?",
            id="lint-section-misspelt",
        ),
        pytest.param(
            "lint:\n  mode: fail\n",
            "gate.yaml:1:1: lint: unknown key here; did you mean 'migrations.lint'?",
            id="lint-at-top",
        ),
    ],
)
def test_errors(project: Path, text: str, expected: str) -> None:
    assert error_of(project, text) == expected
