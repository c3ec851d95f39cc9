"""`gate --version`: gate's version and what a run here would use, for bug reports.

Like `pip debug`, it says which Python runs the tests, which PostgreSQL binaries gate found
and which coverage.py measures. It is asked when something is wrong, so it never fails:
whatever cannot be found or asked is reported as such, and the command still exits 0.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import gate
from gate import proc
from gate.errors import GateError

DISTRIBUTION = "backend-gate"  # the name on PyPI; the command and the package are `gate`
NOT_FOUND = "not found"
# Ask a test interpreter for its version and packages, standard library only. An answer
# that takes longer than this is reported, not waited for.
PROBE_TIMEOUT_S = 15.0
_PROBE = """
import sys, importlib.util
print("%d.%d.%d" % tuple(sys.version_info[:3]))
for module, name in (("pytest", "pytest"), ("coverage", "coverage"), ("pytest_cov", "pytest-cov"),
                     ("xdist", "pytest-xdist")):
    try:
        from importlib.metadata import version
        found = importlib.util.find_spec(module) is not None
        print("%s %s" % (name, version(name) if found else "-"))
    except Exception:
        print("%s ?" % name)
"""


@dataclass(frozen=True)
class Setting:
    """What the config says about the tests' Python and PostgreSQL, and where it came from."""

    origin: str  # "gate.yaml", "pyproject.toml [tool.gate]", or why there is no config
    python: str = "auto"
    root: Path | None = None
    bin_dir: Path | None = None


@dataclass(frozen=True)
class TestPython:
    path: Path
    chosen_by: str  # which rule of tests.python picked it
    version: str | None  # None: it could not be asked
    packages: Mapping[str, str | None]  # name -> version, None when not installed
    problem: str = ""


def version_lines(cwd: Path, environ: Mapping[str, str]) -> Iterator[str]:
    """The lines `gate --version` prints; the first is `gate VERSION` alone for scripts."""
    yield f"gate {gate.__version__}"
    yield (
        f"  {installed_as()} in {Path(gate.__file__).parent}, running on Python "
        f"{sys.version.split()[0]} ({sys.executable})"
    )
    setting = read_setting(cwd, environ)
    yield f"  config: {setting.origin}"
    tests = ask_test_python(setting, cwd, environ)
    yield f"  tests' Python: {describe_test_python(tests)}"
    yield f"  PostgreSQL: {describe_postgres(setting)}"
    yield f"  coverage.py: {describe_coverage(tests)}"


def installed_as() -> str:
    """How this gate was installed: a report from a source checkout must not claim a release."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version(DISTRIBUTION)
    except PackageNotFoundError:
        return f"not installed as {DISTRIBUTION} (run from its source)"
    if installed != gate.__version__:  # an editable install whose metadata is older
        return f"installed as {DISTRIBUTION} {installed}"
    return f"installed as {DISTRIBUTION}"


def read_setting(cwd: Path, environ: Mapping[str, str]) -> Setting:
    from gate.config import find_config, load_config

    try:
        path = find_config(None, cwd)
    except GateError:
        return Setting(origin="none here (./gate.yaml or [tool.gate] in ./pyproject.toml)")
    name = path.name + (" [tool.gate]" if path.suffix == ".toml" else "")
    try:
        config = load_config(path, environ)
    except GateError as exc:
        first = exc.message.splitlines()[0]
        return Setting(origin=f"{name} is not valid ({first}); defaults shown")
    return Setting(
        origin=name,
        python=config.tests.python,
        root=config.root,
        bin_dir=config.database.bin_dir,
    )


def ask_test_python(setting: Setting, cwd: Path, environ: Mapping[str, str]) -> TestPython:
    from gate.interpreter import choose_python

    root = setting.root or cwd
    try:
        path = choose_python(setting.python, root, environ)
    except GateError as exc:
        return TestPython(Path(setting.python), "tests.python", None, {}, problem=exc.message)
    chosen_by = _rule(setting.python, path, root, environ)
    try:
        result = proc.capture([str(path), "-c", _PROBE], env=environ, timeout_s=PROBE_TIMEOUT_S)
    except GateError as exc:
        return TestPython(path, chosen_by, None, {}, problem=exc.message)
    lines = result.output.strip().splitlines()
    if result.code != 0 or not lines or not re.fullmatch(r"\d+\.\d+\.\d+", lines[0]):
        answer = lines[-1][:200] if lines else "nothing"
        problem = f"did not answer (exit {result.code}): {answer}"
        return TestPython(path, chosen_by, None, {}, problem=problem)
    packages: dict[str, str | None] = {}
    for line in lines[1:]:
        name, _, version = line.partition(" ")
        packages[name] = None if version == "-" else version
    return TestPython(path, chosen_by, lines[0], packages)


def _rule(setting: str, path: Path, root: Path, environ: Mapping[str, str]) -> str:
    """Why choose_python picked path: the words of tests.python's documentation."""
    if setting != "auto":
        return "tests.python"
    if environ.get("VIRTUAL_ENV") and path == Path(environ["VIRTUAL_ENV"]) / "bin" / "python":
        return "auto: the active virtualenv"
    if path == root / ".venv" / "bin" / "python":
        return "auto: ROOT/.venv"
    return "auto: gate's own"


def describe_test_python(tests: TestPython) -> str:
    if tests.version is None:
        return f"{tests.path} ({tests.chosen_by}): {tests.problem}"
    installed = ", ".join(
        f"{name} {version}" if version else f"{name} {NOT_FOUND}"
        for name, version in tests.packages.items()
    )
    return f"{tests.version} at {tests.path} ({tests.chosen_by}); {installed}"


def describe_postgres(setting: Setting) -> str:
    from gate.database.binaries import find_binaries

    try:
        binaries = find_binaries(setting.bin_dir)
    except GateError:
        where = "database.bin_dir" if setting.bin_dir else "PATH, pg_config, the usual folders"
        return f"{NOT_FOUND} (looked in {where}; `gate run` says where exactly)"
    try:
        result = proc.capture([binaries.tool("postgres"), "--version"], timeout_s=10)
    except GateError as exc:
        return f"at {binaries.bin_dir}, but it cannot be run: {exc.message}"
    # "postgres (PostgreSQL) 16.4 (Ubuntu 16.4-1.pgdg22.04+1)"
    found = re.search(r"\(PostgreSQL\) (\S+)", result.output)
    version = found.group(1) if found else "version unknown"
    return f"{version} at {binaries.bin_dir}"


def describe_coverage(tests: TestPython) -> str:
    """The tests' coverage.py measures; gate's own reads its data and writes the reports."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        own = version("coverage")
    except PackageNotFoundError:
        own = NOT_FOUND
    measured = tests.packages.get("coverage") if tests.version else None
    in_tests = measured or (NOT_FOUND if tests.version else "unknown")
    return f"{in_tests} in the tests' Python (measures); {own} in gate's (reports)"
