"""The released migration from schema version 1 to 2, as committed under
sql/<engine>/migrations/, proven on every engine: a version 1 database (the frozen copy
tests/fixtures/schema_v1.yaml) holding a row in every table (compressed chunks on
TimescaleDB) is migrated by dbmate (version 2's files only) and compared with a fresh version 2
build (the frozen copy tests/fixtures/schema_v2.yaml): catalog equal,
every row kept, renamed columns (cycle_index -> cycle_count, step_index -> step_id,
temperature_celsius -> surface_temperature_celsius) holding their old values; then the
version 2 seed's new rows load into the migrated database. On SQLite and PostgreSQL the down
migration is proven too: back to the version 1 catalog and rows, then up again.

The machinery (dbmate runner, catalogs, row snapshots) is tests/migrate/machinery.py.
"""

from __future__ import annotations

import functools

import pytest

from generator import load_schema, migrate
from tests.migrate.machinery import committed, pg_step, sqlite_step
from tests.support.dbkit import ROOT
from tests.support.seed import SEED

V1 = ROOT / "tests" / "fixtures" / "schema_v1.yaml"
V2 = ROOT / "tests" / "fixtures" / "schema_v2.yaml"
RENAMED = {
    ("timeseries_point", "cycle_index"): "cycle_count",
    ("timeseries_point", "step_index"): "step_id",
    ("timeseries_point", "temperature_celsius"): "surface_temperature_celsius",
}


@functools.cache
def plan():
    return migrate.diff(load_schema(V1), load_schema(V2))


def seed_v1() -> list[tuple[str, dict]]:
    """The version 2 seed as version 1 stored it: old column names, only version 1 tables
    and columns (every value a version 1 database accepts)."""
    p = plan()
    back = p.renames.inverted()
    out = []
    for table, row in SEED:
        old_table = p.old_table(table)
        if old_table is None:
            continue
        renamed = {back.column(old_table.name, c): v for c, v in row.items()}
        out.append(
            (old_table.name, {c: v for c, v in renamed.items() if c in old_table.column_map})
        )
    return out


def test_the_plan_is_what_version_2_means():
    p = plan()
    assert p.old.version == 1 and p.new.version == 2
    assert not p.destructive, [op.summary for op in p.destructive]
    renames = {(op.table, op.old.name): op.new.name for op in p.ops if op.kind == "rename_column"}
    assert renames == RENAMED
    created = {op.table for op in p.ops if op.kind == "create_table"}
    assert created == {"cell_channel_point", "eis_spectrum", "eis_point", "source_file"}


@pytest.mark.parametrize("target", ["postgres", "sqlite", "timescaledb"])
def test_committed_files_are_what_the_tool_writes(target):
    files = migrate.render(plan(), "schema_v2", targets=[target])
    on_disk = {
        f"sql/{target}/migrations/{p.name}": p.read_text(encoding="utf-8")
        for p in committed(target).glob("*.sql")
    }
    assert on_disk == files, (
        "run `make migration NAME=schema_v2 FROM=tests/fixtures/schema_v1.yaml`"
    )


def test_every_version_1_table_is_seeded():
    seeded = {t for t, _ in seed_v1()}
    assert seeded == {t.name for t in plan().old.tables}


def check_renamed_values(before: dict, after: dict) -> None:
    """The renamed columns hold, row for row, what the old ones held."""
    key = ("session_id", "record_index")
    old = {tuple(dict(r)[k] for k in key): dict(r) for r in before["timeseries_point"]}
    new = {tuple(dict(r)[k] for k in key): dict(r) for r in after["timeseries_point"]}
    assert old.keys() == new.keys() and old
    for k, row in old.items():
        for (_, was), now in RENAMED.items():
            assert new[k][now] == row[was], (k, was, now)


def insert_v2_rows(conn) -> None:
    """The rows of the tables version 2 adds go into the migrated database (their keys
    reference the migrated rows)."""
    p = plan()
    new = {t.name for t in p.new.tables}  # later versions add tables of their own
    for table, row in SEED:
        if p.old_table(table) is None and table in new:
            conn.insert(table, row)


# -- SQLite --------------------------------------------------------------------------------
@pytest.mark.slow  # dbmate
def test_sqlite(tmp_path):
    rows = sqlite_step(tmp_path, plan(), seed_v1(), committed("sqlite"), insert_new=insert_v2_rows)
    check_renamed_values(rows["before"], rows["after"])


def test_postgres(pg_engine):
    rows = pg_step(
        pg_engine, "postgres", plan(), seed_v1(), committed("postgres"), insert_new=insert_v2_rows
    )
    check_renamed_values(rows["before"], rows["after"])


def test_timescaledb(timescale):
    rows = pg_step(
        timescale,
        "timescaledb",
        plan(),
        seed_v1(),
        committed("timescaledb"),
        insert_new=insert_v2_rows,
    )
    check_renamed_values(rows["before"], rows["after"])
