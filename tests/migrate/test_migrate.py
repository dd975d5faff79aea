"""Schema evolution on real engines: a corpus of edits of the real schema.yaml, each applied by
dbmate (the pinned runner) to a database of the previous version holding the seed rows in
every table (compressed chunks on TimescaleDB), then compared with a fresh build of the new
version: catalog equal, every row kept (renamed columns keep their values), a second diff
empty, destructive edits refused without the flag, and the down migration back to the first
catalog and data where one is offered.

Edits are made on the parsed YAML of schema.yaml, so the corpus follows the real schema.
"""

from __future__ import annotations

import copy
import functools
import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

import harness
from generator import load_schema_text, migrate
from generator.targets import TARGETS
from tests.migrate.edits import (
    BASE,
    CORPUS,
    DESTRUCTIVE,
    dump,
    rename_column_and_table,
    widen_enum,
)
from tests.migrate.machinery import (
    DBMATE,
    RESET,
    dbmate,
    dbmate_run,
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
from tests.support.seed import SEED


@functools.cache
def base_model():
    return load_schema_text(dump(BASE), "v1.yaml")


# Every edit runs on SQLite and PostgreSQL 15. PostgreSQL 18 and TimescaleDB take the edits
# whose SQL or behaviour differs there (PG 18: NOT NULL constraints named after columns;
# TimescaleDB: hypertable, compressed chunks, trigger-enforced references, aggregates), so the
# corpus stays within about three minutes; LIAM_ERD_SCHEMA_FULL_CORPUS=1 runs every edit on
# every engine.
FULL = os.environ.get("LIAM_ERD_SCHEMA_FULL_CORPUS") == "1"
PG18_EDITS = {
    "add_not_null_with_default",
    "drop_column",
    "rename_column_and_table",
    "add_foreign_key_and_index",
    "widen_type",
}
TIMESCALE_EDITS = {
    "add_nullable_column",
    "add_not_null_with_default",
    "rename_column_and_table",
    "widen_enum",
    "rename_enum_value",
    "add_foreign_key_and_index",
    "drop_table",
    "timescaledb_options",
    "widen_hypertable_type",
}


@functools.cache
def versions(edit: str):
    v2 = copy.deepcopy(BASE)
    CORPUS[edit](v2)
    v2["version"] = BASE.get("version", 1) + 1
    return base_model(), load_schema_text(dump(v2), "v2.yaml")


def plan_and_files(edit: str, tmp: Path, target: str):
    old, new = versions(edit)
    plan = migrate.diff(old, new)
    files = migrate.render(plan, edit, allow_destructive=True, targets=[target])
    folder = tmp / target
    folder.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        (folder / Path(rel).name).write_text(text)
    return old, new, plan, folder, files


# -- offline: every edit plans, labels and refuses as it should -----------------------------
@pytest.mark.parametrize("edit", list(CORPUS))
def test_plan_labels_and_refusal(edit):
    old, new = versions(edit)
    plan = migrate.diff(old, new)
    assert not plan.empty, f"{edit}: no operation found"
    if edit in DESTRUCTIVE:
        with pytest.raises(migrate.MigrationRefused) as refused:
            migrate.render(plan, edit)
        message = str(refused.value)
        for op in plan.destructive:
            assert op.summary in message and "SELECT count(*)" in message
    else:
        assert not plan.destructive, [op.summary for op in plan.destructive]
        files = migrate.render(plan, edit)
        for text in files.values():
            body = text.split("-- migrate:up", 1)[1]
            statements = [ln for ln in body.splitlines() if ln and not ln.startswith("--")]
            if statements:
                assert re.search(r"-- \[(safe|needs-validation|destructive)\]", body)
            else:
                assert "Nothing changes in a " in text, f"{edit}: empty file"
    assert migrate.diff(new, new).empty and migrate.diff(old, old).empty


def test_renames_come_only_from_hints():
    old, new = versions("rename_column_and_table")
    kinds = {op.kind for op in migrate.diff(old, new).ops}
    assert {"rename_table", "rename_column"} <= kinds and "drop_table" not in kinds
    data = copy.deepcopy(BASE)
    rename_column_and_table(data)
    del data["tables"]["soh_label"]["renamed_from"]
    del data["tables"]["timeseries_point"]["columns"]["program_step_id"]["renamed_from"]
    data["version"] = BASE.get("version", 1) + 1
    unhinted = migrate.diff(old, load_schema_text(dump(data)))
    kinds = {op.kind for op in unhinted.ops}
    assert "rename_table" not in kinds and "rename_column" not in kinds
    assert {"drop_table", "drop_column"} <= {op.kind for op in unhinted.destructive}


def test_version_must_grow():
    old, _ = versions("widen_enum")
    data = copy.deepcopy(BASE)
    widen_enum(data)
    same = load_schema_text(dump(data))
    with pytest.raises(migrate.MigrationError, match=f"set `version: {old.version + 1}`"):
        migrate.render(migrate.diff(old, same), "x")


def rollback_all(url: str, folder: Path, files: dict) -> None:
    for _ in files:
        dbmate(url, folder, "rollback")


def sqlite_seed(path: Path) -> None:
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        raw.execute("PRAGMA foreign_keys = ON")
        conn = Conn("sqlite", "sqlite", raw, (sqlite3.IntegrityError,))
        for table, row in SEED:
            conn.insert(table, row)
    finally:
        raw.close()


@pytest.mark.slow  # dbmate per edit
@pytest.mark.parametrize("edit", [e for e in CORPUS if e not in ("timescaledb_options",)])
def test_sqlite(edit, tmp_path):
    old, new, plan, folder, files = plan_and_files(edit, tmp_path, "sqlite")
    db = tmp_path / "migrated.sqlite"
    url = f"sqlite:{db}"
    sqlite_build(db, old)
    sqlite_seed(db)
    before = sqlite_rows(db, old)
    first = sqlite_catalog(db)
    dbmate(url, folder, "migrate")
    fresh = tmp_path / "fresh.sqlite"
    sqlite_build(fresh, new)
    assert sqlite_catalog(db) == sqlite_catalog(fresh)
    # a fresh build of version 2 records its version: the runner has nothing to apply
    assert "Applying" not in dbmate(f"sqlite:{fresh}", folder, "migrate")
    after = sqlite_rows(db, new)
    expected = expected_after(plan, before, float4=False)
    assert project(after, expected) == expected
    check = sqlite3.connect(db)
    assert check.execute("PRAGMA foreign_key_check").fetchall() == []
    applied = [r[0] for r in check.execute("SELECT version FROM schema_migrations")]
    check.close()
    assert migrate.version_id(new.version) in applied
    if not migrate.irreversible(plan):  # narrowings too: their down migration widens again
        rollback_all(url, folder, files)
        assert sqlite_catalog(db) == first
        assert sqlite_rows(db, old) == before
    else:  # the down migration fails, saying why, and changes nothing
        result = dbmate_run(url, folder, "rollback")
        assert result.returncode != 0 and "cannot be rolled back" in result.stderr
        assert sqlite_catalog(db) == sqlite_catalog(fresh)


@pytest.mark.slow  # dbmate
def test_sqlite_add_column_keeps_each_comment_on_its_column_line(tmp_path):
    """ALTER TABLE ADD COLUMN splices the column in before the previous column's `--` comment;
    the migration stores the text a fresh build writes, so `.schema` shows every comment
    beside its own column, and the rows and constraints are untouched by it."""
    old, new, plan, folder, files = plan_and_files("add_nullable_column", tmp_path, "sqlite")
    up = "".join(files.values()).split("-- migrate:down")[0]
    assert "ADD COLUMN" in up and "new_battery_pack" not in up, "expected ADD COLUMN"
    db, fresh = tmp_path / "migrated.sqlite", tmp_path / "fresh.sqlite"
    sqlite_build(db, old)
    sqlite_seed(db)
    dbmate(f"sqlite:{db}", folder, "migrate")
    sqlite_build(fresh, new)

    def stored(path):
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            sql = "SELECT name, sql FROM sqlite_master WHERE name IN ('battery_pack', %s)"
            table = "'timeseries_point_store', 'timeseries_point'"
            return dict(conn.execute(sql % table).fetchall())
        finally:
            conn.close()

    migrated = stored(db)
    assert migrated == stored(fresh)
    line = next(ln for ln in migrated["battery_pack"].splitlines() if "location" in ln)
    assert line.strip().startswith("location TEXT") and line.endswith(
        "-- Where the pack is stored."
    )
    check = sqlite3.connect(db)
    try:  # the new column's CHECK is in force
        with pytest.raises(sqlite3.IntegrityError):
            check.execute("UPDATE timeseries_point SET temperature_t4_celsius = 1000")
    finally:
        check.close()


@pytest.mark.slow  # dbmate
def test_sqlite_rebuild_of_a_parent_keeps_every_child_row(tmp_path):
    """Rebuilding battery_pack (a parent: cells reference it ON DELETE SET NULL, sessions ON
    DELETE RESTRICT) must not touch a child row: with foreign keys on, the DROP of the old
    table would clear or refuse them while the schema looks right."""
    old, _ = versions("widen_enum")
    folder = tmp_path / "migrations"
    folder.mkdir()
    data = copy.deepcopy(BASE)
    data["tables"]["battery_pack"]["columns"]["voltage_min_volt"]["range"]["min"] = -1
    data["version"] = BASE.get("version", 1) + 1
    new = load_schema_text(dump(data))
    plan = migrate.diff(old, new)
    files = migrate.render(plan, "pack", targets=["sqlite"])
    for rel, text in files.items():
        (folder / Path(rel).name).write_text(text)
    assert "new_battery_pack" in "".join(files.values()), "expected a rebuild of battery_pack"
    db = tmp_path / "parent.sqlite"
    sqlite_build(db, old)
    sqlite_seed(db)
    before = sqlite_rows(db, old)
    assert any(dict(r)["pack_id"] is not None for r in before["battery_cell"])
    # foreign keys on for dbmate's connections too: the file must switch them off itself
    dbmate(f"sqlite:{db}?_foreign_keys=1", folder, "migrate")
    assert sqlite_rows(db, new) == before


def pg_seed(conn, timescale: bool) -> None:
    wrapper = Conn("pg", "postgres", conn, ())
    for table, row in SEED:
        wrapper.insert(table, row)
    if timescale:
        # the hypertable (timeseries_point is a view of it since schema version 3)
        hypertable = conn.execute(
            "SELECT coalesce(to_regclass('timeseries_point_store')::text, 'timeseries_point')"
        ).fetchone()[0]
        for (chunk,) in conn.execute("SELECT show_chunks(%s)", (hypertable,)).fetchall():
            conn.execute("SELECT compress_chunk(%s)", (chunk,))
        compressed = conn.execute(
            "SELECT count(*) FROM timescaledb_information.chunks WHERE is_compressed"
        ).fetchone()[0]
        assert compressed >= 1


PG_TARGET = {"postgres15": "postgres", "postgres18": "postgres", "timescaledb": "timescaledb"}


def run_pg_case(engine, target: str, edit: str, tmp_path: Path, *, down: bool = True) -> None:
    old, new, plan, folder, files = plan_and_files(edit, tmp_path, target)
    timescale = target == "timescaledb"
    with engine.fresh_database("mig") as database:
        url = pg_url(engine, database.name)
        with database.connect() as conn:
            load_ddl(conn, TARGETS[target].render(old, self_check=False))
            pg_seed(conn, timescale)
            before = pg_rows(conn, old)
            first = pg_full_catalog(conn)
        dbmate(url, folder, "migrate")
        with database.connect() as conn:
            migrated = pg_full_catalog(conn)
            after = pg_rows(conn, new)
            applied = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
        if down and not migrate.irreversible(plan):
            rollback_all(url, folder, files)
            with database.connect() as conn:
                assert pg_full_catalog(conn) == first, "down migration: catalog differs"
                assert pg_rows(conn, old) == before, "down migration: data differs"
        if timescale:
            engine.wipe()  # its one database, emptied in place
        with database.connect() as conn:
            if not timescale:
                conn.execute(RESET)
            load_ddl(conn, TARGETS[target].render(new, self_check=False))
            fresh = pg_full_catalog(conn)
    problems = [
        f"{key}: migrated {migrated[key]!r}\n   fresh {fresh[key]!r}"
        for key in fresh
        if migrated.get(key) != fresh[key]
    ]
    assert not problems, "\n".join(problems)
    expected = expected_after(plan, before, float4=True)
    assert project(after, expected) == expected
    assert migrate.version_id(new.version) in applied


@pytest.mark.parametrize("edit", [e for e in CORPUS if e not in ("timescaledb_options",)])
def test_postgres(pg_engine, edit, tmp_path):
    if pg_engine.name == "postgres18" and edit not in PG18_EDITS and not FULL:
        pytest.skip("same SQL as on PostgreSQL 15; LIAM_ERD_SCHEMA_FULL_CORPUS=1 runs it")
    # The down round trip runs on one PostgreSQL (15, or the $LIAM_ERD_SCHEMA_PG_DSN server):
    # the down SQL is the same for every version, and the corpus stays within its time budget.
    down = pg_engine.name != "postgres18"
    run_pg_case(pg_engine, "postgres", edit, tmp_path, down=down)


@pytest.mark.parametrize("edit", list(CORPUS))
def test_timescaledb(timescale, edit, tmp_path):
    if edit not in TIMESCALE_EDITS and not FULL:
        pytest.skip("same SQL as on PostgreSQL; LIAM_ERD_SCHEMA_FULL_CORPUS=1 runs it")
    # No down round trip here: `dbmate rollback` is refused a connection by pglite-socket
    # (one connection at a time), although `migrate` works; a TimescaleDB server
    # has no such limit, and the down SQL is the PostgreSQL writer's, proven on PostgreSQL 15.
    run_pg_case(timescale, "timescaledb", edit, tmp_path, down=False)


def test_dbmate_is_the_pinned_version():
    if not DBMATE.exists():
        if harness.engines_required():
            pytest.fail(f"dbmate is missing ({DBMATE})", pytrace=False)
        pytest.skip("dbmate missing")
    out = subprocess.run([str(DBMATE), "--version"], capture_output=True, text=True).stdout
    import json

    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["@dbmate/linux-x64"]
    assert pinned in out, out
    assert os.access(DBMATE, os.X_OK)


def test_timescaledb_check_on_compressed_rows_stops_the_migration(timescale, tmp_path):
    """A CHECK added to the hypertable is validated at once (TimescaleDB refuses VALIDATE
    CONSTRAINT there), compressed chunks included: a violating compressed sample stops the
    migration, and its transaction leaves the database as it was."""
    data = copy.deepcopy(BASE)
    data["tables"]["timeseries_point"].setdefault("checks", {})["ck_timeseries_point_v100"] = {
        "expression": "voltage_volt < 100",
        "description": "No asset above 100 V in this lab.",
    }
    data["version"] = BASE.get("version", 1) + 1
    plan = migrate.diff(base_model(), load_schema_text(dump(data)))
    folder = tmp_path / "migrations"
    folder.mkdir()
    for rel, text in migrate.render(plan, "v100", targets=["timescaledb"]).items():
        (folder / Path(rel).name).write_text(text)
    with timescale.fresh_database("mig") as database:
        with database.connect() as conn:
            load_ddl(conn, TARGETS["timescaledb"].render(base_model(), self_check=False))
            wrapper = Conn("pg", "postgres", conn, ())
            for table, row in SEED:
                wrapper.insert(
                    table,
                    {**row, "voltage_volt": 500.0}
                    if table == "timeseries_point"
                    and row["record_index"] == 1
                    and row["session_id"] == 101
                    else row,
                )
            # the hypertable behind the view timeseries_point (schema version 3)
            chunks = "SELECT show_chunks('timeseries_point_store')"
            for (chunk,) in conn.execute(chunks).fetchall():
                conn.execute("SELECT compress_chunk(%s)", (chunk,))
            before = pg_full_catalog(conn)
        result = subprocess.run(
            [
                str(DBMATE),
                "--url",
                pg_url(timescale, database.name),
                "--migrations-dir",
                str(folder),
                "--no-dump-schema",
                "migrate",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode != 0 and "ck_timeseries_point_v100" in result.stderr
        with database.connect() as conn:
            assert pg_full_catalog(conn) == before
