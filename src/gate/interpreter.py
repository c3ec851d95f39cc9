"""Chooses the interpreter that runs the project's tests and asks it what it has installed."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gate import interpreter_cache, proc
from gate.errors import InfraError, UsageError

# Runs inside the project's interpreter: standard library only. The first lines parse and run
# on any Python, 2.7 included, so that an old one says its version instead of a traceback.
_MARK = "gate-probe "
_PROBE = """
import sys
print("gate-probe %d.%d.%d" % tuple(sys.version_info[:3]))
if sys.version_info < (3, 9):
    sys.exit(0)
import importlib.util, json
def version(name):
    try:
        from importlib.metadata import version as v
        return v(name)
    except Exception:
        return None
mods = {"pytest": "pytest", "coverage": "coverage", "pytest_cov": "pytest-cov",
        "xdist": "pytest-xdist", "greenlet": "greenlet", "pytest_asyncio": "pytest-asyncio",
        "pip": "pip"}
import os
print(json.dumps({
    "python": ".".join(map(str, sys.version_info[:3])),
    "executable": sys.executable,
    "folders": [p for p in sys.path if p and os.path.isdir(p) and p != os.getcwd()],
    "packages": {m: (version(d) or "?") if importlib.util.find_spec(m) else None
                 for m, d in mods.items()},
}))
"""

MIN_PYTHON = (3, 9)


@dataclass(frozen=True)
class Interpreter:
    path: Path
    python_version: str
    packages: Mapping[str, str | None]

    def has(self, module: str) -> bool:
        return self.packages.get(module) is not None


def choose_python(setting: str, root: Path, environ: Mapping[str, str]) -> Path:
    """tests.python: auto = the active virtualenv, else ROOT/.venv, else gate's own interpreter."""
    if setting != "auto":
        path = Path(setting).expanduser()
        if not path.is_absolute():
            # Normalised, not resolved: a venv's python is a link to the base interpreter.
            path = Path(os.path.normpath(root / path))
        if not path.exists():
            raise UsageError(
                f"tests.python: {setting} does not exist; point it at the interpreter that runs "
                "your tests (e.g. .venv/bin/python) or use auto"
            )
        if path.is_dir():
            inside = path / "bin" / "python"
            hint = (
                f"{inside}" if inside.exists() else "the python inside it (e.g. .venv/bin/python)"
            )
            raise UsageError(
                f"tests.python: {setting} is a folder, not an interpreter; point it at {hint} "
                "or use auto"
            )
        return path
    active = environ.get("VIRTUAL_ENV")
    if active and (Path(active) / "bin" / "python").exists():
        return Path(active) / "bin" / "python"
    local = root / ".venv" / "bin" / "python"
    if local.exists():
        return local
    return Path(sys.executable)


def probe(
    python: Path, environ: Mapping[str, str], *, coverage: bool = True, root: Path | None = None
) -> Interpreter:
    """Ask the interpreter for its version and test packages; say exactly what is missing.

    coverage: whether the run measures coverage (coverage.source is set), so coverage.py
    must be there; root: the project, whose lock file says how to add a package.
    A remembered answer stands while the interpreter and its sys.path folders are unchanged
    (interpreter_cache)."""
    remembered = interpreter_cache.recall(python, environ)
    if remembered is not None:
        result = proc.Completed((str(python), "-c", _PROBE), 0, remembered)
    else:
        result = _ask(python, environ)
    lines = result.output.strip().splitlines()
    marks = [line for line in lines if line.startswith(_MARK)]
    if not marks:
        answered = lines[-1][:200] if lines else "nothing"
        raise UsageError(
            f"tests.python: {python} is not a Python interpreter (asked for its version it "
            f"exited {result.code} and answered: {answered}); point it at the Python 3.9+ "
            "interpreter that runs your tests (e.g. .venv/bin/python) or use auto"
        )
    python_version = marks[0][len(_MARK) :].strip()
    if tuple(int(n) for n in python_version.split(".")[:2]) < MIN_PYTHON:
        raise UsageError(
            f"tests.python: {python} is Python {python_version}; gate needs 3.9 or newer; "
            "point it at a newer interpreter (e.g. a venv made with `uv venv -p 3.12`)"
        )
    if result.code != 0:
        raise InfraError(f"the test interpreter {python} failed to start:\n{result.output[-1500:]}")
    try:
        facts = json.loads(lines[-1])
    except ValueError as exc:  # a sitecustomize that prints after the probe, say
        raise InfraError(
            f"the test interpreter {python} gave an unreadable answer:\n{result.output[-1500:]}"
        ) from exc
    interpreter = Interpreter(python, python_version, facts["packages"])
    if remembered is None:
        interpreter_cache.remember(python, environ, result.output, facts.get("folders", []))
    needed = ("pytest", "coverage") if coverage else ("pytest",)
    missing = [name for name in needed if not interpreter.has(name)]
    if missing:
        names = " and ".join(missing)
        also = " (pytest-cov brings coverage too)" if "coverage" in missing else ""
        raise UsageError(
            f"the test interpreter {python} lacks {names}; add {names} to the project's "
            f"test dependencies{also}: `{add_command(missing, interpreter, root)}`; "
            "or point tests.python at an interpreter that has them"
        )
    return interpreter


def _ask(python: Path, environ: Mapping[str, str]) -> proc.Completed:
    try:
        return proc.capture([str(python), "-c", _PROBE], env=environ, timeout_s=60)
    except proc.CommandNotFound as exc:
        raise InfraError(f"the test interpreter {python} could not be started") from exc
    except proc.CommandNotRunnable as exc:
        raise UsageError(
            f"tests.python: {python} cannot be executed ({exc.reason}); point it at the "
            "Python 3.9+ interpreter that runs your tests (e.g. .venv/bin/python) or use auto"
        ) from exc


def add_command(packages: Sequence[str], interpreter: Interpreter, root: Path | None) -> str:
    """How this project adds a test dependency: its lock file names the tool."""
    names = " ".join(packages)
    for folder in [root, *root.parents] if root is not None else []:
        if (folder / "uv.lock").is_file():
            return f"uv add --dev {names}"
        if (folder / "poetry.lock").is_file():
            return f"poetry add --group dev {names}"
        if (folder / ".git").exists():
            break  # the repository's top (a uv workspace locks there); above is not ours
    if interpreter.has("pip"):
        return f"{interpreter.path} -m pip install {names}"
    # A virtualenv made by uv has no pip of its own.
    return f"uv pip install --python {interpreter.path} {names}"


def bin_dir_first(python: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment with the interpreter's bin folder first on PATH, so `alembic` is the
    project's own."""
    env = dict(environ)
    env["PATH"] = os.pathsep.join([str(python.parent), env.get("PATH", os.defpath)])
    return env
