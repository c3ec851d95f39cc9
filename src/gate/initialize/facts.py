"""gate init's look at a project: its folder, packages, tests, migrations, settings and CI."""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from gate.files import read_head
from gate.initialize.scan import (
    DEPENDENCY_FILES,
    NOT_PACKAGES,
    NOT_PROJECT,
    PROJECT_MARKERS,
    scanned_files,
)
from gate.initialize.scheme import choose_scheme
from gate.initialize.settings import (
    POSTGRES_GROUP,
    POSTGRES_HOSTS,
    RequiredSetting,
    required_settings,
)
from gate.project_ci import CiFacts, read_ci_facts
from gate.settings_names import (
    database_positions,
    database_template,
    export_template,
)


@dataclass(frozen=True)
class ProjectFacts:
    """What gate init found out about a project; paths are relative, written with /."""

    root: Path  # the folder gate.yaml goes in
    project_dir: str = "."  # the project inside it, e.g. "backend" in a monorepo
    packages: tuple[str, ...] = ()
    test_paths: tuple[str, ...] = ()  # relative to project_dir
    alembic_ini: str | None = None  # relative to project_dir
    has_venv: bool = False
    database_variables: tuple[str, ...] = ()
    scheme: str = "postgresql"
    # The .venv's python relative to project_dir, when auto would not find it there.
    venv_python: str | None = None
    required_settings: tuple[RequiredSetting, ...] = ()
    migrate_script: str | None = None  # without alembic: a migrate.py, relative to project_dir
    ci: CiFacts = field(default_factory=CiFacts)  # what the project's CI and settings say
    # Where code puts a database variable in the connection it builds (user, database):
    # DB_USER in f"...://{DB_USER}:...@.../{DB_USER}" names the database too.
    positions: tuple[tuple[str, frozenset[str]], ...] = ()
    # False: the project's virtualenv and dependencies have no coverage.py (its CI measures
    # none), so gate measures none either; None: not known.
    has_coverage: bool | None = None

    @property
    def migrations_command(self) -> list[str] | None:
        if self.alembic_ini is None:
            if self.migrate_script is not None:
                return ["python", self.migrate_script]
            command = self.ci.migration_command
            return None if command is None else shlex.split(command)
        if self.alembic_ini == "alembic.ini":
            return ["alembic", "upgrade", "head"]
        return ["alembic", "-c", self.alembic_ini, "upgrade", "head"]

    @property
    def export(self) -> dict[str, str]:
        """Environment for the project's settings, from the variable names it reads."""
        names = self.database_variables
        positions = dict(self.positions)
        export: dict[str, str] = {}
        for name in sorted(names, key=lambda n: (database_template(n) != "{url}", n)):
            template = export_template(name, set(positions.get(name.upper(), ())))
            if template is not None:
                export[name] = template
        if any(name in POSTGRES_GROUP or name in POSTGRES_HOSTS for name in names):
            hosts = [host for host in POSTGRES_HOSTS if host in names]
            for host in hosts or ["POSTGRES_SERVER"]:
                export[host] = "{host}"
            export.update({k: v for k, v in POSTGRES_GROUP.items() if k not in export})
        return export or {"DATABASE_URL": "{url}"}


def sniff_project(root: Path) -> ProjectFacts:
    """Find packages, tests, alembic, the virtualenv and how the app reads its database."""
    project_dir = _project_dir(root)
    project = root / project_dir
    packages = _packages(project)
    sources = _sources(root, project)
    test_sources = {path: text for path, text in sources.items() if _is_test_source(path)}
    ci = read_ci_facts(root, project, test_sources)
    names, required = required_settings(root, project, sources, ci)
    return ProjectFacts(
        root=root,
        project_dir=project_dir,
        packages=tuple(packages),
        test_paths=tuple(_test_paths(project, packages)),
        alembic_ini=_alembic_ini(project),
        migrate_script=next(
            (name for name in _MIGRATE_SCRIPTS if (project / name).is_file()), None
        ),
        has_venv=(project / ".venv").is_dir() or (root / ".venv").is_dir(),
        database_variables=tuple(sorted(names)),
        scheme=choose_scheme(root, project, sources),
        venv_python=_venv_python(root, project),
        required_settings=tuple(required),
        ci=ci,
        has_coverage=_has_coverage(root, project),
        positions=tuple(
            (name, frozenset(where))
            for name, where in sorted(
                database_positions(t for p, t in sources.items() if p.endswith(".py")).items()
            )
        ),
    )


def _has_coverage(root: Path, project: Path) -> bool | None:
    installed: bool | None = None
    for venv in dict.fromkeys((project / ".venv", root / ".venv")):
        for site in venv.glob("lib/python*/site-packages"):
            installed = installed or (site / "coverage").is_dir()
    if installed:
        return True
    declared = "".join(
        read_head(folder / name)
        for folder in dict.fromkeys((project, root))
        for name in (*DEPENDENCY_FILES, "requirements.txt", "tox.ini")
    )
    for folder in dict.fromkeys((project, root)):
        for path in sorted(folder.glob("requirements*.txt")) + sorted(
            folder.glob("requirements/*.txt")
        ):
            declared += read_head(path)
    if re.search(r"\b(?:coverage|pytest-cov)\b", declared):
        return True
    return installed


def _sources(root: Path, project: Path) -> dict[str, str]:
    """The text of every scanned file, by its path relative to root (.env files too)."""
    return {
        path.relative_to(root).as_posix(): read_head(path) for path in scanned_files(root, project)
    }


def _is_test_source(path: str) -> bool:
    parts = path.split("/")
    return parts[-1] == "conftest.py" or parts[-1].startswith("test") or "tests" in parts[:-1]


def _project_dir(root: Path) -> str:
    # A monorepo keeps the backend one level down (full-stack-fastapi-template: backend/),
    # and its settings read an env file relative to it, so commands must run there.
    if _has_code(root) or _runs_pytest_here(root):
        return "."
    found = [sub.name for sub in _subfolders(root) if _has_code(sub)]
    if not found:
        found = [sub.name for sub in _subfolders(root) if _looks_like_project(sub)]
        if _looks_like_project(root):
            return "."
    if "backend" in found:
        return "backend"
    return found[0] if len(found) == 1 else "."


def _runs_pytest_here(folder: Path) -> bool:
    """pytest settings or a Django manage.py: the project's tests run from this folder."""
    if (folder / "pytest.ini").is_file() or (folder / "manage.py").is_file():
        return True
    return any(
        marker in read_head(folder / name)
        for name, marker in (
            ("pyproject.toml", "[tool.pytest.ini_options]"),
            ("setup.cfg", "[tool:pytest]"),
            ("tox.ini", "[pytest]"),
        )
    )


def _has_code(folder: Path) -> bool:
    """A package and tests of its own: the project, not a repository's tooling top."""
    packages = _packages(folder)
    return bool(packages) and bool(_test_paths(folder, packages))


def _looks_like_project(folder: Path) -> bool:
    return any((folder / marker).is_file() for marker in PROJECT_MARKERS) or bool(_packages(folder))


def _subfolders(folder: Path) -> list[Path]:
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return []
    return [
        child
        for child in children
        if child.is_dir()
        and not child.name.startswith((".", "_"))
        and child.name not in NOT_PROJECT
    ]


def _packages(project: Path) -> list[str]:
    found: list[str] = []
    for base in (project, project / "src"):
        for child in _subfolders(base):
            if child.name not in NOT_PACKAGES and (child / "__init__.py").is_file():
                found.append(child.name)
    return sorted(set(found))


def _test_paths(project: Path, packages: list[str]) -> list[str]:
    candidates = ["tests", "test"]
    for package in packages:
        candidates += [f"{package}/tests", f"src/{package}/tests"]
    return [path for path in candidates if (project / path).is_dir()]


_MIGRATE_SCRIPTS = ("migrate.py", "scripts/migrate.py")


def _alembic_ini(project: Path) -> str | None:
    if (project / "alembic.ini").is_file():
        return "alembic.ini"
    for child in _subfolders(project):
        for folder in (child, *_subfolders(child)):
            if (folder / "alembic.ini").is_file():
                return (folder / "alembic.ini").relative_to(project).as_posix()
    return None


def _venv_python(root: Path, project: Path) -> str | None:
    # tests.python auto looks in ROOT/.venv; a monorepo may keep it one level up.
    if project == root or (project / ".venv").is_dir() or not (root / ".venv").is_dir():
        return None
    return Path(os.path.relpath(root / ".venv" / "bin" / "python", project)).as_posix()
