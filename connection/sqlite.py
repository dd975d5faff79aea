"""SQLite: a file, opened by Python's sqlite3 or by adbc-driver-sqlite (Arrow batches in C),
always with foreign keys enforced (SQLite leaves them off unless each connection asks)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from . import ConnectionFailed, defer_import
from .adbc import AdbcConnection

# How long a connection waits for another's write lock (a load running beside this one)
# before the engine says `database is locked`: SQLite's default is not to wait at all.
BUSY_TIMEOUT_SECONDS = 600.0


def require_file(path: str) -> None:
    if not Path(path).is_file():
        raise ConnectionFailed(f"{path}: no such SQLite database")


def open_sqlite3(path: str | Path, *, must_exist: bool = True) -> sqlite3.Connection:
    """A sqlite3 connection in autocommit mode (the caller says BEGIN and COMMIT itself) with
    foreign keys on; `must_exist=False` creates the file."""
    if must_exist:
        require_file(str(path))
    raw = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
    raw.execute("PRAGMA foreign_keys = ON")
    return raw


def placeholders(sql: str) -> str:
    """`%s` placeholders as sqlite3 and ADBC's SQLite driver bind them (`?`)."""
    return sql.replace("%s", "?")


class AdbcSqlite(AdbcConnection):
    """The statements of an adbc-driver-sqlite connection (its own SQLite build, 3.50+).
    Durability is the database's own: journal_mode and synchronous are left as the file has
    them."""

    begin_sql = "BEGIN IMMEDIATE"

    def open_adbc(self, path: str) -> None:
        require_file(path)
        defer_import("pyarrow.dataset")
        from adbc_driver_sqlite import dbapi

        self.errors = (dbapi.Error, sqlite3.Error)
        self.raw = dbapi.connect(path, autocommit=True)  # the caller says BEGIN and COMMIT
        self.in_transaction = False
        self.execute("PRAGMA foreign_keys = ON")
        # BEGIN IMMEDIATE takes the write lock: a second writer waits for it (up to the
        # timeout) instead of failing at once with `database is locked`
        self.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")

    def statement(self, sql, params):
        return placeholders(sql)
