"""Helpers for the config tests: a project folder to write gate.yaml into, and loading it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.config import Config, load_config
from gate.errors import ConfigError


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
