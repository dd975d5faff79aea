"""Descriptions reach COMMENT strings as written (issue 27): line breaks, no-break and thin
spaces and the zero-width joiner inside an emoji stay, because a string literal holds them;
only the bidirectional controls are dropped. Where the syntax needs one line (a `--` comment
in any target, Liam's chunked file) the text is folded there, and only there.

Checked on the engines themselves: PostgreSQL and ClickHouse give the comment back from their
catalogs exactly; SQLite builds the table whose `--` comments hold the folded text.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from generator import load_schema_text, migrate
from generator.sql import render
from generator.sqltext import split_statements
from generator.targets import TARGETS
from generator.targets.base import comment_text

ROOT = Path(__file__).resolve().parents[2]

AS_WRITTEN = (
    "Line one;\nline two\u00a0(no-break)\u2009(thin) \U0001f469\u200d\U0001f52c done\n\n"
    "-- not a comment; 'quoted'"
)
WITH_BIDI = AS_WRITTEN + " \u202eevil\u202c \u2067iso\u2069 \u200fmark"
STRIPPED = AS_WRITTEN + " evil iso mark"  # the bidirectional controls dropped, nothing else
FOLDED = " ".join(STRIPPED.split())


def mini(description: str, version: int = 1):
    data = yaml.safe_load((ROOT / "tests" / "fixtures" / "mini.yaml").read_text("utf-8"))
    table = next(iter(data["tables"]))
    column = next(iter(data["tables"][table]["columns"]))
    data["version"] = version
    data["tables"][table]["description"] = description
    data["tables"][table]["columns"][column]["description"] = description
    schema = load_schema_text(yaml.dump(data, allow_unicode=True), "mini.yaml")
    return schema, schema.table(table), schema.table(table).column(column)


def test_the_model_keeps_the_text_as_written():
    _, table, column = mini(WITH_BIDI + "\n")
    assert table.description == WITH_BIDI  # only the YAML block's last line break goes
    assert column.description == WITH_BIDI


@pytest.mark.parametrize("target", ["postgres", "timescaledb", "clickhouse"])
def test_comment_strings_hold_the_text_verbatim(target):
    schema, table, _ = mini(WITH_BIDI)
    text = render(schema, [target])[TARGETS[target].path]
    literal = "'" + STRIPPED.replace("'", "''") + "'"
    assert literal in text, text
    for control in "\u202e\u202c\u2067\u2069\u200f":
        assert control not in text


@pytest.mark.parametrize("target", ["postgres", "sqlite", "timescaledb", "liam", "clickhouse"])
def test_line_comments_fold_it(target):
    schema, table, _ = mini(WITH_BIDI)
    text = render(schema, [target])[TARGETS[target].path]
    assert f"-- {table.name}: {comment_text(WITH_BIDI)}\n" in text


def test_liam_folds_its_comment_strings_too():
    """Liam reads 500-line chunks and pads table blocks at blank lines: one line each."""
    schema, table, _ = mini(WITH_BIDI)
    text = render(schema, ["liam"])[TARGETS["liam"].path]
    assert f"COMMENT ON TABLE {table.name} IS '{FOLDED.replace(chr(39), chr(39) * 2)}';" in text


def test_migrations_write_the_same_comment_as_a_fresh_build():
    old, _, _ = mini("Before.")
    new, table, _ = mini(WITH_BIDI, version=2)
    files = migrate.render(migrate.diff(old, new), "describe", targets=["postgres"])
    text = "".join(files.values())
    assert f"COMMENT ON TABLE {table.name} IS '{STRIPPED.replace(chr(39), chr(39) * 2)}';" in text


def test_postgres_gives_the_comment_back(pg_engine):
    schema, table, column = mini(WITH_BIDI)
    ddl = render(schema, ["postgres"])[TARGETS["postgres"].path]
    with pg_engine.fresh_database("descriptions") as database:
        raw = database.connect(autocommit=True)
        try:
            for statement in split_statements(ddl):
                raw.execute(statement)
            got_table = raw.execute(
                "SELECT obj_description(%s::regclass, 'pg_class')", (table.name,)
            ).fetchone()[0]
            got_column = raw.execute(
                "SELECT col_description(attrelid, attnum) FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attname = %s",
                (table.name, column.name),
            ).fetchone()[0]
        finally:
            raw.close()
    assert got_table == STRIPPED
    assert got_column.startswith(STRIPPED)


def test_clickhouse_gives_the_comment_back(tmp_path):
    pytest.importorskip("chdb")
    from tests.support import chkit

    schema, table, column = mini(WITH_BIDI)
    ddl = render(schema, ["clickhouse"])[TARGETS["clickhouse"].path]
    session = chkit.chdb_session(tmp_path)
    session.query("DROP DATABASE IF EXISTS descriptions")
    session.query("CREATE DATABASE descriptions")
    try:
        session.query("USE descriptions")
        for statement in split_statements(ddl):
            session.query(statement)
        got = session.query(
            f"SELECT comment FROM system.tables WHERE database = 'descriptions' "
            f"AND name = '{table.name}'",
            "JSONCompact",
        )
        got_column = session.query(
            f"SELECT comment FROM system.columns WHERE database = 'descriptions' "
            f"AND table = '{table.name}' AND name = '{column.name}'",
            "JSONCompact",
        )
    finally:
        session.query("DROP DATABASE IF EXISTS descriptions")
        chkit._CURRENT.pop("database", None)  # the shared session left the other databases

    assert json.loads(got.bytes())["data"] == [[STRIPPED]]
    assert json.loads(got_column.bytes())["data"][0][0].startswith(STRIPPED)


def test_sqlite_builds_the_folded_comments(tmp_path):
    schema, table, _ = mini(WITH_BIDI)
    ddl = render(schema, ["sqlite"])[TARGETS["sqlite"].path]
    connection = sqlite3.connect(tmp_path / "x.sqlite")
    try:
        connection.executescript(ddl)
        sql = connection.execute(
            "SELECT sql FROM sqlite_schema WHERE name = ?", (table.name,)
        ).fetchone()[0]
    finally:
        connection.close()
    assert f"-- {comment_text(WITH_BIDI)}" in sql  # one `--` line: nothing can end it early
    assert "\nline two" not in sql
