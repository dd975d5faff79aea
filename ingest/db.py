"""The kinds of database the loader writes. SQLite and PostgreSQL servers are written through
ADBC drivers (Arrow Database Connectivity: Arrow batches go to the engine in C, SQLite's
bound INSERTs and PostgreSQL's binary COPY, no Python row loop); PGlite (the tests'
TimescaleDB, PostgreSQL built to WebAssembly) through psycopg. Only what differs between them
lives here; the loader speaks through `Database`. Opening a connection and running a statement
are the connection layer's (connection/); the bulk writes are the loader's own, here."""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from connection import ConnectionFailed, parse
from connection.clickhouse import ChdbConnection, literal
from connection.postgres import AdbcPostgres, PsycopgConnection, open_psycopg
from connection.schema import schema_file
from connection.sqlite import AdbcSqlite
from generator.model import TimescaleOptions

from .errors import UsageError

TABLE = "timeseries_point"
# the tables a load inserts one row into (insert_row): a sidecar's cell and session, the file
ROW_TABLES = ("battery_cell", "test_session", "source_file")


def timescale() -> TimescaleOptions | None:
    """timeseries_point's TimescaleDB options in the model. With elapsed_as_start (schema.yaml)
    timeseries_point is, on TimescaleDB, a view of the hypertable `store_table`, which stores
    `start_column` = time column - `column`; the loader writes the hypertable directly (the
    view's INSTEAD OF trigger takes rows one by one)."""
    return _timescale(schema_file())


@cache
def _timescale(schema_file: Path) -> TimescaleOptions | None:
    from .quality import model

    return model().table(TABLE).timescaledb


def stored_form(table: pa.Table) -> pa.Table:
    """Rows as the store table takes them (see `timescale`): the start column in microseconds
    since the epoch (the time column and the elapsed seconds each rounded to the microsecond,
    as the view's trigger and the timestamptz column do) in place of the elapsed seconds, and
    the time column too as integer microseconds."""
    ts = timescale()
    time, elapsed = ts.time_column, ts.elapsed_as_start
    recorded = pc.round(pc.multiply(table.column(time), 1e6)).cast(pa.int64())
    seconds = pc.round(pc.multiply(table.column(elapsed.column), 1e6)).cast(pa.int64())
    start = pc.subtract(recorded, seconds)
    columns, names = [], []
    for name in table.column_names:
        if name == time:
            columns.append(recorded)
        elif name == elapsed.column:
            columns.append(start)
            name = elapsed.start_column
        else:
            columns.append(table.column(name))
        names.append(name)
    return pa.table(columns, names=names)


class Database:
    kind = ""  # sqlite | postgres
    errors: tuple[type[BaseException], ...] = ()  # the driver's errors
    target = ""  # the generator's target whose CHECK dialect applies
    bulk_mode = "plain"  # how the last load wrote the rows (see Bulk classes)

    def execute(self, sql: str, params: Iterable[Any] = ()) -> None:
        raise NotImplementedError

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    def begin(self) -> None:
        raise NotImplementedError

    def begin_load(self) -> None:
        """BEGIN for a load, with what keeps two loads at once apart (connection/)."""
        self.begin()

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def read_schema(self) -> None:
        """Start-up, once per command (as the rules are read): what the bulk path compares
        the database with, from the schema in force."""

    def prepare_bulk(self, expected_rows: int) -> None:
        """Inside the file's transaction, before the first append: get the table ready for
        `expected_rows` more rows."""

    def append(self, table: pa.Table, into: str = TABLE) -> None:
        """Append checked rows (columns named as timeseries_point's) to timeseries_point."""
        raise NotImplementedError

    def arrow_form(self, table: pa.Table) -> pa.Table:
        """Checked rows for timeseries_point as `write` takes them (the engine's column types).
        Arrow compute only, no database access: the loader calls it on its reader thread."""
        return table

    # columns of the table written that are NULL when an INSERT leaves them out (nullable,
    # no default): a chunk's all-NULL ones among them are not sent (less for the driver to
    # bind and the engine to parse; about a tenth of a COPY with eight empty channels)
    optional: frozenset[str] = frozenset()

    def without_empty(self, table: pa.Table) -> pa.Table:
        empty = [
            name
            for name in table.column_names
            if name in self.optional and table.column(name).null_count == table.num_rows
        ]
        return table.drop_columns(empty) if empty and table.num_rows else table

    def write(self, table: pa.Table) -> None:
        """Append rows `arrow_form` made to timeseries_point."""
        self.append(table)

    def write_all(self, tables: Iterable[pa.Table]) -> None:
        """Append every table of `tables` (rows `arrow_form` made, in order) to
        timeseries_point: the load's bulk path. The iterator runs on this thread between the
        writes; `prepare_bulk` is called from it before its first table, when no write is
        under way."""
        for table in tables:
            self.write(table)

    def finish_bulk(self) -> None:
        """Inside the transaction, after the last append: every constraint back and valid."""

    def timestamp(self, expression: str) -> str:
        """SQL turning Unix seconds into the engine's timestamp column value."""
        raise NotImplementedError

    def epoch(self, expression: str) -> str:
        """SQL turning the engine's timestamp into Unix seconds (double precision)."""
        raise NotImplementedError

    def has_table(self, name: str) -> bool:
        raise NotImplementedError

    def insert_row(self, table: str, row: dict[str, Any], key: str, timestamps: set[str]) -> int:
        """Insert one row; the value of its key column (an identity)."""
        names = list(row)
        marks = ", ".join(
            self.timestamp("%s") if n in timestamps else self.marker(table, n) for n in names
        )
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"
        if self.kind == "sqlite":
            self.execute(sql, list(row.values()))
            return int(self.query("SELECT last_insert_rowid()")[0][0])
        return int(self.query(f"{sql} RETURNING {key}", list(row.values()))[0][0])

    def marker(self, table: str, column: str) -> str:
        """The placeholder of a value for `table.column` (typed where the driver needs it)."""
        return "%s"


# ---------------------------------------------------------------------------------- SQLite


def _generated_table_sql() -> str:
    """CREATE TABLE timeseries_point as the SQLite target writes it (sql/sqlite/schema.sql)."""
    return _table_sql(schema_file())


@cache
def _table_sql(schema_file: Path) -> str:
    """Rendered once per schema and kept in the generator's run cache (its directory, checks
    and key: the schema's bytes, the generator's files, the libraries), so that a load of the
    same schema reads it instead of rendering every CHECK for SQLite again (a tenth of a small
    file's load). The schema was read, and refused if it has problems, before any load."""
    from generator import cache as run_cache

    where = run_cache.directory()
    raw = run_cache.read_schema(schema_file) if where is not None else None
    key = None
    if raw is not None:
        key = run_cache.key(
            raw, str(schema_file), {"ingest": "sqlite create table", "table": TABLE}
        )
        stored = run_cache.get(where, key)
        if stored is not None and "sql" in stored:
            return stored["sql"]
    from generator.targets import TARGETS

    from .quality import model

    sql = TARGETS["sqlite"].create_table_sql(model(), TABLE)
    if key is not None and run_cache.read_schema(schema_file) == raw:
        run_cache.put(where, key, {"sql": sql})
    return sql


class SqliteDatabase(AdbcSqlite, Database):
    """SQLite through adbc-driver-sqlite (connection/sqlite.py)."""

    kind = "sqlite"
    target = "sqlite"

    def __init__(self, path: str):
        try:
            self.open_adbc(path)
        except ConnectionFailed as exc:
            raise UsageError(
                f"{exc}; create it first (liam-erd-schema db --path {path}, or make db DB={path})"
            ) from None
        self.path = path
        self.dropped: list[tuple[str, str]] = []
        self.optional = frozenset(
            name
            for _cid, name, _type, notnull, default, pk in self.query(f"PRAGMA table_info({TABLE})")
            if not notnull and default is None and not pk
        )

    def read_schema(self):
        _generated_table_sql()  # rendered, or read from the run cache, once per schema

    def prepare_bulk(self, expected_rows):
        """The rows were checked against the schema's CHECKs (Arrow, quality.py) already:
        when the table is exactly the generated one, SQLite does not evaluate them a second
        time per row (PRAGMA ignore_check_constraints, this connection, this load only). NOT
        NULL, the key and the foreign key stay enforced by SQLite."""
        have = self.query(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s", [TABLE]
        )
        same = bool(have) and have[0][0].strip() == _generated_table_sql().strip()
        self.bulk_mode = "checks-in-arrow" if same else "plain"
        if same:
            self.execute("PRAGMA ignore_check_constraints = ON")
        # a large load into a table that holds fewer rows than the file brings: the secondary
        # indexes (session, time) are built once at the end, sorted, instead of row by row
        # (the primary key stays: it is the table's order, WITHOUT ROWID). Counting stops
        # after expected_rows + 1 rows, so the decision costs less than the load.
        self.dropped = []
        existing = self.query(
            f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} LIMIT %s)", [expected_rows + 1]
        )[0][0]
        if existing <= expected_rows:
            self.dropped = self.query(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                "AND sql IS NOT NULL ORDER BY name",
                [TABLE],
            )
            for name, _sql in self.dropped:
                self.execute(f"DROP INDEX {name}")
        if self.dropped:
            self.bulk_mode += "+indexes-rebuilt"

    def arrow_form(self, table):
        return self.without_empty(table)

    def append(self, table, into=TABLE):
        with self.raw.cursor() as cursor:
            cursor.adbc_ingest(into, table, mode="append")

    def finish_bulk(self):
        self.execute("PRAGMA ignore_check_constraints = OFF")
        for _name, sql in self.dropped:  # the same statement, inside the same transaction
            self.execute(sql)
        self.dropped = []

    def timestamp(self, expression):
        return expression

    def epoch(self, expression):
        return expression

    def has_table(self, name):
        return bool(self.query("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", [name]))


# ------------------------------------------------------------------------------ PostgreSQL


# rows per batch of a load's COPY: the driver encodes a batch whole before it sends it, so a
# small one keeps the server busy while the next is encoded (4,096 rows: about 3 ms to encode)
COPY_BATCH_ROWS = 4096

_ARROW_TYPES = {
    "integer": pa.int32(),
    "smallint": pa.int16(),
    "bigint": pa.int64(),
    "real": pa.float32(),
    "double precision": pa.float64(),
    "text": pa.string(),
    "timestamp with time zone": pa.timestamp("us", "UTC"),
}


class PostgresDatabase(AdbcPostgres, Database):
    """A PostgreSQL (or TimescaleDB) server through adbc-driver-postgresql: rows go in by
    binary COPY straight from Arrow."""

    kind = "postgres"
    target = "postgres"

    def __init__(self, url: str):
        try:
            self.open_adbc(url)
        except ConnectionFailed as exc:
            raise UsageError(str(exc)) from None
        # PGlite answers a query over ADBC too (it is COPY that it cannot take): connect() hands
        # it to psycopg, which a load into any other server need not import or connect with
        version, self.version_num = self.query(
            "SELECT version(), current_setting('server_version_num')::int"
        )[0]
        self.pglite = "Emscripten" in version
        if self.pglite:
            return
        self.find_store()
        columns = self.query(
            "SELECT column_name::text, data_type::text, is_nullable = 'YES' AND column_default "
            "IS NULL FROM information_schema.columns WHERE table_name = %s AND table_schema = "
            "current_schema()",
            [self.store or TABLE],
        )
        self.types = {name: _ARROW_TYPES[kind] for name, kind, _ in columns if kind in _ARROW_TYPES}
        self.optional = frozenset(name for name, _, optional in columns if optional)
        self.deferred: list[tuple[str, str, str, str, str | None]] = []
        self.column_types: dict[str, dict[str, str]] = {}

    def find_store(self) -> None:
        """TimescaleDB or not, and the store table the samples go to, if the database has it:
        `self.store` (None: the loader writes timeseries_point)."""
        if self.query("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"):
            self.target = "timescaledb"
        ts = timescale() if self.target == "timescaledb" else None
        elapsed = ts.elapsed_as_start if ts else None
        self.store = (
            elapsed.store_table if elapsed and self.has_table(elapsed.store_table) else None
        )

    def prepare_bulk(self, expected_rows):
        """How the rows go in, inside the file's transaction, chosen so that no reader of
        timeseries_point waits for the load (docs/loading.md, "What a load locks"):
        - `foreign-key-once`: every key, index and CHECK stays and is enforced by the engine
          as the rows arrive; only the foreign key to test_session is checked by the loader,
          once per session (the row locked FOR KEY SHARE, as the key's trigger does per row)
          instead of by a trigger per row (`session_replication_role = replica` for the
          COPY: the per-row trigger was two thirds of the load). COPY takes ROW EXCLUSIVE on
          timeseries_point, which no reader waits for. Needs the right to set
          session_replication_role (a superuser, or GRANT SET ON PARAMETER
          session_replication_role, PostgreSQL 15+) and no trigger of your own on the table
          (replica mode would skip it);
        - without that right: `keys` into a table that holds no row at all (the README's
          recipe: the primary key, its indexes and every foreign key of or to
          timeseries_point dropped and re-created once; its ACCESS EXCLUSIVE lock holds back
          nobody's samples, there are none), else `plain`: COPY with every constraint and its
          trigger in place.
        TimescaleDB's hypertable keeps its constraints (plain)."""
        self.deferred = []
        self.checked_sessions: set[int] = set()
        self.bulk_mode = "plain"
        if self.target != "postgres":
            return
        if self._may_check_foreign_key():
            self.execute("SET LOCAL session_replication_role = replica")
            self.bulk_mode = "foreign-key-once"
            return
        if self.query(f"SELECT 1 FROM {TABLE} LIMIT 1"):
            return
        self.bulk_mode = "keys"
        own = self.query(
            "SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid), "
            "obj_description(c.oid, 'pg_constraint'), c.contype::text FROM pg_constraint c "
            "WHERE c.contype IN ('p', 'f') AND (c.conrelid = %s::regclass "
            "OR c.confrelid = %s::regclass) AND c.conrelid <> 0 ORDER BY c.contype DESC, c.conname",
            [TABLE, TABLE],
        )
        # re-added in this order: the primary key before the foreign keys that need it
        constraints = [
            (table, "constraint", f"CONSTRAINT {name} {definition}", name, comment)
            for table, name, definition, comment, _kind in own
        ]
        indexes = [
            (TABLE, "index", definition, name, comment)
            for name, definition, comment in self.query(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), "
                "obj_description(i.indexrelid, 'pg_class') FROM pg_index i "
                "WHERE i.indrelid = %s::regclass AND NOT EXISTS (SELECT 1 FROM "
                "pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN "
                "('p', 'u', 'x'))",
                [TABLE],
            )
        ]
        for table, _, _, name, _ in reversed(constraints):
            self.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        for _, _, _, name, _ in indexes:
            self.execute(f"DROP INDEX {name}")
        self.deferred = constraints + indexes

    def _may_check_foreign_key(self) -> bool:
        """May this load check the session foreign key itself (`foreign-key-once`): the role
        may set session_replication_role, and timeseries_point has no trigger of its own that
        replica mode would skip (only the keys' internal ones)."""
        if self.version_num < 150000:
            return False  # has_parameter_privilege is PostgreSQL 15's
        return bool(
            self.query(
                "SELECT has_parameter_privilege('session_replication_role', 'SET') AND NOT "
                "EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass "
                "AND NOT tgisinternal)",
                [TABLE],
            )[0][0]
        )

    def _check_sessions(self, table: pa.Table) -> None:
        """`foreign-key-once`: the foreign key to test_session, checked by the loader once per
        session a chunk brings (the session's row locked FOR KEY SHARE until commit, so it
        cannot be deleted under the load, as the key's own trigger locks it). A session that
        is not there turns the engine's per-row check back on for the rest of the load, so
        the engine refuses the rows in its own words."""
        if self.bulk_mode != "foreign-key-once" or "session_id" not in table.column_names:
            return
        for session in pc.unique(table.column("session_id")).to_pylist():
            if session in self.checked_sessions or session is None:
                continue
            if not self.query(
                "SELECT 1 FROM test_session WHERE session_id = %s FOR KEY SHARE", [session]
            ):
                self.execute("SET LOCAL session_replication_role = DEFAULT")
                self.bulk_mode = "plain"
                return
            self.checked_sessions.add(session)

    def arrow_form(self, table, into=TABLE):
        if into == TABLE and self.store:  # TimescaleDB: the hypertable behind the view
            table = stored_form(table)
        if into == TABLE:
            table = self.without_empty(table)
        columns = []
        for name in table.column_names:
            column = table.column(name)
            if name == "recorded_at" and pa.types.is_floating(column.type):
                # Unix seconds to timestamptz (microseconds)
                column = pc.round(pc.multiply(column, 1e6)).cast(pa.int64())
            if name in self.types:
                column = column.cast(self.types[name])
            columns.append(column)
        return pa.table(columns, names=table.column_names)

    def write(self, table):
        self._check_sessions(table)
        with self.raw.cursor() as cursor:
            cursor.adbc_ingest(self.store or TABLE, table, mode="append")

    def write_all(self, tables):
        """The chunks as one COPY while their columns stay the same (a chunk whose empty
        optional columns differ, or one that brings a session not yet checked, starts the
        next): the driver encodes the next batch while the server stores the one before,
        where a COPY per chunk left the server waiting for each chunk's encoding and the
        driver waiting for the server's end of it (a fifth of the COPY's time)."""
        tables = iter(tables)
        table = next(tables, None)
        while table is not None:
            self._check_sessions(table)  # no COPY is open: a query may run
            schema, after, failed = table.schema, [], []

            def batches(first=table, schema=schema, after=after, failed=failed):
                # the reader's error (or an interrupt) ends the COPY cleanly and is raised
                # once the driver is done: a COPY cut off inside the driver would leave the
                # connection in the middle of it, where not even the rollback could run
                try:
                    yield from first.to_batches(COPY_BATCH_ROWS)
                    for table in tables:
                        if table.schema != schema or not self._sessions_checked(table):
                            after.append(table)
                            return
                        yield from table.to_batches(COPY_BATCH_ROWS)
                except BaseException as exc:  # noqa: BLE001 - raised below, unchanged
                    failed.append(exc)

            stream = pa.RecordBatchReader.from_batches(schema, batches())
            with self.raw.cursor() as cursor:
                cursor.adbc_ingest(self.store or TABLE, stream, mode="append")
            if failed:
                raise failed[0]
            table = after[0] if after else None

    def _sessions_checked(self, table: pa.Table) -> bool:
        """Whether every session of `table` was checked already (or needs no check)."""
        if self.bulk_mode != "foreign-key-once" or "session_id" not in table.column_names:
            return True
        return all(
            s is None or s in self.checked_sessions
            for s in pc.unique(table.column("session_id")).to_pylist()
        )

    def append(self, table, into=TABLE):
        prepared = self.arrow_form(table, into)
        if into == TABLE and self.store:
            into = self.store
        if into == TABLE:
            self._check_sessions(prepared)
        with self.raw.cursor() as cursor:
            cursor.adbc_ingest(into, prepared, mode="append")

    def finish_bulk(self):
        if self.bulk_mode == "foreign-key-once":  # the rest of the transaction as always
            self.execute("SET LOCAL session_replication_role = DEFAULT")
        for table, kind, definition, name, comment in self.deferred:
            if kind == "constraint":
                self.execute(f"ALTER TABLE {table} ADD {definition}")
                target = f"CONSTRAINT {name} ON {table}"
            else:
                self.execute(definition)
                target = f"INDEX {name}"
            if comment is not None:
                self.execute(f"COMMENT ON {target} IS '{comment.replace(chr(39), chr(39) * 2)}'")
        self.deferred = []

    def timestamp(self, expression):
        return f"to_timestamp({expression})"

    def epoch(self, expression):
        return f"extract(epoch FROM {expression})::float8"

    def has_table(self, name):
        return self.query("SELECT to_regclass(%s)::text", [name])[0][0] is not None

    def marker(self, table, column):
        """ADBC binds typed parameters (text, bigint, double): cast each to its column's type,
        which PostgreSQL does for text to jsonb, date or an enum only when asked."""
        types = self.column_types.get(table)
        if types is None:
            # the columns of the tables a load inserts a row into (a sidecar's cell and
            # session, the file's source_file), read in one round trip, with `table`'s
            for name, attribute, kind in self.query(
                "SELECT attrelid::regclass::text, attname::text, "
                "format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid IN "
                "(SELECT to_regclass(t) FROM unnest(%s::text[]) t) AND attnum > 0 "
                "AND NOT attisdropped",
                ["{" + ",".join(dict.fromkeys([table, *ROW_TABLES])) + "}"],
            ):
                self.column_types.setdefault(name, {})[attribute] = kind
            types = self.column_types.setdefault(table, {})
        kind = types.get(column)
        return f"CAST(%s AS {kind})" if kind else "%s"


class PgliteDatabase(PsycopgConnection, PostgresDatabase):
    """PGlite (PostgreSQL built to WebAssembly: the tests' TimescaleDB) through psycopg. It
    crashes on COPY FROM STDIN over its socket, so rows go in as multi-row INSERTs."""

    def __init__(self, raw):
        self.attach(raw)
        self.target = "postgres"
        self.find_store()
        self.deferred = []

    def prepare_bulk(self, expected_rows):
        self.bulk_mode = "plain"

    def marker(self, table, column):
        return "%s"

    def arrow_form(self, table, into=TABLE):
        if into == TABLE and self.store:  # TimescaleDB: the hypertable behind the view
            stored = stored_form(table)
            # integer microseconds as exact Unix seconds (a double holds them exactly)
            table = pa.table(
                [
                    pc.divide(c.cast(pa.float64()), 1e6) if n in self._timestamps(True) else c
                    for n, c in zip(stored.column_names, stored.columns, strict=True)
                ],
                names=stored.column_names,
            )
        return table

    def _timestamps(self, store: bool) -> tuple[str, ...]:
        """The Unix-seconds columns of rows for timeseries_point, or for its store table."""
        if not store:
            return ("recorded_at",)
        return ("recorded_at", timescale().elapsed_as_start.start_column)

    def write(self, table):
        self._insert(table, self.store or TABLE)

    write_all = Database.write_all  # INSERTs chunk by chunk (no COPY to stream)

    def append(self, table, into=TABLE):
        prepared = self.arrow_form(table, into)
        self._insert(prepared, self.store if into == TABLE and self.store else into)

    def _insert(self, table, into):
        timestamps = self._timestamps(into == self.store)
        names = table.column_names
        rows = list(zip(*(table.column(n).to_pylist() for n in names), strict=True))
        marks = ", ".join(self.timestamp("%s") if n in timestamps else "%s" for n in names)
        with self.raw.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {into} ({', '.join(names)}) VALUES ({marks})", rows)

    def finish_bulk(self):
        pass


# ------------------------------------------------------------------------------ ClickHouse


class ClickHouseDatabase(ChdbConnection, Database):
    """ClickHouse through chdb (the real engine in process, on a data directory): the
    generated tables, written as a ClickHouse writer must (NULLs are not turned into defaults).

    ClickHouse has no transactions, so a file is made all or nothing by hand: its rows go to a
    staging table with timeseries_point's structure (its CHECKs enforced by ClickHouse on every
    insert, after the loader's own), which is attached to timeseries_point partition by
    partition (each attach atomic) only when the whole file passed; what a refused file had
    written (a sidecar's cell and session) is deleted again. No foreign, primary or unique key
    is enforced by ClickHouse; the loader keeps them: the session must exist in test_session,
    record indexes continue the session's (never repeated), and a file's SHA-256 is looked up
    in source_file before it counts as loaded. Identity columns do not exist: the loader
    assigns max + 1. One loader at a time per database."""

    kind = "clickhouse"
    target = "clickhouse"

    def __init__(self, url: str):
        try:
            self.open_chdb(url)
        except ConnectionFailed as exc:
            raise UsageError(str(exc)) from None
        self.stage = f"ingest_stage_{os.getpid()}"
        self.written: list[tuple[str, str, int]] = []  # (table, key, id) to undo
        self.appended: tuple[int, int] | None = None  # (session, first record) in the table
        self.attached = False

    def begin(self):
        self.written = []
        self.appended = None
        self.attached = False

    def commit(self):
        self.written = []
        self.appended = None

    def rollback(self):
        self.raw.query(f"DROP TABLE IF EXISTS {self.database}.{self.stage}")
        if self.attached and self.appended is not None:
            session_id, first = self.appended
            self.execute(
                f"DELETE FROM {TABLE} WHERE session_id = %s AND record_index >= %s",
                [session_id, first],
            )
        for table, key, value in reversed(self.written):
            self.execute(f"DELETE FROM {table} WHERE {key} = %s", [value])
        self.written = []
        self.appended = None

    def insert_row(self, table, row, key, timestamps):
        if key not in row:
            row = {key: self.query(f"SELECT ifNull(max({key}), 0) + 1 FROM {table}")[0][0], **row}
        names = list(row)
        values = [
            f"toDateTime64({literal(v)}, 3, 'UTC')" if n in timestamps else literal(v)
            for n, v in row.items()
        ]
        self.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(values)})")
        self.written.append((table, key, int(row[key])))
        return int(row[key])

    def prepare_bulk(self, expected_rows):
        self.bulk_mode = "staged-attach"
        self.raw.query(f"DROP TABLE IF EXISTS {self.database}.{self.stage}")
        self.raw.query(f"CREATE TABLE {self.database}.{self.stage} AS {self.database}.{TABLE}")

    def append(self, table, into=None):
        if self.appended is None:
            self.appended = (
                table.column("session_id")[0].as_py(),
                table.column("record_index")[0].as_py(),
            )
        chunk = table  # noqa: F841 - read by name by ClickHouse's Python() table function
        names = table.column_names
        select = ["toDateTime64(recorded_at, 3, 'UTC')" if n == "recorded_at" else n for n in names]
        self.run(
            f"INSERT INTO {self.database}.{into or self.stage} ({', '.join(names)}) "
            f"SELECT {', '.join(select)} FROM Python(chunk)"
        )

    def finish_bulk(self):
        parts = self.query(
            "SELECT DISTINCT partition_id FROM system.parts WHERE database = %s AND table = %s "
            "AND active",
            [self.database, self.stage],
        )
        self.attached = True
        for (partition,) in parts:
            self.raw.query(
                f"ALTER TABLE {self.database}.{TABLE} ATTACH PARTITION ID {literal(partition)} "
                f"FROM {self.database}.{self.stage}"
            )
        self.raw.query(f"DROP TABLE IF EXISTS {self.database}.{self.stage}")

    def timestamp(self, expression):
        return f"toDateTime64({expression}, 3, 'UTC')"

    def epoch(self, expression):
        return f"toFloat64({expression})"


def connect(url: str) -> Database:
    """`sqlite:///path`, a plain path (SQLite), `postgresql://...` / a libpq key=value DSN, or
    `chdb:///dir?database=NAME` (connection.parse)."""
    try:
        where = parse(url)
        if where.kind == "postgres":
            database = PostgresDatabase(url)
            if not database.pglite:
                return database
            database.close()
            return PgliteDatabase(open_psycopg(url))
    except ConnectionFailed as exc:
        raise UsageError(str(exc)) from None
    if where.kind == "clickhouse":
        return ClickHouseDatabase(url)
    return SqliteDatabase(where.path)
