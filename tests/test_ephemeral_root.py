"""The private server as root: it runs as an unprivileged account that must reach its folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gate.database.binaries import find_binaries
from gate.database.ephemeral import ephemeral_server
from gate.database.run_as import RunAs, server_parent, traversable_by, unprivileged_account
from gate.database.server import server_version

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: tests the root path")


def test_traversable_needs_search_permission_on_every_ancestor(gate_tmp: Path) -> None:
    stranger = RunAs(uid=54321, gid=54321, name="stranger")
    open_folder = gate_tmp / "open"
    open_folder.mkdir(mode=0o755)
    assert traversable_by(open_folder, stranger)
    gate_tmp.chmod(0o700)
    assert not traversable_by(open_folder, stranger)


@root_only
def test_a_private_temp_folder_falls_back_to_one_the_server_can_reach(tmp_path: Path) -> None:
    account = unprivileged_account()
    assert account is not None
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    chosen = server_parent(private, account)
    assert chosen != private
    assert chosen is not None and traversable_by(chosen, account)


@root_only
def test_as_root_the_server_runs_as_the_unprivileged_account(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with ephemeral_server(find_binaries(), temp_root=private) as server:
        assert server.process is not None
        status = Path(f"/proc/{server.process.pid}/status").read_text()
        uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
        account = unprivileged_account()
        assert account is not None
        assert int(uid_line.split()[1]) == account.uid
        groups = next(line for line in status.splitlines() if line.startswith("Groups:"))
        assert groups.split()[1:] in ([], [str(account.gid)])  # none of root's groups
        assert int(server_version(server.address)) >= 100000
        base = server.base_dir
    assert not base.exists()
