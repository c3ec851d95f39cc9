"""The pre-push hook with real git: a bare remote, a clone, real pushes through gate's hook."""

from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gate.hook import MARKER, is_gate_hook, render_hook
from tests.conftest import GateResult, GateRunner


@pytest.fixture
def gate(state_dir: Path) -> Iterator[GateRunner]:
    """The gate command for projects with database mode none: no server is needed.

    The guard reads this run's own ledgers rather than scanning the machine, so other runs of
    gate on the same machine cannot trip it.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATE_", "PYTEST_"))}
    env.update({"GATE_STATE_DIR": str(state_dir), "CI": "true", "NO_COLOR": "1"})
    env.pop("DATABASE_URL", None)
    yield GateRunner(env)
    assert list(state_dir.glob("*.json")) == [], "a run left something in its ledger"


@dataclass
class Repo:
    """A clone of a bare remote, holding a tiny project whose gate passes."""

    root: Path
    remote: Path
    env: dict[str, str]

    def git(self, *args: str, check: bool = True) -> GateResult:
        completed = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@e", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        result = GateResult(completed.returncode, completed.stdout, completed.stderr)
        if check:
            assert result.code == 0, result.output
        return result

    def write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def remote_head(self) -> str:
        completed = subprocess.run(
            ["git", "rev-parse", "main"],
            cwd=self.remote,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return completed.stdout.strip()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").stdout.strip()

    @property
    def hooks(self) -> Path:
        return self.root / ".git" / "hooks"


def git_env(tmp_path: Path, gate: GateRunner) -> dict[str, str]:
    """gate's test environment plus a home folder of its own, so no real git config is read."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        **gate.env,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
    }


@pytest.fixture
def repo(tmp_path: Path, gate: GateRunner) -> Repo:
    env = git_env(tmp_path, gate)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], env=env, check=True)
    root = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", str(remote), str(root)], env=env, check=True, capture_output=True
    )
    repo = Repo(root, remote, env)
    repo.git("checkout", "-q", "-b", "main")
    repo.write("pkg/__init__.py", "def double(x: int) -> int:\n    return 2 * x\n")
    repo.write(
        "tests/test_pkg.py",
        """
        from pkg import double


        def test_double():
            assert double(2) == 4
        """,
    )
    repo.write(
        "gate.yaml",
        """
        database: {mode: none}
        coverage: {source: [pkg], fail_under: 100}
        blocking: {mode: off}
        """,
    )
    repo.write(".gitignore", ".gate/\n")
    repo.commit("a tiny project")
    return repo


def break_the_tests(repo: Repo) -> None:
    repo.write(
        "tests/test_pkg.py",
        """
        from pkg import double


        def test_double():
            assert double(2) == 5
        """,
    )
    repo.commit("break it")


def test_push_goes_through_when_the_gate_passes(gate: GateRunner, repo: Repo) -> None:
    installed = gate("hook", "install", cwd=repo.root, env=repo.env)
    assert installed.code == 0, installed.output
    assert installed.stdout == "installed gate's pre-push hook in .git/hooks/pre-push\n"
    hook = repo.hooks / "pre-push"
    assert os.access(hook, os.X_OK)
    assert MARKER in hook.read_text()

    pushed = repo.git("push", "-q", "origin", "main", check=False)
    assert pushed.code == 0, pushed.output
    assert "PASS (exit 0)" in pushed.output
    assert repo.remote_head() == repo.head()


def test_push_is_refused_when_the_gate_fails(gate: GateRunner, repo: Repo) -> None:
    gate("hook", "install", cwd=repo.root, env=repo.env)
    repo.git("push", "-q", "--no-verify", "origin", "main")
    pushed_before = repo.remote_head()
    break_the_tests(repo)

    refused = repo.git("push", "origin", "main", check=False)
    assert refused.code != 0
    assert "FAIL (exit 1)" in refused.output
    assert "tests/test_pkg.py::test_double" in refused.output
    assert "the push was stopped" in refused.output
    assert repo.remote_head() == pushed_before

    skipped = repo.git("push", "-q", "--no-verify", "origin", "main", check=False)
    assert skipped.code == 0, skipped.output
    assert repo.remote_head() == repo.head()


def test_a_push_that_only_deletes_does_not_run_gate(gate: GateRunner, repo: Repo) -> None:
    break_the_tests(repo)
    repo.git("push", "-q", "--no-verify", "origin", "main", "main:feature")
    gate("hook", "install", cwd=repo.root, env=repo.env)
    deleted = repo.git("push", "origin", "--delete", "feature", check=False)
    assert deleted.code == 0, deleted.output
    assert "FAIL" not in deleted.output and "PASS" not in deleted.output


def test_the_hook_exports_the_pushed_range(gate: GateRunner, repo: Repo) -> None:
    repo.git("push", "-q", "origin", "main")
    before = repo.head()
    repo.write(
        "tests/test_range.py",
        """
        import os


        def test_range():
            with open("range.txt", "w") as handle:
                handle.write(os.environ.get("GATE_PUSH_RANGE", "unset") + "\\n")
                handle.write(os.environ.get("GATE_PUSH_REMOTE", "unset") + "\\n")
        """,
    )
    repo.commit("record the range")
    gate("hook", "install", cwd=repo.root, env=repo.env)
    pushed = repo.git("push", "-q", "origin", "main", check=False)
    assert pushed.code == 0, pushed.output
    assert (repo.root / "range.txt").read_text() == f"{before}..{repo.head()}\norigin\n"


def test_an_existing_hook_is_chained_with_the_same_stdin_and_restored(
    gate: GateRunner, repo: Repo
) -> None:
    theirs = repo.hooks / "pre-push"
    log = repo.root.parent / "theirs.log"
    script = f'#!/bin/sh\necho "args: $*" >> {log}\ncat >> {log}\nexit 0\n'
    theirs.write_text(script)
    theirs.chmod(0o755)

    installed = gate("hook", "install", cwd=repo.root, env=repo.env)
    assert installed.code == 0, installed.output
    assert installed.stdout.splitlines() == [
        "kept the existing hook as .git/hooks/pre-push.gate-chained; it runs first on every push",
        "installed gate's pre-push hook in .git/hooks/pre-push",
    ]
    assert (repo.hooks / "pre-push.gate-chained").read_text() == script

    pushed = repo.git("push", "-q", "origin", "main", check=False)
    assert pushed.code == 0, pushed.output
    assert "PASS (exit 0)" in pushed.output
    assert log.read_text() == (
        f"args: origin {repo.remote}\n"
        f"refs/heads/main {repo.head()} refs/heads/main {'0' * len(repo.head())}\n"
    )

    removed = gate("hook", "uninstall", cwd=repo.root, env=repo.env)
    assert removed.code == 0, removed.output
    assert removed.stdout.splitlines() == [
        "removed gate's pre-push hook from .git/hooks/pre-push",
        "put back the hook that was there before (.git/hooks/pre-push)",
    ]
    assert theirs.read_text() == script
    assert os.access(theirs, os.X_OK)
    assert not (repo.hooks / "pre-push.gate-chained").exists()


def test_a_failing_chained_hook_blocks_the_push_before_gate(gate: GateRunner, repo: Repo) -> None:
    theirs = repo.hooks / "pre-push"
    theirs.write_text("#!/bin/sh\necho 'their hook says no' >&2\nexit 7\n")
    theirs.chmod(0o755)
    gate("hook", "install", cwd=repo.root, env=repo.env)
    refused = repo.git("push", "origin", "main", check=False)
    assert refused.code != 0
    assert "their hook says no" in refused.output
    assert "PASS" not in refused.output and "FAIL" not in refused.output


def test_install_honours_core_hooks_path(gate: GateRunner, repo: Repo) -> None:
    repo.git("config", "core.hooksPath", "githooks")
    installed = gate("hook", "install", cwd=repo.root, env=repo.env)
    assert installed.code == 0, installed.output
    assert installed.stdout == "installed gate's pre-push hook in githooks/pre-push\n"
    assert is_gate_hook(repo.root / "githooks" / "pre-push")
    assert not (repo.hooks / "pre-push").exists()
    break_the_tests(repo)
    refused = repo.git("push", "origin", "main", check=False)
    assert refused.code != 0
    assert "FAIL (exit 1)" in refused.output


def test_install_again_updates_and_uninstall_is_idempotent(gate: GateRunner, repo: Repo) -> None:
    assert gate("hook", "install", cwd=repo.root, env=repo.env).code == 0
    again = gate("hook", "install", cwd=repo.root, env=repo.env)
    assert again.stdout == "updated gate's pre-push hook in .git/hooks/pre-push\n"
    assert not (repo.hooks / "pre-push.gate-chained").exists()
    assert gate("hook", "uninstall", cwd=repo.root, env=repo.env).code == 0
    assert not (repo.hooks / "pre-push").exists()
    nothing = gate("hook", "uninstall", cwd=repo.root, env=repo.env)
    assert nothing.code == 0
    assert nothing.stdout == "no pre-push hook in .git/hooks/pre-push; nothing to remove\n"


def test_uninstall_leaves_a_hook_that_is_not_gates(gate: GateRunner, repo: Repo) -> None:
    theirs = repo.hooks / "pre-push"
    theirs.write_text("#!/bin/sh\nexit 0\n")
    result = gate("hook", "uninstall", cwd=repo.root, env=repo.env)
    assert result.code == 0
    assert result.stdout == (
        ".git/hooks/pre-push is not gate's hook; left it alone (--force moves it aside)\n"
    )
    assert theirs.read_text() == "#!/bin/sh\nexit 0\n"

    forced = gate("hook", "uninstall", "--force", cwd=repo.root, env=repo.env)
    assert forced.code == 0, forced.output
    assert forced.stdout == (
        ".git/hooks/pre-push was not gate's hook; moved it to .git/hooks/pre-push.removed-by-gate\n"
    )
    assert not theirs.exists()
    assert (repo.hooks / "pre-push.removed-by-gate").read_text() == "#!/bin/sh\nexit 0\n"


def test_a_stale_chained_hook_is_refused_unless_forced(gate: GateRunner, repo: Repo) -> None:
    (repo.hooks / "pre-push").write_text("#!/bin/sh\nexit 0\n")
    (repo.hooks / "pre-push.gate-chained").write_text("#!/bin/sh\nexit 1\n")
    refused = gate("hook", "install", cwd=repo.root, env=repo.env)
    assert refused.code == 2
    assert refused.stderr == (
        "gate: .git/hooks/pre-push is not gate's hook, and .git/hooks/pre-push.gate-chained "
        "already holds a hook gate chained earlier, so gate cannot keep both; move one of them "
        "away, or pass --force to chain the current hook and delete the earlier one\n"
    )
    assert not is_gate_hook(repo.hooks / "pre-push")

    forced = gate("hook", "install", "--force", cwd=repo.root, env=repo.env)
    assert forced.code == 0, forced.output
    assert forced.stdout.splitlines()[0] == (
        "deleted the earlier chained hook .git/hooks/pre-push.gate-chained"
    )
    assert (repo.hooks / "pre-push.gate-chained").read_text() == "#!/bin/sh\nexit 0\n"
    assert is_gate_hook(repo.hooks / "pre-push")


def test_install_outside_a_repository_is_a_usage_error(gate: GateRunner, tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    result = gate("hook", "install", cwd=folder, env=git_env(tmp_path, gate))
    assert result.code == 2
    assert result.stderr.startswith(f"gate: {folder} is not inside a git working tree")
    assert result.stderr.endswith("run `gate hook` from the project's repository\n")


def test_the_hook_runs_gate_from_the_folder_it_was_installed_in(
    gate: GateRunner, repo: Repo
) -> None:
    sub = repo.root / "service"
    sub.mkdir()
    for name in ("pkg", "tests", "gate.yaml"):
        (repo.root / name).rename(sub / name)
    repo.commit("move the project into a subfolder")
    installed = gate("hook", "install", cwd=sub, env=repo.env)
    assert installed.stdout == "installed gate's pre-push hook in ../.git/hooks/pre-push\n"
    assert "GATE_PROJECT_DIR=service\n" in (repo.hooks / "pre-push").read_text()
    pushed = repo.git("push", "-q", "origin", "main", check=False)
    assert pushed.code == 0, pushed.output
    assert "PASS (exit 0)" in pushed.output


def test_render_hook_quotes_the_interpreter_path() -> None:
    script = render_hook("/opt/my envs/python3", "a b")
    assert "GATE_PYTHON='/opt/my envs/python3'\n" in script
    assert "GATE_PROJECT_DIR='a b'\n" in script
    assert script.startswith(f"#!/bin/sh\n{MARKER}\n")


def test_diff_coverage_judges_exactly_the_pushed_commits(gate: GateRunner, repo: Repo) -> None:
    repo.write(
        "gate.yaml",
        """
        database: {mode: none}
        coverage: {source: [pkg], fail_under: 0, diff: {base: first-release, fail_under: 100}}
        blocking: {mode: off}
        """,
    )
    repo.commit("judge changed lines since the first release")
    repo.git("tag", "first-release")
    repo.git("push", "-q", "origin", "main")
    gate("hook", "install", cwd=repo.root, env=repo.env)
    repo.write(
        "pkg/__init__.py",
        """
        def double(x: int) -> int:
            return 2 * x


        def sign(x: int) -> int:
            if x < 0:
                return -1
            return 1
        """,
    )
    repo.write("tests/test_sign.py", "from pkg import sign\n\n\ndef test_sign():\n    sign(3)\n")
    repo.commit("sign, half tested")

    refused = repo.git("push", "origin", "main", check=False)
    assert refused.code != 0
    assert "pkg/__init__.py:7 not covered: lines 7" in refused.output
    assert "the remote side of the push" in refused.output
    assert "the push was stopped" in refused.output
    repo.git("push", "-q", "--no-verify", "origin", "main")

    repo.write("pkg/extra.py", "def triple(x: int) -> int:\n    return 3 * x\n")
    repo.write(
        "tests/test_extra.py", "from pkg.extra import triple\n\n\ndef test_t():\n    triple(1)\n"
    )
    repo.commit("triple, tested")
    pushed_before = repo.remote_head()
    # The push holds only the triple commit, fully covered: it goes through ...
    pushed = repo.git("push", "origin", "main", check=False)
    assert pushed.code == 0, pushed.output
    assert f"100% of 2 changed line(s) since {pushed_before[:12]}" in pushed.output
    assert repo.remote_head() == repo.head()
    # ... while a run outside the hook still judges everything since the first release.
    local = gate("run", cwd=repo.root, env=repo.env)
    assert local.code == 1, local.output
    assert "pkg/__init__.py:7 not covered: lines 7" in local.stdout
