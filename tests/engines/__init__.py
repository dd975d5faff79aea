"""Real database engines and tools for the test suite; see harness.py."""

from .harness import (
    Database,
    Engine,
    EngineUnavailable,
    LiamBuildError,
    LiamCli,
    engines_required,
    liam_build,
    liam_cli,
    own_dsn_is_set,
    own_server_from_env,
    postgres15,
    postgres18,
    stop_on_sigterm,
    timescaledb,
)

__all__ = [
    "Database",
    "Engine",
    "EngineUnavailable",
    "LiamBuildError",
    "LiamCli",
    "engines_required",
    "liam_build",
    "liam_cli",
    "own_dsn_is_set",
    "own_server_from_env",
    "postgres15",
    "postgres18",
    "stop_on_sigterm",
    "timescaledb",
]
