"""Trials of gate on real public projects: `gate init` + `gate run` with zero edits to gate.yaml,
in ephemeral and server mode, then one seeded defect at a time, each of which must fail naming
the right test or line. Prints a table (docs/any-project.md keeps the last one).

    uv run python bench/real_projects.py --source full-stack-fastapi-template=PATH ...
        [--only NAME] [--server postgresql://postgres@127.0.0.1:5432/postgres]
        [--skip-defects | --defect NAME] [--by-hand] [--reports DIR]

PATH is a git clone (or a URL git can clone) of the project; the pinned commit is checked out
into a temp folder, never into this repository. Each project's environment is installed as its
own CI installs it (uv, pip from its lock or requirements). Runs are heavy: one at a time.
--by-hand times what a developer does without gate: make a database on the server, run the
migration command, run the project's own test command against it, drop the database.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

GATE = str(Path(sys.executable).with_name("gate"))
PY = "/root/.pyenv/versions/{}/bin/python{}"


@dataclass(frozen=True)
class Defect:
    """One seeded defect: an edit, and what the report must then name."""

    name: str
    path: str
    old: str  # "" appends `new` to the file
    new: str
    expect_test: str | None = None  # a failed test's id
    expect_check: str | None = None  # a failed check's name
    expect_place: str | None = None  # "file:line" of a failing blocking finding
    # The run must pass, as the project's CI would: an uncovered function where the CI
    # measures no coverage, so gate (init carries the CI's settings over) measures none.
    expect_pass: bool = False


@dataclass(frozen=True)
class Project:
    name: str
    shape: str
    commit: str
    setup: tuple[str, ...]  # shell commands, run in the checkout
    by_hand: tuple[str, ...] = ()  # the project's own test commands, run in `folder`
    folder: str = "."
    env: dict[str, str] = field(default_factory=dict)  # by hand: what its CI sets
    defects: tuple[Defect, ...] = ()
    # ("--run",): its first run has genuine findings, which init writes into blocking.allow.
    init_args: tuple[str, ...] = ()
    # By hand: the database is named after its owner (DB_USER), as the project's own
    # docker-compose postgres makes it, so a role of the database's name owns it.
    by_hand_role: bool = False


def python(version: str) -> str:
    major_minor = ".".join(version.split(".")[:2])
    return PY.format(version, major_minor)


UNTESTED = """

def seeded_untested(values):
    total = 0
    for value in values:
        if value > 0:
            total += value
        elif value < -100:
            total -= 2 * value
        else:
            total -= value
    if total > 1000:
        total = 1000
    return total
"""

PROJECTS = (
    Project(
        name="full-stack-fastapi-template",
        shape="FastAPI, sync SQLModel + psycopg 3, backend/ folder, POSTGRES_* variables",
        # The parent of the commit that moved to Python 3.14, which this machine lacks.
        commit="a7275354",
        setup=(f"uv sync --python {python('3.12.1')}",),
        folder="backend",
        by_hand=(
            "alembic upgrade head",
            "coverage run -m pytest tests/",
            "coverage report --fail-under=90",
        ),
        defects=(
            Defect(
                "failing assertion",
                "backend/tests/api/routes/test_login.py",
                "assert r.status_code == 200",
                "assert r.status_code == 201",
                expect_test="tests/api/routes/test_login.py::test_get_access_token",
            ),
            Defect(
                "uncovered function",
                "backend/app/crud.py",
                "",
                UNTESTED,
                expect_check="coverage.fail_under",
            ),
            Defect(
                "time.sleep in an async handler",
                "backend/app/api/routes/utils.py",
                "async def health_check() -> bool:\n    return True",
                "async def health_check() -> bool:\n    import time\n\n    time.sleep(0.2)\n"
                "    return True",
                expect_place="app/api/routes/utils.py:33",
            ),
            Defect(
                "(the test that reaches it)",
                "backend/tests/api/routes/test_health.py",
                "",
                "def test_health(client):\n"
                '    assert client.get("/api/v1/utils/health-check/").json() is True\n',
            ),
        ),
    ),
    Project(
        name="Django-Styleguide-Example",
        shape="Django + DRF, pytest-django, DATABASE_URL via django-environ, no coverage",
        commit="a70ef43",
        setup=(
            f"uv venv -q -p {python('3.12.1')} .venv",
            "uv pip install -q -p .venv -r requirements/local.txt",
        ),
        by_hand=("pytest",),
        defects=(
            Defect(
                "failing assertion",
                "styleguide_example/users/tests/services/test_user_create.py",
                "self.assertEqual(1, BaseUser.objects.count())",
                "self.assertEqual(2, BaseUser.objects.count())",
                expect_test="styleguide_example/users/tests/services/test_user_create.py::"
                "UserCreateTests::test_user_with_capitalized_email_cannot_be_created",
            ),
            # Its CI measures no coverage, so gate measures none: the run passes, as its CI.
            Defect(
                "uncovered function",
                "styleguide_example/users/services.py",
                "",
                UNTESTED,
                expect_pass=True,
            ),
            # Its views are sync DRF views: an async Django view, wired to a URL. Django's
            # sync test client runs it through asgiref's async_to_sync, in an event loop of
            # its own in another thread, which gate's detector times like any other loop. Its
            # settings set ATOMIC_REQUESTS, which Django refuses for an async view ("You cannot
            # use ATOMIC_REQUESTS with async views", a 500) unless it is marked non-atomic.
            Defect(
                "time.sleep in an async view",
                "styleguide_example/api/urls.py",
                "",
                "\n\nfrom django.db import transaction\n\n\n@transaction.non_atomic_requests\n"
                "async def seeded_sleep(request):\n    import time\n\n"
                "    from django.http import JsonResponse\n\n    time.sleep(0.2)\n"
                '    return JsonResponse({"ok": True})\n\n\n'
                'urlpatterns.append(path("seeded-sleep/", seeded_sleep))\n',
                expect_place="styleguide_example/api/urls.py:23",
            ),
            Defect(
                "(the test that reaches it)",
                "styleguide_example/api/tests/test_seeded_sleep.py",
                "",
                "def test_seeded_sleep(client):\n"
                '    assert client.get("/api/seeded-sleep/").json() == {"ok": True}\n',
            ),
        ),
    ),
    Project(
        name="fastapi-realworld-example-app",
        shape="FastAPI, asyncpg + aiosql, Python 3.9, addopts -n auto --cov-fail-under=100",
        commit="029eb77",
        setup=(
            f"uv venv -q -p {python('3.9.18')} .venv",
            # Its CI installs poetry.lock; the same pins, and the setuptools poetry brought.
            "python3 -c \"import tomllib; [print(p['name'] + '==' + p['version']) for p in "
            "tomllib.load(open('poetry.lock', 'rb'))['package']]\" > .pins.txt",
            "uv pip install -q -p .venv --no-deps -r .pins.txt setuptools==65.5.0",
        ),
        env={"SECRET_KEY": "secret_key"},
        # Its CI's test step: `alembic upgrade head` then scripts/test, which is pytest with
        # --cov on top of addopts' -n auto and --cov-fail-under=100.
        by_hand=("alembic upgrade head", "./scripts/test"),
        init_args=("--run",),
        defects=(
            Defect(
                "failing assertion",
                "tests/test_api/test_routes/test_tags.py",
                'assert response.json() == {"tags": []}',
                'assert response.json() == {"tags": ["seeded"]}',
                expect_test="tests/test_api/test_routes/test_tags.py::"
                "test_empty_list_when_no_tags_exist",
            ),
            # Its floor is 100% over app + tests with branches, so one untested function is
            # enough; the check must say so, not a test.
            Defect(
                "uncovered function",
                "app/db/repositories/tags.py",
                "",
                UNTESTED,
                expect_check="coverage.fail_under",
            ),
            Defect(
                "time.sleep in an async handler",
                "app/api/routes/tags.py",
                "    tags = await tags_repo.get_all_tags()\n",
                "    import time\n    time.sleep(0.2)\n    tags = await tags_repo.get_all_tags()\n",
                expect_place="app/api/routes/tags.py:15",
            ),
        ),
    ),
    Project(
        name="litestar-realworld",
        shape="Litestar, async SQLAlchemy + psycopg 3, Python 3.13, DB_HOST/DB_USER/... with "
        "the database named after DB_USER, tables from create_all in the app's lifespan",
        commit="efda2b8",
        setup=(
            # Its README: `cp .env.example .env`; its Dockerfile: `uv sync --locked`.
            "cp .env.example .env",
            # Its .python-version (3.13) sends a pyenv `uv` shim to a Python without uv:
            # the uv that `uv run` runs this script with ($UV), else the one on PATH.
            f"${{UV:-uv}} sync -q --locked --python {python('3.13.0')}",
        ),
        # Its docker-compose test service: `pytest tests/ -p no:cacheprovider`.
        by_hand=("pytest tests/ -p no:cacheprovider",),
        by_hand_role=True,
        # Its first run has genuine findings: argon2 hashing in async handlers.
        init_args=("--run",),
        defects=(
            Defect(
                "failing assertion",
                "tests/test_routes/test_tag_controller.py",
                'assert isinstance(data["tags"], list)',
                'assert isinstance(data["tags"], dict)',
                expect_test="tests/test_routes/test_tag_controller.py::test_get_tags",
            ),
            Defect(
                "uncovered function",
                "Conduit/db/tag_queries.py",
                "",
                UNTESTED,
                expect_pass=True,
            ),
            Defect(
                "time.sleep in an async handler",
                "Conduit/routes/tag_controller.py",
                "    async def get_tags(self, state: State) -> TagListResponse:\n",
                "    async def get_tags(self, state: State) -> TagListResponse:\n"
                "        import time\n\n        time.sleep(0.2)\n",
                expect_place="Conduit/routes/tag_controller.py:18",
            ),
        ),
    ),
)


def sh(
    command: str | list[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[int, str, float]:
    started = time.monotonic()
    done = subprocess.run(
        command,
        cwd=cwd,
        shell=isinstance(command, str),
        # `uv run` activates gate's own venv; a user's shell has the project's (or none), so
        # that gate's `python: auto` finds the project's .venv, not gate's.
        env={**{k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


def gate_run(checkout: Path, *args: str) -> tuple[int, dict, float]:
    report = checkout / ".trial-report.json"
    code, output, seconds = sh([GATE, "run", "-q", "--json", str(report), *args], checkout)
    data = (
        json.loads(report.read_text())
        if report.exists()
        else {"verdict": "error", "output": output}
    )
    return code, data, seconds


def summary(report: dict) -> str:
    # The report's "blocking" lists every finding; the check counts those that fail.
    check = [c for c in report.get("checks") or [] if c["name"] == "blocking"]
    failing = check[0]["actual"] if check else 0
    apart = sum(g["count"] for g in report.get("blocking_apart") or [])
    tests = report.get("tests", {})
    coverage = (report.get("coverage") or {}).get("percent")
    shown = f"{tests.get('passed', 0)}/{tests.get('total', 0)} tests"
    if coverage is not None:
        shown += f", {coverage:.1f}%"
    return f"{shown}; blocking {failing} failing, {apart} apart"


def failed_checks(report: dict) -> str:
    """The checks that failed, with what they measured: a seeded row says why it failed."""
    return ", ".join(
        f"{c['name']} ({c.get('actual')} vs {c.get('expected')})"
        for c in report.get("checks") or []
        if not c["passed"]
    )


def judged(defect: Defect, report: dict) -> bool:
    failed_tests = {t["test"] for t in report.get("failed_tests") or []}
    failed_checks = {c["name"] for c in report.get("checks") or [] if not c["passed"]}
    places = {f"{f['file']}:{f['line']}" for f in report.get("blocking") or []}
    if defect.expect_pass:
        return report.get("verdict") == "pass"
    return (
        (defect.expect_test is None or defect.expect_test in failed_tests)
        and (defect.expect_check is None or defect.expect_check in failed_checks)
        and (defect.expect_place is None or defect.expect_place in places)
    )


def apply(checkout: Path, defect: Defect) -> None:
    path = checkout / defect.path
    if not defect.old:
        path.write_text((path.read_text() if path.exists() else "") + defect.new)
        return
    text = path.read_text()
    assert defect.old in text, f"{defect.path}: {defect.old!r} not found"
    path.write_text(text.replace(defect.old, defect.new, 1))


def by_hand(project: Project, checkout: Path, server: str) -> tuple[str, float]:
    """A developer's loop without gate: a database by hand, migrations, the own test command.

    Returns how it ended as well as how long it took: the time of a command that failed
    half-way is not the time of the loop, so the row must say which one it is.
    """
    name = f"byhand_{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    with psycopg.connect(server, autocommit=True) as admin:
        if project.by_hand_role:
            admin.execute(f'CREATE ROLE "{name}" LOGIN')
        admin.execute(
            f'CREATE DATABASE "{name}"' + (f' OWNER "{name}"' if project.by_hand_role else "")
        )
    base, _, _ = server.rpartition("/")
    env = {
        **project.env,
        "DATABASE_URL": f"{base}/{name}",
        "POSTGRES_SERVER": "127.0.0.1",
        "POSTGRES_DB": name,
        "POSTGRES_USER": "postgres",
        # litestar-realworld: DB_HOST, DB_PORT, DB_PASSWORD, and DB_USER names the database.
        "DB_HOST": "127.0.0.1",
        "DB_PORT": "5432",
        "DB_PASSWORD": "",
        "DB_USER": name if project.by_hand_role else "postgres",
        "PATH": f"{checkout / '.venv/bin'}:{os.environ['PATH']}",
    }
    ended = "pass"
    try:
        for command in project.by_hand:
            code, output, _ = sh(command, checkout / project.folder, env)
            if code != 0:
                ended = f"fail at `{command}` (exit {code})"
                print(output[-2000:], file=sys.stderr)
                break
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if project.by_hand_role:
                admin.execute(f'DROP ROLE IF EXISTS "{name}"')
    return ended, time.monotonic() - started


def trial(project: Project, source: str, args: argparse.Namespace) -> list[str]:
    rows = []
    with tempfile.TemporaryDirectory(prefix=f"trial-{project.name}-") as temp:
        checkout = Path(temp) / project.name
        subprocess.run(["git", "clone", "-q", source, str(checkout)], check=True)
        subprocess.run(["git", "checkout", "-q", project.commit], cwd=checkout, check=True)
        for command in project.setup:
            code, output, _ = sh(command, checkout, {"UV_PYTHON_DOWNLOADS": "never"})
            if code != 0:
                return [f"| {project.name} | {project.commit} | setup failed: {output[-200:]!r} |"]
        code, output, init_s = sh([GATE, "init", *project.init_args], checkout)
        print(output, file=sys.stderr)
        if args.reports and (checkout / "gate.yaml").exists():
            shutil.copy(checkout / "gate.yaml", Path(args.reports) / f"{project.name}-gate.yaml")
        modes = [("ephemeral", ())]
        if project.init_args:
            verdicts = [line for line in output.splitlines() if line.startswith(("PASS", "FAIL"))]
            allowed = "blocking.allow" in output
            rows.append(
                f"| {project.name} | {project.commit} | 0 | init --run: "
                f"{' then '.join(verdicts)}{' (findings into blocking.allow)' if allowed else ''}"
                f" | | init + runs {init_s:.0f}s |"
            )
            modes = []
        if args.server:
            modes.append(("server", ("--database-url", args.server)))
        for mode, extra in modes:
            code, report, seconds = gate_run(checkout, *extra)
            if args.reports:
                kept = Path(args.reports) / f"{project.name}-{mode}.json"
                kept.write_text(json.dumps(report, indent=1))
            rows.append(
                f"| {project.name} | {project.commit} | 0 | {mode}: {report['verdict']} "
                f"(exit {code}) | {summary(report)} | init {init_s:.0f}s, run {seconds:.0f}s |"
            )
        if args.by_hand and args.server:
            ended, seconds = by_hand(project, checkout, args.server)
            rows.append(f"| {project.name} | | | by hand: {ended} | | {seconds:.0f}s |")
        if not args.skip_defects:
            pending = list(project.defects)
            if args.defect:  # that seed only, with the test that reaches it
                at = [d.name for d in pending].index(args.defect)
                end = at + 1
                while end < len(pending) and pending[end].name.startswith("("):
                    end += 1
                pending = pending[at:end]
            while pending:
                defect = pending.pop(0)
                apply(checkout, defect)
                if pending and pending[0].name.startswith("("):
                    apply(checkout, pending.pop(0))  # a defect with the test that reaches it
                code, report, seconds = gate_run(checkout)
                right = judged(defect, report) and code == (0 if defect.expect_pass else 1)
                if defect.expect_pass:
                    ok = "passed as expected" if right else "NOT passed"
                else:
                    ok = "named right" if right else "NOT named"
                if args.reports:
                    kept = Path(args.reports) / f"{project.name}-{defect.name}.json"
                    kept.write_text(json.dumps(report, indent=1))
                rows.append(
                    f"| {project.name} | seeded: {defect.name} | 0 | {report['verdict']} "
                    f"(exit {code}), {ok}; failed: {failed_checks(report)} | {summary(report)} "
                    f"| run {seconds:.0f}s |"
                )
                sh("git checkout -q -- . && git clean -qfd -e .venv -e gate.yaml", checkout)
        shutil.rmtree(checkout / ".gate", ignore_errors=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="append", default=[], help="NAME=PATH or URL")
    parser.add_argument("--only", help="run this project only")
    parser.add_argument("--server", help="a PostgreSQL server URL for the server-mode run")
    parser.add_argument("--skip-defects", action="store_true")
    parser.add_argument("--defect", help="seed this defect only (its name, as in the table)")
    parser.add_argument("--by-hand", action="store_true")
    parser.add_argument("--reports", help="keep each run's JSON report in this folder")
    args = parser.parse_args()
    sources = dict(item.split("=", 1) for item in args.source)
    print("| project | commit | edits | verdict | findings | time |")
    print("|---|---|---|---|---|---|")
    for project in PROJECTS:
        if args.only and project.name != args.only:
            continue
        if project.name not in sources:
            print(f"| {project.name} | {project.commit} | | no --source given | | |")
            continue
        for row in trial(project, sources[project.name], args):
            print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
