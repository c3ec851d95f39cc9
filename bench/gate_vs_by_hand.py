"""`gate run` on the sample app against the same steps by hand, side by side, with ratios.

Two comparisons, each round in alternating order, after a warm-up that fills gate's caches:

  private server  gate run (a private server from its cluster cache, the migrated template
                  already in it)  vs. by hand: initdb, pg_ctl -w start, createdb, alembic
                  upgrade head, pytest --cov, pg_ctl stop, rm -rf -- as typed, and "tuned"
                  with gate's own settings (initdb --no-sync; fsync, synchronous_commit and
                  full_page_writes off; the folder in /dev/shm)
  given server    gate run --database-url URL (the migrated template cached there)  vs. by
                  hand: createdb, alembic upgrade head, pytest --cov, dropdb

By hand measures what gate measures: pytest-cov with gate.yaml's coverage settings (branch,
omit, thread+greenlet concurrency, which async SQLAlchemy needs for a true 100%), a coverage
XML and a JUnit file. gate does more on top (blocking-call detection, an HTML coverage report,
the JSON report). Target: gate <= 0.90x by hand, with warm caches.

    uv run python bench/gate_vs_by_hand.py [--rounds 7] [--server-url postgresql://...]
                                           [--migrations N]

--migrations N gates a copy of the sample app with N more revisions, to show how the ratio
moves with the length of the migration history (the step gate's template cache removes).

Without --server-url (or $GATE_BENCH_SERVER_URL) the given server is one the bench starts with
gate's code. Both sides run with bytecode caching on (PYTHONDONTWRITEBYTECODE removed), as on
a developer's machine or in CI after pip install; gate's caches and run records go to a temp
folder, never the real home.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gate.config import load_config
from gate.database.address import ServerAddress, parse_server_url
from gate.database.binaries import PostgresBinaries, find_binaries
from gate.database.ephemeral import TEST_SETTINGS, ephemeral_server
from gate.database.run_as import chown_tree, unprivileged_account
from gate.template_cache import clean_template_cache

REPO = Path(__file__).resolve().parents[1]
APP_ROOT = [REPO]  # where the sample app is gated: the repository, or a copy (--migrations)
REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "{n:04d}"
down_revision = "{previous:04d}"


def upgrade() -> None:
    op.create_table("extra_{n}", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("note", sa.Text, nullable=True))
    op.create_index("ix_extra_{n}_note", "extra_{n}", ["note"])


def downgrade() -> None:
    op.drop_table("extra_{n}")
"""
BIN = Path(sys.executable).parent
TARGET = 0.90


def _run(argv: list[str], env: dict[str, str], **kwargs: Any) -> None:
    completed = subprocess.run(
        argv, cwd=APP_ROOT[0], env=env, capture_output=True, text=True, check=False, **kwargs
    )
    if completed.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {completed.returncode}:\n{completed.stdout}"
                 f"{completed.stderr}")  # fmt: skip


@contextlib.contextmanager
def given_server(url: str | None) -> Iterator[ServerAddress]:
    if url:
        yield parse_server_url(url)
        return
    with ephemeral_server(find_binaries(), cache=None) as private:
        yield private.address


class ByHand:
    """The sample app's steps as a CI file or a person runs them."""

    def __init__(self, work: Path, base_env: dict[str, str]) -> None:
        self.work = work
        config = load_config(APP_ROOT[0] / "gate.yaml", base_env)
        self.env = {**base_env, **config.env}  # the app's settings, as gate.yaml gives them
        self.rcfile = work / "by-hand.coveragerc"
        omit = "\n    ".join(config.coverage.omit)
        self.rcfile.write_text(
            f"[run]\nbranch = True\nsource = sample_app\nomit =\n    {omit}\n"
            "concurrency =\n    thread\n    greenlet\n"
            f"[report]\nfail_under = {config.coverage.fail_under}\nomit =\n    {omit}\n"
        )

    def migrate_and_test(self, address: ServerAddress, name: str) -> None:
        env = {**self.env, "DATABASE_URL": address.with_database(name).url("postgresql+asyncpg")}
        _run([str(BIN / "alembic"), "-c", "sample_app/alembic.ini", "upgrade", "head"], env)
        _run([str(BIN / "pytest"), "-q", "-p", "no:cacheprovider", "--cov=sample_app",
              f"--cov-config={self.rcfile}", f"--cov-report=xml:{self.work / 'hand.xml'}",
              f"--junitxml={self.work / 'hand-junit.xml'}", "sample_app/tests"], env)  # fmt: skip

    def on_server(self, binaries: PostgresBinaries, address: ServerAddress) -> float:
        started = time.perf_counter()
        name = f"bench_hand_{os.getpid()}"
        where = ["-h", address.host, "-p", str(address.port), "-U", address.user]
        _run([binaries.tool("createdb"), *where, name], self.env)
        try:
            self.migrate_and_test(address, name)
        finally:
            _run([binaries.tool("dropdb"), *where, name], self.env)
        return time.perf_counter() - started

    def on_private_server(self, binaries: PostgresBinaries, *, tuned: bool) -> float:
        """tuned: with gate's settings (initdb --no-sync, fsync etc. off, in /dev/shm)."""
        started = time.perf_counter()
        shm = Path("/dev/shm") if tuned and os.access("/dev/shm", os.W_OK) else None
        folder = Path(tempfile.mkdtemp(prefix="bench-hand-pg-", dir=shm))
        folder.chmod(0o755)
        account = unprivileged_account()  # as root, a person would `runuser -u postgres`
        as_account = {} if account is None else {"user": account.uid, "group": account.gid}
        chown_tree(folder, account)
        data = folder / "data"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        pg_ctl = str(binaries.bin_dir / "pg_ctl")
        initdb = [binaries.tool("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
        if tuned:
            initdb += ["--no-sync", "-E", "UTF8", "--locale", "C"]
            options += "".join(f" -c {key}={value}" for key, value in TEST_SETTINGS.items())
        try:
            _run(initdb, self.env, **as_account)
            _run([pg_ctl, "-w", "-D", str(data), "-l", str(folder / "log"), "-o", options,
                  "start"], self.env, **as_account)  # fmt: skip
            try:
                address = ServerAddress("127.0.0.1", port, "postgres")
                where = ["-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
                _run([binaries.tool("createdb"), *where, "app_test"], self.env)
                self.migrate_and_test(address, "app_test")
            finally:
                _run([pg_ctl, "-D", str(data), "-m", "fast", "stop"], self.env, **as_account)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return time.perf_counter() - started


def with_gate(env: dict[str, str], work: Path, url: str | None) -> float:
    """`gate run` on the sample app; url None: on a private server of gate's own."""
    argv = [str(BIN / "gate"), "run", "-q", "--json", str(work / "report.json"),
            "--junit", str(work / "junit.xml")]  # fmt: skip
    if url is not None:
        argv += ["--database-url", url]
    started = time.perf_counter()
    _run(argv, env)
    return time.perf_counter() - started


def measure(rounds: int, url: str | None, work: Path) -> dict[str, list[float]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GATE_", "PYTEST_"))}
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    base["CI"] = "true"
    gate_env = {**base, "GATE_STATE_DIR": str(work / "state"), "GATE_CACHE_DIR": str(work)}
    hand = ByHand(work, base)
    binaries = find_binaries()
    times: dict[str, list[float]] = {}
    with given_server(url) as address:
        try:
            order: list[tuple[str, Callable[[], float]]] = [
                ("gate run, private server", lambda: with_gate(gate_env, work, None)),
                ("by hand, private server", lambda: hand.on_private_server(binaries, tuned=False)),
                ("by hand, private, tuned", lambda: hand.on_private_server(binaries, tuned=True)),
                ("gate run --database-url", lambda: with_gate(gate_env, work, address.url())),
                ("by hand, given server", lambda: hand.on_server(binaries, address)),
            ]
            for _, timer in order:  # warm-up: fills gate's caches, imports and bytecode
                timer()
            for round_no in range(rounds):
                shift = round_no % len(order)  # alternate who goes first
                for name, timer in order[shift:] + order[:shift]:
                    times.setdefault(name, []).append(timer())
                print(f"round {round_no + 1}/{rounds} done", file=sys.stderr, flush=True)
        finally:
            clean_template_cache(work / "state")
    return times


def copy_with_migrations(work: Path, extra: int) -> Path:
    """The sample app and its gate.yaml in work/app, with `extra` more revisions (one table
    and one index each), as a project with a longer history has."""
    root = work / "app"
    shutil.copytree(REPO / "sample_app", root / "sample_app",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    shutil.copy(REPO / "gate.yaml", root / "gate.yaml")
    # The repository's pytest settings (asyncio loop scopes and the like), as a pytest.ini.
    options = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]
    lines = [f"{key} = {' '.join(value) if isinstance(value, list) else value}"
             for key, value in options["ini_options"].items() if key != "testpaths"]  # fmt: skip
    (root / "pytest.ini").write_text("[pytest]\n" + "\n".join(lines) + "\n")
    versions = root / "sample_app" / "alembic" / "versions"
    for n in range(2, extra + 2):
        (versions / f"{n:04d}_extra.py").write_text(REVISION.format(n=n, previous=n - 1))
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--server-url", default=os.environ.get("GATE_BENCH_SERVER_URL"))
    parser.add_argument(
        "--migrations", type=int, default=0, help="gate a copy of the sample app with this "
        "many more revisions (a longer migration history)",
    )  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as folder:
        if args.migrations:
            APP_ROOT[0] = copy_with_migrations(Path(folder), args.migrations)
        times = measure(args.rounds, args.server_url, Path(folder))
    medians = {name: statistics.median(values) for name, values in times.items()}
    history = f", {args.migrations + 1} revisions" if args.migrations else ""
    print(f"sample app{history}, warm caches, {args.rounds} rounds, alternating:")
    for name, values in times.items():
        spread = ", ".join(f"{v:.2f}" for v in values)
        print(f"  {name:<28} median {medians[name]:6.3f}s   [{spread}]")
    source = "from --server-url" if args.server_url else "started by the bench"
    given = f"given server ({source})"
    for label, gate_name, hand_name in (
        ("private server", "gate run, private server", "by hand, private server"),
        (
            "private server, by hand tuned like gate",
            "gate run, private server",
            "by hand, private, tuned",
        ),
        (given, "gate run --database-url", "by hand, given server"),
    ):
        ratio = medians[gate_name] / medians[hand_name]
        verdict = "ok" if ratio <= TARGET else "MISSED"
        print(f"  {label}: gate/by hand {ratio:.2f}x (target <= {TARGET:.2f}x: {verdict})")


if __name__ == "__main__":
    main()
