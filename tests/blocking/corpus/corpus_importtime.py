"""Reads a file while being imported (copied as blocking_importtime.py): not a finding."""

from pathlib import Path

SOURCE = Path(__file__).read_text()
