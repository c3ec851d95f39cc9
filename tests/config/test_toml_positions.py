"""[tool.gate] in pyproject.toml: loading and errors at the TOML line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.config import load_config
from gate.errors import ConfigError

# ---- [tool.gate] in pyproject.toml ------------------------------------------------------------


def write_pyproject(project: Path, text: str) -> Path:
    path = project / "pyproject.toml"
    path.write_text('[project]\nname = "demo"\n\n' + text, encoding="utf-8")
    return path


def test_pyproject_tool_gate_loads(project: Path) -> None:
    (project / "app").mkdir()
    path = write_pyproject(
        project,
        "[tool.gate]\nenv = { PORT = 5432, DEBUG = true }\n\n[tool.gate.coverage]\n"
        'source = ["app"]\nfail_under = 85\n\n[tool.gate.coverage.diff]\nbase = "main"\n',
    )

    config = load_config(path, {})

    assert config.source == path
    assert config.root == project.resolve()
    assert config.env == {"PORT": "5432", "DEBUG": "true"}
    assert config.coverage.fail_under == 85
    assert config.coverage.diff is not None
    assert config.coverage.diff.base == "main"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            '[tool.gate.coverage]\nsource = ["app"]\nfail_under = 150\n',
            "pyproject.toml:6:14: tool.gate.coverage.fail_under: must be at most 100 (got 150)",
            id="value-out-of-range",
        ),
        pytest.param(
            "[tool.gate]\ncovrage = 1\n",
            "pyproject.toml:5:1: tool.gate.covrage: unknown key; did you mean 'coverage'?",
            id="unknown-key",
        ),
        pytest.param(
            '[tool.gate]\ntests.workers = "many"\n',
            "pyproject.toml:5:17: tool.gate.tests.workers: must be a whole number of at least 1, "
            "or auto (got 'many')",
            id="dotted-key",
        ),
        pytest.param(
            "[tool.gate]\ntests = { workers = 0 }\n",
            "pyproject.toml:5:9: tool.gate.tests.workers: must be a whole number of at least 1, "
            "or auto (got 0)",
            id="inline-table-points-at-parent",
        ),
        pytest.param(
            '[tool.gate.database]\nurl = "${PG_URL}"\n',
            "pyproject.toml:5:7: tool.gate.database.url: environment variable PG_URL is not set; "
            "export PG_URL, or give a default with ${PG_URL:-default}",
            id="undefined-variable",
        ),
        pytest.param(
            "[tool.gate]\ntests = 5\n",
            "pyproject.toml:5:9: tool.gate.tests: must be a mapping with keys paths, args, "
            "python, timeout, workers, durations (got 5)",
            id="section-not-a-table",
        ),
        pytest.param(
            "[tool.gate\n",
            "pyproject.toml:4:11: invalid TOML: Expected ']' at the end of a table declaration",
            id="invalid-toml",
        ),
        pytest.param(
            "[tool.ruff]\nline-length = 100\n",
            "pyproject.toml: has no [tool.gate] table; add one, "
            "or run `gate init` to write a commented gate.yaml",
            id="no-tool-gate",
        ),
        pytest.param(
            "[tool]\ngate = 5\n",
            "pyproject.toml: tool.gate: must be a table (got 5)",
            id="tool-gate-not-a-table",
        ),
    ],
)
def test_pyproject_errors(project: Path, text: str, expected: str) -> None:
    path = write_pyproject(project, text)

    with pytest.raises(ConfigError) as info:
        load_config(path, {})

    assert info.value.message == expected
