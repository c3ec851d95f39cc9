"""End to end: the real `gate run` against real PostgreSQL and real projects in temp folders."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from gate.database.address import ServerAddress
from gate.testrun import WATCHDOG_GRACE_S
from tests.conftest import GateRunner, Project

STEP_ORDER = ["config", "provision", "migrate", "test", "evaluate", "report", "teardown"]


def read_report(project: Project, name: str = ".gate/report.json") -> dict:
    return json.loads((project.root / name).read_text())


def steps(report: dict) -> dict[str, str]:
    return {step["name"]: step["status"] for step in report["steps"]}


def test_passing_project_in_ephemeral_mode(gate: GateRunner, small_app: Project) -> None:
    result = gate("run", cwd=small_app.root)
    assert result.code == 0, result.output
    report = read_report(small_app)
    assert report["schema"] == "gate.report/1"
    assert report["verdict"] == "pass"
    assert report["exit_code"] == 0
    assert [step["name"] for step in report["steps"]] == STEP_ORDER
    assert steps(report) == {
        "config": "ok",
        "provision": "ok",
        "migrate": "skipped",
        "test": "ok",
        "evaluate": "ok",
        "report": "ok",
        "teardown": "ok",
    }
    assert "private PostgreSQL" in report["steps"][1]["detail"]
    assert report["tests"] == {"total": 2, "passed": 2, "failed": 0, "errors": 0, "skipped": 0}
    assert report["coverage"]["percent"] == 100.0
    assert report["coverage"]["files"] == {"app/__init__.py": 100.0}
    assert {c["name"]: c["passed"] for c in report["checks"]} == {
        "tests": True,
        "tests.database": True,
        "coverage.fail_under": True,
        "blocking": True,
        "server_errors": True,
    }
    junit = (small_app.root / ".gate/junit.xml").read_text()
    assert 'tests="2"' in junit and 'name="test_database_is_reachable"' in junit
    assert "<coverage" in (small_app.root / ".gate/coverage.xml").read_text()
    assert "PASS (exit 0)" in result.stdout


def test_server_mode_creates_and_drops_its_own_database(
    gate: GateRunner, small_app: Project, pg_server: ServerAddress
) -> None:
    result = gate("run", "--database-url", pg_server.url(), cwd=small_app.root)
    assert result.code == 0, result.output
    report = read_report(small_app)
    detail = report["steps"][1]["detail"]
    assert detail.startswith("database gate_") and f"{pg_server.host}:{pg_server.port}" in detail
    # the guard in the `gate` fixture asserts the database is gone afterwards


def test_failing_test_fails_the_gate_naming_it(gate: GateRunner, small_app: Project) -> None:
    small_app.write(
        "tests/test_broken.py",
        """
        def test_broken():
            assert 1 + 1 == 3
        """,
    )
    result = gate("run", cwd=small_app.root)
    assert result.code == 1, result.output
    assert "tests/test_broken.py::test_broken" in result.stdout
    report = read_report(small_app)
    assert report["verdict"] == "fail"
    assert report["tests"]["failed"] == 1
    suite_check = next(c for c in report["checks"] if c["name"] == "tests")
    assert suite_check["message"] == "1 of 3 tests failed: tests/test_broken.py::test_broken"
    assert report["failed_tests"][0]["line"] == 2


def test_coverage_under_the_floor_fails_with_the_lowest_file(
    gate: GateRunner, small_app: Project
) -> None:
    small_app.write(
        "app/extra.py",
        """
        def unused(x):
            if x:
                return 1
            return 2
        """,
    )
    small_app.write("tests/test_extra.py", "import app.extra\n")
    result = gate("run", cwd=small_app.root)
    assert result.code == 1, result.output
    check = next(c for c in read_report(small_app)["checks"] if c["name"] == "coverage.fail_under")
    assert check["passed"] is False
    assert check["expected"] == 100
    assert check["message"].startswith("branch coverage ")
    assert "is below the 100% floor; lowest: app/extra.py" in check["message"]


def test_broken_migration_fails_shows_output_and_skips_tests(
    gate: GateRunner, small_app: Project
) -> None:
    small_app.write(
        "migrate.py",
        """
        import os, sys
        import psycopg
        with psycopg.connect(os.environ["DATABASE_URL"]) as connection:
            connection.execute("create table ok_table (id int)")
            print("applying 0002_broken")
            connection.execute("alter table missing_table add column x int")
        """,
    )
    small_app.write(
        "gate.yaml",
        """
        database: {scheme: postgresql}
        migrations:
          command: [python, migrate.py]
        coverage: {source: [app], fail_under: 100}
        """,
    )
    result = gate("run", cwd=small_app.root)
    assert result.code == 1, result.output
    assert "applying 0002_broken" in result.stdout
    assert 'relation "missing_table" does not exist' in result.stdout
    report = read_report(small_app)
    assert steps(report)["migrate"] == "failed"
    assert steps(report)["test"] == "skipped"
    assert steps(report)["teardown"] == "ok"
    assert report["checks"][0]["name"] == "migrations"


def test_test_hanging_in_c_is_stopped_and_named(gate: GateRunner, small_app: Project) -> None:
    small_app.write(
        "tests/test_hang.py",
        """
        import ctypes


        def test_hangs_in_c():
            libc = ctypes.PyDLL(None)  # keeps the GIL: a signal handler can never run
            mutex = ctypes.create_string_buffer(64)
            libc.pthread_mutex_lock(mutex)
            libc.pthread_mutex_lock(mutex)  # relocking a default mutex deadlocks in C
        """,
    )
    small_app.write(
        "gate.yaml",
        """
        database: {scheme: postgresql}
        coverage: {source: [app], fail_under: 100}
        tests: {timeout: 1}
        """,
    )
    started = time.monotonic()
    result = gate("run", cwd=small_app.root)
    assert time.monotonic() - started < 60
    assert result.code == 1, result.output
    report = read_report(small_app)
    check = next(c for c in report["checks"] if c["name"] == "tests")
    assert "tests/test_hang.py::test_hangs_in_c hung past tests.timeout (1s)" in check["message"]
    junit = (small_app.root / ".gate/junit.xml").read_text()
    assert 'name="test_hangs_in_c"' in junit
    assert report["tests"]["passed"] >= 1  # what finished is still reported


def test_slow_collection_is_not_charged_to_the_first_test(
    gate: GateRunner, small_app: Project
) -> None:
    # Heavy imports (or a big suite's collection) take longer than tests.timeout plus gate's
    # watchdog grace; no test runs long, so none may be blamed.
    collection_s = WATCHDOG_GRACE_S + 3
    small_app.write(
        "tests/test_zz_heavy_import.py",
        f"""
        import time

        time.sleep({collection_s})  # stands in for imports that take this long


        def test_quick():
            assert True
        """,
    )
    small_app.write(
        "tests/test_aa_first.py",
        """
        import time


        def test_takes_a_moment():
            time.sleep(0.5)  # well inside tests.timeout, long enough to be seen running
        """,
    )
    small_app.write(
        "gate.yaml",
        """
        database: {scheme: postgresql}
        coverage: {source: [app], fail_under: 100}
        tests: {timeout: 1}
        """,
    )
    result = gate("run", cwd=small_app.root)
    assert result.code == 0, result.output
    report = read_report(small_app)
    assert report["tests"]["failed"] == report["tests"]["errors"] == 0
    assert report["tests"]["passed"] == 4
    assert report["duration_s"] > collection_s


def test_python_level_hang_is_stopped_and_the_run_goes_on(
    gate: GateRunner, small_app: Project
) -> None:
    small_app.write(
        "tests/test_slow.py",
        """
        import time


        def test_sleeps_forever():
            time.sleep(3600)


        def test_after_the_hang():
            assert True
        """,
    )
    small_app.write(
        "gate.yaml",
        """
        database: {scheme: postgresql}
        coverage: {source: [app], fail_under: 100}
        tests: {timeout: 1}
        """,
    )
    result = gate("run", cwd=small_app.root)
    assert result.code == 1, result.output
    report = read_report(small_app)
    assert report["tests"] == {"total": 4, "passed": 3, "failed": 1, "errors": 0, "skipped": 0}
    failed = report["failed_tests"][0]
    assert failed["test"] == "tests/test_slow.py::test_sleeps_forever"
    assert "exceeded tests.timeout (1s)" in failed["message"]
    assert failed["line"] == 5
    assert report["coverage"]["percent"] == 100.0  # the process finished: coverage is kept


def test_unreachable_server_is_an_infrastructure_error_within_seconds(
    gate: GateRunner, small_app: Project
) -> None:
    started = time.monotonic()
    result = gate(
        "run",
        "--database-url",
        "postgresql://app:hunter2-secret@127.0.0.1:1/postgres",
        cwd=small_app.root,
    )
    assert time.monotonic() - started < 10
    assert result.code == 3, result.output
    assert "could not connect to PostgreSQL at 127.0.0.1:1 as app" in result.output
    assert "hunter2-secret" not in result.output
    report_text = (small_app.root / ".gate/report.json").read_text()
    assert "hunter2-secret" not in report_text
    report = json.loads(report_text)
    assert report["verdict"] == "error"
    assert report["exit_code"] == 3
    assert steps(report)["provision"] == "failed"


def test_password_in_server_url_never_appears(
    gate: GateRunner, small_app: Project, pg_server: ServerAddress
) -> None:
    url = pg_server.url().replace(f"{pg_server.user}@", f"{pg_server.user}:s3cr3t-Passw0rd@")
    if pg_server.password:
        url = pg_server.url()
    result = gate("run", "-v", "--database-url", url, cwd=small_app.root)
    assert result.code == 0, result.output
    assert "s3cr3t-Passw0rd" not in result.output
    for report in (small_app.root / ".gate").iterdir():
        if report.is_file():
            assert "s3cr3t-Passw0rd" not in report.read_text()


def test_pytest_that_cannot_start_is_an_infrastructure_error(
    gate: GateRunner, small_app: Project
) -> None:
    small_app.write("tests/conftest.py", "import no_such_module_anywhere\n")
    small_app.write("gate.yaml", "database: {mode: none}\n")
    result = gate("run", cwd=small_app.root)
    assert result.code == 3, result.output
    assert "pytest could not start (exit 4)" in result.output
    assert "No module named 'no_such_module_anywhere'" in result.output


@pytest.mark.parametrize("where", ["tests.args", "after --"])
def test_pytest_arguments_it_refuses_are_a_usage_error(
    gate: GateRunner, small_app: Project, where: str
) -> None:
    args = "tests: {args: [--no-such-pytest-flag]}\n" if where == "tests.args" else ""
    small_app.write("gate.yaml", "database: {mode: none}\n" + args)
    extra = ["--", "--no-such-pytest-flag"] if where == "after --" else []
    result = gate("run", *extra, cwd=small_app.root)
    assert result.code == 2, result.output
    assert result.stderr == (
        "gate: pytest refused its arguments (unrecognized arguments: --no-such-pytest-flag); "
        "fix tests.args, the arguments after `gate run --` or the project's addopts\n"
    )


def test_project_pytest_settings_do_not_change_the_verdict(
    gate: GateRunner, small_app: Project
) -> None:
    small_app.write(
        "pyproject.toml",
        """
        [tool.pytest.ini_options]
        addopts = "-n 2 --cov=app --cov-fail-under=100 -p no:cacheprovider"
        filterwarnings = ["error"]
        asyncio_default_fixture_loop_scope = "function"
        """,
    )
    small_app.write(
        "app/__init__.py",
        """
        def add(a: int, b: int) -> int:
            return a + b


        def untested() -> int:
            return 1
        """,
    )
    small_app.write(
        "gate.yaml",
        """
        database: {scheme: postgresql}
        coverage: {source: [app], fail_under: 50}
        """,
    )
    result = gate("run", cwd=small_app.root)
    assert result.code == 0, result.output  # gate's floor (50) decides, not --cov-fail-under=100
    report = read_report(small_app)
    assert report["coverage"]["percent"] == 75.0
    assert report["tests"]["passed"] == 2


def test_config_in_pyproject_and_database_mode_none(gate: GateRunner, project: Project) -> None:
    project.write("pkg/__init__.py", "VALUE = 1\n")
    project.write(
        "tests/test_pkg.py",
        """
        import os

        from pkg import VALUE


        def test_value():
            assert VALUE == 1
            assert "DATABASE_URL" not in os.environ
        """,
    )
    project.write(
        "pyproject.toml",
        """
        [tool.gate.database]
        mode = "none"

        [tool.gate.coverage]
        source = ["pkg"]
        fail_under = 100
        """,
    )
    result = gate("run", "--json", "out/r.json", cwd=project.root)
    assert result.code == 0, result.output
    report = json.loads((project.root / "out/r.json").read_text())
    assert report["verdict"] == "pass"
    assert steps(report)["provision"] == "ok"
    assert report["steps"][1]["detail"] == "no database (database.mode: none)"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_during_tests_tears_everything_down(
    gate: GateRunner, small_app: Project, pg_server: ServerAddress, sig: signal.Signals
) -> None:
    marker = small_app.root / "started"
    small_app.write(
        "tests/test_wait.py",
        f"""
        import pathlib, time


        def test_waits():
            pathlib.Path({str(marker)!r}).write_text("x")
            time.sleep(120)
        """,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "gate", "run", "--database-url", pg_server.url()],
        cwd=small_app.root,
        env=gate.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the test never started"
    process.send_signal(sig)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    report = read_report(small_app)
    assert report["verdict"] == "error"
    assert report["exit_code"] == 130
    assert steps(report)["teardown"] == "ok"
    # the `gate` fixture's guard checks that the database and temp folders are gone
