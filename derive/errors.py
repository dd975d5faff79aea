"""The derivations' error, in a module of its own: derive/run.py and derive/clickhouse.py both
raise it, and run.py imports clickhouse.py (so it cannot live in either without a loop)."""

from __future__ import annotations


class DeriveError(Exception):
    """A derivation refused (bad settings for the data, a constraint of the schema; the
    session's transaction was rolled back, `.session_id` says which), or a usage problem
    (options, database: `.session_id` is None)."""

    def __init__(self, message: str, session_id: int | None = None):
        super().__init__(message)
        self.session_id = session_id
