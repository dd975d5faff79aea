"""The derivation room: cycles, cycle features and SOC/SOH labels computed from the samples
already in a database, by SQL that runs unchanged on SQLite, PostgreSQL and TimescaleDB.
`python -m derive --db URL`, or `derive.run(db, ...)` from Python. Definitions and formulas:
docs/deriving.md; the curves (`what=("curves",)`, numpy): docs/features.md."""

from .curve_settings import CurveSettings
from .errors import DeriveError
from .run import WHAT, SessionResult, Settings, run

__all__ = ["WHAT", "CurveSettings", "DeriveError", "SessionResult", "Settings", "run"]
