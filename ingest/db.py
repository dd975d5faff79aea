"""The two kinds of database the loader writes: SQLite (sqlite3) and the PostgreSQL family
(psycopg). Only what differs between them lives here; the loader speaks through `Database`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from .errors import UsageError

_STAGE_TYPES = {"integer": ("INTEGER", "bigint"), "real": ("REAL", "double precision")}


class Database:
    kind = ""  # sqlite | postgres
    errors: tuple[type[BaseException], ...] = ()  # the driver's errors
    target = ""  # the generator's target whose CHECK dialect applies

    def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a statement; the number of rows it changed."""
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

    def stage(self, table: pa.Table) -> None:
        """Append a chunk (columns named as ingest_stage's) to ingest_stage."""
        raise NotImplementedError

    def timestamp(self, expression: str) -> str:
        """SQL turning Unix seconds into the engine's timestamp column value."""
        raise NotImplementedError

    def has_table(self, name: str) -> bool:
        raise NotImplementedError


class SqliteDatabase(Database):
    kind = "sqlite"
    target = "sqlite"
    errors = (sqlite3.Error,)

    def __init__(self, path: str):
        if not Path(path).is_file():
            raise UsageError(
                f"{path}: no such SQLite database; create it first (make db DB={path})"
            )
        self.raw = sqlite3.connect(path, isolation_level=None)
        self.raw.execute("PRAGMA foreign_keys = ON")

    def execute(self, sql, params=()):
        return self.raw.execute(sql.replace("%s", "?"), tuple(params)).rowcount

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

    def stage(self, table):
        names = table.column_names
        marks = ", ".join("?" for _ in names)
        rows = zip(*(table.column(n).to_pylist() for n in names), strict=True)
        self.raw.executemany(
            f"INSERT INTO ingest_stage ({', '.join(names)}) VALUES ({marks})", rows
        )

    def timestamp(self, expression):
        return expression

    def has_table(self, name):
        return bool(self.query("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", [name]))


class PostgresDatabase(Database):
    kind = "postgres"
    target = "postgres"

    def __init__(self, url: str):
        import psycopg

        self.errors = (psycopg.Error,)
        try:
            self.raw = psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise UsageError(f"cannot connect to the PostgreSQL database: {exc}") from None
        version = self.raw.execute("SELECT version()").fetchone()[0]
        # PGlite (PostgreSQL built to WebAssembly, the tests' TimescaleDB) crashes on COPY FROM
        # STDIN over its socket: stage with INSERTs there
        self.copy_in = "Emscripten" not in version
        if not self.copy_in:
            # its one backend outlives connections, and with it psycopg's prepared statements
            self.raw.prepare_threshold = None
        timescale = self.raw.execute(
            "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()
        if timescale:
            self.target = "timescaledb"

    def execute(self, sql, params=()):
        return self.raw.execute(sql, tuple(params)).rowcount

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

    def stage(self, table):
        if not self.copy_in:
            names = table.column_names
            rows = list(zip(*(table.column(n).to_pylist() for n in names), strict=True))
            marks = ", ".join("%s" for _ in names)
            with self.raw.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO ingest_stage ({', '.join(names)}) VALUES ({marks})", rows
                )
            return
        # pyarrow writes the chunk as CSV in C; COPY reads it (an empty unquoted field is NULL)
        sink = pa.BufferOutputStream()
        pacsv.write_csv(
            table,
            sink,
            write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"),
        )
        names = ", ".join(table.column_names)
        with self.raw.cursor() as cursor:
            with cursor.copy(f"COPY ingest_stage ({names}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(sink.getvalue().to_pybytes())

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
