"""Choosing where a failed test is reported: the innermost frame in the project's own files."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.locate import failure_location, locate_failures, project_file, relative_to_root
from gate.results import Location, TestCase, TestResults


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("app/core.py", "app/core.py"),
        ("/work/proj/app/core.py", "app/core.py"),
        ("/work/proj/./tests/../app/x.py", "app/x.py"),
        ("/elsewhere/x.py", None),
        ("/work/proj/.venv/lib/python3.12/site-packages/m.py", None),
        ("/work/proj/project2/../../x.py", None),
        ("/work/project2/x.py", None),
    ],
)
def test_relative_to_root(path: str, expected: str | None) -> None:
    assert relative_to_root(path, "/work/proj") == expected


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A project with its own files, a virtualenv inside it and a file outside it."""
    folder = tmp_path / "proj"
    for name in (
        "app/core.py",
        "tests/test_core.py",
        "tests/helpers.py",
        ".venv/lib/python3.12/site-packages/httpx/_client.py",
        "python/lib/python3.12/json/decoder.py",  # an interpreter installed inside root
    ):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("x = 1\n")
    (tmp_path / "elsewhere.py").write_text("x = 1\n")
    return folder


def test_project_file_is_an_existing_file_of_the_project(root: Path) -> None:
    libraries = [str(root / "python/lib/python3.12")]
    assert project_file(str(root / "app/core.py"), str(root), libraries) == "app/core.py"
    assert project_file("tests/helpers.py", str(root), libraries) == "tests/helpers.py"
    for path in (
        "<frozen os>",
        "<string>",
        str(root / "app/gone.py"),  # under root, but no such file: never annotated
        str(root / "app"),  # a folder
        str(root / ".venv/lib/python3.12/site-packages/httpx/_client.py"),
        str(root / "python/lib/python3.12/json/decoder.py"),
        str(root.parent / "elsewhere.py"),
    ):
        assert project_file(path, str(root), libraries) is None, path


def test_a_library_folder_holding_root_does_not_hide_the_project(root: Path) -> None:
    # A base prefix of /usr with the project in /usr/src/app: the project is still the project.
    assert project_file(str(root / "app/core.py"), str(root), [str(root.parent)]) == "app/core.py"


def test_project_file_through_a_symlinked_root(root: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(root)
    assert project_file(str(root / "app/core.py"), str(link)) == "app/core.py"
    assert project_file(str(link / "app/core.py"), str(root)) == "app/core.py"


def failed(
    file: str | None = None, line: int | None = None, frames: list[tuple[str, int]] | None = None
) -> TestCase:
    return TestCase(
        "tests/test_core.py::test_x", "failed", file=file, line=line, frames=frames or []
    )


def test_the_innermost_project_frame_wins(root: Path) -> None:
    case = failed(
        file="tests/test_core.py",
        line=3,
        frames=[
            ("<frozen os>", 679),
            (str(root / ".venv/lib/python3.12/site-packages/httpx/_client.py"), 80),
            (str(root / "tests/helpers.py"), 9),
            (str(root / "tests/test_core.py"), 5),
        ],
    )
    assert failure_location(case, str(root), str(root)) == Location("tests/helpers.py", 9)


def test_without_a_project_frame_the_test_itself(root: Path) -> None:
    case = failed(file="tests/test_core.py", line=3, frames=[("/usr/lib/python3.12/os.py", 679)])
    assert failure_location(case, str(root), str(root)) == Location("tests/test_core.py", 3)
    # pytest's rootdir above gate's root: the test's path is relative to rootdir
    nested = failed(file="proj/tests/test_core.py", line=3)
    assert failure_location(nested, str(root), str(root.parent)) == Location(
        "tests/test_core.py", 3
    )
    # a test stopped before pytest reported on it: its file, no line
    assert failure_location(failed(), str(root), str(root)) == Location("tests/test_core.py", None)


def test_no_location_when_nothing_is_a_file_under_root(root: Path) -> None:
    case = failed(file="../elsewhere.py", line=1, frames=[("<frozen os>", 679)])
    assert failure_location(case, str(root), str(root)) is None
    gone = TestCase("tests/test_gone.py::test_x", "error")
    assert failure_location(gone, str(root), str(root)) is None


def test_locate_failures_sets_only_failed_tests(root: Path) -> None:
    results = TestResults(rootdir=str(root), library_dirs=[str(root / "python")])
    frames = [
        (str(root / "python/lib/python3.12/json/decoder.py"), 3),
        (str(root / "app/core.py"), 1),
    ]
    results.cases = {
        "a": TestCase("a", "passed", file="tests/test_core.py", line=1, frames=frames),
        "b": TestCase("b", "error", file="tests/test_core.py", line=1, frames=frames),
    }
    locate_failures(results, root)
    assert results.cases["a"].location is None
    assert results.cases["b"].location == Location("app/core.py", 1)
