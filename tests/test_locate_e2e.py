"""End to end: where the real `gate run` says a failed test failed, in every report it writes.

One project holds a test for each way a test fails; its runs are real pytest runs, in one
process and under xdist, with GitHub's and GitLab's variables set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import GateRunner, Project, serverless_gate

TESTS = "tests/test_cases.py"


@pytest.fixture
def gate(state_dir: Path) -> Iterator[GateRunner]:
    """The gate command for a project with database mode none: no server is needed."""
    yield from serverless_gate(state_dir)


@pytest.fixture
def failing(project: Project) -> Project:
    project.write(
        "pkg/__init__.py",
        """
        import json


        def parse(text):
            return json.loads(text)  # parse's line
        """,
    )
    project.write(
        "pkg/client.py",
        """
        import httpx


        def fetch():
            transport = httpx.MockTransport(lambda request: httpx.Response(500))
            with httpx.Client(transport=transport) as client:
                client.get("http://test/").raise_for_status()  # fetch's line
        """,
    )
    project.write("tests/__init__.py", "")
    project.write(
        "tests/helpers.py",
        """
        def check(value):
            assert value == 1  # check's line


        def hidden_check(value):
            __tracebackhide__ = True  # pytest's convention: blame the caller
            assert value == 1
        """,
    )
    project.write(
        "tests/conftest.py",
        """
        import pytest


        @pytest.fixture
        def broken_setup():
            raise RuntimeError("setup broke")  # setup's line


        @pytest.fixture
        def broken_teardown():
            yield
            raise RuntimeError("teardown broke")  # teardown's line
        """,
    )
    project.write(
        TESTS,
        """
        import json
        import os

        from pkg import parse
        from pkg.client import fetch
        from tests.helpers import check, hidden_check


        def test_environ():
            os.environ["GATE_NEVER_SET"]  # environ's line


        def test_json():
            json.loads("{")  # json's line


        def test_app_module():
            parse("{")


        def test_httpx():
            fetch()


        def test_helper():
            check(2)


        def test_hidden_helper():
            hidden_check(2)  # hidden's line


        def test_setup(broken_setup):
            pass


        def test_teardown(broken_teardown):
            pass


        def test_unknown_fixture(no_such_fixture):  # unknown's line
            pass


        def test_assert():
            assert [1, 2] == [1, 3]  # assert's line


        def test_generated_code():
            exec(compile("raise ValueError(1)", "pkg/generated.py", "exec"))  # generated's line
        """,
    )
    project.write(
        "gate.yaml",
        """
        database: {mode: none}
        coverage: {source: [pkg], fail_under: 0}
        blocking: {mode: off}
        """,
    )
    return project


def line_of(project: Project, path: str, marker: str) -> int:
    lines = (project.root / path).read_text().splitlines()
    return next(number for number, text in enumerate(lines, 1) if f"# {marker}" in text)


def expected_places(project: Project) -> dict[str, tuple[str, int]]:
    """Each test and where it failed: the innermost line of the project's own files."""
    here = {
        "test_environ": (TESTS, "environ's line"),  # not <frozen os>
        "test_json": (TESTS, "json's line"),  # not json/decoder.py in the stdlib
        "test_app_module": ("pkg/__init__.py", "parse's line"),
        "test_httpx": ("pkg/client.py", "fetch's line"),  # not httpx in site-packages
        "test_helper": ("tests/helpers.py", "check's line"),
        "test_hidden_helper": (TESTS, "hidden's line"),
        "test_setup": ("tests/conftest.py", "setup's line"),
        "test_teardown": ("tests/conftest.py", "teardown's line"),
        "test_unknown_fixture": (TESTS, "unknown's line"),  # nothing of ours ran: the test
        "test_assert": (TESTS, "assert's line"),
        "test_generated_code": (TESTS, "generated's line"),  # pkg/generated.py is no file
    }
    return {
        f"{TESTS}::{name}": (path, line_of(project, path, marker))
        for name, (path, marker) in here.items()
    }


def annotated_places(stdout: str) -> dict[str, tuple[str, int]]:
    """GitHub annotations of failed tests: title -> (file, line)."""
    places = {}
    for line in stdout.splitlines():
        if not line.startswith("::error file="):
            continue
        properties = dict(
            item.split("=", 1) for item in line[len("::error ") :].split("::", 1)[0].split(",")
        )
        test = properties["title"].replace("%3A", ":").split(" ", 1)[0]  # "ID failed", ...
        places[test] = (properties["file"], int(properties["line"]))
    return places


@pytest.mark.parametrize(
    "args",
    [[], ["--workers", "2", "--", "--tb=native"]],
    ids=["one-process", "xdist-native-tracebacks"],
)
def test_every_report_points_at_the_innermost_project_line(
    gate: GateRunner, failing: Project, tmp_path: Path, args: list[str]
) -> None:
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(failing.root),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITLAB_CI": "true",
        "CI_PROJECT_DIR": str(failing.root),
    }
    result = gate("run", *args, cwd=failing.root, env=env)
    assert result.code == 1, result.output
    expected = expected_places(failing)

    assert annotated_places(result.stdout) == expected
    for line in result.stdout.splitlines():
        assert "frozen" not in line and "site-packages" not in line, line

    report = json.loads((failing.root / ".gate/report.json").read_text())
    assert {t["test"]: (t["file"], t["line"]) for t in report["failed_tests"]} == expected

    issues = json.loads((failing.root / ".gate/gl-code-quality-report.json").read_text())
    assert {
        i["description"].split(" ", 1)[0]: (i["location"]["path"], i["location"]["lines"]["begin"])
        for i in issues
    } == expected

    for test, (path, line) in expected.items():
        assert any(
            text.strip().startswith(f"✗ {test}") and text.endswith(f"({path}:{line})")
            for text in result.stdout.splitlines()
        ), (test, result.stdout)
        assert f"- `{test}`" in (tmp_path / "summary.md").read_text()
        assert f"at `{path}:{line}`" in (tmp_path / "summary.md").read_text()
