"""Helpers for the config tests: a project folder, loading a gate.yaml, gate init's output."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.config import Config, load_config
from gate.errors import ConfigError
from gate.initialize import render_gate_yaml, sniff_project

README = Path(__file__).parents[2] / "README.md"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with a tests/ folder, and the current directory set to it."""
    (tmp_path / "tests").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load(project: Path, text: str, environ: dict[str, str] | None = None) -> Config:
    path = project / "gate.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ or {})


def error_of(project: Path, text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load(project, text, environ)
    return info.value.message


@pytest.fixture(scope="module")
def init_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    """What `gate init` writes for a small project: one package, a tests folder."""
    root = tmp_path_factory.mktemp("project")
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("")
    (root / "tests").mkdir()
    return render_gate_yaml(sniff_project(root))


def readme_gate_yaml() -> dict[str, Any]:
    """The gate.yaml block of the README, parsed."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("\n## gate.yaml\n") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert block is not None, "README's gate.yaml section has no ```yaml block"
    data: dict[str, Any] = yaml.safe_load(block.group(1))
    return data
