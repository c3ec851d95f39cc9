"""`gate merge DIR...`: the shards of `gate run --shard I/N` judged as the one run they split.

Test results are folded from every shard's event files, coverage data is combined across
shards (paths remapped when a shard ran in another checkout), and then the same checks and
the same reports as `gate run` follow, so a coverage floor is judged on the union only.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from gate.config import Config, find_config, load_config
from gate.coverage_data import CoverageResult, CoverageSettings, combine_and_report, write_rcfile
from gate.entry import collect_garbage_again
from gate.errors import GateError, UsageError
from gate.judge import conclude, evaluate
from gate.locate import locate_failures
from gate.outcome import RunOutcome, errors_recorded, timed
from gate.ratchet.setup import RatchetRun
from gate.ratchet.setup import for_run as ratchet_for_run
from gate.reports import plan_reports
from gate.results import TestResults
from gate.run_options import RunOptions, new_run_id
from gate.shard import MANIFEST, SCHEMA, SHARDS_DIR
from gate.testrun import collect_results


@dataclass(frozen=True)
class ShardResult:
    folder: Path
    index: int
    total: int
    root: str
    verdict: str
    exit_code: int
    error: str | None


def _read_manifest(path: Path) -> ShardResult:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != SCHEMA:
            raise ValueError(f"schema is {data.get('schema')!r}, not {SCHEMA!r}")
        return ShardResult(
            path.parent,
            int(data["index"]),
            int(data["total"]),
            str(data["root"]),
            str(data["verdict"]),
            int(data["exit_code"]),
            data.get("error"),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"{path} is not a shard result gate can read ({exc}); rerun that shard with "
            "`gate run --shard I/N`"
        ) from exc


def find_shards(folders: Sequence[Path], cwd: Path) -> list[ShardResult]:
    """Each folder is a shard's folder or holds some (an artifact download, .gate/shards)."""
    wanted = [folder if folder.is_absolute() else cwd / folder for folder in folders]
    if not wanted:
        wanted = [cwd / SHARDS_DIR]
    shards = []
    for folder in wanted:
        if not folder.is_dir():
            raise UsageError(
                f"{folder} is not a folder; pass the folders that `gate run --shard I/N` "
                f"wrote (by default {SHARDS_DIR}/I-of-N)"
            )
        manifests = [folder / MANIFEST] if (folder / MANIFEST).is_file() else []
        manifests = manifests or sorted(folder.rglob(MANIFEST))
        if not manifests:
            raise UsageError(
                f"no shard results in {folder}: no {MANIFEST} in it or below it; run "
                "`gate run --shard I/N` for every shard first, then merge their folders"
            )
        shards += [_read_manifest(path) for path in manifests]
    return _complete(shards)


def _complete(shards: list[ShardResult]) -> list[ShardResult]:
    """Exactly one result per shard of one split, or a usage error that says what is wrong."""
    totals = sorted({shard.total for shard in shards})
    if len(totals) > 1:
        raise UsageError(
            "the shard results come from different splits ("
            + ", ".join(f"{s.index}/{s.total} in {s.folder}" for s in shards)
            + "); merge the folders of one `--shard I/N` run only"
        )
    total = totals[0]
    by_index: dict[int, list[ShardResult]] = {}
    for shard in shards:
        by_index.setdefault(shard.index, []).append(shard)
    twice = {index: found for index, found in by_index.items() if len(found) > 1}
    if twice:
        index, found = min(twice.items())
        raise UsageError(
            f"shard {index}/{total} appears {len(found)} times ("
            + ", ".join(str(s.folder) for s in found)
            + "); pass each shard's folder once"
        )
    missing = [index for index in range(1, total + 1) if index not in by_index]
    if missing:
        raise UsageError(
            "missing shard result(s) "
            + ", ".join(f"{index}/{total}" for index in missing)
            + ": judging without them would miss their tests and coverage; pass every "
            "shard's folder (or wait for every shard job to finish)"
        )
    return [by_index[index][0] for index in range(1, total + 1)]


def _rebase(path: str | None, old_root: str, new_root: str) -> str | None:
    if path is None or old_root == new_root or not path.startswith(old_root.rstrip("/") + "/"):
        return path
    return new_root.rstrip("/") + path[len(old_root.rstrip("/")) :]


def union_results(parts: Sequence[tuple[TestResults, str]], root: Path) -> TestResults:
    """All shards' results as one run's; paths of a shard run elsewhere are moved onto root."""
    merged = TestResults(finished=True, rootdir=str(root))
    for part, shard_root in parts:
        for case in part.cases.values():
            case.frames = [
                (_rebase(path, shard_root, str(root)) or path, line) for path, line in case.frames
            ]
            existing = merged.cases.get(case.nodeid)
            if existing is None or (case.bad and not existing.bad):
                merged.cases[case.nodeid] = case
        for error in part.collect_errors:
            if error not in merged.collect_errors:  # every shard collects every file
                merged.collect_errors.append(error)
        for folder in part.library_dirs:
            rebased = _rebase(folder, shard_root, str(root)) or folder
            if rebased not in merged.library_dirs:
                merged.library_dirs.append(rebased)
        merged.blocking += part.blocking
        merged.unwatched += part.unwatched
        merged.server_errors += part.server_errors
        merged.timed_out.update(part.timed_out)
        merged.collected += part.collected
        merged.finished = merged.finished and part.finished
    return merged


def _merge_coverage(
    config: Config, shards: Sequence[ShardResult], work: Path, options: RunOptions
) -> CoverageResult | None:
    coverage = config.coverage
    data_dir = work / "coverage"
    data_dir.mkdir()
    for shard in shards:
        for data in sorted((shard.folder / "coverage").glob("coverage.*")):
            shutil.copy2(data, data_dir / f".{data.name}.shard{shard.index}")
    rcfile = work / "coveragerc"
    settings = CoverageSettings(
        source=list(coverage.source),
        omit=list(coverage.omit),
        branch=coverage.branch,
        greenlet=False,  # only changes how data is collected, not how it is combined
    )
    write_rcfile(rcfile, settings, config.root)
    others = sorted({shard.root for shard in shards} - {str(config.root)})
    if others:
        # Shards that ran in another checkout measured the same files under another path.
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(rcfile, encoding="utf-8")
        parser["paths"] = {"root": "\n".join([f"{config.root}/", *(f"{o}/" for o in others)])}
        with rcfile.open("w", encoding="utf-8") as handle:
            parser.write(handle)
    xml = options.coverage_xml_path or config.reports.coverage_xml
    return combine_and_report(
        data_dir,
        rcfile,
        config.root,
        xml_path=None if xml is None or str(xml) == "-" else options.resolve(xml),
        html_dir=config.reports.html,
    )


def _shown(path: Path, cwd: Path) -> str:
    return os.path.relpath(path, cwd) if path.is_relative_to(cwd) else str(path)


def _merge_steps(
    options: RunOptions,
    outcome: RunOutcome,
    folders: Sequence[Path],
    work: Path,
    on_config: Callable[[Config], None],
) -> RatchetRun | None:
    """The merge's steps; returns the ratchet baseline it judged by, for --update-ratchet."""
    with timed(outcome.step("config")) as step:
        path = find_config(options.config_path, options.cwd)
        config = load_config(path, options.environ)
        on_config(config)
        outcome.root = config.root
        ratchet = ratchet_for_run(config, options)
        shards = find_shards(folders, options.cwd)
        step.detail = f"{path.name}; {len(shards)} shard(s)"
        outcome.notes.append(
            "merged "
            + ", ".join(f"{s.index}/{s.total} ({_shown(s.folder, options.cwd)})" for s in shards)
        )
    for step_name in ("provision", "migrate"):
        outcome.step(step_name).detail = "done by each shard"
    broken = [shard for shard in shards if shard.exit_code not in (0, 1)]
    if broken:
        first = broken[0]
        error = GateError(
            f"shard {first.index}/{first.total} ({first.folder}) ended in an error, so there is "
            f"no complete result to judge: {first.error or f'exit {first.exit_code}'}"
        )
        error.exit_code = first.exit_code
        raise error
    with timed(outcome.step("test")) as step:
        parts = [(collect_results(shard.folder / "events"), shard.root) for shard in shards]
        results = locate_failures(union_results(parts, config.root), config.root)
        outcome.results = results
        if config.coverage.measured:
            outcome.coverage = _merge_coverage(config, shards, work, options)
        totals = results.totals
        step.detail = (
            f"{len(shards)} shards: {totals['total']} tests: {totals['passed']} passed, "
            f"{totals['failed']} failed, {totals['errors']} errors, {totals['skipped']} skipped"
        )
        if results.bad_cases or results.collect_errors or results.timed_out:
            step.status = "failed"
    evaluate(outcome, config, options, results, outcome.coverage, ratchet=ratchet)
    return ratchet


def merge_shards(folders: Sequence[Path], options: RunOptions, console: Console) -> RunOutcome:
    """One verdict for all shards; never raises for problems it can explain (see outcome.error)."""
    collect_garbage_again()
    started = time.monotonic()
    outcome = RunOutcome(root=options.cwd, run_id=new_run_id())
    read: list[Config] = []  # the config, once read: reports go where it says, errors too
    ratchet: RatchetRun | None = None
    with errors_recorded(outcome, str, interrupted="interrupted"):
        try:
            with tempfile.TemporaryDirectory(prefix=f"gate-merge-{outcome.run_id}-") as work:
                ratchet = _merge_steps(options, outcome, folders, Path(work), read.append)
        finally:
            teardown = outcome.step("teardown")
            teardown.status, teardown.detail = "ok", "removed the merge's temp folder"
    plan = plan_reports(options, read[0] if read else None, str, ratchet=ratchet)
    return conclude(outcome, plan, started)
