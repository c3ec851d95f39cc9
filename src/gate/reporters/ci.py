"""What a CI provider reads back from a run: GitHub annotations and step summary, GitLab's
code-quality report and coverage line. Chosen by the variables each provider sets."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from gate.outcome import RunOutcome
from gate.reporters.github import render_annotations
from gate.reporters.gitlab import REPORT_NAME, coverage_line, render_code_quality
from gate.reporters.markdown import render_markdown
from gate.reporters.output import write_report


def _unchanged(text: str) -> str:
    return text


def repository_prefix(root: Path, workspace: str | None) -> str:
    """root relative to the checkout ("service/"), since CI providers want repository paths."""
    if not workspace:
        return ""
    relative = os.path.relpath(os.path.abspath(root), os.path.abspath(workspace))
    if relative in (".", "..") or relative.startswith("../"):
        return ""
    return relative.replace(os.sep, "/") + "/"


def write_github(
    outcome: RunOutcome,
    environ: Mapping[str, str],
    root: Path,
    stream: TextIO,
    hide: Callable[[str], str],
) -> list[str]:
    written = []
    prefix = repository_prefix(root, environ.get("GITHUB_WORKSPACE"))
    lines = render_annotations(outcome, prefix)
    if lines:
        stream.write(hide("\n".join(lines)) + "\n")
        stream.flush()
        written.append(f"{len(lines)} GitHub annotation(s)")
    summary = environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        # Appended, not replaced: earlier steps of the job write to the same file.
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(hide(render_markdown(outcome)))
        written.append("$GITHUB_STEP_SUMMARY")
    return written


def write_gitlab(
    outcome: RunOutcome,
    environ: Mapping[str, str],
    root: Path,
    stream: TextIO,
    hide: Callable[[str], str],
) -> list[str]:
    prefix = repository_prefix(root, environ.get("CI_PROJECT_DIR"))
    path = root / ".gate" / REPORT_NAME
    write_report(path, hide(render_code_quality(outcome, prefix)))
    written = [str(Path(".gate") / REPORT_NAME)]
    line = coverage_line(outcome)
    if line is not None:
        stream.write(line + "\n")
        stream.flush()
        written.append("GitLab coverage line")
    return written


def write_ci_outputs(
    outcome: RunOutcome,
    environ: Mapping[str, str],
    root: Path,
    stream: TextIO,
    hide: Callable[[str], str] = _unchanged,
) -> list[str]:
    """Write whatever the CI provider running gate understands; returns what was written."""
    written: list[str] = []
    if environ.get("GITHUB_ACTIONS") == "true":
        written += write_github(outcome, environ, root, stream, hide)
    if environ.get("GITLAB_CI") == "true":
        written += write_gitlab(outcome, environ, root, stream, hide)
    return written
