"""The connection layer (connection/): the URL forms every command takes, opening SQLite for
real, ClickHouse literals, and the direction of its imports (the generator only)."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from connection import ConnectionFailed, Url, parse
from connection.clickhouse import bind, literal
from connection.sqlite import open_sqlite3
from generator import load_schema
from generator.targets import TARGETS
from tests.support.dbkit import ROOT

URLS = [
    ("sqlite:///db/b.sqlite", Url("sqlite", "sqlite:///db/b.sqlite", "db/b.sqlite")),
    ("db/b.sqlite", Url("sqlite", "db/b.sqlite", "db/b.sqlite")),
    ("postgresql://u@h/battery", Url("postgres", "postgresql://u@h/battery")),
    ("postgres://u@h/battery", Url("postgres", "postgres://u@h/battery")),
    ("host=h dbname=battery", Url("postgres", "host=h dbname=battery")),
    ("chdb:///data?database=b", Url("clickhouse", "chdb:///data?database=b", "/data", "b")),
    ("chdb:///data", Url("clickhouse", "chdb:///data", "/data", "default")),
]  # fmt: skip


@pytest.mark.parametrize(("url", "expected"), URLS)
def test_parse(url, expected):
    assert parse(url) == expected


def test_parse_refuses_another_scheme():
    with pytest.raises(ConnectionFailed, match=r"unsupported database URL 'mysql://h/b' \("):
        parse("mysql://h/b")


def test_open_sqlite3_enforces_foreign_keys_and_refuses_a_missing_file(tmp_path):
    with pytest.raises(ConnectionFailed, match="no such SQLite database"):
        open_sqlite3(tmp_path / "missing.sqlite")
    raw = open_sqlite3(tmp_path / "new.sqlite", must_exist=False)
    try:
        assert raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert not raw.in_transaction  # autocommit: the caller says BEGIN
    finally:
        raw.close()


def test_clickhouse_literals():
    assert bind("SELECT %s, %s, %s, %s", [None, True, 1.5, "it's a \\"]) == (
        "SELECT NULL, 1, 1.5, 'it''s a \\\\'"
    )
    assert literal(7) == "7"
    with pytest.raises(ValueError, match="1 parameters for 2 placeholders"):
        bind("%s %s", [1])


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_create_table_sql_is_the_files_statement(target):
    """What the loader compares a database's table with is the text the file writes."""
    schema = load_schema(ROOT / "schema.yaml")
    text = (ROOT / TARGETS[target].path).read_text(encoding="utf-8")
    for table in schema.tables:
        statement = TARGETS[target].create_table_sql(schema, table.name)
        assert statement.startswith("CREATE TABLE ")
        assert f"\n{statement};\n" in text, table.name


def test_connection_imports_only_the_generator():
    """The layer sits under ingest, derive, bench and the tests: it imports none of them."""
    ours = {"ingest", "derive", "bench", "harness", "tests", "demo", "dbkit", "chkit"}
    for path in sorted((ROOT / "connection").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            assert not {n.split(".")[0] for n in names} & ours, f"{path.name} imports {names}"


def test_importing_the_layer_loads_no_driver():
    code = (
        "import sys, connection, connection.sqlite, connection.postgres, connection.clickhouse, "
        "connection.dbapi; print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('psycopg', 'adbc_driver_sqlite', 'adbc_driver_postgresql', 'chdb', 'pyarrow')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
