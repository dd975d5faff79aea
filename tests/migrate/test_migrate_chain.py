"""The committed chain on every engine (issue 25 item 6): a database built from the first
released version's DDL (tests/fixtures/schema_v1.yaml) holding a row in every table is
migrated one version at a time (version 2, then today's) and equals a fresh build of each
version, catalog and rows (every value kept, renamed columns holding their old values); then
each rollback returns to the previous version's fresh catalog and to the rows it held.

SQLite and PostgreSQL (15 and 18) run dbmate for both directions. TimescaleDB holds compressed
chunks of timeseries_point from the start; dbmate migrates it, and the down blocks are run
through the test's own connection, each in one transaction with its version row deleted, as
dbmate does: pglite-socket serves one connection and refuses the second that `dbmate rollback`
opens (docs/evolving.md). ClickHouse's chain is tests/migrate/test_migrate_clickhouse.py.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from generator import migrate
from generator.targets import TARGETS
from tests.migrate import chain
from tests.migrate.machinery import (
    RESET,
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
from tests.support.dbkit import Conn


def test_every_table_of_every_released_version_gets_rows():
    models = chain.released()
    assert [m.version for m in models][:2] == [1, 2] and len(models) >= 3
    for index, model in enumerate(models):
        seeded = {t for t, _ in chain.seed(index)}
        assert seeded == {t.name for t in model.tables}, f"version {model.version}"


def diff(migrated: dict, fresh: dict) -> str:
    return "\n".join(
        f"{key}: migrated {migrated.get(key)!r}\n   fresh {fresh[key]!r}"
        for key in fresh
        if migrated.get(key) != fresh[key]
    )


# -- SQLite ---------------------------------------------------------------------------------
@pytest.mark.slow  # dbmate per step
def test_sqlite(tmp_path):
    models, plans = chain.released(), chain.plans()
    fresh = []
    for model in models:
        path = tmp_path / f"fresh-v{model.version}.sqlite"
        sqlite_build(path, model)
        fresh.append(sqlite_catalog(path))
    db = tmp_path / "chain.sqlite"
    url = f"sqlite:{db}"
    sqlite_build(db, models[0])
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("PRAGMA foreign_keys = ON")
    conn = Conn("sqlite", "sqlite", raw, (sqlite3.IntegrityError,))
    for table, row in chain.seed(0):
        conn.insert(table, row)
    raw.close()
    rows = [sqlite_rows(db, models[0])]
    for step, plan in enumerate(plans, 1):
        dbmate(url, chain.folder("sqlite", plan.new.version), "migrate")
        assert not diff(sqlite_catalog(db), fresh[step]), diff(sqlite_catalog(db), fresh[step])
        after = sqlite_rows(db, models[step])
        expected = expected_after(plan, rows[-1], float4=False)
        assert project(after, expected) == expected, f"version {plan.new.version}: rows"
        rows.append(after)
    for step in range(len(plans), 0, -1):
        dbmate(url, chain.folder("sqlite"), "rollback")
        assert sqlite_catalog(db) == fresh[step - 1], f"rollback to version {step}: catalog"
        assert sqlite_rows(db, models[step - 1]) == rows[step - 1], f"rollback to {step}: rows"


# -- PostgreSQL and TimescaleDB ---------------------------------------------------------------
def compress(conn) -> None:
    hypertable = conn.execute(
        "SELECT coalesce(to_regclass('timeseries_point_store')::text, 'timeseries_point')"
    ).fetchone()[0]
    for (chunk,) in conn.execute("SELECT show_chunks(%s)", (hypertable,)).fetchall():
        conn.execute("SELECT compress_chunk(%s, if_not_compressed => true)", (chunk,))
    compressed = conn.execute(
        "SELECT count(*) FROM timescaledb_information.chunks WHERE is_compressed"
    ).fetchone()[0]
    assert compressed >= 1


_DOWN = re.compile(r"(?m)^--\s*migrate:down.*$")


def down_block(folder: Path, version: int) -> str:
    """The down block of the version's file (one section: the PostgreSQL writers' shape)."""
    path = next(folder.glob(f"{migrate.version_id(version)}_*.sql"))
    text = path.read_text(encoding="utf-8")
    assert len(_DOWN.findall(text)) == 1 and "transaction:false" not in text
    return _DOWN.split(text, 1)[1]


def rollback_in_process(database, folder: Path, version: int) -> None:
    """What `dbmate rollback` does, on the test's own connection: the down block and the
    deletion of the version row, in one transaction."""
    with database.connect() as conn:
        with conn.transaction():
            conn.execute(down_block(folder, version))
            conn.execute(
                "DELETE FROM schema_migrations WHERE version = %s",
                (migrate.version_id(version),),
            )


def run_chain(engine, target: str) -> None:
    models, plans = chain.released(), chain.plans()
    timescale = target == "timescaledb"
    with engine.fresh_database("chain") as database:
        url = pg_url(engine, database.name)

        def rebuild(model) -> None:
            if timescale:
                engine.wipe()
            with database.connect() as conn:
                if not timescale:
                    conn.execute(RESET)
                load_ddl(conn, TARGETS[target].render(model, self_check=False))

        fresh = []
        for model in models:
            rebuild(model)
            with database.connect() as conn:
                fresh.append(pg_full_catalog(conn))
        rebuild(models[0])
        with database.connect() as conn:
            wrapper = Conn("pg", "postgres", conn, ())
            for table, row in chain.seed(0):
                wrapper.insert(table, row)
            if timescale:
                compress(conn)
            rows = [pg_rows(conn, models[0])]
        for step, plan in enumerate(plans, 1):
            dbmate(url, chain.folder(target, plan.new.version), "migrate")
            with database.connect() as conn:
                migrated = pg_full_catalog(conn)
                after = pg_rows(conn, models[step])
                applied = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            assert not diff(migrated, fresh[step]), diff(migrated, fresh[step])
            assert migrate.version_id(plan.new.version) in applied
            expected = expected_after(plan, rows[-1], float4=True)
            assert project(after, expected) == expected, f"version {plan.new.version}: rows"
            rows.append(after)
            if timescale and step < len(plans):
                with database.connect() as conn:
                    compress(conn)  # the next step meets compressed chunks too
        for step in range(len(plans), 0, -1):
            if timescale:
                rollback_in_process(database, chain.folder(target), plans[step - 1].new.version)
            else:
                dbmate(url, chain.folder(target), "rollback")
            with database.connect() as conn:
                back = pg_full_catalog(conn)
                assert not diff(back, fresh[step - 1]), diff(back, fresh[step - 1])
                assert pg_rows(conn, models[step - 1]) == rows[step - 1], f"rollback to {step}"
        if timescale:
            engine.wipe()


def test_postgres(pg_engine):
    run_chain(pg_engine, "postgres")


def test_timescaledb(timescale):
    run_chain(timescale, "timescaledb")
