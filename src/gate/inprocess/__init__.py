"""Code that gate loads into the project's own test process (stdlib and pytest only)."""

from __future__ import annotations

from pathlib import Path

#: Put this folder on the test process's PYTHONPATH and pass ``-p _gate_pytest``.
PLUGIN_PATH = Path(__file__).resolve().parent
PLUGIN_NAME = "_gate_pytest"

#: Seconds past tests.timeout before the plugin's hard stop ends the process. The plugin's
#: timeout.py holds the same number: gate itself must not import the plugin, which needs
#: pytest, and gate installed as a tool has none.
HARD_STOP_GRACE_S = 3.0

#: The plugin reads its settings from the JSON file named in this variable (written by
#: gate.testrun.write_plugin_settings; the format is in the plugin's settings.py, which
#: holds the same two values).
PLUGIN_SETTINGS_ENV = "GATE_PLUGIN_SETTINGS"
PLUGIN_SETTINGS_VERSION = 1
