"""gate's pytest plugin: records results, enforces the timeout, measures coverage, watches the loop.

gate loads it with ``-p _gate_pytest`` and hands it one settings file (settings.py), named in
an environment variable that xdist workers inherit; results go back as events in one format
(events.py). It imports only the standard library and pytest because it runs in the
project's own interpreter (Python 3.9+), which may not have gate installed.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
from typing import Any

import pytest

from .coverage_start import CoverageSession, start_coverage
from .events import EventWriter
from .recorder import WORKER, RecorderPlugin
from .settings import SETTINGS_ENV, PluginSettings, SettingsError, load_settings

_writer_key = pytest.StashKey[EventWriter]()
_timeout_key = pytest.StashKey[Any]()

_settings: PluginSettings | None = None
_settings_error: str | None = None  # raised as a usage error in pytest_configure
if os.environ.get(SETTINGS_ENV):
    try:
        _settings = load_settings(os.environ[SETTINGS_ENV])
    except SettingsError as error:
        _settings_error = str(error)

# (database owner) Each xdist worker gets its own database: gate made one clone per worker and
# hands their database.export variables over in worker_env. This runs at import, before any
# conftest reads DATABASE_URL or the like.
if _settings is not None and WORKER != "main":
    os.environ.update(_settings.worker_env.get(WORKER, {}))

# Coverage starts at import time: `-p` plugins load before conftest.py files, so every project
# module a conftest imports is measured from its first line.
_coverage: CoverageSession | None = None
if _settings is not None and _settings.coverage_rc is not None:
    _coverage = start_coverage(
        _settings.coverage_rc, os.path.join(_settings.run_dir, "coverage", ".coverage")
    )


def _skip_exit_collections() -> None:
    # Registered first, so it runs last of all exit handlers. The interpreter's shutdown runs
    # full garbage collections over every object the session made (all test items, all
    # reports): ~0.4 ms per test, seconds for a large suite, after pytest has printed its
    # last line. Frozen objects are skipped by those passes and still freed as modules are
    # cleared; only cyclic garbage is left to the process's exit, as it is after os._exit.
    gc.freeze()


if _settings is not None:
    atexit.register(_skip_exit_collections)


def pytest_configure(config: pytest.Config) -> None:
    if _settings_error is not None:
        raise pytest.UsageError(
            f"gate's plugin settings are invalid: {_settings_error}. They are written by gate "
            "itself: run the tests with `gate run`, and with gate and its plugin from one install."
        )
    settings = _settings
    if settings is None:
        return
    is_worker = hasattr(config, "workerinput")
    if not is_worker:
        _record_project_settings(config, os.path.join(settings.run_dir, "pytest-settings.json"))
    writer = EventWriter(os.path.join(settings.run_dir, f"events-{WORKER}.jsonl"))
    config.stash[_writer_key] = writer
    config.pluginmanager.register(RecorderPlugin(writer, is_worker), "gate-recorder")

    # With xdist, tests run in the workers; the controller only relays their reports.
    runs_tests = is_worker or not _xdist_active(config)
    if settings.timeout_s > 0 and runs_tests:
        from .timeout import TimeoutPlugin

        stack_file = os.path.join(settings.run_dir, f"hard-stop-{WORKER}.txt")
        plugin = TimeoutPlugin(settings.timeout_s, stack_file, writer.emit)
        config.stash[_timeout_key] = plugin
        config.pluginmanager.register(plugin, "gate-timeout")

    # `gate run --shard I/N`: collection (in each xdist worker too) keeps this shard's share.
    if settings.shard is not None:
        from .shard import ShardPlugin, read_durations

        shard = settings.shard
        durations = read_durations(shard.durations)
        shard_plugin = ShardPlugin(shard.index, shard.total, durations, writer.emit)
        config.pluginmanager.register(shard_plugin, "gate-shard")

    blocking = settings.blocking
    if blocking is not None and runs_tests:
        from .blocking.plugin import BlockingPlugin

        config.pluginmanager.register(
            BlockingPlugin(
                emit=lambda finding: writer.emit({"event": "blocking", **finding}),
                slow_ms=blocking.slow_ms,
                allow=list(blocking.allow),
                root=blocking.root,
                mode=blocking.mode,
            ),
            "gate-blocking",
        )

    server_errors = settings.server_errors
    if server_errors is not None and runs_tests:
        from .server_errors import ServerErrorPlugin
        from .server_errors_hooks import default_hooks

        root = server_errors.root
        recorder = ServerErrorPlugin(emit=writer.emit, root=root, hooks=default_hooks())
        config.pluginmanager.register(recorder, "gate-server-errors")


def _record_project_settings(config: pytest.Config, path: str) -> None:
    """The project's own addopts, as pytest resolved them, so gate can say what it overrode."""
    inipath = getattr(config, "inipath", None)  # pytest >= 6.1
    try:
        addopts = [str(arg) for arg in config.getini("addopts")]
    except (ValueError, KeyError):
        addopts = []
    settings = {
        "inifile": None if inipath is None else str(inipath),
        "addopts": addopts,
        "env_addopts": os.environ.get("PYTEST_ADDOPTS", ""),
    }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(settings, handle)


def _xdist_active(config: pytest.Config) -> bool:
    numprocesses = getattr(config.option, "numprocesses", None)
    dist = getattr(config.option, "dist", "no")
    return bool(numprocesses) and dist != "no"


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    timeout = config.stash.get(_timeout_key, None)
    if timeout is not None:
        timeout.close()
    if _coverage is not None:
        _coverage.stop_and_save()
    writer = config.stash.get(_writer_key, None)
    if writer is not None:
        writer.emit({"event": "unconfigure", "worker": WORKER})
        writer.close()
