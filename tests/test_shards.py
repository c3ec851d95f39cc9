"""Shards: `gate run --shard I/N` on a small real project, then `gate merge` of their folders."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.inprocess._gate_pytest.shard import assign_shards
from tests.conftest import GateRunner, Project, serverless_gate


@pytest.fixture
def gate(state_dir: Path) -> Iterator[GateRunner]:
    """gate without a database server (database mode none), outside any CI provider."""
    yield from serverless_gate(state_dir)


@pytest.fixture
def split(project: Project) -> Project:
    """Two modules, each run by its own tests: no shard of two covers both."""
    project.write("pkg/__init__.py", "")
    project.write("pkg/a.py", "def a():\n    return 1\n")
    project.write("pkg/b.py", "def b(flag):\n    if flag:\n        return 2\n    return 3\n")
    project.write("tests/test_a.py", "from pkg.a import a\n\n\ndef test_a():\n    assert a()\n")
    project.write(
        "tests/test_b.py",
        """
        from pkg.b import b


        def test_b_true():
            assert b(True) == 2


        def test_b_false():
            assert b(False) == 3
        """,
    )
    project.write(
        "gate.yaml",
        "database: {mode: none}\nblocking: {mode: off}\n"
        "coverage: {source: [pkg], fail_under: 100}\n",
    )
    return project


def read(path: Path) -> dict:
    return json.loads(path.read_text())


def ran(folder: Path) -> list[str]:
    """The tests a shard ran, from the JUnit file in its folder."""
    suite = ET.parse(folder / "junit.xml").getroot()
    return sorted(f"{case.get('classname')}.{case.get('name')}" for case in suite.iter("testcase"))


def test_two_shards_merge_to_a_coverage_floor_that_neither_meets_alone(
    gate: GateRunner, split: Project, tmp_path: Path
) -> None:
    first = gate("run", "--shard", "1/2", cwd=split.root)
    assert first.code == 0, first.output
    # The second shard runs in another checkout, as on another CI machine.
    elsewhere = tmp_path / "other-checkout"
    shutil.copytree(split.root, elsewhere)
    second = gate("run", "--shard", "2/2", cwd=elsewhere)
    assert second.code == 0, second.output
    shutil.copytree(elsewhere / ".gate/shards/2-of-2", split.root / ".gate/shards/2-of-2")

    shards = split.root / ".gate/shards"
    assert ran(shards / "1-of-2") == ["tests.test_a.test_a", "tests.test_b.test_b_true"]
    assert ran(shards / "2-of-2") == ["tests.test_b.test_b_false"]
    assert "note: shard 1/2: 2 of 3 tests, no recorded durations yet: split by name" in (
        first.stdout
    )
    for folder in (shards / "1-of-2", shards / "2-of-2"):
        report = read(folder / "report.json")
        assert report["coverage"]["percent"] < 100  # a floor judged here would fail
        # A shard judges its own tests and server errors; floors wait for `gate merge`.
        assert [c["name"] for c in report["checks"]] == ["tests", "server_errors"]
        assert read(folder / "shard.json")["verdict"] == "pass"

    merged = gate("merge", ".gate/shards", cwd=split.root)
    assert merged.code == 0, merged.output
    report = read(split.root / ".gate/report.json")
    assert report["verdict"] == "pass"
    assert report["tests"] == {"total": 3, "passed": 3, "failed": 0, "errors": 0, "skipped": 0}
    assert report["coverage"]["percent"] == 100.0
    assert report["coverage"]["files"] == {
        "pkg/__init__.py": 100.0,
        "pkg/a.py": 100.0,
        "pkg/b.py": 100.0,
    }
    assert {c["name"]: c["passed"] for c in report["checks"]} == {
        "tests": True,
        "coverage.fail_under": True,
        "server_errors": True,
    }
    assert "merged 1/2 (.gate/shards/1-of-2), 2/2 (.gate/shards/2-of-2)" in report["notes"]
    assert ran(split.root / ".gate") == [
        "tests.test_a.test_a",
        "tests.test_b.test_b_false",
        "tests.test_b.test_b_true",
    ]
    cobertura = ET.parse(split.root / ".gate/coverage.xml").getroot()
    assert cobertura.get("line-rate") == "1"
    assert (split.root / ".gate/htmlcov/index.html").is_file()
    assert sorted(read(split.root / ".gate/durations.json")["tests"]) == [
        "tests/test_a.py::test_a",
        "tests/test_b.py::test_b_false",
        "tests/test_b.py::test_b_true",
    ]


def test_a_failure_in_one_shard_fails_the_merge(gate: GateRunner, split: Project) -> None:
    split.write("tests/test_b.py", "from pkg.b import b\n\n\ndef test_b_false():\n    b(0) / 0\n")
    results = [gate("run", "--shard", f"{i}/2", cwd=split.root) for i in (1, 2)]
    assert [r.code for r in results] == [0, 1], [r.output for r in results]
    merged = gate("merge", cwd=split.root)  # default: .gate/shards
    assert merged.code == 1, merged.output
    report = read(split.root / ".gate/report.json")
    checks = {c["name"]: (c["passed"], c["message"]) for c in report["checks"]}
    assert checks["tests"] == (False, "1 of 2 tests failed: tests/test_b.py::test_b_false")
    assert checks["coverage.fail_under"][0] is False  # b()'s `return 2` never ran
    assert report["failed_tests"][0]["line"] == 5


def test_recorded_durations_balance_the_shards(gate: GateRunner, split: Project) -> None:
    durations = {
        "tests/test_a.py::test_a": 9.0,
        "tests/test_b.py::test_b_true": 1.0,
        "tests/test_b.py::test_b_false": 1.0,
    }
    split.write(".gate/durations.json", json.dumps({"tests": durations}))
    first = gate("run", "--shard", "1/2", cwd=split.root)
    assert first.code == 0, first.output
    assert "shard 1/2: 1 of 3 tests, balanced by recorded durations (1 known)" in first.stdout
    assert ran(split.root / ".gate/shards/1-of-2") == ["tests.test_a.test_a"]
    # a shard does not rewrite the durations file: it knows only its own tests
    assert read(split.root / ".gate/durations.json") == {"tests": durations}


def test_more_shards_than_tests(gate: GateRunner, split: Project) -> None:
    for index in (1, 2, 3, 4):
        result = gate("run", "--shard", f"{index}/4", cwd=split.root)
        assert result.code == 0, result.output
    assert "shard 4/4 has no tests: there are fewer tests than shards" in result.stdout
    merged = gate("merge", cwd=split.root)
    assert merged.code == 0, merged.output
    assert read(split.root / ".gate/report.json")["tests"]["total"] == 3


def test_merge_refuses_an_incomplete_or_mixed_set(gate: GateRunner, split: Project) -> None:
    shards = split.root / ".gate/shards"
    assert gate("run", "--shard", "1/3", cwd=split.root).code == 0
    missing = gate("merge", cwd=split.root)
    assert missing.code == 2
    assert missing.stderr == (
        "gate: missing shard result(s) 2/3, 3/3: judging without them would miss their tests "
        "and coverage; pass every shard's folder (or wait for every shard job to finish)\n"
    )
    assert gate("run", "--shard", "2/2", cwd=split.root).code == 0
    mixed = gate("merge", cwd=split.root)
    assert mixed.code == 2
    assert mixed.stderr.startswith("gate: the shard results come from different splits (")
    shutil.copytree(shards / "1-of-3", split.root / "copy")
    twice = gate("merge", ".gate/shards/1-of-3", "copy", cwd=split.root)
    assert twice.code == 2
    assert twice.stderr.startswith("gate: shard 1/3 appears 2 times (")
    nothing = gate("merge", "pkg", cwd=split.root)
    assert nothing.code == 2
    assert nothing.stderr == (
        f"gate: no shard results in {split.root / 'pkg'}: no shard.json in it or below it; run "
        "`gate run --shard I/N` for every shard first, then merge their folders\n"
    )


def test_a_shard_that_errored_makes_the_merge_an_error(gate: GateRunner, split: Project) -> None:
    assert gate("run", "--shard", "1/2", cwd=split.root).code == 0
    good = (split.root / "gate.yaml").read_text()
    split.write("gate.yaml", good + "tests: {python: /nowhere/python}\n")
    broken = gate("run", "--shard", "2/2", cwd=split.root)
    assert broken.code == 2, broken.output
    manifest = read(split.root / ".gate/shards/2-of-2/shard.json")
    assert (manifest["verdict"], manifest["exit_code"]) == ("error", 2)
    split.write("gate.yaml", good)
    merged = gate("merge", cwd=split.root)
    assert merged.code == 2, merged.output
    assert merged.stderr == (
        f"gate: shard 2/2 ({split.root}/.gate/shards/2-of-2) ended in an error, so there is no "
        f"complete result to judge: {manifest['error']}\n"
    )


@pytest.mark.parametrize("value", ["0/2", "3/2", "a/b", "2", "1/0", "-1/2"])
def test_bad_shard_values(gate: GateRunner, split: Project, value: str) -> None:
    result = gate("run", "--shard", value, cwd=split.root)
    assert result.code == 2
    assert result.stderr == (
        "gate: --shard must be I/N, this shard's number and the number of shards, with "
        f"1 <= I <= N (got {value!r}); e.g. --shard 1/4 ... --shard 4/4\n"
    )


# --- the split itself (pure) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("durations", "total", "expected"),
    [
        # no durations: round robin over the sorted names, whatever the collection order
        ({}, 2, [1, 0, 1, 0]),
        ({}, 3, [1, 0, 0, 2]),
        ({}, 1, [0, 0, 0, 0]),
        # longest first, each to the least loaded shard
        ({"t::a": 10.0, "t::b": 1.0, "t::c": 1.0, "t::d": 1.0}, 2, [1, 0, 1, 1]),
        # unknown tests count as the median of the known ones (here 3.0)
        ({"t::a": 1.0, "t::c": 5.0}, 2, [1, 0, 1, 0]),
        ({}, 6, [1, 0, 3, 2]),
    ],
)
def test_assign_shards(durations: dict[str, float], total: int, expected: list[int]) -> None:
    nodeids = ["t::b", "t::a", "t::d", "t::c"]
    assert assign_shards(nodeids, durations, total) == expected


def test_assign_shards_covers_every_test_once_and_balances() -> None:
    nodeids = [f"tests/test_{i % 7}.py::test_{i}" for i in range(200)]
    durations = {n: float(i % 13) + 0.5 for i, n in enumerate(nodeids) if i % 3}
    owners = assign_shards(nodeids, durations, 4)
    assert sorted(set(owners)) == [0, 1, 2, 3]
    assert owners == assign_shards(list(reversed(nodeids)), durations, 4)[::-1]
    fallback = sorted(durations.values())[len(durations) // 2]
    loads = [0.0] * 4
    for nodeid, owner in zip(nodeids, owners, strict=True):
        loads[owner] += durations.get(nodeid, fallback)
    assert max(loads) - min(loads) <= max(durations.values())
