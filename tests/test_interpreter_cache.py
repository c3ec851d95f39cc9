"""The probe's remembered answer: reused while the interpreter is unchanged, asked again as soon
as a package is installed, removed or upgraded (its site-packages folder changes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gate.errors import UsageError
from gate.interpreter import probe
from gate.interpreter_cache import RECORD


def fake_distribution(site: Path, name: str, version: str) -> None:
    """What an installer leaves: the package and its dist-info."""
    (site / name).mkdir()
    (site / name / "__init__.py").write_text("")
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


@pytest.fixture
def venv(tmp_path: Path) -> tuple[Path, Path]:
    """A real virtualenv with nothing installed: (its python, its site-packages)."""
    folder = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = next((folder / "lib").glob("python3.*/site-packages"))
    return python, site


def test_an_install_is_seen_at_once_and_an_unchanged_interpreter_is_not_asked_again(
    venv: tuple[Path, Path], tmp_path: Path
) -> None:
    python, site = venv
    environ = {"GATE_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    with pytest.raises(UsageError, match="lacks pytest"):
        probe(python, environ, coverage=False)

    fake_distribution(site, "pytest", "9.9.1")
    assert probe(python, environ, coverage=False).packages["pytest"] == "9.9.1"

    # Unchanged: the remembered answer is what the next run gets (edited here to tell them apart).
    record = tmp_path / "cache" / RECORD
    text = record.read_text()
    record.write_text(text.replace("9.9.1", "9.9.0"))
    assert probe(python, environ, coverage=False).packages["pytest"] == "9.9.0"

    # An upgrade replaces the dist-info: the folder changed, so the interpreter is asked again.
    (site / "pytest-9.9.1.dist-info" / "METADATA").unlink()
    (site / "pytest-9.9.1.dist-info").rmdir()
    fake_distribution_info = site / "pytest-10.0.dist-info"
    fake_distribution_info.mkdir()
    (fake_distribution_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: pytest\nVersion: 10.0\n"
    )
    assert probe(python, environ, coverage=False).packages["pytest"] == "10.0"


def test_what_changes_imports_is_part_of_the_key(venv: tuple[Path, Path], tmp_path: Path) -> None:
    python, _ = venv
    extra = tmp_path / "extra"
    extra.mkdir()
    fake_distribution(extra, "pytest", "8.0")
    environ = {"GATE_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    with pytest.raises(UsageError, match="lacks pytest"):
        probe(python, environ, coverage=False)
    found = probe(python, {**environ, "PYTHONPATH": str(extra)}, coverage=False)
    assert found.packages["pytest"] == "8.0"
    entries = json.loads((tmp_path / "cache" / RECORD).read_text())
    assert len(entries) == 2
