"""The one subprocess wrapper: runs a command in its own process group and always reaps it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gate import shown_commands
from gate.errors import InfraError

#: How long a command gets to exit after SIGTERM before the whole group is killed.
TERMINATE_GRACE_S = 5.0


@dataclass(frozen=True)
class Completed:
    """A finished command: its exit code and its output (stdout and stderr mixed)."""

    argv: tuple[str, ...]
    code: int
    output: str
    timed_out: bool = False
    stopped: bool = False


class CommandNotFound(InfraError):
    """The executable does not exist; callers decide whether that is a usage or an infra error."""

    def __init__(self, executable: str) -> None:
        super().__init__(f"command not found: {executable}")
        self.executable = executable


class CommandNotRunnable(InfraError):
    """The executable exists but the system refuses to run it (not executable, a folder, not
    a program); callers decide whether that is a usage or an infra error."""

    def __init__(self, executable: str, reason: str) -> None:
        super().__init__(f"cannot execute {executable}: {reason}")
        self.executable = executable
        self.reason = reason


def _not_runnable(executable: str, exc: OSError) -> CommandNotRunnable:
    return CommandNotRunnable(executable, exc.strerror or str(exc))


def stop_group(process: subprocess.Popen[bytes], grace_s: float = TERMINATE_GRACE_S) -> None:
    """Terminate a process started in a new session; kill its whole group if it lingers."""
    if process.poll() is not None:
        _kill_group(process.pid, signal.SIGKILL)  # stragglers it left in its group
        return
    _kill_group(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)
    _kill_group(process.pid, signal.SIGKILL)
    process.wait()


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


# Who is told of each process run() starts and ends: the run's ledger, so that `gate clean`
# can stop a test process that a `kill -9` of gate left running.
_recorders: list[tuple[Callable[[int], None], Callable[[int], None]]] = []


@contextlib.contextmanager
def recording(started: Callable[[int], None], ended: Callable[[int], None]) -> Iterator[None]:
    """While inside, run() reports the pid of every process it starts, and its end."""
    entry = (started, ended)
    _recorders.append(entry)
    try:
        yield
    finally:
        _recorders.remove(entry)


def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    output_file: Path,
    timeout_s: float | None = None,
    on_tick: Callable[[], bool] | None = None,
    tick_s: float = 0.1,
) -> Completed:
    """Run argv to completion with its output in output_file; Ctrl-C or an error stops its group.

    on_tick is called about every tick_s while the command runs (live progress, watchdogs);
    when it returns True the command is stopped and the result says stopped.
    """
    output_file.parent.mkdir(parents=True, exist_ok=True)
    shown_commands.announce(argv, cwd, env)
    started = time.monotonic()
    with output_file.open("wb") as sink:
        try:
            process = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # gate, not the terminal, decides when it stops
            )
        except FileNotFoundError as exc:
            raise CommandNotFound(argv[0]) from exc
        except OSError as exc:  # permission denied, a folder, exec format error
            raise _not_runnable(argv[0], exc) from exc
        timed_out = stopped = False
        try:
            for on_start, _ in _recorders:
                on_start(process.pid)
            while True:
                try:
                    process.wait(timeout=tick_s)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if on_tick is not None and on_tick():
                    stopped = True
                    break
                if timeout_s is not None and time.monotonic() - started > timeout_s:
                    timed_out = True
                    break
        finally:
            # Also on KeyboardInterrupt and on errors raised by on_tick.
            stop_group(process)
            for _, on_end in _recorders:
                on_end(process.pid)
    text = output_file.read_text(encoding="utf-8", errors="replace")
    return Completed(tuple(argv), process.returncode, text, timed_out, stopped)


def capture(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, timeout_s: float = 30.0
) -> Completed:
    """Run a short command and return its output; for probes such as `pg_config --bindir`."""
    shown_commands.announce(argv, None, env)
    try:
        result = subprocess.run(
            list(argv),
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError as exc:
        raise CommandNotFound(argv[0]) from exc
    except subprocess.TimeoutExpired as exc:
        raise InfraError(f"{argv[0]} did not answer within {timeout_s:g}s") from exc
    except OSError as exc:  # permission denied, a folder, exec format error
        raise _not_runnable(argv[0], exc) from exc
    output = (result.stdout + result.stderr).decode("utf-8", errors="replace")
    return Completed(tuple(argv), result.returncode, output)
