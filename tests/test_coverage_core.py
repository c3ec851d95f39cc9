"""coverage.py's sys.monitoring core: chosen only where it measures what gate asks for, and
where chosen it measures exactly what the default core does."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gate.coverage_data import CoverageSettings, measurement_core, write_rcfile
from tests.test_other_interpreters import find_python, make_venv


@pytest.mark.parametrize(
    ("python", "coverage", "branch", "greenlet", "core"),
    [
        ("3.12.1", "7.17.5", False, False, "sysmon"),
        ("3.13.0", "7.10", False, False, "sysmon"),
        ("3.12.1", "7.17.5", True, False, None),  # branches need 3.14 with sysmon
        ("3.14.0", "7.17.5", True, False, "sysmon"),
        ("3.14.0", "7.17.5", False, True, None),  # sysmon supports thread concurrency only
        ("3.11.7", "7.17.5", False, False, None),  # no sys.monitoring before 3.12
        ("3.12.1", "7.9.2", False, False, None),  # no [run] core setting yet
        ("3.12.1", None, False, False, None),
    ],
)
def test_sysmon_only_where_it_measures_what_gate_asks(
    python: str, coverage: str | None, branch: bool, greenlet: bool, core: str | None
) -> None:
    assert measurement_core(python, coverage, branch, greenlet) == core


APP = """\
def grade(score):
    if score >= 90:
        return "A"
    elif score >= 50:
        return "pass"
    for _ in range(3):
        score += 1
    try:
        return {"low": score}[None]
    except KeyError:
        return "fail"


def unused():
    return 1
"""
MEASURE = """\
import json, sys
import coverage
cov = coverage.Coverage(config_file=sys.argv[1], data_file=sys.argv[2])
cov.start()
import app
app.grade(95), app.grade(10)
cov.stop()
cov.save()
data = cov.get_data()
lines = {f.rsplit("/", 1)[1]: sorted(data.lines(f)) for f in data.measured_files()}
print(json.dumps({"core": cov._collector.tracer_name(), "lines": lines}))
"""


def test_sysmon_core_measures_the_same_lines_as_the_default(tmp_path: Path) -> None:
    python = make_venv(tmp_path, find_python("3.12"), "coverage")
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "measure.py").write_text(MEASURE)
    measured = {}
    for core in (None, "sysmon"):
        rcfile = tmp_path / f"rc-{core}"
        settings = CoverageSettings(
            source=["app"], omit=[], branch=False, greenlet=False, core=core
        )
        write_rcfile(rcfile, settings, tmp_path)
        done = subprocess.run(
            [str(python), "measure.py", str(rcfile), str(tmp_path / f".coverage-{core}")],
            cwd=tmp_path, capture_output=True, text=True, check=True,
        )  # fmt: skip
        measured[core] = json.loads(done.stdout)
    assert measured["sysmon"]["core"] == "SysMonitor"
    assert measured[None]["core"] == "CTracer"
    assert measured["sysmon"]["lines"] == measured[None]["lines"]
    assert measured[None]["lines"]["app.py"]  # something was measured
