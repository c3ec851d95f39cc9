"""Reporters: each renders a RunOutcome to one format; output.py writes the files safely."""
