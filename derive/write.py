"""Write values computed in Python (derive/steps.py, life.py, reference.py, ocv.py) into the
database the same way on every engine: `update` sets columns of existing rows found by their
key, `replace` writes new rows of one scope (deleting the scope's old rows of the same
definition first).

SQLite, PostgreSQL and TimescaleDB: plain UPDATE / INSERT ... ON CONFLICT statements inside the
caller's transaction (derive/run.py opens one per derivation). ClickHouse (chdb): no UPDATE and
no transactions, so the rows of the scope are rebuilt in a staging table made `AS` the target
(the target's CHECKs are checked there, before anything changes), then the scope's rows are
deleted and the staged rows inserted, as derive/clickhouse.py publishes."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

from connection.clickhouse import literal


def is_clickhouse(conn: Any) -> bool:
    return getattr(conn, "clickhouse", False) or getattr(conn, "kind", None) == "clickhouse"


def update(
    conn: Any,
    table: str,
    keys: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    scope: str,
    scope_params: Sequence[Any],
) -> int:
    """Set `columns` of the rows of `table` inside `scope` (a WHERE text with `%s`
    placeholders, `scope_params`) whose `keys` equal a row's first values; each row is keys
    then columns. Rows of the scope not given keep their values. Returns the rows written."""
    if not rows:
        return 0
    if is_clickhouse(conn):
        return _clickhouse_update(conn, table, keys, columns, rows, scope, scope_params)
    sets = ", ".join(f"{c} = %s" for c in columns)
    where = " AND ".join(f"{k} = %s" for k in keys)
    text = f"UPDATE {table} SET {sets} WHERE ({scope}) AND {where}"
    written = 0
    for row in rows:
        key, values = list(row[: len(keys)]), list(row[len(keys) :])
        written += conn.execute(text, [*values, *scope_params, *key])
    return written


def replace(
    conn: Any,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    scope: str,
    scope_params: Sequence[Any],
) -> int:
    """Make the rows of `table` inside `scope` exactly `rows` (each the values of `columns`):
    the scope's old rows are deleted, these inserted. Returns the rows written."""
    if is_clickhouse(conn):
        return _clickhouse_replace(conn, table, columns, rows, scope, scope_params)
    conn.execute(f"DELETE FROM {table} WHERE {scope}", list(scope_params))
    marks = ", ".join("%s" for _ in columns)
    text = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
    for row in rows:
        conn.execute(text, list(row))
    return len(rows)


def _db(conn: Any) -> Any:
    return getattr(conn, "db", conn)  # run._ClickHouse wraps the ChdbConnection


def _types(db: Any, table: str) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in db.query(
            "SELECT name, type FROM system.columns WHERE database = %s AND table = %s "
            "ORDER BY position",
            [db.database, table],
        )
    ]


def _values(rows: Sequence[Sequence[Any]]) -> str:
    return ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)


def _scratch(db: Any, table: str, n: int) -> str:
    return f"{db.database}.derive_{table}_py_{os.getpid()}_{n}"


def _publish(db: Any, table: str, stage: str, scope: str, scope_params: Sequence[Any]) -> None:
    db.execute(f"DELETE FROM {db.database}.{table} WHERE {scope}", list(scope_params))
    db.execute(f"INSERT INTO {db.database}.{table} SELECT * FROM {stage}")


def _clickhouse_update(conn, table, keys, columns, rows, scope, scope_params) -> int:
    db = _db(conn)
    types = dict(_types(db, table))
    values, stage = _scratch(db, table, 0), _scratch(db, table, 1)
    try:
        for name in (values, stage):
            db.raw.query(f"DROP TABLE IF EXISTS {name}")
        fields = ", ".join(f"{c} {types[c]}" for c in (*keys, *columns))
        db.raw.query(f"CREATE TABLE {values} ({fields}, py_hit UInt8) ENGINE = Memory")
        db.raw.query(f"INSERT INTO {values} VALUES {_values([(*r, 1) for r in rows])}")
        db.raw.query(f"CREATE TABLE {stage} AS {db.database}.{table}")
        select = ", ".join(
            f"if(v.py_hit = 1, v.{c}, t.{c}) AS {c}" if c in columns else f"t.{c} AS {c}"
            for c in types
        )
        on = " AND ".join(f"t.{k} = v.{k}" for k in keys)
        db.execute(
            f"INSERT INTO {stage} SELECT {select} FROM {db.database}.{table} AS t "
            f"LEFT JOIN {values} AS v ON {on} WHERE {_qualified(scope, types)} "
            "SETTINGS join_use_nulls = 1",
            list(scope_params),
        )
        _publish(db, table, stage, scope, scope_params)
    finally:
        for name in (values, stage):
            db.raw.query(f"DROP TABLE IF EXISTS {name}")
    return len(rows)


def _qualified(where: str, types: dict[str, str]) -> str:
    """The scope's column names read from the target (`t.`), not the joined values."""
    return re.sub(
        r"\b(" + "|".join(sorted(types, key=len, reverse=True)) + r")\b",
        lambda m: f"t.{m.group(1)}",
        where,
    )


def _clickhouse_replace(conn, table, columns, rows, scope, scope_params) -> int:
    db = _db(conn)
    stage = _scratch(db, table, 2)
    try:
        db.raw.query(f"DROP TABLE IF EXISTS {stage}")
        db.raw.query(f"CREATE TABLE {stage} AS {db.database}.{table}")
        if rows:
            db.execute(f"INSERT INTO {stage} ({', '.join(columns)}) VALUES {_values(rows)}")
        _publish(db, table, stage, scope, scope_params)
    finally:
        db.raw.query(f"DROP TABLE IF EXISTS {stage}")
    return len(rows)
