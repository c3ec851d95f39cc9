"""The baseline file: JSON with sorted keys and one entry per line, so that a change to it
reads as a short diff in review; a file gate cannot read is a usage error saying how to fix it."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gate import proc
from gate.errors import UsageError
from gate.ratchet.baseline import Baseline, FileCounts, Lowering
from gate.reporters.output import write_report

SCHEMA = "gate.ratchet/1"


def _json(value: object) -> str:
    # Paths as they are (not \u-escaped), so that the file reads and diffs like the tree.
    return json.dumps(value, ensure_ascii=False)


def _block(items: Sequence[str], indent: str = "  ") -> str:
    """A JSON list or object body, one item per line."""
    if not items:
        return ""
    return "\n" + ",\n".join(f"{indent}  {item}" for item in items) + f"\n{indent}"


def render_baseline(baseline: Baseline) -> str:
    files = [
        f"{_json(path)}: "
        + _json({"missing_lines": c.missing_lines, "partial_branches": c.partial_branches})
        for path, c in sorted(baseline.files.items())
    ]
    lowered = [
        _json({"at": low.at, "by": low.by, "reason": low.reason, "entries": list(low.entries)})
        for low in baseline.lowered
    ]
    parts = [
        f'"schema": {_json(SCHEMA)}',
        f'"gate_version": {_json(baseline.gate_version)}',
        f'"commit": {_json(baseline.commit)}',
        '"files": {' + _block(files) + "}",
        '"blocking": [' + _block([_json(p) for p in sorted(baseline.blocking)]) + "]",
        '"server_errors": [' + _block([_json(p) for p in sorted(baseline.server_errors)]) + "]",
        '"lowered": [' + _block(lowered) + "]",
    ]
    return "{\n" + ",\n".join(f"  {part}" for part in parts) + "\n}\n"


class _Bad(ValueError):
    pass


def _strings(data: Mapping[str, Any], key: str) -> frozenset[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Bad(f'"{key}" must be a list of places (strings)')
    return frozenset(value)


def _count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Bad(f"{where} must be a whole number of at least 0 (got {value!r})")
    return value


def _files(data: Mapping[str, Any]) -> dict[str, FileCounts]:
    value = data.get("files", {})
    if not isinstance(value, dict):
        raise _Bad('"files" must map each file to its counts')
    files = {}
    for path, counts in value.items():
        if not isinstance(counts, dict) or set(counts) - {"missing_lines", "partial_branches"}:
            raise _Bad(f'"files" → {path!r} must be {{"missing_lines": N, "partial_branches": N}}')
        files[path] = FileCounts(
            _count(counts.get("missing_lines", 0), f"{path} missing_lines"),
            _count(counts.get("partial_branches", 0), f"{path} partial_branches"),
        )
    return files


def _lowered(data: Mapping[str, Any]) -> tuple[Lowering, ...]:
    value = data.get("lowered", [])
    if not isinstance(value, list):
        raise _Bad('"lowered" must be a list')
    records = []
    for item in value:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("at", "by", "reason")
        ):
            raise _Bad('each "lowered" record needs "at", "by" and "reason" strings')
        entries = item.get("entries", [])
        if not isinstance(entries, list):
            raise _Bad('"lowered" → "entries" must be a list')
        records.append(
            Lowering(item["at"], item["by"], item["reason"], tuple(str(e) for e in entries))
        )
    return tuple(records)


def parse_baseline(text: str) -> Baseline:
    """The baseline in `text`; ValueError saying what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Bad(f"not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise _Bad("not a JSON object")
    if data.get("schema") != SCHEMA:
        raise _Bad(f'"schema" is {data.get("schema")!r}, not {SCHEMA!r}')
    return Baseline(
        files=_files(data),
        blocking=_strings(data, "blocking"),
        server_errors=_strings(data, "server_errors"),
        gate_version=str(data.get("gate_version", "")),
        commit=str(data.get("commit", "")),
        lowered=_lowered(data),
    )


def read_baseline(path: Path, shown: str, *, may_be_missing: bool) -> Baseline | None:
    """The committed baseline; None when it does not exist yet and may not (an update run
    writes the first one). Anything else wrong is a usage error naming the file and the fix."""
    if not path.exists() and may_be_missing:
        return None
    fix = (
        "restore it from git (`git checkout -- " + shown + "`), or write it anew from what "
        "the project has with `gate run --update-ratchet` and commit it"
    )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"ratchet: the baseline {shown} does not exist; write it with "
            "`gate run --update-ratchet` and commit it, or remove `ratchet` from gate.yaml"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"ratchet: cannot read the baseline {shown} ({exc}); {fix}") from None
    try:
        return parse_baseline(text)
    except ValueError as exc:
        raise UsageError(f"ratchet: {shown} is not a gate ratchet baseline: {exc}; {fix}") from None


def write_baseline(path: Path, baseline: Baseline) -> None:
    write_report(path, render_baseline(baseline))


def _git_output(root: Path, environ: Mapping[str, str], *args: str) -> str:
    try:
        done = proc.capture(["git", "-C", str(root), *args], env=environ)
    except proc.CommandNotFound:
        return ""
    return done.output.strip() if done.code == 0 else ""


def head_commit(root: Path, environ: Mapping[str, str]) -> str:
    """The commit the tested tree started from; "" outside git or before the first commit."""
    return _git_output(root, environ, "rev-parse", "--verify", "--quiet", "HEAD")


def git_user(root: Path, environ: Mapping[str, str]) -> str:
    """Who lowered the ratchet, as git would sign a commit: "Name <email>"."""
    name = _git_output(root, environ, "config", "user.name")
    email = _git_output(root, environ, "config", "user.email")
    who = f"{name} <{email}>" if name and email else name or email
    return who or environ.get("USER", "") or "unknown"


def now_utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
