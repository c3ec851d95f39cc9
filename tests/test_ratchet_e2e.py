"""The ratchet through the real `gate` command: adopting with the first baseline, a worse change
failing alike in one run and in merged shards, `--allow-lower` recording why, a broken file."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GateRunner, Project, serverless_gate


@pytest.fixture
def gate(state_dir: Path) -> Iterator[GateRunner]:
    """gate without a database server (database mode none), outside any CI provider."""
    yield from serverless_gate(state_dir)


NAP = """
import time


async def nap():
    time.sleep(0.01)
    return 1
"""
FETCH = (
    NAP
    + """

async def fetch():
    time.sleep(0.01)
    return 2
"""
)
TEST_F1 = "from pkg.a import f1, f2\n\n\ndef test_f1():\n    assert f1()\n"


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True,
        env={"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(root), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return done.stdout.strip()


@pytest.fixture
def adopted(project: Project) -> Project:
    """A project on git with one uncovered function and one known blocking call."""
    project.write("pkg/__init__.py", "")
    project.write("pkg/a.py", "def f1():\n    return 1\n\n\ndef f2():\n    return 2\n")
    project.write("pkg/x.py", NAP)
    project.write("tests/test_a.py", TEST_F1 + "\n\ndef test_f2():\n    assert f2()\n")
    project.write(
        "tests/test_x.py",
        "import asyncio\n\nfrom pkg import x\n\n\ndef test_nap():\n    asyncio.run(x.nap())\n",
    )
    project.write(
        "gate.yaml",
        "database: {mode: none}\ncoverage: {source: [pkg], fail_under: 0}\n"
        "ratchet: gate-ratchet.json\n",
    )
    project.write(".gitignore", ".gate/\n__pycache__/\n")
    git(project.root, "init", "-q", "-b", "main")
    git(project.root, "config", "user.name", "Ada")
    git(project.root, "config", "user.email", "ada@example.com")
    git(project.root, "add", "-A")
    git(project.root, "commit", "-q", "-m", "adopt gate")
    return project


def ratchet_check(root: Path) -> dict[str, Any]:
    report = json.loads((root / ".gate/report.json").read_text())
    return next(check for check in report["checks"] if check["name"] == "ratchet")


def test_adopt_then_fail_on_worse_alike_in_shards_and_lower_with_a_reason(
    gate: GateRunner, adopted: Project
) -> None:
    root = adopted.root
    first = gate("run", "--update-ratchet", cwd=root)
    assert first.code == 0, first.output  # the known blocking call does not fail adoption
    baseline = json.loads((root / "gate-ratchet.json").read_text())
    assert baseline["commit"] == git(root, "rev-parse", "HEAD")
    assert baseline["blocking"] == ["pkg/x.py:nap"]
    assert baseline["files"]["pkg/a.py"] == {"missing_lines": 0, "partial_branches": 0}
    assert "wrote the first baseline gate-ratchet.json (3 files); commit it" in first.output
    git(root, "add", "gate-ratchet.json")
    git(root, "commit", "-q", "-m", "ratchet baseline")

    # Worse: f2 loses its test, and a new blocking call appears beside the known one.
    adopted.write("tests/test_a.py", TEST_F1)
    adopted.write("pkg/x.py", FETCH)
    adopted.write(
        "tests/test_x.py",
        "import asyncio\n\nfrom pkg import x\n\n\ndef test_nap():\n    asyncio.run(x.nap())\n"
        "\n\ndef test_fetch():\n    asyncio.run(x.fetch())\n",
    )
    worse = (
        "2 worse than the baseline gate-ratchet.json: pkg/a.py 1 uncovered line (was 0), "
        "new blocking call in pkg/x.py:fetch"
    )
    for index in (1, 2):
        gate("run", "--shard", f"{index}/2", cwd=root)
    merged = gate("merge", "--update-ratchet", cwd=root)
    assert merged.code == 1, merged.output
    assert ratchet_check(root) == {
        "name": "ratchet", "passed": False, "actual": 2, "expected": 0, "message": worse
    }  # fmt: skip
    # An update never loosens: what got worse stays out of the baseline.
    assert json.loads((root / "gate-ratchet.json").read_text()) == baseline
    assert (
        "kept 2 entries that got worse at the baseline (loosen them with --allow" in merged.output
    )

    lowered = gate("run", "--update-ratchet", "--allow-lower", "f2 moves to v2", cwd=root)
    assert lowered.code == 1, lowered.output  # the run itself is judged on the old baseline
    assert ratchet_check(root)["message"] == worse  # one run: the verdict of the merged shards
    report = json.loads((root / ".gate/report.json").read_text())
    assert [f.get("known") for f in sorted(report["blocking"], key=lambda f: f["line"])] == [
        True,
        None,
    ]
    assert report["ratchet"] == {
        "baseline": "gate-ratchet.json",
        "worse": ["pkg/a.py 1 uncovered line (was 0)", "new blocking call in pkg/x.py:fetch"],
        "improved": [],
        "gone": [],
    }
    assert (
        "--update-ratchet: gate-ratchet.json: loosened 2 entries (f2 moves to v2)"
        in (report["notes"])
    )
    baseline = json.loads((root / "gate-ratchet.json").read_text())
    assert baseline["files"]["pkg/a.py"] == {"missing_lines": 1, "partial_branches": 0}
    assert baseline["blocking"] == ["pkg/x.py:fetch", "pkg/x.py:nap"]
    [record] = baseline["lowered"]
    assert (record["reason"], record["by"]) == ("f2 moves to v2", "Ada <ada@example.com>")
    assert record["entries"] == [
        "pkg/a.py 1 uncovered line (was 0)",
        "blocking pkg/x.py:fetch",
    ]

    (root / "gate-ratchet.json").write_text('{"schema": "gate.ratchet/1", "files": []}')
    broken = gate("run", cwd=root)
    assert broken.code == 2
    assert broken.stderr == (
        'gate: ratchet: gate-ratchet.json is not a gate ratchet baseline: "files" must map '
        "each file to its counts; restore it from git (`git checkout -- gate-ratchet.json`), "
        "or write it anew from what the project has with `gate run --update-ratchet` and "
        "commit it\n"
    )
