"""ClickHouse through chdb: the real engine in process, on a data directory (no server). chdb
has no parameter binding for arbitrary statements, so values are written as ClickHouse
literals (`literal`, `bind`: the one place they are)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from generator.targets.clickhouse import string_literal

from . import ConnectionFailed, Url, parse

# What the header of sql/clickhouse/schema.sql asks of every writer (NULL into a required
# column is an error, not the type's default), and SQL's NULL for an aggregate over no rows.
SETTINGS = (
    "input_format_null_as_default = 0, insert_null_as_default = 0, "
    "aggregate_functions_null_for_empty = 1, output_format_json_quote_64bit_integers = 0"
)


def literal(value: Any) -> str:
    """A Python value as a ClickHouse literal (strings quoted by the generator's string_literal)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    return string_literal(value)


def bind(sql: str, params: Iterable[Any]) -> str:
    """`sql` with each `%s` replaced by the literal of its parameter."""
    params = list(params)
    parts = sql.split("%s")
    if len(parts) - 1 != len(params):
        raise ValueError(f"{len(params)} parameters for {len(parts) - 1} placeholders")
    out = [parts[0]]
    for value, rest in zip(params, parts[1:], strict=True):
        out += [literal(value), rest]
    return "".join(out)


def _chdb_session():
    try:
        from chdb import session
    except ImportError as exc:
        raise ConnectionFailed(f"ClickHouse needs chdb (pip install chdb): {exc}") from None
    return session


def open_session(path: str | Path):
    """A chdb session on a data directory (created when missing)."""
    return _chdb_session().Session(str(path))


class ChdbConnection:
    """The statements of one database in a chdb session (`raw`): each runs after `USE` of the
    database and the writer's SETTINGS. No transactions."""

    kind = "clickhouse"
    raw: Any
    database = "default"
    # what a refused query raises: chdb.session raises chdb._exceptions.ChdbError and
    # chdb.query a plain RuntimeError; the chdb.ChdbError the package exports is neither
    # (chdb 4.4), so catching it let a refused CHECK escape as a traceback
    errors: tuple[type[BaseException], ...] = (RuntimeError,)

    def open_chdb(self, url: str | Url) -> None:
        """Open `chdb:///dir?database=NAME`: the directory must exist."""
        where = parse(url) if isinstance(url, str) else url
        session = _chdb_session()
        self.database = where.database
        if not where.path or not Path(where.path).is_dir():
            raise ConnectionFailed(f"{where.path or where.text}: no such chdb data directory")
        self.errors = (RuntimeError,)
        self.raw = session.Session(where.path)

    def run(self, sql: str, output: str = "CSV"):
        self.raw.query(f"USE {self.database}")
        self.raw.query(f"SET {SETTINGS}")
        return self.raw.query(sql, output)

    def execute(self, sql: str, params: Iterable[Any] = ()) -> None:
        self.run(bind(sql, params))

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        result = self.run(bind(sql, params), "JSONCompact")
        text = result.bytes().decode() if hasattr(result, "bytes") else str(result)
        return [tuple(r) for r in json.loads(text)["data"]] if text.strip() else []

    def has_table(self, name: str) -> bool:
        return bool(
            self.query(
                "SELECT 1 FROM system.tables WHERE database = %s AND name = %s",
                [self.database, name],
            )
        )

    def close(self) -> None:
        self.raw.close()
