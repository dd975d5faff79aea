"""The derivations' error and the skip of one derivation, in a module of their own:
derive/run.py, derive/plan.py and derive/clickhouse.py all raise them, and run.py imports
clickhouse.py (so they cannot live in either without a loop)."""

from __future__ import annotations


class DeriveError(Exception):
    """A derivation refused (bad settings for the data; a constraint of the schema is the
    engine's own error, recorded the same way in SessionResult.refused), or a usage problem
    (options, database: `.session_id` is None). `derive.run(strict=True)` raises it for the
    first session that is not complete (`.session_id` says which)."""

    def __init__(self, message: str, session_id: int | None = None):
        super().__init__(message)
        self.session_id = session_id


class Skipped(Exception):
    """A derivation that cannot run on this session's data as given (no anchor for SOC): the
    message says what to give. Not a refusal: nothing was wrong, something is missing."""
