"""gate.yaml: its settings (models), finding and loading it, and errors that point at the line.

The modules, in the order a file goes through them: loading (find and read the file),
yaml_positions / toml_positions (parse, noting where each key is), validation (environment
expansion in env, root, the models, checks across keys), messages (errors at file:line:col
with did-you-mean). models and values hold what a key may be; schema renders them for editors.
"""

from __future__ import annotations

from gate.config.loading import find_config, load_config
from gate.config.messages import missing_migration_tool
from gate.config.models import (
    DEFAULT_FLOOR,
    SERVER_WITHOUT_URL,
    BlockingConfig,
    Config,
    CoverageConfig,
    DatabaseConfig,
    DiffConfig,
    MigrationLintConfig,
    MigrationsConfig,
    Mode,
    ReportsConfig,
    ServerErrorsConfig,
    TestsConfig,
)

__all__ = [
    "DEFAULT_FLOOR",
    "SERVER_WITHOUT_URL",
    "BlockingConfig",
    "Config",
    "CoverageConfig",
    "DatabaseConfig",
    "DiffConfig",
    "MigrationLintConfig",
    "MigrationsConfig",
    "Mode",
    "ReportsConfig",
    "ServerErrorsConfig",
    "TestsConfig",
    "find_config",
    "load_config",
    "missing_migration_tool",
]
