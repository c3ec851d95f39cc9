"""Finding the config file (gate.yaml, else [tool.gate] in pyproject.toml) and loading it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gate.config.document import display_path
from gate.config.models import Config
from gate.config.toml_positions import parse_toml, tool_gate_document
from gate.config.validation import validate
from gate.config.yaml_positions import parse_yaml
from gate.errors import ConfigError


def find_config(explicit: Path | None, cwd: Path) -> Path:
    """-c PATH, else ./gate.yaml, else ./pyproject.toml when it has a [tool.gate] table."""
    if explicit is not None:
        path = explicit if explicit.is_absolute() else cwd / explicit
        _read_text(path, display_path(path, cwd))  # a missing file or a folder fails here
        return path
    candidate = cwd / "gate.yaml"
    if candidate.is_file():
        return candidate
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        display = display_path(pyproject, cwd)
        tool = parse_toml(_read_text(pyproject, display), display).get("tool")
        if isinstance(tool, dict) and "gate" in tool:
            return pyproject
    hint = ""
    if (cwd / "gate.yml").is_file():
        hint = " (there is a gate.yml: rename it to gate.yaml)"
    raise ConfigError(
        f"no gate.yaml in {cwd} and no [tool.gate] table in its pyproject.toml{hint}; "
        "run `gate init` to write a commented gate.yaml, or pass -c PATH"
    )


def load_config(path: Path, environ: Mapping[str, str]) -> Config:
    """Read, expand and validate a config file; every mistake is a ConfigError."""
    cwd = Path.cwd()
    path = path if path.is_absolute() else cwd / path
    display = display_path(path, cwd)
    text = _read_text(path, display)
    if path.suffix == ".toml":
        document = tool_gate_document(text, display)
    else:
        document = parse_yaml(text, display)
    return validate(document, path, display, environ, cwd)


def _read_text(path: Path, display: str) -> str:
    if path.is_dir():
        raise ConfigError(
            f"{display}: is a folder, not a config file; "
            f"pass the file itself, e.g. -c {Path(display) / 'gate.yaml'}"
        )
    if path.exists() and not path.is_file():
        # A FIFO or a device would block the read, or never end it.
        raise ConfigError(f"{display}: is not a regular file; pass the config file itself")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{display}: no such file; check the path, "
            "or run `gate init` to write a commented gate.yaml"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{display}: cannot read the file: {exc.strerror}") from None
    if b"\0" in raw:
        where = _byte_position(raw, raw.index(b"\0"), display)
        raise ConfigError(
            f"{where}: this is a binary file (it contains NUL bytes), "
            "not a YAML or TOML config; check the path"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        where = _byte_position(raw, exc.start, display)
        raise ConfigError(
            f"{where}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        ) from None


def _byte_position(raw: bytes, offset: int, display: str) -> str:
    line = raw.count(b"\n", 0, offset) + 1
    col = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
    return f"{display}:{line}:{col}"
