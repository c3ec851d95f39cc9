"""Writes the coverage.py settings for the test process and turns its data into gate's numbers."""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gate import proc
from gate.errors import InfraError


@dataclass(frozen=True)
class CoverageSettings:
    source: Sequence[str]
    omit: Sequence[str]
    branch: bool
    greenlet: bool  # async SQLAlchemy runs code in greenlets, which coverage misses otherwise
    core: str | None = None  # coverage.py's measurement core; None: its own default


def _version(text: str | None) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in (text or "").split(".")[:2])
    except ValueError:
        return ()


def measurement_core(python: str, coverage: str | None, branch: bool, greenlet: bool) -> str | None:
    """ "sysmon" where coverage.py's sys.monitoring core measures what gate asks for, else None.

    sys.monitoring (Python 3.12+) costs nothing for code that is not measured, where the
    default tracer is called for every function call of the whole test process. coverage.py
    7.10 reads the core from the rc file; it measures branches with sysmon only on 3.14+,
    and no concurrency but threads (so not greenlet). On 3.14 coverage picks sysmon itself.
    """
    if greenlet or _version(coverage) < (7, 10) or _version(python) < (3, 12):
        return None
    if branch and _version(python) < (3, 14):
        return None
    return "sysmon"


@dataclass
class CoverageResult:
    percent: float
    branch: bool
    files: dict[str, float] = field(default_factory=dict)  # path relative to root -> percent
    missing_lines: dict[str, list[int]] = field(default_factory=dict)
    covered_lines: dict[str, list[int]] = field(default_factory=dict)
    # Branches never taken, as (from line, to line); to < 0 means leaving the code object.
    missing_branches: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    statements: int = 0
    notes: list[str] = field(default_factory=list)


def _absolute_pattern(pattern: str, root: Path) -> str:
    # coverage resolves relative patterns against its own working directory; gate's may differ.
    if pattern.startswith(("*", "/")):
        return pattern
    return str(root / pattern)


def write_rcfile(path: Path, settings: CoverageSettings, root: Path) -> None:
    parser = configparser.ConfigParser(interpolation=None)
    run: dict[str, str] = {
        "branch": str(settings.branch),
        "parallel": "True",
        "source": "\n".join(
            str(root / entry) if (root / entry).is_dir() else entry for entry in settings.source
        ),
        "omit": "\n".join(_absolute_pattern(p, root) for p in settings.omit),
        # A run measures only what gate asked for; no warnings that filterwarnings=error could
        # turn into failures.
        "disable_warnings": "\n".join(
            ["no-data-collected", "module-not-imported", "module-not-measured", "couldnt-parse"]
        ),
    }
    if settings.greenlet:
        run["concurrency"] = "thread\ngreenlet"
    if settings.core is not None:
        run["core"] = settings.core
    parser["run"] = run
    parser["report"] = {"omit": run["omit"]}
    with path.open("w", encoding="utf-8") as handle:
        parser.write(handle)


@contextlib.contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    # coverage names files relative to the working directory it starts in; report from root.
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def combine_and_report(
    data_dir: Path,
    rcfile: Path,
    root: Path,
    *,
    xml_path: Path | None,
    html_dir: Path | None,
) -> CoverageResult | None:
    """Combine every process's data; None when no process saved any (e.g. it was killed)."""
    import coverage  # 0.05 s; imported in the background while the tests ran (test_step)

    data_files = sorted(str(p) for p in data_dir.glob(".coverage.*"))
    if not data_files:
        return None
    combined = data_dir / "combined.coverage"
    with _working_directory(root):
        cov = coverage.Coverage(data_file=str(combined), config_file=str(rcfile))
        html = None
        try:
            cov.combine(data_files, keep=True)
            cov.save()
            if html_dir is not None:
                html = HtmlReport.start(combined, rcfile, root, html_dir, data_dir / "html.log")
            cov.load()
            json_path = data_dir / "coverage.json"
            cov.json_report(outfile=str(json_path), ignore_errors=True)
            if xml_path is not None:
                xml_path.parent.mkdir(parents=True, exist_ok=True)
                cov.xml_report(outfile=str(xml_path), ignore_errors=True)
        except coverage.CoverageException as exc:
            if "No data to report" in str(exc):
                branch = bool(cov.config.branch)
                return CoverageResult(percent=0.0, branch=branch, notes=["no data collected"])
            raise InfraError(f"coverage could not be reported: {exc}") from exc
        finally:
            if html is not None:
                html.finish()
        data = json.loads(json_path.read_text(encoding="utf-8"))
    return _from_json(data, root)


# Run by gate's own interpreter, whose coverage.py combined the data.
_HTML_REPORT = """
import sys
import coverage
data_file, rcfile, directory = sys.argv[1:]
cov = coverage.Coverage(data_file=data_file, config_file=rcfile)
cov.load()
try:
    cov.html_report(directory=directory, ignore_errors=True)
except coverage.CoverageException as exc:
    if "No data to report" not in str(exc):
        raise
"""


@dataclass
class HtmlReport:
    """coverage.py's HTML report, written by a process of its own: it takes as long as the
    JSON and XML reports together (each analyses every file again), and on another core
    it costs the run nothing while they are written."""

    child: proc.Child
    log: Path

    @classmethod
    def start(
        cls, data_file: Path, rcfile: Path, root: Path, directory: Path, log: Path
    ) -> HtmlReport:
        argv = [sys.executable, "-c", _HTML_REPORT, str(data_file), str(rcfile), str(directory)]
        with log.open("wb") as sink:
            return cls(proc.spawn(argv, cwd=root, stdout=sink), log)

    def finish(self) -> None:
        """Wait for it; a report that could not be written is an infrastructure error."""
        try:
            code = self.child.wait()
        finally:
            self.child.stop()
        if code != 0:
            tail = self.log.read_text(encoding="utf-8", errors="replace").strip()
            last = tail.splitlines()[-1] if tail else f"exit {code}"
            raise InfraError(f"coverage could not write its HTML report: {last}")


def _from_json(data: dict[str, object], root: Path) -> CoverageResult:
    meta = data.get("meta", {})
    totals = data.get("totals", {})
    assert isinstance(meta, dict)
    assert isinstance(totals, dict)
    result = CoverageResult(
        # Unrounded: a floor is met or missed by the exact value (checks/floors.py).
        percent=float(totals.get("percent_covered", 0.0)),
        branch=bool(meta.get("branch_coverage", False)),
        statements=int(totals.get("num_statements", 0)),
    )
    files = data.get("files", {})
    assert isinstance(files, dict)
    for name, info in sorted(files.items()):
        relative = os.path.relpath(os.path.join(root, name), root)
        summary = info["summary"]
        result.files[relative] = float(summary["percent_covered"])
        result.missing_lines[relative] = list(info.get("missing_lines", []))
        result.covered_lines[relative] = list(info.get("executed_lines", []))
        result.missing_branches[relative] = [
            (int(start), int(end)) for start, end in info.get("missing_branches", [])
        ]
    return result


def partial_branches(coverage: CoverageResult, path: str) -> dict[int, list[int]]:
    """Lines that ran but left some branch untaken -> the lines those branches go to.

    A line that never ran is a missing line, not a partial branch, as coverage.py counts it.
    """
    missing = set(coverage.missing_lines.get(path, ()))
    partial: dict[int, list[int]] = {}
    for start, end in coverage.missing_branches.get(path, ()):
        if start not in missing:
            partial.setdefault(start, []).append(end)
    return partial
