"""The one way gate starts a process: in a group of its own, reaped, recorded in the run's
ledger, and watched, so that it ends when gate does, even after `kill -9` of gate.

One module because it is the one way: run, spawn and capture share the group, the ledger
record and the watcher registration; a second module would be a second way to start one.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from gate import shown_commands
from gate.errors import InfraError
from gate.lifeline import process_start

#: The watcher that ends what gate started once gate is gone (see lifeline.py).
LIFELINE_SCRIPT = Path(__file__).with_name("lifeline.py")

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


class _Watcher:
    """This gate process's lifeline watcher (lifeline.py), started with the first process.

    One per gate process rather than one per child: a Python start costs tens of
    milliseconds of CPU, and it runs beside the child, off the path to a ready server.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._owner = 0  # the pid that started it: a forked copy of gate has none of its own
        self._next_id = 0

    def _pipe(self) -> IO[bytes] | None:
        if self._owner != os.getpid():
            self._owner = os.getpid()
            try:
                self._process = subprocess.Popen(
                    [sys.executable, "-I", "-S", str(LIFELINE_SCRIPT)],
                    cwd="/",  # holds no project or temp folder busy
                    stdin=subprocess.PIPE,  # the lifeline: its write end stays in gate only
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,  # a Ctrl-C or a kill of gate's group must not end it
                )
            except OSError:
                self._process = None  # no interpreter to run it: the next run reaps instead
                return None
            atexit.register(self._close, self._process)
        return None if self._process is None else self._process.stdin

    def _send(self, message: Mapping[str, object]) -> None:
        line = (json.dumps(message) + "\n").encode()
        with self._lock:
            pipe = self._pipe()
            if pipe is None:
                return
            try:
                pipe.write(line)
                pipe.flush()
            except OSError:
                pass  # the watcher is gone (killed by hand): the next run reaps instead

    def start(self) -> None:
        """Start the watcher before the first child it must watch. A `kill -9` of gate after
        a child starts and before its registration reaches the watcher leaves the child
        unwatched (until the next run reaps it from the ledger); that window was the
        watcher's own start (~10 ms, far more on a busy machine) and is now one write."""
        with self._lock:
            self._pipe()

    def watch(
        self, pid: int | None, stop_signal: int = signal.SIGKILL, folders: Sequence[Path] = ()
    ) -> int:
        """Have the watcher end `pid` (and its group) and remove `folders` should gate die."""
        with self._lock:
            self._next_id += 1
            ident = self._next_id
        start = None if pid is None else process_start(pid)
        message = {"id": ident, "pid": pid, "start": start, "signal": int(stop_signal),
                   "folders": [str(folder) for folder in folders]}  # fmt: skip
        self._send(message)
        return ident

    def release(self, ident: int) -> None:
        """gate ended or removed it itself, or keeps it on purpose (--keep-db)."""
        self._send({"release": ident})

    @staticmethod
    def _close(process: subprocess.Popen[bytes]) -> None:
        # At a normal exit everything is released: end-of-file lets the watcher go at once.
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=1)


_watcher = _Watcher()


class FolderWatch:
    """A folder the watcher removes should gate die before removing it itself."""

    def __init__(self, folder: Path) -> None:
        self._ident: int | None = _watcher.watch(None, folders=[folder])

    def release(self) -> None:
        if self._ident is not None:
            _watcher.release(self._ident)
            self._ident = None


# Who is told of each process gate starts and ends: the run's ledger, so that `gate clean`
# and the next run can stop one that outlived a gate whose watcher was killed too.
_recorders: list[tuple[Callable[[int, int], None], Callable[[int], None]]] = []


@contextlib.contextmanager
def recording(started: Callable[[int, int], None], ended: Callable[[int], None]) -> Iterator[None]:
    """While inside, every process started reports its pid and stop signal, and its end."""
    entry = (started, ended)
    _recorders.append(entry)
    try:
        yield
    finally:
        _recorders.remove(entry)


class Account(Protocol):
    """The user a process runs as (PostgreSQL's account when gate runs as root)."""

    @property
    def uid(self) -> int: ...

    @property
    def gid(self) -> int: ...


class Child:
    """A process gate started and watches: it ends when gate ends, unless released."""

    def __init__(self, process: subprocess.Popen[bytes], stop_signal: int) -> None:
        self.process = process
        self.stop_signal = stop_signal
        self._ident: int | None = _watcher.watch(process.pid, stop_signal)
        self._recorded = list(_recorders)
        for on_start, _ in self._recorded:
            on_start(process.pid, stop_signal)
        self._exit_fd = _pidfd(process.pid)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        # subprocess polls with sleeps of up to 50 ms when given a timeout; a pidfd wakes
        # this at the child's exit, which the end of every run's test step waits on.
        fd = self._exit_fd
        if timeout is None or fd is None or self.process.returncode is not None:
            return self.process.wait(timeout=timeout)
        exited = select.poll()
        exited.register(fd, select.POLLIN)
        if not exited.poll(timeout * 1000):
            raise subprocess.TimeoutExpired(self.process.args, timeout)
        return self.process.wait(timeout=timeout)

    def _close_exit_fd(self) -> None:
        if self._exit_fd is not None:
            os.close(self._exit_fd)
            self._exit_fd = None

    def send_signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(sig)

    def stop(self, grace_s: float = TERMINATE_GRACE_S) -> None:
        """End it and its group (SIGTERM, then SIGKILL after grace_s); idempotent."""
        stop_group(self.process, grace_s)
        self.release()
        for _, on_end in self._recorded:
            on_end(self.process.pid)
        self._recorded = []

    def release(self) -> None:
        """Let it outlive gate (--keep-db); stop() releases too."""
        self._close_exit_fd()
        if self._ident is not None:
            _watcher.release(self._ident)
            self._ident = None


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when `pid` exits (Linux 5.3+), else None."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux, an old kernel, or already reaped
        return None


def spawn(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdout: IO[bytes] | int | None = subprocess.DEVNULL,
    account: Account | None = None,
    stop_signal: int = signal.SIGKILL,
) -> Child:
    """Start argv in a session of its own, watched: if gate dies, the watcher sends
    stop_signal (then SIGKILL to its group); the ledger's recorders hear of it."""
    shown_commands.announce(argv, cwd, env)
    _watcher.start()
    as_account: dict[str, Any] = {}
    if account is not None:  # without root's supplementary groups
        as_account = {"user": account.uid, "group": account.gid, "extra_groups": []}
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # gate, not the terminal, decides when it stops
            **as_account,
        )
    except FileNotFoundError as exc:
        raise CommandNotFound(argv[0]) from exc
    except OSError as exc:  # permission denied, a folder, exec format error
        raise _not_runnable(argv[0], exc) from exc
    return Child(process, stop_signal)


def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None,
    output_file: Path,
    timeout_s: float | None = None,
    on_tick: Callable[[], bool] | None = None,
    tick_s: float = 0.1,
    account: Account | None = None,
) -> Completed:
    """Run argv to completion with its output in output_file; Ctrl-C or an error stops its group.

    on_tick is called about every tick_s while the command runs (live progress, watchdogs);
    when it returns True the command is stopped and the result says stopped.
    """
    output_file.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with output_file.open("wb") as sink:
        child = spawn(argv, cwd=cwd, env=env, stdout=sink, account=account)
        timed_out = stopped = False
        try:
            while True:
                try:
                    child.wait(timeout=tick_s)
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
            child.stop()
    text = output_file.read_text(encoding="utf-8", errors="replace")
    return Completed(tuple(argv), child.process.returncode, text, timed_out, stopped)


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
