"""gate: one command that gives a Python backend the same quality verdict everywhere."""

from __future__ import annotations

__version__ = "0.1.0"
