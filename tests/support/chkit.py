"""The real ClickHouse engine in process (chdb), behind the same small interface as dbkit.Conn.

chdb runs ClickHouse itself (26.9 for chdb 4.4) inside the Python process, on a scratch
directory: no server, no cluster. Every connection sets what the generated file's header asks
of a writer (NULL into a required column is an error, not 0) and SQL's outer-join NULLs.

SQL keeps the %s placeholders of dbkit; values are written as ClickHouse literals, since chdb
has no parameter binding for arbitrary statements.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.model import Schema
from tests.support.dbkit import JSON_COLUMNS, ROOT, Rejected, split_statements

# What the header of sql/clickhouse/schema.sql asks of every writer, plus SQL's NULLs from
# outer joins (ClickHouse fills unmatched columns with 0 / '' by default).
SESSION_SETTINGS = {
    "input_format_null_as_default": 0,
    "insert_null_as_default": 0,
    "join_use_nulls": 1,
    "output_format_json_quote_64bit_integers": 0,
    "mutations_sync": 2,
}


def literal(value: Any, column: str | None = None) -> str:
    if value is None:
        return "NULL"
    if column in JSON_COLUMNS and not isinstance(value, str):
        value = json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        text = value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return f"toDateTime64('{text}', 6, 'UTC')"
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def bind(text: str, params: tuple | list) -> str:
    parts = text.split("%s")
    if len(parts) - 1 != len(params):
        raise ValueError(f"{len(params)} parameters for {len(parts) - 1} placeholders")
    out = [parts[0]]
    for value, rest in zip(params, parts[1:], strict=True):
        out += [literal(value), rest]
    return "".join(out)


_UPDATE = re.compile(r"^\s*UPDATE\s+(\w+)\s+SET\s+(.*?)\s+WHERE\s+(.*)$", re.S | re.I)


class ClickHouseConn:
    """dbkit.Conn's interface over one chdb session. No transactions: a row that ClickHouse
    accepts stays; the corpus does not depend on earlier rows, since ClickHouse checks each row
    on its own (no keys)."""

    name = kind = "clickhouse"

    def __init__(self, session, schema: Schema, database: str):
        self.session = session
        self.schema = schema
        self.database = database

    def _raw(self, text: str, fmt: str = "CSV"):
        if _CURRENT.get("database") != self.database:  # one chdb session serves every conn
            self.session.query(f"USE {self.database}")
            _CURRENT["database"] = self.database
        try:
            return self.session.query(text, fmt)
        except Exception as exc:  # chdb raises RuntimeError with ClickHouse's message
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise Rejected(self.name, first) from None

    def execute(self, text: str, params: tuple | list = ()) -> None:
        text = bind(text, params)
        match = _UPDATE.match(text)
        if match:  # the mutation form: plain UPDATE needs a lightweight-update table setting
            table, sets, where = match.groups()
            text = f"ALTER TABLE {table} UPDATE {sets} WHERE {where}"
        self._raw(text)

    def query(self, text: str, params: tuple | list = ()) -> list[tuple]:
        # PostgreSQL's numeric is exact decimal; Float64 rounds the same for these answers.
        text = re.sub(r"AS numeric\b", "AS Float64", bind(text, params))
        result = self._raw(text, "JSONCompact")
        data = json.loads(result.bytes() or b'{"data": []}')
        return [tuple(row) for row in data["data"]]

    def insert(self, table: str, row: dict[str, Any]) -> None:
        row = {**self.identity_values(table, row), **row}
        columns = list(row)
        values = ", ".join(literal(row[c], c) for c in columns)
        self._raw(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})")

    def insert_many(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        values = ",\n".join(
            "(" + ", ".join(literal(v, c) for c, v in zip(columns, row, strict=True)) + ")"
            for row in rows
        )
        self._raw(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}")

    def identity_values(self, table: str, row: dict) -> dict:
        """ClickHouse has no identity columns: the writer assigns the next key of the small
        tables, as the header says (bigint keys get a server-side Snowflake id instead)."""
        out = {}
        for column in self.schema.table(table).columns:
            if column.identity and column.type != "bigint" and column.name not in row:
                top = self.query(f"SELECT max({column.name}) FROM {table}")[0][0]
                out[column.name] = int(top or 0) + 1
        return out


_SESSION: dict[str, Any] = {}
_CURRENT: dict[str, str] = {}


def chdb_session(tmp: Path):
    """The process's one chdb session: the embedded server can open one path per process."""
    if "session" not in _SESSION:
        from chdb import session

        sess = session.Session(str(tmp / "chdb"))
        for name, value in SESSION_SETTINGS.items():
            sess.query(f"SET {name} = {value}")
        _SESSION["session"] = sess
    return _SESSION["session"]


@contextlib.contextmanager
def clickhouse(tmp: Path, schema: Schema, database: str) -> Iterator[ClickHouseConn]:
    """A fresh database with sql/clickhouse/schema.sql loaded, dropped afterwards."""
    sess = chdb_session(tmp)
    sess.query(f"DROP DATABASE IF EXISTS {database}")
    sess.query(f"CREATE DATABASE {database}")
    sess.query(f"USE {database}")
    _CURRENT["database"] = database
    text = (ROOT / "sql" / "clickhouse" / "schema.sql").read_text(encoding="utf-8")
    for statement in split_statements(text):
        try:
            sess.query(statement)
        except Exception as exc:
            raise AssertionError(f"ClickHouse rejects:\n{statement}\n{exc}") from None
    try:
        yield ClickHouseConn(sess, schema, database)
    finally:
        sess.query(f"DROP DATABASE IF EXISTS {database}")


# A child process's code (chdb opens one data directory per process): the generated ClickHouse
# database `battery` created in the data directory {path}.
CREATE = """
import sys
from chdb import session
sys.path.insert(0, {root!r})
from generator.sqltext import split_statements
s = session.Session({path!r})
s.query("CREATE DATABASE battery")
s.query("USE battery")
for statement in split_statements(open({ddl!r}).read()):
    s.query(statement)
"""


def chdb_child(tmp_path_factory, prefix: str, child: str) -> subprocess.CompletedProcess:
    """The generated ClickHouse database created (CREATE) in a fresh chdb data directory, then
    `child` run in a process of its own with {root}, {url} (that database) and {tmp} (a fresh
    directory for its files) filled in: the finished process, its output captured."""
    chdb_or_skip()
    data = tmp_path_factory.mktemp(f"{prefix}-ch") / "chdb"
    data.mkdir()
    code = CREATE.format(
        root=str(ROOT), path=str(data), ddl=str(ROOT / "sql/clickhouse/schema.sql")
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=300)
    files = tmp_path_factory.mktemp(f"{prefix}-ch-files")
    code = child.format(root=str(ROOT), url=f"chdb://{data}?database=battery", tmp=str(files))
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=900
    )


def chdb_or_skip():
    """Skip without chdb installed; under CI=true its absence is a failure."""
    try:
        import chdb  # noqa: F401
    except ImportError as exc:
        import os

        if os.environ.get("CI"):
            pytest.fail(f"chdb (the ClickHouse engine) is not installed: {exc}")
        pytest.skip(f"chdb is not installed: {exc}")
