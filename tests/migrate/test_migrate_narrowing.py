"""All or nothing, and honest rollbacks, on real engines with the pinned dbmate.

Each narrowing of the corpus (tests/migrate/edits.py NARROWINGS: a range and an enum narrowed,
an explicit CHECK added, NOT NULL set, a range on the hypertable narrowed) runs with seed rows
that fit the new rule and with seed rows that break it, with and without --allow-destructive:

- refused when generated: a destructive narrowing without the flag writes nothing;
- fits: applied, the catalog equals a fresh build of the new version, every row kept, and
  `dbmate rollback` brings back the old catalog and rows (the down migration widens again);
- violates: dbmate exits non-zero with the count and the first keys of the rows at fault, and
  the database is exactly as before (catalog, rows, no version recorded).

A migration that loses data (a dropped column) gets a down migration that fails, saying why,
and changes nothing: never an empty one that reports a rollback.

SQLite and PostgreSQL 15 take every case; TimescaleDB (compressed chunks) the narrowings of
the hypertable and of NOT NULL, without rollback (pglite-socket refuses dbmate rollback a
connection: docs/evolving.md).
"""

from __future__ import annotations

import copy
import functools
import sqlite3
from pathlib import Path

import pytest

from generator import load_schema_text, migrate
from generator.targets import TARGETS
from tests.migrate.edits import BASE, NARROWINGS, drop_column, dump
from tests.migrate.machinery import (
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
    write_files,
)
from tests.support.dbkit import Conn
from tests.support.seed import SEED


@functools.cache
def versions(edit):
    old = load_schema_text(dump(BASE), "v1.yaml")
    data = copy.deepcopy(BASE)
    edit(data)
    data["version"] = BASE.get("version", 1) + 1
    return old, load_schema_text(dump(data), "v2.yaml")


def seed(name: str, violate: bool):
    """The seed rows, with the rows the case names changed to break its rule."""
    case = NARROWINGS[name]
    key = BASE["tables"][case.table]["primary_key"]
    for table, row in SEED:
        if violate and table == case.table and tuple(row[k] for k in key) in case.keys:
            row = {**row, **case.values}
        yield table, row


def files_or_refusal(name: str, allow: bool, target: str, folder: Path):
    """The case's files in `folder`, or None when generating them is refused (a destructive
    narrowing without --allow-destructive): then nothing is written."""
    case = NARROWINGS[name]
    old, new = versions(case.edit)
    plan = migrate.diff(old, new)
    assert bool(plan.destructive) == case.destructive, [op.summary for op in plan.ops]
    if case.destructive and not allow:
        with pytest.raises(migrate.MigrationRefused):
            migrate.render(plan, name, targets=[target])
        return None
    files = migrate.render(plan, name, allow_destructive=allow, targets=[target])
    assert list(files) == [f"sql/{target}/migrations/{migrate.version_id(new.version)}_{name}.sql"]
    return plan, files, write_files(files, folder)


def assert_refused(result, name: str) -> None:
    case = NARROWINGS[name]
    key = ", ".join(BASE["tables"][case.table]["primary_key"])
    assert result.returncode != 0, result.stdout
    message = result.stderr
    assert "migration refused, nothing changed" in message, message
    assert f"rows of {case.table} violating " in message, message
    assert f": {len(case.keys)}; first keys" in message, message
    assert f"first keys ({key}): {case.first_keys}" in message, message


CASES = [
    pytest.param(
        name,
        violate,
        allow,
        id=f"{name}-{'violates' if violate else 'fits'}-{'allow' if allow else 'no-flag'}",
    )
    for name in NARROWINGS
    for violate in (False, True)
    for allow in (True, False)
]


# -- SQLite ---------------------------------------------------------------------------------
def sqlite_seed(path: Path, rows) -> None:
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        raw.execute("PRAGMA foreign_keys = ON")
        conn = Conn("sqlite", "sqlite", raw, (sqlite3.IntegrityError,))
        for table, row in rows:
            conn.insert(table, row)
    finally:
        raw.close()


def sqlite_versions(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return [r[0] for r in db.execute("SELECT version FROM schema_migrations")]
    finally:
        db.close()


@pytest.mark.slow  # dbmate per case
@pytest.mark.parametrize(("name", "violate", "allow"), CASES)
def test_sqlite(name, violate, allow, tmp_path):
    made = files_or_refusal(name, allow, "sqlite", tmp_path / "m")
    if made is None:
        return
    plan, files, folder = made
    old, new = plan.old, plan.new
    db = tmp_path / "db.sqlite"
    url = f"sqlite:{db}"
    sqlite_build(db, old)
    sqlite_seed(db, seed(name, violate))
    first, before = sqlite_catalog(db), sqlite_rows(db, old)
    recorded = sqlite_versions(db)
    result = dbmate_run(url, folder, "migrate")
    if violate:
        assert_refused(result, name)
        assert sqlite_catalog(db) == first and sqlite_rows(db, old) == before
        assert sqlite_versions(db) == recorded
        return
    assert result.returncode == 0, result.stderr
    fresh = tmp_path / "fresh.sqlite"
    sqlite_build(fresh, new)
    assert sqlite_catalog(db) == sqlite_catalog(fresh)
    expected = expected_after(plan, before, float4=False)
    assert project(sqlite_rows(db, new), expected) == expected
    dbmate(url, folder, "rollback")
    assert sqlite_catalog(db) == first and sqlite_rows(db, old) == before


# -- PostgreSQL 15 and TimescaleDB ----------------------------------------------------------
def pg_seed(conn, rows, timescale: bool) -> None:
    wrapper = Conn("pg", "postgres", conn, ())
    for table, row in rows:
        wrapper.insert(table, row)
    if timescale:
        for (chunk,) in conn.execute("SELECT show_chunks('timeseries_point_store')").fetchall():
            conn.execute("SELECT compress_chunk(%s)", (chunk,))


def pg_case(engine, target: str, name: str, violate: bool, allow: bool, tmp: Path) -> None:
    made = files_or_refusal(name, allow, target, tmp / "m")
    if made is None:
        return
    plan, files, folder = made
    timescale = target == "timescaledb"
    with engine.fresh_database("narrow") as database:
        url = pg_url(engine, database.name)
        with database.connect() as conn:
            load_ddl(conn, TARGETS[target].render(plan.old, self_check=False))
            pg_seed(conn, seed(name, violate), timescale)
            first, before = pg_full_catalog(conn), pg_rows(conn, plan.old)
        result = dbmate_run(url, folder, "migrate")
        with database.connect() as conn:
            if violate:
                assert_refused(result, name)
                assert pg_full_catalog(conn) == first, "refused, yet the catalog changed"
                assert pg_rows(conn, plan.old) == before, "refused, yet rows changed"
                versions_now = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
                assert migrate.version_id(plan.new.version) not in versions_now
                return
            assert result.returncode == 0, result.stderr
            migrated, after = pg_full_catalog(conn), pg_rows(conn, plan.new)
        if not timescale:
            dbmate(url, folder, "rollback")
            with database.connect() as conn:
                assert pg_full_catalog(conn) == first, "down migration: catalog differs"
                assert pg_rows(conn, plan.old) == before, "down migration: data differs"
                conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        else:
            engine.wipe()
        with database.connect() as conn:
            load_ddl(conn, TARGETS[target].render(plan.new, self_check=False))
            fresh = pg_full_catalog(conn)
    assert {k: migrated.get(k) for k in fresh} == fresh
    expected = expected_after(plan, before, float4=True)
    assert project(after, expected) == expected


@pytest.mark.parametrize(("name", "violate", "allow"), CASES)
def test_postgres15(pg15, name, violate, allow, tmp_path):
    pg_case(pg15, "postgres", name, violate, allow, tmp_path)


@pytest.mark.parametrize(
    ("name", "violate", "allow"),
    [c for c in CASES if c.values[0] in ("narrow_hypertable_range", "set_not_null")],
)
def test_timescaledb(timescale, name, violate, allow, tmp_path):
    pg_case(timescale, "timescaledb", name, violate, allow, tmp_path)


# -- two steps (PostgreSQL): the check runs before the constraint goes in NOT VALID ---------
def test_postgres15_two_step_checks_first(pg15, tmp_path):
    name = "add_explicit_check"
    old, new = versions(NARROWINGS[name].edit)
    files = migrate.render(migrate.diff(old, new), name, targets=["postgres"], two_step=True)
    assert len(files) == 2 and "NOT VALID" in next(iter(files.values()))
    folder = write_files(files, tmp_path / "m")
    with pg15.fresh_database("twostep") as database:
        url = pg_url(pg15, database.name)
        with database.connect() as conn:
            load_ddl(conn, TARGETS["postgres"].render(old, self_check=False))
            pg_seed(conn, seed(name, True), False)
            first = pg_full_catalog(conn)
        assert_refused(dbmate_run(url, folder, "migrate"), name)
        with database.connect() as conn:
            assert pg_full_catalog(conn) == first  # step 1 refused: nothing half-applied
            conn.execute("UPDATE battery_cell SET nominal_capacity_ah = 5 WHERE cell_id = 103")
        dbmate(url, folder, "migrate")
        with database.connect() as conn:
            done = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
            assert {migrate.version_id(new.version, 0), migrate.version_id(new.version, 1)} <= set(
                done
            )
        dbmate(url, folder, "rollback")  # the validate step: nothing to undo
        dbmate(url, folder, "rollback")  # step 1
        with database.connect() as conn:
            assert pg_full_catalog(conn) == first


# -- a change that loses data: the down migration fails and says why ------------------------
def irreversible_files(target: str, folder: Path):
    old, new = versions(drop_column)
    plan = migrate.diff(old, new)
    assert migrate.irreversible(plan)
    files = migrate.render(plan, "drop_notes", allow_destructive=True, targets=[target])
    down = next(iter(files.values())).split("-- migrate:down", 1)[1]
    assert "drop column battery_pack.notes" in down and "cannot be rolled back" in down
    return plan, write_files(files, folder)


def assert_rollback_refused(result) -> None:
    assert result.returncode != 0, result.stdout
    assert "cannot be rolled back" in result.stderr, result.stderr
    assert "drop column battery_pack.notes" in result.stderr, result.stderr


@pytest.mark.slow  # dbmate
def test_sqlite_irreversible_rollback_fails_and_changes_nothing(tmp_path):
    plan, folder = irreversible_files("sqlite", tmp_path / "m")
    db = tmp_path / "db.sqlite"
    sqlite_build(db, plan.old)
    sqlite_seed(db, SEED)
    dbmate(f"sqlite:{db}", folder, "migrate")
    migrated, recorded = sqlite_catalog(db), sqlite_versions(db)
    assert_rollback_refused(dbmate_run(f"sqlite:{db}", folder, "rollback"))
    assert sqlite_catalog(db) == migrated and sqlite_versions(db) == recorded


def test_postgres15_irreversible_rollback_fails_and_changes_nothing(pg15, tmp_path):
    plan, folder = irreversible_files("postgres", tmp_path / "m")
    with pg15.fresh_database("irrev") as database:
        url = pg_url(pg15, database.name)
        with database.connect() as conn:
            load_ddl(conn, TARGETS["postgres"].render(plan.old, self_check=False))
            pg_seed(conn, SEED, False)
        dbmate(url, folder, "migrate")
        with database.connect() as conn:
            migrated = pg_full_catalog(conn)
            recorded = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
        assert_rollback_refused(dbmate_run(url, folder, "rollback"))
        with database.connect() as conn:
            assert pg_full_catalog(conn) == migrated
            assert [r[0] for r in conn.execute("SELECT version FROM schema_migrations")] == recorded
