"""Reading a database as Arrow record batches, the same query on every engine, streamed:
SQLite and PostgreSQL through their ADBC drivers (Arrow in C, no Python object per value),
TimescaleDB on PGlite through psycopg (PGlite's single backend does not serve ADBC's COPY),
ClickHouse through chdb's streaming Arrow result. `%s` placeholders everywhere
(connection/ turns them into each driver's)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

from connection import ConnectionFailed, parse
from connection.clickhouse import ChdbConnection, bind
from connection.postgres import dollar, is_pglite, open_psycopg
from connection.sqlite import placeholders, require_file

from .errors import ExportError

BATCH_ROWS = 65_536
BUILTIN_TYPES = {"adbc.postgresql.type_resolver_mode": "builtin"}


class Source:
    """One open database to read from (`open_source(url)`); `kind` is sqlite, postgres or
    clickhouse."""

    kind: str

    def batches(self, sql: str, params: Iterable[Any] = (), rows: int = BATCH_ROWS):
        raise NotImplementedError

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    def close(self) -> None:
        self.raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Adbc(Source):
    def _text(self, sql: str, params: tuple) -> str:
        raise NotImplementedError

    def batches(self, sql, params=(), rows=BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        params = tuple(params)
        with self.raw.cursor() as cursor:
            self._batch_option(cursor, rows)
            cursor.execute(self._text(sql, params), params or None)
            yield from cursor.fetch_record_batch()

    def _batch_option(self, cursor, rows: int) -> None:
        pass

    def query(self, sql, params=()) -> list[tuple]:
        params = tuple(params)
        with self.raw.cursor() as cursor:
            cursor.execute(self._text(sql, params), params or None)
            return [tuple(r) for r in cursor.fetchall()]


class _Sqlite(_Adbc):
    kind = "sqlite"

    def __init__(self, path: str):
        require_file(path)
        from adbc_driver_sqlite import dbapi

        self.errors = (dbapi.Error,)
        self.raw = dbapi.connect(path, autocommit=True)

    def _text(self, sql, params):
        return placeholders(sql)

    def _batch_option(self, cursor, rows):
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(rows)})


class _Postgres(_Adbc):
    kind = "postgres"

    def __init__(self, url: str):
        from adbc_driver_postgresql import dbapi

        self.errors = (dbapi.Error,)
        try:  # the export reads built-in types only (the generator makes no others): the
            # driver's own table of them, not pg_type read from the server at every connect
            # (0.05 s of CPU, client and server, about a tenth of a 200,000-row export)
            self.raw = dbapi.connect(url, db_kwargs=BUILTIN_TYPES, autocommit=True)
        except dbapi.Error as exc:
            raise ConnectionFailed(f"cannot connect to the PostgreSQL database: {exc}") from None

    def _text(self, sql, params):
        return dollar(sql) if params else sql

    def batches(self, sql, params=(), rows=BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        # the driver streams a statement without parameters by binary COPY, parsed batch by
        # batch while the server writes the next; one with parameters it runs by
        # PQexecParams and holds its whole result in libpq's memory first (a third more CPU
        # on the client, and no overlap): so the values go into the text as literals
        return super().batches(inline(sql, params), (), rows)


def inline(sql: str, params: Iterable[Any]) -> str:
    """`sql` with each `%s` replaced by its value as a PostgreSQL literal (psycopg's quoting:
    strings escaped, numbers as they are)."""
    from psycopg.sql import Literal

    values = iter(params)
    return re.sub(r"%s", lambda _m: Literal(next(values)).as_string(), sql)


class _Psycopg(Source):
    """PGlite (the tests' TimescaleDB): rows through a server-side cursor, batch by batch."""

    kind = "postgres"

    def __init__(self, raw):
        import psycopg

        self.errors = (psycopg.Error,)
        self.raw = raw

    def batches(self, sql, params=(), rows=BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        with self.raw.transaction(), self.raw.cursor(name="export_stream") as cursor:
            cursor.execute(sql, tuple(params))
            names = None
            while chunk := cursor.fetchmany(rows):
                names = names or [d.name for d in cursor.description]
                columns = list(zip(*chunk, strict=True))
                yield pa.RecordBatch.from_arrays([pa.array(c) for c in columns], names=names)

    def query(self, sql, params=()) -> list[tuple]:
        return self.raw.execute(sql, tuple(params)).fetchall()


class _Chdb(Source):
    kind = "clickhouse"

    def __init__(self, url: str):
        self.db = ChdbConnection()
        self.db.open_chdb(url)
        self.errors = self.db.errors
        self.raw = self.db.raw

    def batches(self, sql, params=(), rows=BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        self.db.run("SELECT 1")  # USE the database, SET the writer's settings
        stream = self.raw.send_query(bind(sql, params), "Arrow")
        try:
            yield from stream.record_batch(rows)
        finally:
            stream.close()

    def query(self, sql, params=()) -> list[tuple]:
        return self.db.query(sql, params)


def open_source(url: str) -> Source:
    """A database URL (connection.parse) opened for reading; ExportError when it cannot be."""
    try:
        where = parse(url)
        if where.kind == "clickhouse":
            return _Chdb(url)
        if where.kind == "sqlite":
            return _Sqlite(where.path)
        raw = open_psycopg(where.text)
        if is_pglite(raw):
            return _Psycopg(raw)
        raw.close()
        return _Postgres(where.text)
    except ConnectionFailed as exc:
        raise ExportError(str(exc), 2) from None
