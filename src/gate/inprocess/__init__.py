"""Code that gate loads into the project's own test process (stdlib and pytest only)."""

from __future__ import annotations

from pathlib import Path

#: Put this folder on the test process's PYTHONPATH and pass ``-p _gate_pytest``.
PLUGIN_PATH = Path(__file__).resolve().parent
PLUGIN_NAME = "_gate_pytest"
