"""The two kinds of database the loader writes: SQLite (sqlite3) and the PostgreSQL family
(psycopg). Only what differs between them lives here; the loader speaks through `Database`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import UsageError

_STAGE_TYPES = {"integer": ("INTEGER", "bigint"), "real": ("REAL", "double precision")}


class Database:
    kind = ""  # sqlite | postgres
    target = ""  # the generator's target whose CHECK dialect applies

    def execute(self, sql: str, params: Iterable[Any] = ()) -> None:
        raise NotImplementedError

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    def begin(self) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def create_stage(self, columns: list[tuple[str, str]]) -> None:
        """A temporary table without constraints, dropped at the end of the transaction."""
        raise NotImplementedError

    def copy_rows(self, table: str, columns: list[str], rows: Iterable[tuple]) -> None:
        raise NotImplementedError

    def timestamp(self, expression: str) -> str:
        """SQL turning Unix seconds into the engine's timestamp column value."""
        raise NotImplementedError

    def has_table(self, name: str) -> bool:
        raise NotImplementedError


class SqliteDatabase(Database):
    kind = "sqlite"
    target = "sqlite"

    def __init__(self, path: str):
        if not Path(path).is_file():
            raise UsageError(
                f"{path}: no such SQLite database; create it first (make db DB={path})"
            )
        self.raw = sqlite3.connect(path, isolation_level=None)
        self.raw.execute("PRAGMA foreign_keys = ON")

    def execute(self, sql, params=()):
        self.raw.execute(sql.replace("%s", "?"), tuple(params))

    def query(self, sql, params=()):
        return self.raw.execute(sql.replace("%s", "?"), tuple(params)).fetchall()

    def begin(self):
        self.raw.execute("BEGIN IMMEDIATE")

    def commit(self):
        self.raw.execute("COMMIT")

    def rollback(self):
        if self.raw.in_transaction:
            self.raw.execute("ROLLBACK")

    def close(self):
        self.raw.close()

    def create_stage(self, columns):
        body = ", ".join(f"{name} {_stage_type(kind, 0)}" for name, kind in columns)
        self.raw.execute("DROP TABLE IF EXISTS temp.ingest_stage")
        self.raw.execute(f"CREATE TEMP TABLE ingest_stage ({body})")

    def copy_rows(self, table, columns, rows):
        marks = ", ".join("?" for _ in columns)
        self.raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def timestamp(self, expression):
        return expression

    def has_table(self, name):
        return bool(self.query("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", [name]))


class PostgresDatabase(Database):
    kind = "postgres"
    target = "postgres"

    def __init__(self, url: str):
        import psycopg

        try:
            self.raw = psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise UsageError(f"cannot connect to the PostgreSQL database: {exc}") from None

    def execute(self, sql, params=()):
        self.raw.execute(sql, tuple(params))

    def query(self, sql, params=()):
        return self.raw.execute(sql, tuple(params)).fetchall()

    def begin(self):
        self.raw.execute("BEGIN")

    def commit(self):
        self.raw.execute("COMMIT")

    def rollback(self):
        from psycopg.pq import TransactionStatus

        if self.raw.info.transaction_status != TransactionStatus.IDLE:
            self.raw.execute("ROLLBACK")

    def close(self):
        self.raw.close()

    def create_stage(self, columns):
        body = ", ".join(f"{name} {_stage_type(kind, 1)}" for name, kind in columns)
        self.raw.execute(f"CREATE TEMP TABLE ingest_stage ({body}) ON COMMIT DROP")

    def copy_rows(self, table, columns, rows):
        with self.raw.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def timestamp(self, expression):
        return f"to_timestamp({expression})"

    def has_table(self, name):
        return self.query("SELECT to_regclass(%s)", [name])[0][0] is not None


def _stage_type(kind: str, engine: int) -> str:
    return _STAGE_TYPES[kind][engine] if kind in _STAGE_TYPES else "TEXT"


def connect(url: str) -> Database:
    """`sqlite:///path`, a plain path (SQLite), or `postgresql://...` / a libpq key=value DSN."""
    if url.startswith(("postgresql://", "postgres://")) or "dbname=" in url:
        return PostgresDatabase(url)
    if url.startswith("sqlite:///"):
        return SqliteDatabase(url[len("sqlite:///") :])
    if "://" in url:
        raise UsageError(f"unsupported database URL {url!r} (sqlite:///path or postgresql://...)")
    return SqliteDatabase(url)
