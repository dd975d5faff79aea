"""The one connection the predictions room writes through: sqlite3 or psycopg inside one
transaction (connection.dbapi), or ClickHouse through chdb, which has none: there the rows are
inserted first and the run last, and a failure deletes what was inserted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from connection import ConnectionFailed, parse
from connection.clickhouse import ChdbConnection, literal
from connection.dbapi import DbapiConnection
from connection.postgres import open_psycopg
from connection.sqlite import open_sqlite3
from export.errors import USAGE, ExportError


class Writer:
    kind: str

    def timestamp(self, when: dt.datetime) -> Any:
        """A UTC instant as this engine's timestamp column takes it."""
        if self.kind == "sqlite":
            return when.timestamp()  # Unix seconds (REAL)
        if self.kind == "clickhouse":
            return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        return when

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError


class _Dbapi(Writer):
    def __init__(self, raw, kind: str):
        self.raw, self.kind = raw, kind
        self.conn = DbapiConnection(raw, savepoint="predictions_import")
        self.errors = self.conn.errors

    def query(self, sql, params=()):
        return self.conn.query(sql, params)

    def insert_run(
        self, columns: list[str], values: list[Any], rows_sql: str, rows: list[tuple], json=()
    ) -> int:
        with self.conn.transaction():
            marks = ", ".join(
                "CAST(%s AS jsonb)" if c in json and self.kind == "postgres" else "%s"
                for c in columns
            )
            run_id = self.conn.query(
                f"INSERT INTO model_run ({', '.join(columns)}) VALUES ({marks}) RETURNING run_id",
                values,
            )[0][0]
            text = rows_sql if self.kind == "postgres" else rows_sql.replace("%s", "?")
            cursor = self.raw.cursor()
            cursor.executemany(text, [(run_id, *r) for r in rows])
        return run_id

    def close(self):
        self.raw.close()


class _Chdb(Writer):
    kind = "clickhouse"

    def __init__(self, url: str):
        self.db = ChdbConnection()
        self.db.open_chdb(url)
        self.errors = self.db.errors

    def query(self, sql, params=()):
        return self.db.query(sql, params)

    def insert_run(self, columns, values, rows_sql, rows, json=()) -> int:
        run_id = int(self.db.query("SELECT ifNull(max(run_id), 0) + 1 FROM model_run")[0][0])
        head = rows_sql.split(" VALUES ")[0]
        try:
            for start in range(0, len(rows), 20_000):
                chunk = rows[start : start + 20_000]
                text = ", ".join(
                    "(" + ", ".join(literal(v) for v in (run_id, *r)) + ")" for r in chunk
                )
                self.db.execute(f"{head} VALUES {text}")
            names = ["run_id", *columns]
            self.db.execute(
                f"INSERT INTO model_run ({', '.join(names)}) VALUES "
                f"({', '.join(literal(v) for v in (run_id, *values))})"
            )
        except BaseException:
            self.db.execute(f"DELETE FROM prediction WHERE run_id = {run_id}")
            raise
        return run_id

    def close(self):
        self.db.close()


@contextmanager
def open_writer(url: str) -> Iterator[Writer]:
    try:
        where = parse(url)
        if where.kind == "clickhouse":
            writer: Writer = _Chdb(url)
        elif where.kind == "postgres":
            writer = _Dbapi(open_psycopg(where.text), "postgres")
        else:
            writer = _Dbapi(open_sqlite3(where.path), "sqlite")
    except ConnectionFailed as exc:
        raise ExportError(str(exc), USAGE) from None
    try:
        yield writer
    finally:
        writer.close()
