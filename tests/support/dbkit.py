"""One small interface over SQLite (sqlite3) and the PostgreSQL-family engines (psycopg), so the
same rows and queries run on every engine and their answers can be compared.

SQL is written with %s placeholders. Values are adapted per engine the way the generated
schemas say: a timestamp is an aware datetime on PostgreSQL/TimescaleDB and Unix seconds on
SQLite; JSON is a Python object (jsonb) or its text (SQLite).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connection.sqlite import open_sqlite3, placeholders
from generator import load_schema
from generator.sqltext import split_statements

__all__ = ["split_statements"]  # the generator's splitter, for the tests that split DDL

ROOT = Path(__file__).resolve().parents[2]

# the json columns of schema.yaml (split_spec, hyperparameters, original_units...)
JSON_COLUMNS = {
    c.name for t in load_schema(ROOT / "schema.yaml").tables for c in t.columns if c.type == "json"
}


class Rejected(Exception):
    """The engine refused a statement (constraint or key violation); `.detail` says why."""

    def __init__(self, engine: str, detail: str):
        super().__init__(f"{engine}: {detail}")
        self.engine = engine
        self.detail = detail


class Conn:
    """A connection with the schema loaded, in one open transaction (see `attempt`)."""

    def __init__(self, name: str, kind: str, raw, errors: tuple[type[BaseException], ...]):
        self.name = name  # e.g. sqlite, postgres15, postgres18, timescaledb
        self.kind = kind  # sqlite | postgres
        self.raw = raw
        self.errors = errors
        self._savepoints = 0

    # -- values ----------------------------------------------------------------------------
    def adapt(self, column: str | None, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.timestamp() if self.kind == "sqlite" else value
        if column in JSON_COLUMNS and value is not None:
            if self.kind == "sqlite":
                return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            from psycopg.types.json import Jsonb

            # text goes as text, so the server's own JSON parser accepts or rejects it
            return value if isinstance(value, str) else Jsonb(value)
        return value

    def sql(self, text: str) -> str:
        return placeholders(text) if self.kind == "sqlite" else text

    # -- statements ------------------------------------------------------------------------
    def execute(self, text: str, params: tuple | list = ()) -> None:
        self._run(text, params)

    def query(self, text: str, params: tuple | list = ()) -> list[tuple]:
        cursor = self._run(text, params)
        rows = cursor.fetchall()
        return [tuple(_plain(v) for v in row) for row in rows]

    def executemany(self, text: str, rows: list[tuple]) -> None:
        if self.kind == "sqlite":
            self.raw.executemany(self.sql(text), rows)
        else:
            with self.raw.cursor() as cursor:
                cursor.executemany(text, rows)

    def insert(self, table: str, row: dict[str, Any]) -> None:
        columns = list(row)
        values = tuple(self.adapt(c, row[c]) for c in columns)
        placeholders = ", ".join(["%s"] * len(columns))
        self.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", values)

    def insert_many(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        placeholders = ", ".join(["%s"] * len(columns))
        adapted = [
            tuple(self.adapt(c, v) for c, v in zip(columns, row, strict=True)) for row in rows
        ]
        self.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", adapted
        )

    def _run(self, text: str, params):
        try:
            if self.kind == "sqlite":
                return self.raw.execute(self.sql(text), tuple(params))
            return self.raw.execute(text, tuple(params) if params else None)
        except self.errors as exc:
            raise Rejected(self.name, _first_line(exc)) from None

    @contextlib.contextmanager
    def attempt(self) -> Iterator[None]:
        """Run a block in a savepoint that is always rolled back: the database is unchanged
        afterwards, whether the block succeeded or the engine rejected it."""
        self._savepoints += 1
        name = f"sp_{self._savepoints}"
        self._run(f"SAVEPOINT {name}", ())
        try:
            yield
        finally:
            self._run(f"ROLLBACK TO SAVEPOINT {name}", ())
            self._run(f"RELEASE SAVEPOINT {name}", ())


def _plain(value):
    """Engine values in one form: Decimal -> float, datetime -> Unix seconds."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return value


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def ddl_text(target: str) -> str:
    return (ROOT / "sql" / target / "schema.sql").read_text(encoding="utf-8")


def sqlite_db(path: Path | str) -> Path:
    """An SQLite database of the generated schema (sql/sqlite/schema.sql) at path."""
    conn = sqlite3.connect(path)
    conn.executescript(ddl_text("sqlite"))
    conn.close()
    return Path(path)


@contextlib.contextmanager
def sqlite_conn(tmp_dir: Path) -> Iterator[Conn]:
    path = tmp_dir / "schema.sqlite"
    path.unlink(missing_ok=True)
    raw = open_sqlite3(path, must_exist=False)
    try:
        raw.executescript(ddl_text("sqlite"))
        raw.execute("BEGIN")
        yield Conn("sqlite", "sqlite", raw, (sqlite3.IntegrityError,))
        raw.execute("ROLLBACK")
    finally:
        raw.close()


@contextlib.contextmanager
def pg_conn(engine, target: str, prefix: str) -> Iterator[Conn]:
    """A fresh database on a PostgreSQL-family engine with `sql/<target>/schema.sql` loaded."""
    import psycopg

    with engine.fresh_database(prefix) as database:
        raw = database.connect(autocommit=True)
        try:
            load_pg_ddl(raw, ddl_text(target))
            raw.execute("BEGIN")
            yield Conn(
                engine.name,
                "postgres",
                raw,
                (
                    psycopg.errors.IntegrityError,
                    psycopg.errors.DataError,
                    psycopg.errors.InvalidTextRepresentation,
                ),
            )
            raw.execute("ROLLBACK")
        finally:
            raw.close()


def load_pg_ddl(raw, text: str) -> None:
    """Run a DDL file statement by statement, so an error names the statement."""
    for statement in split_statements(text):
        try:
            raw.execute(statement)
        except Exception as exc:
            raise AssertionError(
                f"{type(exc).__name__}: {exc}\nin statement:\n{statement}"
            ) from None


def row_engine_names() -> list[str]:
    """The fixture names of the row-store engines a cross-engine test compares: SQLite, a
    PostgreSQL server (18, or the one of $LIAM_ERD_SCHEMA_PG_DSN) and TimescaleDB."""
    import harness

    return ["sqlite", "pg_env" if harness.own_dsn_is_set() else "pg18", "timescale"]


def fresh_urls(
    request, tmp_path_factory, stack: contextlib.ExitStack, prefix: str, names=None
) -> Iterator[tuple[str, str, Path]]:
    """(engine fixture name, url, a temporary directory of its own) for each engine of `names`
    (default row_engine_names()), in a fresh database with this checkout's DDL loaded: a new
    SQLite file, or a fresh database of the session's server (closed with `stack`)."""
    for name in names or row_engine_names():
        tmp = tmp_path_factory.mktemp(f"{prefix}-{name}")
        if name == "sqlite":
            path = tmp / "battery.sqlite"
            raw = open_sqlite3(path, must_exist=False)
            try:
                raw.executescript(ddl_text("sqlite"))
            finally:
                raw.close()
            yield name, f"sqlite:///{path}", tmp
            continue
        database = stack.enter_context(request.getfixturevalue(name).fresh_database(prefix))
        with database.connect() as raw:
            load_pg_ddl(raw, ddl_text("timescaledb" if name == "timescale" else "postgres"))
        yield name, database.conninfo(), tmp
