"""Finding and reading the config file, and errors about the file itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.config import find_config, load_config
from gate.errors import ConfigError

# ---- errors about the file itself -----------------------------------------------------------


def test_binary_file(project: Path) -> None:
    path = project / "gate.yaml"
    path.write_bytes(b"tests:\n  \x00\x01\x02")

    with pytest.raises(ConfigError) as info:
        load_config(path, {})

    assert info.value.message == (
        "gate.yaml:2:3: this is a binary file (it contains NUL bytes), "
        "not a YAML or TOML config; check the path"
    )


def test_file_that_is_not_utf8(project: Path) -> None:
    path = project / "gate.yaml"
    path.write_bytes(b"env:\n  NAME: caf\xe9\n")

    with pytest.raises(ConfigError) as info:
        load_config(path, {})

    assert info.value.message == (
        "gate.yaml:2:12: not UTF-8 text (byte 0xe9); save the file as UTF-8"
    )


def test_utf8_byte_order_mark_is_accepted(project: Path) -> None:
    path = project / "gate.yaml"
    path.write_bytes(b"\xef\xbb\xbfenv:\n  NAME: caf\xc3\xa9\n")

    assert load_config(path, {}).env == {"NAME": "café"}


def test_missing_file(project: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(project / "gate.yaml", {})

    assert info.value.message == (
        "gate.yaml: no such file; check the path, or run `gate init` to write a commented gate.yaml"
    )


def test_folder_given_as_config(project: Path) -> None:
    with pytest.raises(ConfigError) as info:
        find_config(Path("tests"), project)

    assert info.value.message == (
        "tests: is a folder, not a config file; pass the file itself, e.g. -c tests/gate.yaml"
    )


def test_path_outside_cwd_is_shown_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    outside = tmp_path / "other.yaml"
    outside.write_text("tests: 5\n", encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        load_config(outside, {})

    assert info.value.message.startswith(f"{outside}:1:8: tests: must be a mapping")


# ---- find_config ----------------------------------------------------------------------------


def test_find_config_prefers_explicit_path(project: Path) -> None:
    (project / "gate.yaml").write_text("{}\n", encoding="utf-8")
    (project / "ci.yaml").write_text("{}\n", encoding="utf-8")

    assert find_config(Path("ci.yaml"), project) == project / "ci.yaml"


def test_find_config_uses_gate_yaml_before_pyproject(project: Path) -> None:
    (project / "gate.yaml").write_text("{}\n", encoding="utf-8")
    (project / "pyproject.toml").write_text("[tool.gate]\n", encoding="utf-8")

    assert find_config(None, project) == project / "gate.yaml"


def test_find_config_falls_back_to_pyproject_with_tool_gate(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.gate.tests]\nworkers = 2\n", encoding="utf-8")

    assert find_config(None, project) == project / "pyproject.toml"


def test_find_config_ignores_pyproject_without_tool_gate(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n", encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        find_config(None, project)

    assert info.value.message == (
        f"no gate.yaml in {project} and no [tool.gate] table in its pyproject.toml; "
        "run `gate init` to write a commented gate.yaml, or pass -c PATH"
    )


def test_find_config_reports_a_broken_pyproject(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.gate]\nenv = {\n", encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        find_config(None, project)

    assert info.value.message == (
        "pyproject.toml:2:8: invalid TOML: Invalid initial character for a key part"
    )


def test_find_config_points_out_gate_yml(project: Path) -> None:
    (project / "gate.yml").write_text("{}\n", encoding="utf-8")

    with pytest.raises(ConfigError) as info:
        find_config(None, project)

    assert info.value.message == (
        f"no gate.yaml in {project} and no [tool.gate] table in its pyproject.toml "
        "(there is a gate.yml: rename it to gate.yaml); "
        "run `gate init` to write a commented gate.yaml, or pass -c PATH"
    )


def test_find_config_explicit_missing(project: Path) -> None:
    with pytest.raises(ConfigError) as info:
        find_config(Path("ci/gate.yaml"), project)

    assert info.value.message == (
        "ci/gate.yaml: no such file; check the path, "
        "or run `gate init` to write a commented gate.yaml"
    )
