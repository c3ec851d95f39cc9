"""Default allow-list: framework internals that block the loop by design, each with its reason."""

from __future__ import annotations

# (entry, reason). An entry uses the same forms as the `blocking.allow` config key;
# a finding whose stack holds a matching frame is dropped. Keep entries narrow: a frame
# that also sits *above* user code (pytest_asyncio's fixture runner, starlette's router)
# must never be listed, or it would hide every finding beneath it.
DEFAULT_ALLOW: tuple[tuple[str, str], ...] = (
    (
        "coverage",
        "coverage.py measures the tests in the same process; its tracer resolves each newly "
        "seen source file's path (os.lstat) once, which is not the code under test",
    ),
    (
        "asyncio.base_subprocess.BaseSubprocessTransport.__init__",
        "asyncio's subprocess transport forks/execs the child from the loop thread by design; "
        "asyncio.create_subprocess_exec is the non-blocking API",
    ),
    (
        "asyncio.unix_events._UnixSelectorEventLoop.create_unix_server",
        "asyncio stats and removes a stale Unix socket file while creating the server",
    ),
    (
        "linecache",
        "reads source files only to format tracebacks and warnings, on error paths",
    ),
    (
        "inspect.getsourcefile",
        "checks that a source file exists, for introspection (inspect.stack), a debugging aid",
    ),
    (
        "inspect.findsource",
        "reads source for introspection (inspect.getsource, inspect.stack), a debugging aid",
    ),
    (
        "logging.FileHandler._open",
        "stdlib logging opens its log file on the first record; logging is synchronous by "
        "design and moving it off the loop (QueueHandler) is a logging-config choice",
    ),
    (
        "logging.handlers.WatchedFileHandler.reopenIfNeeded",
        "stats the log file on every record, by design of WatchedFileHandler",
    ),
    (
        "logging.handlers.RotatingFileHandler.shouldRollover",
        "checks the log file before each record, by design of RotatingFileHandler",
    ),
    (
        "logging.handlers.BaseRotatingHandler.rotate",
        "renames log files on rollover, by design of the rotating handlers",
    ),
    (
        "mimetypes.init",
        "loads the system MIME tables once per process, on the first guess_type",
    ),
    (
        "zoneinfo",
        "reads a time-zone file once per zone; ZoneInfo caches it afterwards",
    ),
    (
        "jinja2.loaders.FileSystemLoader.get_source",
        "Jinja2 reads a template file once and caches it; FastAPI/Starlette templates render "
        "in the loop thread by design",
    ),
    (
        "jinja2.loaders.PackageLoader.get_source",
        "Jinja2 reads a packaged template once and caches it",
    ),
    (
        "asyncpg.connect_utils._parse_connect_dsn_and_args",
        "asyncpg checks ~/.pgpass and client certificate files while opening a connection; "
        "a pool pays it once per connection",
    ),
)


def default_allow() -> list[str]:
    """The entries alone, ready to join the user's `blocking.allow`."""
    return [entry for entry, _reason in DEFAULT_ALLOW]
