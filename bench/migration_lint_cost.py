"""What migrations.lint adds to a template build: capture on against off, and the lint itself.

Builds an alembic project of N revisions (each adds a column and an index, as a real history
does) in a temp folder, then on one private server alternates `alembic upgrade head` into a
fresh database with capture (log_statement for that database, log read back) and without,
for R rounds; then times attribution + squawk over the captured statements (what a run that
reuses a cached template pays). Usage (from the repository root):

    uv run python bench/migration_lint_cost.py [--revisions 60] [--rounds 5]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

from gate import proc
from gate.database.binaries import find_binaries
from gate.database.ephemeral import EphemeralServer, ephemeral_server
from gate.database.server import admin_connection
from gate.migration_capture import Statement, capturing
from gate.migration_lint import lint_statements

ENV_PY = """
import os
import sqlalchemy as sa
from alembic import context
engine = sa.create_engine(os.environ["DATABASE_URL"], poolclass=sa.pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
"""


def write_project(root: Path, revisions: int) -> None:
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    (root / "migrations" / "env.py").write_text(ENV_PY)
    for n in range(1, revisions + 1):
        down = "None" if n == 1 else f'"{n - 1:04d}"'
        body = (
            '    op.create_table("items", sa.Column("id", sa.BigInteger, primary_key=True))\n'
            if n == 1
            else f'    op.add_column("items", sa.Column("c{n}", sa.Text()))\n'
            f'    op.create_index("ix_items_c{n}", "items", ["c{n}"])\n'
        )
        (root / "migrations" / "versions" / f"{n:04d}_r.py").write_text(
            "import sqlalchemy as sa\nfrom alembic import op\n\n"
            f'revision = "{n:04d}"\ndown_revision = {down}\n\n\ndef upgrade():\n{body}'
        )


def migrate_once(
    server: EphemeralServer, root: Path, name: str, capture: bool
) -> tuple[float, list[Statement]]:
    with admin_connection(server.address) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = server.address.with_database(name).url().replace("postgresql://", "postgresql+psycopg://")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "DATABASE_URL": url}
    command = [sys.executable, "-m", "alembic", "upgrade", "head"]
    started = time.perf_counter()
    log = server.log_file if capture else None
    with capturing(server.address, log, name) if capture else contextlib.nullcontext() as found:
        completed = proc.run(command, cwd=root, env=env, output_file=root / "migrate.log")
    elapsed = time.perf_counter() - started
    assert completed.code == 0, completed.output
    with admin_connection(server.address) as admin:
        admin.execute(f'DROP DATABASE "{name}"')
    return elapsed, (found.statements if found is not None else [])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--revisions", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    times: dict[bool, list[float]] = {True: [], False: []}
    statements: list[Statement] = []
    with tempfile.TemporaryDirectory() as folder, ephemeral_server(find_binaries(None)) as server:
        root = Path(folder)
        write_project(root, args.revisions)
        for round_ in range(args.rounds):
            for capture in (round_ % 2 == 0, round_ % 2 == 1):
                elapsed, found = migrate_once(server, root, f"b{round_}_{int(capture)}", capture)
                times[capture].append(elapsed)
                statements = found or statements
        lint_times = []
        for n in range(args.rounds):
            started = time.perf_counter()
            linted = lint_statements(statements, root, ["alembic"], root / f"lint{n}")
            lint_times.append(time.perf_counter() - started)
    off, on = statistics.median(times[False]), statistics.median(times[True])
    lint = statistics.median(lint_times)
    print(f"{args.revisions} revisions, {len(statements)} statements kept, "
          f"{len(linted.findings)} findings, median of {args.rounds} rounds")  # fmt: skip
    print(f"  upgrade without capture  {off:7.3f} s")
    print(f"  upgrade with capture     {on:7.3f} s   ({on / off:.2f}x)")
    print(f"  attribute + squawk       {lint:7.3f} s   ({lint / off:.2%} of the upgrade)")


if __name__ == "__main__":
    main()
