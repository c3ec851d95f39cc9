"""Fixtures for gate's own tests: a real PostgreSQL server, real projects in temp folders, and
guards that fail a test which leaves a database, a server or a temp folder behind."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from gate.checks.blocking import as_finding
from gate.database.address import ServerAddress, parse_server_url
from gate.database.binaries import find_binaries
from gate.database.cluster_cache import cluster_cache_dir
from gate.database.ephemeral import ephemeral_server
from gate.outcome import RunOutcome

REPO = Path(__file__).resolve().parents[1]
SERVER_ENV = "GATE_TEST_SERVER_URL"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "alone: under pytest-xdist, run while no other worker runs a test (the run's verdict"
        " depends on how long event-loop callbacks take, which a busy machine stretches)",
    )


def run_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base temp folder of the whole run: under pytest-xdist the one every worker's own
    base temp folder is in, else the session's."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if "PYTEST_XDIST_WORKER" in os.environ else base


@contextlib.contextmanager
def run_lock(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[None]:
    """Held by one worker of the run at a time: for what the first one builds and all use."""
    with (run_temp(tmp_path_factory) / f"{name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """Under pytest-xdist, a test marked `alone` waits until no other worker runs a test, and
    no worker starts one until it is done; other tests run side by side as usual.

    A readers-writer lock over two files in the run's base temp folder, which all workers
    of one run share: a test takes `running` shared, an `alone` test takes it exclusive. The
    turnstile keeps an `alone` test that waits from being overtaken by new shared takers.
    Held around the whole protocol, so that the session and module fixtures a test sets up
    or tears down (venvs, servers) do not run beside an `alone` test either."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return (yield)
    alone = item.get_closest_marker("alone") is not None
    folder = Path(item.config.option.basetemp).parent  # xdist: <run's basetemp>/<worker>
    with (
        (folder / "turnstile.lock").open("a") as turnstile,
        (folder / "running.lock").open("a") as running,
    ):
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        fcntl.flock(running, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        if not alone:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        return (yield)  # closing the files releases both locks


@pytest.fixture(scope="session", autouse=True)
def bytecode_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Bytecode for every Python the tests start, kept in one folder for the run.

    With PYTHONDONTWRITEBYTECODE set (as on this machine) every gate run and every pytest
    it starts compiled pytest, SQLAlchemy, FastAPI... from source again: about half a
    second each. A pycache prefix keeps the bytecode out of the projects and venvs, which
    look as they did: nothing a run sees changes but how fast it imports. xdist workers
    share the folder; Python writes each file whole (under a temp name, then renamed)."""
    folder = run_temp(tmp_path_factory) / "pycache"
    folder.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
        patch.setenv("PYTHONPYCACHEPREFIX", str(folder))
        yield folder


@pytest.fixture(scope="session")
def pg_server(gate_cache: Path) -> Iterator[ServerAddress]:
    """A PostgreSQL server for server-mode tests: $GATE_TEST_SERVER_URL, else one gate starts.

    Under pytest-xdist only the first worker takes $GATE_TEST_SERVER_URL; every other worker
    starts a server of its own. The guards compare a server's databases and templates before
    and after a test, so no two workers may share one. The server's cluster goes into the
    session's gate cache, so the first private server a `gate run` starts is a warm one."""
    url = os.environ.get(SERVER_ENV)
    if url and os.environ.get("PYTEST_XDIST_WORKER", "gw0") == "gw0":
        yield parse_server_url(url)
        return
    cache = cluster_cache_dir({"GATE_CACHE_DIR": str(gate_cache)})
    with ephemeral_server(find_binaries(), cache=cache) as server:
        yield server.address


def gate_databases(server: ServerAddress) -> set[str]:
    with psycopg.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password or None,
        dbname="postgres",
        autocommit=True,
    ) as connection:
        rows = connection.execute(
            # Migrated templates (gate_template_<hash12>) are a cache that outlives runs on
            # purpose; a template still being built (..._building_<run id>) is not.
            "SELECT datname FROM pg_database WHERE datname LIKE 'gate\\_%'"
            " AND datname !~ '^gate_template_[0-9a-f]{12}$'"
        ).fetchall()
    return {str(row[0]) for row in rows}


def databases_left(server: ServerAddress, before: set[str], grace_s: float = 30) -> set[str]:
    """gate databases made since `before` that stay. Another suite or gate run on a shared
    server (a developer's, while CI's runs) makes and drops its own meanwhile: a database is
    counted only if it outlives the grace period; one this test's run leaked stays forever."""
    deadline = time.monotonic() + grace_s
    left = gate_databases(server) - before
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left &= gate_databases(server)
    return left


def gate_processes(folder: Path) -> set[int]:
    """postgres processes running from a gate-made folder (private servers) under `folder`."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(folder).encode() in cmdline and b"postgres" in cmdline:
            found.add(int(entry.name))
    return found


@dataclass
class GateResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class GateRunner:
    """Runs the real `gate` command in a subprocess, as a user would."""

    env: dict[str, str]

    def __call__(
        self, *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180
    ) -> GateResult:
        completed = subprocess.run(
            [sys.executable, "-m", "gate", *args],
            cwd=cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return GateResult(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    """Keeps run ledgers out of the real home folder."""
    return tmp_path / "state"


@pytest.fixture
def gate_tmp() -> Iterator[Path]:
    """The TMPDIR of the gate under test: short (unix socket paths are limited to ~100 bytes)
    and private, so the guard sees only this test's folders."""
    folder = Path(tempfile.mkdtemp(prefix="gt-", dir="/tmp"))
    folder.chmod(0o755)  # like /tmp: the server account (when root) can search it
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def gate_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The gate command's cache folder (cached clusters): shared by the session's runs, as a
    user's is by theirs, and never the real home folder's."""
    return tmp_path_factory.mktemp("gate-cache")


def serverless_gate(state_dir: Path) -> Iterator[GateRunner]:
    """The body of a `gate` fixture for projects with database mode none, outside any CI
    provider: no server is needed. The guard reads this run's own ledgers rather than scanning
    the machine, so other runs of gate on the same machine cannot trip it."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GATE_", "PYTEST_", "GITHUB_", "GITLAB_", "CI_"))
    }
    env.update({"GATE_STATE_DIR": str(state_dir), "CI": "true", "NO_COLOR": "1"})
    env.pop("DATABASE_URL", None)
    yield GateRunner(env)
    assert list(state_dir.glob("*.json")) == [], "a run left something in its ledger"


@pytest.fixture
def gate(
    state_dir: Path, pg_server: ServerAddress, gate_tmp: Path, gate_cache: Path
) -> Iterator[GateRunner]:
    """The gate command, guarded: after the test no gate database, server or folder remains."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATE_", "PYTEST_"))}
    env.update(
        {
            "GATE_STATE_DIR": str(state_dir),
            "GATE_CACHE_DIR": str(gate_cache),
            "CI": "true",
            "NO_COLOR": "1",
            "COLUMNS": "200",
            "TMPDIR": str(gate_tmp),
        }
    )
    env.pop("DATABASE_URL", None)
    env.pop("VIRTUAL_ENV", None)
    databases_before = gate_databases(pg_server)
    yield GateRunner(env)
    assert databases_left(pg_server, databases_before) == set(), "a gate database was left"
    assert gate_processes(gate_tmp) == set(), "a private server was left running"
    assert sorted(p.name for p in gate_tmp.iterdir()) == [], "a gate temp folder was left"


@dataclass
class Project:
    root: Path

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """An empty project folder; tests write its package, tests and gate.yaml."""
    root = tmp_path / "project"
    root.mkdir()
    return Project(root)


@pytest.fixture
def small_app(project: Project) -> Project:
    """A tiny, fully covered project whose tests read the database gate hands them."""
    project.write(
        "app/__init__.py",
        """
        def add(a: int, b: int) -> int:
            return a + b
        """,
    )
    project.write(
        "tests/test_app.py",
        """
        import os

        import psycopg

        from app import add


        def test_add():
            assert add(2, 3) == 5


        def test_database_is_reachable():
            url = os.environ["DATABASE_URL"]
            with psycopg.connect(url) as connection:
                assert connection.execute("select 1").fetchone() == (1,)
        """,
    )
    project.write(
        "gate.yaml",
        """
        database:
          scheme: postgresql
        coverage:
          source: [app]
          fail_under: 100
        tests:
          timeout: 60
        """,
    )
    return project


def with_findings(outcome: RunOutcome) -> RunOutcome:
    """The blocking check's findings for the results as a test left them: reporters render
    findings, not raw results."""
    blocking = outcome.results.blocking if outcome.results is not None else []
    failing = any(c.name == "blocking" and not c.passed for c in outcome.checks)
    outcome.findings = [as_finding(f, failing=failing) for f in blocking]
    return outcome


# docs/ci.md's configs: tests/test_ci_docs.py runs its jobs, tests/test_action.py its use of
# gate's action. The documented service URL is swapped for this machine's test server.
CI_DOCS = REPO / "docs" / "ci.md"
CI_SERVICE_URL = re.compile(r"postgresql://postgres:postgres@(?:localhost|postgres):5432/postgres")


def ci_docs_configs() -> list[dict[str, Any]]:
    blocks = re.findall(r"```yaml\n(.*?)```", CI_DOCS.read_text(), flags=re.DOTALL)
    return [yaml.safe_load(block) for block in blocks]


def uses_gate_action(workflow: dict[str, Any]) -> bool:
    """Whether a GitHub workflow uses gate's own action (`<owner>/gate@<ref>`)."""
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    return any(re.fullmatch(r"[\w-]+/gate@\S+", str(step.get("uses", ""))) for step in steps)
