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

import pytest

from generator import load_schema, migrate
from tests.migrate.machinery import committed, pg_step, seeded, sqlite_step
from tests.support.dbkit import ROOT
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
    return seeded(plan(), SEED)


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
    sqlite_step(tmp_path, plan(), seed_v3(), committed("sqlite", 4), insert_new=insert_v4_rows)


def test_postgres(pg_engine):
    pg_step(
        pg_engine,
        "postgres",
        plan(),
        seed_v3(),
        committed("postgres", 4),
        insert_new=insert_v4_rows,
    )


def test_timescaledb(timescale):
    pg_step(
        timescale,
        "timescaledb",
        plan(),
        seed_v3(),
        committed("timescaledb", 4),
        insert_new=insert_v4_rows,
    )
