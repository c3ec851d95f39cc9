"""The worked examples of docs/any-project.md, gated end to end.

Each shape's files, .venv and gate.yaml are read from the page itself, so the examples are
the projects tested. Every project gets its own temp folder; its .venv is a link to one venv
per shape, built once per session with the packages the page's block lists (the venv holds
no project file, so sharing it changes nothing a run sees). Each shape must pass as written
and fail for the right reason when a defect is seeded.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from gate.database.address import ServerAddress
from tests.conftest import REPO, GateResult, GateRunner, run_lock, run_temp
from tests.test_other_interpreters import find_python

DOC = REPO / "docs" / "any-project.md"


@dataclass(frozen=True)
class Shape:
    name: str
    files: dict[str, str]
    venv: str  # folder of the project's .venv, relative to the top
    python: str  # "3.12"
    maker: str  # "uv" (uv venv) or "venv" (python -m venv, as poetry's in-project one)
    packages: tuple[str, ...]

    @property
    def config(self) -> dict[str, Any]:
        loaded = yaml.safe_load(self.files["gate.yaml"])
        assert isinstance(loaded, dict)
        return loaded

    @property
    def root(self) -> str:
        return str(self.config.get("root", "."))

    @property
    def test_count(self) -> int:
        return sum(
            len(re.findall(r"^(?:async )?def test_", text, re.MULTILINE))
            for name, text in self.files.items()
            if Path(name).name.startswith("test_")
        )


def read_shapes(text: str) -> dict[str, Shape]:
    """Each `<!-- shape: NAME -->` section: its `# file: PATH` blocks and its `# venv:` block."""
    parts = re.split(r"^<!-- shape: (\S+) -->$", text, flags=re.MULTILINE)
    shapes = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        section = body.split("\n## ", 1)[0]
        files: dict[str, str] = {}
        venv: dict[str, Any] = {}
        for block in re.findall(r"^```[a-z]*\n(.*?)^```$", section, re.MULTILINE | re.DOTALL):
            first, _, rest = block.partition("\n")
            if first.startswith("# file: "):
                files[first.removeprefix("# file: ").strip()] = rest
            elif first.startswith("# venv: "):
                venv = _venv_commands(first.removeprefix("# venv: ").strip(), rest)
        assert venv, f"shape {name} has no `# venv:` block"
        assert "gate.yaml" in files, f"shape {name} has no gate.yaml"
        shapes[name] = Shape(name=name, files=files, **venv)
    return shapes


def _venv_commands(folder: str, commands: str) -> dict[str, Any]:
    make, install = (shlex.split(line) for line in commands.strip().splitlines())
    if make[:2] == ["uv", "venv"]:
        assert make[2] == "-p" and make[4] == folder, make
        python, maker = make[3], "uv"
    else:
        assert make[1:3] == ["-m", "venv"] and make[3] == folder, make
        python, maker = make[0].removeprefix("python"), "venv"
    assert install[:5] == ["uv", "pip", "install", "-p", folder], install
    return {"venv": folder, "python": python, "maker": maker, "packages": tuple(install[5:])}


SHAPES = read_shapes(DOC.read_text(encoding="utf-8"))
NAMES = sorted(SHAPES)


def test_the_page_has_the_five_shapes() -> None:
    assert NAMES == [
        "asyncpg-url",
        "nested-variables",
        "plain-url",
        "separate-variables",
        "server-url",
    ]
    assert {shape.python for shape in SHAPES.values()} >= {"3.9", "3.10", "3.12", "3.13"}


# ---- laying projects out -------------------------------------------------------------------


class Venvs:
    """One venv per shape for the run, made the way the page says; under pytest-xdist the
    first worker that needs one makes it, the others wait for it and use it too."""

    def __init__(self, folder: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.folder = folder
        self.tmp_path_factory = tmp_path_factory

    def get(self, shape: Shape) -> Path:
        venv = self.folder / shape.name
        made = self.folder / f"{shape.name}.made"
        with run_lock(self.tmp_path_factory, f"venv-{shape.name}"):
            if made.exists():
                return venv
            python = find_python(shape.python)
            if shape.maker == "uv":
                subprocess.run(["uv", "venv", "-q", "-p", python, str(venv)], check=True)
            else:
                subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True)
            subprocess.run(
                ["uv", "pip", "install", "-q", "-p", str(venv / "bin" / "python"),
                 *shape.packages],
                check=True,
            )  # fmt: skip
            made.touch()
        return venv


@pytest.fixture(scope="session")
def venvs(tmp_path_factory: pytest.TempPathFactory) -> Venvs:
    folder = run_temp(tmp_path_factory) / "shape-venvs"
    folder.mkdir(exist_ok=True)
    return Venvs(folder, tmp_path_factory)


@dataclass
class ShapeProject:
    shape: Shape
    top: Path  # where gate.yaml is and gate runs

    @property
    def root(self) -> Path:
        return self.top / self.shape.root

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.top / relative
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} is not once in {relative}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    def append(self, relative: str, text: str) -> None:
        with (self.top / relative).open("a", encoding="utf-8") as handle:
            handle.write(text)

    def report(self) -> dict[str, Any]:
        report = json.loads((self.root / ".gate" / "report.json").read_text(encoding="utf-8"))
        assert isinstance(report, dict)
        return report


def lay_out(shape: Shape, top: Path, venvs: Venvs) -> ShapeProject:
    for relative, text in shape.files.items():
        path = top / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    link = top / shape.venv
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(venvs.get(shape), target_is_directory=True)
    return ShapeProject(shape, top)


@pytest.fixture
def ci_role(pg_server: ServerAddress) -> Iterator[str]:
    """A role that may create databases but is no superuser, as a CI service account is."""
    name = f"gate_ci_{secrets.token_hex(4)}"
    password = f"pw-{secrets.token_hex(8)}"
    admin = psycopg.connect(**pg_server.conninfo(), autocommit=True)
    with admin:
        admin.execute(f"CREATE ROLE {name} LOGIN CREATEDB PASSWORD '{password}'")
        try:
            yield ServerAddress(pg_server.host, pg_server.port, name, password, "postgres").url()
        finally:
            left = admin.execute(
                "SELECT datname FROM pg_database d JOIN pg_roles r ON d.datdba = r.oid"
                " WHERE r.rolname = %s",
                (name,),
            ).fetchall()
            for (database,) in left:
                admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
            admin.execute(f"DROP ROLE {name}")
            assert left == [], f"databases owned by the CI role were left: {left}"


def run_gate(gate: GateRunner, project: ShapeProject, ci_url: str | None) -> GateResult:
    env = {"CI_DATABASE_URL": ci_url, "GATE_DATABASE_URL": ci_url} if ci_url else {}
    return gate("run", cwd=project.top, env=env, timeout=300)


@pytest.fixture(params=NAMES)
def shape_project(
    request: pytest.FixtureRequest, tmp_path: Path, venvs: Venvs, pg_server: ServerAddress
) -> Iterator[tuple[ShapeProject, str | None]]:
    """A shape laid out; the server-url shape with a CREATEDB role on a given server."""
    shape = SHAPES[request.param]
    project = lay_out(shape, tmp_path / "top", venvs)
    if shape.name != "server-url":
        yield project, None  # gate starts a private PostgreSQL
        return
    role = request.getfixturevalue("ci_role")
    yield project, role


def has_greenlet(project: ShapeProject) -> bool:
    python = project.top / project.shape.venv / "bin" / "python"
    found = subprocess.run([str(python), "-c", "import greenlet"], capture_output=True, check=False)
    return found.returncode == 0


def _matching(note: str, expected: list[str]) -> str:
    return next((prefix for prefix in expected if note.startswith(prefix)), note)


# What each shape's green run notes besides greenlet's, and a defect that makes one named test fail.
NOTES = {
    "asyncpg-url": [],
    "plain-url": [
        "the project's pytest settings (pyproject.toml) turn on pytest-cov (--cov=shop "
        "--cov-report=term-missing --cov-fail-under=100); gate passed --no-cov and measured "
        "coverage itself, so gate's coverage thresholds decide the verdict, not "
        "--cov-fail-under=100",
        "the project's pytest settings (pyproject.toml) ask for -n auto; gate passed -n 0, so "
        "tests.workers (1) decides how many workers run",
    ],
    "separate-variables": [],
    "nested-variables": [],
    "server-url": [],
}
BUGS = {
    "asyncpg-url": (
        "notes/models.py",
        '"-".join(',
        '"_".join(',
        "tests/test_notes.py::test_a_note_is_stored_under_its_slug",
    ),
    "plain-url": (
        "shop/main.py",
        "DO UPDATE SET cents = EXCLUDED.cents",
        "DO NOTHING",
        "tests/test_items.py::test_a_price_is_stored_and_replaced",
    ),
    "separate-variables": (
        "backend/app/main.py",
        "Task.done.is_(False)",
        "Task.done.is_(True)",
        "tests/test_tasks.py::test_a_finished_task_leaves_the_open_list",
    ),
    "nested-variables": (
        "inventory/store.py",
        "count < $1",
        "count <= $1",
        "tests/test_store.py::test_the_config_file_sets_what_running_low_means[asyncio]",
    ),
    "server-url": (
        "ledger/accounts.py",
        "if cents <= 0:",
        "if cents < 0:",
        "tests/test_accounts.py::test_a_deposit_must_be_positive",
    ),
}
# A module of each shape that more code no test calls is appended to.
MODULES = {
    "asyncpg-url": "notes/main.py",
    "plain-url": "shop/main.py",
    "separate-variables": "backend/app/main.py",
    "nested-variables": "inventory/store.py",
    "server-url": "ledger/accounts.py",
}
UNTESTED = """

def seeded_untested(values):
    total = 0
    for value in values:
        if value > 0:
            total += value
        else:
            total -= value
    return total
"""


def checks(report: dict[str, Any]) -> dict[str, bool]:
    return {check["name"]: check["passed"] for check in report["checks"]}


def test_the_worked_example_passes(
    gate: GateRunner, shape_project: tuple[ShapeProject, str | None]
) -> None:
    project, ci_url = shape_project
    shape = project.shape

    result = run_gate(gate, project, ci_url)

    assert result.code == 0, result.output
    report = project.report()
    assert report["verdict"] == "pass"
    assert report["tests"]["passed"] == shape.test_count
    assert report["tests"]["failed"] == report["tests"]["errors"] == 0
    assert report["coverage"]["percent"] == 100.0
    assert f"Python {shape.python}." in report["steps"][0]["detail"]
    expected = list(NOTES[shape.name])
    # greenlet comes with SQLAlchemy; the note is for code that runs in its greenlets (async
    # SQLAlchemy), not for a sync SQLModel project that merely has greenlet installed.
    runs_in_greenlets = any("sqlalchemy.ext.asyncio" in text for text in shape.files.values())
    if has_greenlet(project) and runs_in_greenlets:
        expected.append("coverage concurrency set to thread,greenlet")
    assert sorted(_matching(note, expected) for note in report["notes"]) == sorted(expected)
    if ci_url is not None:
        password = ci_url.split(":")[2].split("@")[0]
        assert password not in result.output
        assert password not in (project.root / ".gate" / "report.json").read_text()


def test_a_seeded_bug_fails_the_test_that_catches_it(
    gate: GateRunner, shape_project: tuple[ShapeProject, str | None]
) -> None:
    project, ci_url = shape_project
    path, old, new, test = BUGS[project.shape.name]
    project.edit(path, old, new)

    result = run_gate(gate, project, ci_url)

    assert result.code == 1, result.output
    report = project.report()
    assert [failed["test"] for failed in report["failed_tests"]] == [test]
    assert checks(report)["tests"] is False
    assert report["tests"]["passed"] == project.shape.test_count - 1


def test_code_no_test_runs_fails_the_coverage_floor(
    gate: GateRunner, shape_project: tuple[ShapeProject, str | None]
) -> None:
    project, ci_url = shape_project
    project.append(MODULES[project.shape.name], UNTESTED)

    result = run_gate(gate, project, ci_url)

    assert result.code == 1, result.output
    report = project.report()
    assert checks(report) == {**checks(report), "tests": True, "coverage.fail_under": False}
    [floor] = [c for c in report["checks"] if c["name"] == "coverage.fail_under"]
    assert floor["actual"] < floor["expected"] == project.shape.config["coverage"]["fail_under"]
    module = MODULES[project.shape.name].removeprefix(project.shape.root + "/")
    assert report["coverage"]["files"][module] < 100.0


def test_the_database_handed_over_wrongly_fails_the_run(
    gate: GateRunner, shape_project: tuple[ShapeProject, str | None]
) -> None:
    """The projects really connect with what gate exports: a wrong database name breaks them."""
    project, ci_url = shape_project
    config = (project.top / "gate.yaml").read_text(encoding="utf-8")
    broken = config.replace('"{url}"', '"{url}_gone"').replace('"{database}"', '"{database}_gone"')
    broken = broken.replace('"{server_url}"', '"{server_url}/nowhere"')
    assert broken != config
    (project.top / "gate.yaml").write_text(broken, encoding="utf-8")

    result = run_gate(gate, project, ci_url)

    assert result.code == 1, result.output
    report = project.report()
    assert report["verdict"] == "fail"
    assert re.search(r'database "gate_\w+_gone" does not exist|nowhere/postgres', result.output)


def test_gate_init_writes_a_gate_yaml_that_passes(
    gate: GateRunner, shape_project: tuple[ShapeProject, str | None]
) -> None:
    project, ci_url = shape_project
    (project.top / "gate.yaml").unlink()

    written = gate("init", cwd=project.top)

    assert written.code == 0, written.output
    found = yaml.safe_load((project.top / "gate.yaml").read_text(encoding="utf-8"))
    expected = project.shape.config
    assert found.get("root", ".") == expected.get("root", ".")
    assert found["database"]["export"].items() >= expected["database"]["export"].items()
    templates = " ".join(expected["database"]["export"].values())
    if "url}" in templates:  # the scheme matters only where a URL is handed over
        default = "postgresql+asyncpg"
        scheme = expected["database"].get("scheme", default)
        assert found["database"].get("scheme", default) == scheme
    command = expected.get("migrations", {}).get("command")
    if command is not None and not command.startswith("alembic"):
        # A schema script is the project's own convention: the one line a user adds.
        assert (found["migrations"] or {}).get("command") is None
        project.edit("gate.yaml", "  # command: alembic upgrade head", f"  command: {command}")
    else:
        assert (found["migrations"] or {}).get("command") == command
    assert found["tests"]["paths"] == ["tests"]
    assert found["coverage"]["source"] == expected["coverage"]["source"]
    assert set(found.get("env") or {}) >= set(expected.get("env") or {})

    result = run_gate(gate, project, ci_url)

    assert result.code == 0, result.output
    assert project.report()["tests"]["passed"] == project.shape.test_count


def test_gate_not_the_projects_cov_fail_under_decides(
    gate: GateRunner, tmp_path: Path, venvs: Venvs
) -> None:
    """plain-url's own settings say --cov-fail-under=100; gate's floor is 90."""
    project = lay_out(SHAPES["plain-url"], tmp_path / "top", venvs)
    project.append("shop/main.py", "\n\ndef seeded_small():\n    return 1\n")

    result = gate("run", cwd=project.top)

    assert result.code == 0, result.output
    percent = project.report()["coverage"]["percent"]
    assert 90 <= percent < 100
    assert any("--cov-fail-under=100" in note for note in project.report()["notes"])


def test_gate_installed_as_a_uv_tool_gates_a_project_it_shares_nothing_with(
    gate: GateRunner, tmp_path: Path, venvs: Venvs
) -> None:
    """`uv tool install` puts gate in an environment of its own; the project keeps its .venv."""
    tools = tmp_path / "uv-tools"
    uv_env = {**gate.env, "UV_TOOL_DIR": str(tools / "envs"), "UV_TOOL_BIN_DIR": str(tools / "bin")}
    subprocess.run(
        ["uv", "tool", "install", "-q", "--from", str(REPO), "backend-gate"],
        env=uv_env,
        check=True,
    )
    project = lay_out(SHAPES["asyncpg-url"], tmp_path / "top", venvs)

    completed = subprocess.run(
        [str(tools / "bin" / "gate"), "run"],
        cwd=project.top,
        env=gate.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    report = project.report()
    assert report["tests"]["passed"] == SHAPES["asyncpg-url"].test_count
    assert report["coverage"]["percent"] == 100.0
    tool_python = next((tools / "envs" / "backend-gate" / "bin").glob("python"))
    assert str(tool_python) not in report["steps"][0]["detail"]  # tests ran in .venv


def test_gate_and_its_plugin_agree_on_the_hard_stop_grace() -> None:
    from gate.inprocess import HARD_STOP_GRACE_S
    from gate.inprocess._gate_pytest.timeout import HARD_STOP_GRACE_S as plugin_grace

    assert plugin_grace == HARD_STOP_GRACE_S
