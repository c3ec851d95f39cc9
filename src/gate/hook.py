"""The git pre-push hook: writes gate's hook script, chains a hook that was there, puts it back."""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from gate import proc
from gate.errors import UsageError
from gate.files import write_atomic

HOOK_NAME = "pre-push"
CHAINED_SUFFIX = ".gate-chained"
#: The line that tells gate's own hook apart from anyone else's.
MARKER = "# gate-managed-hook: pre-push (written by `gate hook install`)"

# POSIX sh, because git runs hooks with sh on every platform it supports.
# The pushed refs arrive on stdin; they are saved so the chained hook and gate both see them.
_SCRIPT = """\
#!/bin/sh
{marker}
# Runs `gate run` before every push; a failing gate blocks the push.
# Skip it once with `git push --no-verify`; remove it with `gate hook uninstall`.
GATE_PYTHON={python}
GATE_PROJECT_DIR={project_dir}

hook_dir=$(dirname -- "$0")
refs_file=$(mktemp "${{TMPDIR:-/tmp}}/gate-pre-push.XXXXXX") || exit 1
trap 'rm -f -- "$refs_file"' EXIT
trap 'exit 130' INT TERM  # gate tears down on the same signal; then the EXIT trap cleans up
cat > "$refs_file"

# The hook that was here before gate's runs first, with the same arguments and stdin.
if [ -x "$hook_dir/pre-push{chained}" ]; then
    "$hook_dir/pre-push{chained}" "$@" < "$refs_file" || exit $?
fi

is_zero() {{
    case $1 in *[!0]*) return 1 ;; *) return 0 ;; esac
}}
GATE_PUSH_RANGE=
GATE_PUSH_LOCAL_SHA=
updates=0
while read -r local_ref local_sha remote_ref remote_sha; do
    [ -n "$local_sha" ] || continue
    is_zero "$local_sha" && continue  # a deleted ref has nothing to test
    updates=$((updates + 1))
    if [ -z "$GATE_PUSH_LOCAL_SHA" ]; then
        GATE_PUSH_LOCAL_SHA=$local_sha
        is_zero "$remote_sha" || GATE_PUSH_RANGE="$remote_sha..$local_sha"
    fi
done < "$refs_file"
if [ "$updates" -eq 0 ]; then
    exit 0
fi
GATE_PUSH_REFS=$(cat -- "$refs_file")
GATE_PUSH_REMOTE=$1
GATE_PUSH_URL=$2
export GATE_PUSH_RANGE GATE_PUSH_LOCAL_SHA GATE_PUSH_REFS GATE_PUSH_REMOTE GATE_PUSH_URL

if [ ! -x "$GATE_PYTHON" ]; then
    echo "gate pre-push hook: $GATE_PYTHON no longer exists; run \\`gate hook install\\` again" \\
        "from the environment that has gate, or push with --no-verify" >&2
    exit 1
fi
cd -- "$GATE_PROJECT_DIR" || exit 1
"$GATE_PYTHON" -m gate run < /dev/null
status=$?
if [ "$status" -ne 0 ]; then
    echo "gate pre-push hook: the gate did not pass (exit $status); the push was stopped." \\
        "Push anyway with --no-verify." >&2
fi
exit "$status"
"""


@dataclass(frozen=True)
class HookPaths:
    hook: Path
    chained: Path
    top_level: Path  # the working tree's root, where git runs hooks


def render_hook(python: str, project_dir: str) -> str:
    """The hook script; project_dir is relative to the working tree's root ("." for the root)."""
    return _SCRIPT.format(
        marker=MARKER,
        python=shlex.quote(python),
        project_dir=shlex.quote(project_dir),
        chained=CHAINED_SUFFIX,
    )


def is_gate_hook(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError):
        return False
    return MARKER in text.splitlines()


def _git(cwd: Path, *args: str) -> str:
    try:
        completed = proc.capture(["git", "-C", str(cwd), *args])
    except proc.CommandNotFound as exc:
        raise UsageError("git was not found on PATH; gate's pre-push hook needs git") from exc
    if completed.code != 0:
        raise UsageError(
            f"{cwd} is not inside a git working tree (git says: "
            f"{completed.output.strip() or f'exit {completed.code}'}); run `gate hook` "
            "from the project's repository"
        )
    return completed.output.strip()


def hook_paths(cwd: Path) -> HookPaths:
    """Where the pre-push hook lives; `--git-path hooks` honours core.hooksPath and worktrees."""
    top_level = Path(_git(cwd, "rev-parse", "--show-toplevel"))
    hooks = Path(_git(cwd, "rev-parse", "--git-path", "hooks"))
    if not hooks.is_absolute():
        hooks = cwd / hooks
    return HookPaths(hooks / HOOK_NAME, hooks / (HOOK_NAME + CHAINED_SUFFIX), top_level)


def _project_dir(cwd: Path, top_level: Path) -> str:
    try:
        relative = cwd.resolve().relative_to(top_level.resolve())
    except ValueError:
        return "."
    return relative.as_posix() or "."


def _write_executable(path: Path, text: str) -> None:
    write_atomic(path, text, mode=0o777)


def _shown(path: Path, cwd: Path) -> str:
    try:
        return os.path.relpath(path, cwd)
    except ValueError:
        return str(path)


def install_hook(cwd: Path, *, force: bool = False, python: str | None = None) -> list[str]:
    """Install gate's pre-push hook for the repository holding cwd; returns what it did."""
    paths = hook_paths(cwd)
    hook, chained = paths.hook, paths.chained
    done: list[str] = []
    existing = hook.exists() or hook.is_symlink()
    if existing and not is_gate_hook(hook):
        if hook.is_dir():
            raise UsageError(f"{_shown(hook, cwd)} is a folder, not a hook; move it away first")
        if chained.exists() or chained.is_symlink():
            if not force:
                raise UsageError(
                    f"{_shown(hook, cwd)} is not gate's hook, and {_shown(chained, cwd)} already "
                    "holds a hook gate chained earlier, so gate cannot keep both; move one of "
                    "them away, or pass --force to chain the current hook and delete the "
                    "earlier one"
                )
            chained.unlink()
            done.append(f"deleted the earlier chained hook {_shown(chained, cwd)}")
        os.replace(hook, chained)
        done.append(
            f"kept the existing hook as {_shown(chained, cwd)}; it runs first on every push"
        )
    action = "updated" if existing and not done else "installed"
    _write_executable(
        hook,
        render_hook(python or sys.executable, _project_dir(cwd, paths.top_level)),
    )
    done.append(f"{action} gate's pre-push hook in {_shown(hook, cwd)}")
    return done


def uninstall_hook(cwd: Path, *, force: bool = False) -> list[str]:
    """Remove gate's pre-push hook and put back the hook it chained, if any.

    A hook that is not gate's is left alone; with force it is moved aside instead, never
    deleted, so that a mistaken --force loses nothing.
    """
    paths = hook_paths(cwd)
    hook, chained = paths.hook, paths.chained
    if not (hook.exists() or hook.is_symlink()):
        return [f"no pre-push hook in {_shown(hook, cwd)}; nothing to remove"]
    if not is_gate_hook(hook):
        if not force:
            return [
                f"{_shown(hook, cwd)} is not gate's hook; left it alone (--force moves it aside)"
            ]
        aside = hook.with_name(hook.name + ".removed-by-gate")
        os.replace(hook, aside)
        return [f"{_shown(hook, cwd)} was not gate's hook; moved it to {_shown(aside, cwd)}"]
    hook.unlink()
    done = [f"removed gate's pre-push hook from {_shown(hook, cwd)}"]
    if chained.exists() or chained.is_symlink():
        os.replace(chained, hook)
        done.append(f"put back the hook that was there before ({_shown(hook, cwd)})")
    return done
