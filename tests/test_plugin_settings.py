"""The settings boundary: what gate writes for its plugin is what the plugin reads and checks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gate.inprocess import PLUGIN_NAME, PLUGIN_PATH, PLUGIN_SETTINGS_ENV
from gate.inprocess._gate_pytest.settings import (
    BlockingSettings,
    ServerErrorSettings,
    SettingsError,
    ShardSettings,
    parse_settings,
)
from gate.interpreter import Interpreter
from gate.shard import Shard
from gate.testrun import BlockingPlan, TestPlan, plugin_settings

pytest_plugins = ["pytester"]


def plan(tmp_path: Path, **changes: object) -> TestPlan:
    fields: dict[str, object] = {
        "root": tmp_path,
        "interpreter": Interpreter(Path("/p/.venv/bin/python"), "3.12.1", {}),
        "paths": ["tests"],
        "args": [],
        "extra_args": [],
        "workers": 1,
        "timeout_s": 60.0,
        "run_dir": tmp_path / "run",
        "rcfile": None,
        "blocking": None,
        **changes,
    }
    return TestPlan(**fields)  # type: ignore[arg-type]


def test_what_gate_writes_the_plugin_reads_field_for_field(tmp_path: Path) -> None:
    durations = tmp_path / "durations.json"
    durations.write_text("{}")
    written = plugin_settings(
        plan(
            tmp_path,
            rcfile=tmp_path / "coveragerc",
            blocking=BlockingPlan("warn", 250.0, ("app.slow",), tmp_path),
            shard=Shard(2, 3),
            durations=durations,
            worker_env={"gw0": {"DATABASE_URL": "postgresql://gw0"}},
            server_errors=tmp_path,
        )
    )
    read = parse_settings(json.loads(json.dumps(written)), "settings.json")
    assert read.run_dir == str(tmp_path / "run")
    assert read.timeout_s == 60.0
    assert read.coverage_rc == str(tmp_path / "coveragerc")
    assert read.blocking == BlockingSettings("warn", 250.0, ("app.slow",), str(tmp_path))
    assert read.shard == ShardSettings(2, 3, str(durations))
    assert read.worker_env == {"gw0": {"DATABASE_URL": "postgresql://gw0"}}
    assert read.server_errors == ServerErrorSettings(str(tmp_path))


def test_off_is_written_as_null_never_left_out(tmp_path: Path) -> None:
    written = plugin_settings(plan(tmp_path, shard=Shard(1, 2), durations=tmp_path / "missing"))
    assert written["coverage_rc"] is None and written["blocking"] is None
    assert written["server_errors"] is None
    assert written["shard"] == {"index": 1, "total": 2, "durations": None}
    read = parse_settings(written, "s")
    assert (read.coverage_rc, read.blocking, read.worker_env) == (None, None, {})
    assert read.server_errors is None


GOOD = {
    "version": 1,
    "run_dir": "/tmp/run",
    "timeout_s": 300,
    "coverage_rc": None,
    "blocking": {"mode": "fail", "slow_ms": 100, "allow": [], "root": "/p"},
    "shard": None,
    "server_errors": {"root": "/p"},
    "worker_env": {},
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 2}, "s: version 2, this plugin reads version 1; the plugin and gate come "
         "from different installs"),
        ({"timeout_s": "300"}, "s: timeout_s must be a number (got '300')"),
        ({"timeout_s": -1}, "s: timeout_s must be 0 or more (got -1)"),
        ({"run_dir": ""}, "s: run_dir must be a non-empty string (got '')"),
        ({"blocking": {**GOOD["blocking"], "mode": "off"}},  # type: ignore[dict-item]
         "s: blocking.mode must be fail or warn (got 'off')"),
        ({"blocking": {**GOOD["blocking"], "slow_ms": None}},  # type: ignore[dict-item]
         "s: blocking.slow_ms must be a number (got None)"),
        ({"blocking": {**GOOD["blocking"], "allow": "x"}},  # type: ignore[dict-item]
         "s: blocking.allow must be a list of strings"),
        ({"shard": {"index": 3, "total": 2, "durations": None}},
         "s: shard needs 1 <= index <= total (got 3/2)"),
        ({"server_errors": {"root": ""}},
         "s: server_errors.root must be a non-empty string (got '')"),
        ({"worker_env": {"gw0": {"A": 1}}}, "s: worker_env.gw0 must map names to strings"),
        ({"worker_env": None}, "s: worker_env must be a JSON object (got None)"),
    ],
)  # fmt: skip
def test_a_bad_value_is_named(change: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({**GOOD, **change}, "s")
    assert str(raised.value) == message


def test_a_missing_field_is_an_error_not_a_default() -> None:
    settings = dict(GOOD)
    del settings["coverage_rc"]
    with pytest.raises(SettingsError, match="coverage_rc is missing"):
        parse_settings(settings, "s")


def test_bad_settings_stop_pytest_with_a_usage_error_not_a_traceback(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile("def test_a():\n    pass\n")
    settings = pytester.path / "settings.json"
    settings.write_text(json.dumps({**GOOD, "timeout_s": "soon"}))
    monkeypatch.setenv(PLUGIN_SETTINGS_ENV, str(settings))
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join(filter(None, [str(PLUGIN_PATH), os.environ.get("PYTHONPATH")])),
    )
    result = pytester.runpytest_subprocess("-p", PLUGIN_NAME, "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: gate's plugin settings are invalid: {settings}: timeout_s must be a number*"]
    )
    assert "Traceback" not in result.stderr.str()
