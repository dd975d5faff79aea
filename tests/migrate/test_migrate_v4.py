"""The migration from schema version 3 to 4 (issues 23 and 22), as committed under
sql/<engine>/migrations/, proven on SQLite, PostgreSQL and TimescaleDB: a version 3 database
(the frozen copy tests/fixtures/schema_v3.yaml) holding the seed is migrated by dbmate (version
4's files only) and compared with a fresh build of schema.yaml: catalog equal, every row kept,
the new tables (curves, curve features) and columns (features, RUL/EOL, source file) accept
their rows. On SQLite and PostgreSQL the down migration is proven too: back to the version 3
catalog and rows, then up again.
"""

from __future__ import annotations

import functools
import sqlite3

import pytest

from generator import load_schema, migrate
from generator.targets import TARGETS
from tests.migrate.machinery import (
    RESET,
    committed,
    dbmate,
    expected_after,
    load_ddl,
    pg_full_catalog,
    pg_rows,
    pg_url,
    project,
    sqlite_build,
    sqlite_catalog,
    sqlite_rows,
)
from tests.support.dbkit import ROOT, Conn
from tests.support.seed import BASE_ROWS, SEED

V3 = ROOT / "tests" / "fixtures" / "schema_v3.yaml"
V4 = ROOT / "tests" / "fixtures" / "schema_v4.yaml"  # frozen when version 5 came
# the hypertable behind the view timeseries_point since version 3
CHUNKS = "SELECT show_chunks('timeseries_point_store')"
NEW_TABLES = {"curve_definition", "cycle_curve", "cycle_curve_feature"}


@functools.cache
def plan():
    return migrate.diff(load_schema(V3), load_schema(V4))


def seed_v3() -> list[tuple[str, dict]]:
    """The seed as version 3 stores it: only its tables and columns."""
    old = {t.name: t for t in plan().old.tables}
    return [
        (table, {c: v for c, v in row.items() if c in old[table].column_map})
        for table, row in SEED
        if table in old
    ]


def test_the_plan_is_what_version_4_means():
    p = plan()
    assert p.old.version == 3 and p.new.version == 4
    assert not p.destructive, [op.summary for op in p.destructive]
    assert {op.table for op in p.ops if op.kind == "create_table"} == NEW_TABLES
    added = {(op.table, op.column) for op in p.ops if op.kind == "add_column"}
    assert {
        ("source_file", "native_record_first"),
        ("source_file", "compressed_sha256"),
        ("cycle", "cycle_type_source"),
        ("label_soh", "rul_cycles"),
        ("cycle_feature", "null_reasons"),
        ("cycle_feature", "step_resistance_1s_ohm"),
    } <= added


@pytest.mark.parametrize("target", ["postgres", "sqlite", "timescaledb"])
def test_committed_files_are_what_the_tool_writes(target):
    files = migrate.render(plan(), "schema_v4", targets=[target])
    on_disk = {
        f"sql/{target}/migrations/{p.name}": p.read_text(encoding="utf-8")
        for p in committed(target, 4).glob("*.sql")
    }
    assert on_disk == files, (
        "run `make migration NAME=schema_v4 FROM=tests/fixtures/schema_v3.yaml`"
    )


def insert_v4_rows(conn) -> None:
    """Rows only version 4 can hold go into the migrated database: the seed's rows of the new
    tables, then one new row per changed table with every new column filled."""
    for table, row in SEED:
        if table in NEW_TABLES:
            conn.insert(table, row)
    for table in ("cycle", "cycle_feature", "label_soh", "source_file", "curve_definition"):
        conn.insert(table, BASE_ROWS[table])


# -- SQLite --------------------------------------------------------------------------------
@pytest.mark.slow  # dbmate
def test_sqlite(tmp_path):
    p = plan()
    db = tmp_path / "v3.sqlite"
    sqlite_build(db, p.old)
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("PRAGMA foreign_keys = ON")
    conn = Conn("sqlite", "sqlite", raw, (sqlite3.IntegrityError,))
    for table, row in seed_v3():
        conn.insert(table, row)
    raw.close()
    before = sqlite_rows(db, p.old)
    first = sqlite_catalog(db)
    migrations = committed("sqlite", 4)
    dbmate(f"sqlite:{db}", migrations, "migrate")
    dbmate(f"sqlite:{db}", migrations, "rollback")
    assert sqlite_catalog(db) == first
    assert sqlite_rows(db, p.old) == before
    dbmate(f"sqlite:{db}", migrations, "migrate")
    fresh = tmp_path / "fresh.sqlite"
    sqlite_build(fresh, p.new)
    assert sqlite_catalog(db) == sqlite_catalog(fresh)
    after = sqlite_rows(db, p.new)
    expected = expected_after(p, before, float4=False)
    assert project(after, expected) == expected
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("PRAGMA foreign_keys = ON")
    assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
    applied = {r[0] for r in raw.execute("SELECT version FROM schema_migrations")}
    assert migrate.version_id(4) in applied
    insert_v4_rows(Conn("sqlite", "sqlite", raw, (sqlite3.IntegrityError,)))
    raw.close()


# -- PostgreSQL and TimescaleDB --------------------------------------------------------------
def run_pg(engine, target: str) -> None:
    p = plan()
    timescale = target == "timescaledb"
    migrations = committed(target, 4)
    with engine.fresh_database("v4") as database:
        url = pg_url(engine, database.name)
        with database.connect() as conn:
            load_ddl(conn, TARGETS[target].render(p.old, self_check=False))
            wrapper = Conn("pg", "postgres", conn, ())
            for table, row in seed_v3():
                wrapper.insert(table, row)
            if timescale:
                for (chunk,) in conn.execute(CHUNKS).fetchall():
                    conn.execute("SELECT compress_chunk(%s)", (chunk,))
            before = pg_rows(conn, p.old)
            first = pg_full_catalog(conn)
        dbmate(url, migrations, "migrate")
        if not timescale:  # pglite (TimescaleDB here) takes one connection; dbmate rollback two
            dbmate(url, migrations, "rollback")
            with database.connect() as conn:
                assert pg_full_catalog(conn) == first, "down migration: catalog differs"
                assert pg_rows(conn, p.old) == before, "down migration: rows differ"
            dbmate(url, migrations, "migrate")
        with database.connect() as conn:
            migrated = pg_full_catalog(conn)
            after = pg_rows(conn, p.new)
            applied = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            insert_v4_rows(Conn("pg", "postgres", conn, ()))
        if timescale:
            engine.wipe()
        with database.connect() as conn:
            if not timescale:
                conn.execute(RESET)
            load_ddl(conn, TARGETS[target].render(p.new, self_check=False))
            fresh = pg_full_catalog(conn)
    problems = [
        f"{key}: migrated {migrated.get(key)!r}\n   fresh {fresh[key]!r}"
        for key in fresh
        if migrated.get(key) != fresh[key]
    ]
    assert not problems, "\n".join(problems)
    expected = expected_after(p, before, float4=True)
    assert project(after, expected) == expected
    assert migrate.version_id(4) in applied


def test_postgres(pg_engine):
    run_pg(pg_engine, "postgres")


def test_timescaledb(timescale):
    run_pg(timescale, "timescaledb")
