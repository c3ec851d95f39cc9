"""The plugin's settings: one JSON file gate writes for each run, read and checked here.

gate's testrun.write_plugin_settings is the one writer; it names the file in the environment
variable SETTINGS_ENV, which xdist workers inherit. The host writes every field, so no
default is stated here: a missing or mistyped field is an error, never a silent fallback.

    {"version": 1,
     "run_dir": "/tmp/gate-run-.../tests",  # where the plugin writes events and coverage data
     "timeout_s": 300.0,                     # tests.timeout; 0 = none
     "coverage_rc": "/tmp/.../coveragerc",   # or null: coverage off
     "blocking": {"mode": "fail", "slow_ms": 100.0, "allow": [...], "root": "/project"},
                                             # or null: blocking.mode off
     "shard": {"index": 1, "total": 4, "durations": "/project/.gate/durations.json"},
                                             # or null; durations may be null
     "server_errors": {"root": "/project"},  # or null: server_errors.mode off
     "worker_env": {"gw0": {"DATABASE_URL": "..."}, ...}}
                                             # each xdist worker's own database environment
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

SETTINGS_ENV = "GATE_PLUGIN_SETTINGS"
VERSION = 1


class SettingsError(ValueError):
    """The settings file is missing, unreadable or not what this plugin understands."""


@dataclass(frozen=True)
class BlockingSettings:
    mode: str  # "fail" | "warn" (gate writes null for "off")
    slow_ms: float
    allow: tuple[str, ...]
    root: str


@dataclass(frozen=True)
class ServerErrorSettings:
    root: str  # the project: a finding is blamed on the innermost frame under it


@dataclass(frozen=True)
class ShardSettings:
    index: int
    total: int
    durations: str | None


@dataclass(frozen=True)
class PluginSettings:
    run_dir: str
    timeout_s: float
    coverage_rc: str | None
    blocking: BlockingSettings | None
    shard: ShardSettings | None
    server_errors: ServerErrorSettings | None
    worker_env: dict[str, dict[str, str]]


def load_settings(path: str) -> PluginSettings:
    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    except (OSError, ValueError) as error:
        raise SettingsError(f"cannot read {path}: {error}") from None
    return parse_settings(raw, path)


def parse_settings(raw: Any, where: str) -> PluginSettings:
    fields = _object(raw, where, "settings")
    if fields.get("version") != VERSION:
        raise SettingsError(
            f"{where}: version {fields.get('version')!r}, this plugin reads version {VERSION}; "
            "the plugin and gate come from different installs"
        )
    timeout = _number(fields, where, "timeout_s")
    if timeout < 0:
        raise SettingsError(f"{where}: timeout_s must be 0 or more (got {timeout:g})")
    return PluginSettings(
        run_dir=_text(fields, where, "run_dir"),
        timeout_s=timeout,
        coverage_rc=_optional(fields, where, "coverage_rc", _text),
        blocking=_optional(fields, where, "blocking", _blocking),
        shard=_optional(fields, where, "shard", _shard),
        server_errors=_optional(fields, where, "server_errors", _server_errors),
        worker_env=_worker_env(fields, where),
    )


def _blocking(fields: dict[str, Any], where: str, key: str) -> BlockingSettings:
    section = _object(fields[key], where, key)
    mode = _text(section, where, "blocking.mode")
    if mode not in ("fail", "warn"):
        raise SettingsError(f"{where}: blocking.mode must be fail or warn (got {mode!r})")
    allow = section.get("allow")
    if not isinstance(allow, list) or not all(isinstance(item, str) for item in allow):
        raise SettingsError(f"{where}: blocking.allow must be a list of strings")
    return BlockingSettings(
        mode=mode,
        slow_ms=_number(section, where, "blocking.slow_ms"),
        allow=tuple(allow),
        root=_text(section, where, "blocking.root"),
    )


def _server_errors(fields: dict[str, Any], where: str, key: str) -> ServerErrorSettings:
    section = _object(fields[key], where, key)
    return ServerErrorSettings(root=_text(section, where, "server_errors.root"))


def _shard(fields: dict[str, Any], where: str, key: str) -> ShardSettings:
    section = _object(fields[key], where, key)
    index, total = section.get("index"), section.get("total")
    if not (isinstance(index, int) and isinstance(total, int) and 1 <= index <= total):
        raise SettingsError(f"{where}: shard needs 1 <= index <= total (got {index!r}/{total!r})")
    return ShardSettings(index, total, _optional(section, where, "durations", _text))


def _worker_env(fields: dict[str, Any], where: str) -> dict[str, dict[str, str]]:
    workers = _object(fields.get("worker_env"), where, "worker_env")
    for worker, env in workers.items():
        ok = isinstance(env, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()
        )
        if not ok:
            raise SettingsError(f"{where}: worker_env.{worker} must map names to strings")
    return workers


def _object(value: Any, where: str, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SettingsError(f"{where}: {key} must be a JSON object (got {value!r:.60})")
    return value


def _text(fields: dict[str, Any], where: str, key: str) -> str:
    value = fields.get(key.rpartition(".")[2])
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{where}: {key} must be a non-empty string (got {value!r:.60})")
    return value


def _number(fields: dict[str, Any], where: str, key: str) -> float:
    value = fields.get(key.rpartition(".")[2])
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise SettingsError(f"{where}: {key} must be a number (got {value!r:.60})")
    return float(value)


def _optional(fields: dict[str, Any], where: str, key: str, read: Any) -> Any:
    if key not in fields:
        raise SettingsError(f"{where}: {key} is missing (gate writes null when it is off)")
    return None if fields[key] is None else read(fields, where, key)
