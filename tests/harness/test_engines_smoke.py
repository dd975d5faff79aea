"""The test engines start, enforce constraints and clean up; the Liam CLI builds.

Each engine is started once per session by the fixtures in conftest.py.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import psycopg
import pytest

from harness import LiamBuildError

CELL_DDL = """
CREATE TABLE cell (
    cell_id integer PRIMARY KEY,
    soc real NOT NULL,
    CONSTRAINT ck_cell_soc_range CHECK (soc >= 0 AND soc <= 1)
)
"""


def _check_constraint_roundtrip(engine, db) -> None:
    with db.connect() as conn:
        conn.execute(CELL_DDL)
        conn.execute("INSERT INTO cell (cell_id, soc) VALUES (1, 0.0), (2, 0.5), (3, 1.0)")
        with pytest.raises(psycopg.errors.CheckViolation) as violation:
            conn.execute("INSERT INTO cell (cell_id, soc) VALUES (4, 1.5)")
        assert violation.value.diag.constraint_name == "ck_cell_soc_range"
        assert conn.execute("SELECT count(*) FROM cell").fetchone()[0] == 3
        version = conn.execute("SHOW server_version").fetchone()[0]
    assert version == engine.version
    assert version.startswith(f"{engine.major}.")


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def pg_db(pg_engine):
    """A fresh database per module (and per engine)."""
    with pg_engine.fresh_database("smoke") as db:
        yield db


def test_postgres_check_constraint(pg_engine, pg_db):
    _check_constraint_roundtrip(pg_engine, pg_db)


def test_postgres_versions(pg15, pg18):
    assert (pg15.name, pg15.major) == ("postgres15", 15)
    assert (pg18.name, pg18.major) == ("postgres18", 18)
    for engine in (pg15, pg18):
        with engine.connect() as conn:
            assert conn.info.server_version // 10000 == engine.major


def test_postgres_fresh_databases_are_separate_and_dropped(pg_engine):
    with pg_engine.fresh_database("first") as first, pg_engine.fresh_database("second") as second:
        assert first.name != second.name
        with first.connect() as conn:
            conn.execute("CREATE TABLE only_in_first (i int)")
        with second.connect() as conn:
            assert conn.execute("SELECT to_regclass('only_in_first')").fetchone()[0] is None
    with pg_engine.connect() as conn:
        left = conn.execute(
            "SELECT datname FROM pg_database WHERE datname IN (%s, %s)", (first.name, second.name)
        ).fetchall()
    assert left == []


def test_postgres_connect_autocommit_is_configurable(pg_engine, pg_db):
    with pg_db.connect(autocommit=False) as conn:
        assert not conn.autocommit
        conn.execute("CREATE TABLE tx_probe (i int)")
        conn.rollback()
    with pg_db.connect() as conn:
        assert conn.autocommit
        assert conn.execute("SELECT to_regclass('tx_probe')").fetchone()[0] is None


# --------------------------------------------------------------- TimescaleDB


@pytest.fixture(scope="module")
def ts_db(timescale):
    with timescale.fresh_database("smoke") as db:
        yield db


def test_timescale_check_constraint(timescale, ts_db):
    assert timescale.name == "timescaledb"
    _check_constraint_roundtrip(timescale, ts_db)


def test_timescale_hypertable_compression(ts_db):
    with ts_db.connect() as conn:
        extversion = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()[0]
        assert extversion.startswith("2.")
        conn.execute(
            "CREATE TABLE reading (taken_at timestamptz NOT NULL, cell_id integer NOT NULL,"
            " voltage real NOT NULL)"
        )
        conn.execute("SELECT create_hypertable('reading', by_range('taken_at', INTERVAL '1 day'))")
        conn.execute(
            "INSERT INTO reading SELECT timestamptz '2024-01-01' + g * INTERVAL '1 minute',"
            " g % 4, 3.0 + (g % 100) / 100.0 FROM generate_series(1, 10000) AS g"
        )
        conn.execute(
            "ALTER TABLE reading SET (timescaledb.compress,"
            " timescaledb.compress_segmentby = 'cell_id',"
            " timescaledb.compress_orderby = 'taken_at')"
        )
        compressed = conn.execute(
            "SELECT compress_chunk(c) FROM show_chunks('reading') AS c"
        ).fetchall()
        assert len(compressed) >= 7  # 10,000 minutes in 1-day chunks
        total, done, before, after = conn.execute(
            "SELECT total_chunks, number_compressed_chunks, before_compression_total_bytes,"
            " after_compression_total_bytes FROM hypertable_compression_stats('reading')"
        ).fetchone()
        assert total == done == len(compressed)
        assert 0 < after < before
        assert conn.execute("SELECT count(*), count(DISTINCT cell_id) FROM reading").fetchone() == (
            10000,
            4,
        )


def test_timescale_sessions_do_not_leak_between_connections(ts_db):
    with ts_db.connect() as conn:
        conn.execute("SET search_path TO pg_catalog")
        conn.execute("CREATE TEMP TABLE scratch (i int)")
        for i in range(6):  # psycopg prepares a statement after 5 executions
            conn.execute("SELECT %s::int", (i,))
    with ts_db.connect() as conn:
        assert conn.execute("SHOW search_path").fetchone()[0] == '"$user", public'
        assert conn.execute("SELECT to_regclass('scratch')").fetchone()[0] is None
        for i in range(6):
            conn.execute("SELECT %s::int", (i,))


def test_timescale_one_connection_at_a_time(ts_db):
    with ts_db.connect():
        with pytest.raises(psycopg.OperationalError, match="one connection|at a time"):
            ts_db.connect()
    with ts_db.connect() as conn:  # the slot is free again
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_timescale_fresh_database_wipes_but_keeps_the_extension(timescale):
    # One database on PGlite: this also wipes what ts_db holds, so it runs last.
    with timescale.fresh_database("dirty") as db, db.connect() as conn:
        conn.execute("CREATE SCHEMA extra")
        conn.execute("CREATE TABLE extra.t (i int)")
        conn.execute("CREATE TYPE mood AS ENUM ('ok')")
        conn.execute("CREATE DOMAIN percent AS real CHECK (VALUE BETWEEN 0 AND 100)")
        conn.execute("CREATE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 42'")
        conn.execute("CREATE TABLE m (t timestamptz NOT NULL, v mood)")
        conn.execute("SELECT create_hypertable('m', by_range('t'))")
        conn.execute("INSERT INTO m VALUES (now(), 'ok')")
        conn.execute("CREATE VIEW mv AS SELECT * FROM m")
        conn.execute(
            "CREATE MATERIALIZED VIEW m_hourly WITH (timescaledb.continuous) AS"
            " SELECT time_bucket(INTERVAL '1 hour', t) AS hour, count(*) FROM m GROUP BY 1"
            " WITH NO DATA"
        )
        conn.execute("CALL refresh_continuous_aggregate('m_hourly', NULL, NULL)")
        conn.execute("ALTER TABLE m SET (timescaledb.compress)")
        conn.execute("SELECT add_compression_policy('m', INTERVAL '7 days')")
    with timescale.fresh_database("clean") as db, db.connect() as conn:
        leftovers = conn.execute(
            "SELECT to_regnamespace('extra'), to_regclass('m'), to_regclass('mv'),"
            " to_regclass('m_hourly'), to_regtype('mood'), to_regtype('percent'),"
            " to_regprocedure('answer()')"
        ).fetchone()
        assert leftovers == (None,) * 7
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM timescaledb_information.hypertables),"
            " (SELECT count(*) FROM timescaledb_information.continuous_aggregates),"
            " (SELECT count(*) FROM timescaledb_information.jobs WHERE hypertable_name IS NOT NULL)"
        ).fetchone()
        assert counts == (0, 0, 0)
        conn.execute("CREATE TABLE m (t timestamptz NOT NULL)")
        conn.execute("SELECT create_hypertable('m', by_range('t'))")


# ------------------------------------------------------------------ Liam ERD

LIAM_DDL = """\
CREATE TABLE battery (
    battery_id bigint PRIMARY KEY,
    serial_number varchar(64) NOT NULL,
    CONSTRAINT uq_battery_serial UNIQUE (serial_number)
);
CREATE TABLE cycle (
    cycle_id bigint PRIMARY KEY,
    battery_id bigint NOT NULL,
    capacity_ah real,
    CONSTRAINT fk_cycle_battery FOREIGN KEY (battery_id)
        REFERENCES battery (battery_id) ON DELETE CASCADE
);
COMMENT ON TABLE battery IS 'One physical battery pack.';
COMMENT ON COLUMN cycle.capacity_ah IS 'Discharged capacity in ampere-hours.';
"""


@pytest.fixture
def tmp_path():
    """Like pytest's tmp_path, but removed right away instead of kept for 3 runs."""
    with tempfile.TemporaryDirectory(prefix="liam-erd-schema-test-") as path:
        yield Path(path)


def test_liam_build_tables_columns_comments_fk(liam_cli, tmp_path):
    sql_file = tmp_path / "schema.sql"
    sql_file.write_text(LIAM_DDL)
    schema = liam_cli.build(sql_file, tmp_path / "erd")
    assert (tmp_path / "erd" / "index.html").is_file()

    tables = schema["tables"]
    assert set(tables) == {"battery", "cycle"}
    battery, cycle = tables["battery"], tables["cycle"]
    assert list(battery["columns"]) == ["battery_id", "serial_number"]
    assert battery["columns"]["serial_number"]["type"] == "varchar"
    assert battery["columns"]["serial_number"]["notNull"] is True
    assert battery["comment"] == "One physical battery pack."
    assert cycle["comment"] is None
    assert cycle["columns"]["capacity_ah"]["comment"] == "Discharged capacity in ampere-hours."
    assert battery["constraints"]["uq_battery_serial"] == {
        "type": "UNIQUE",
        "name": "uq_battery_serial",
        "columnNames": ["serial_number"],
    }
    assert battery["constraints"]["battery_pkey"]["type"] == "PRIMARY KEY"
    assert cycle["constraints"]["fk_cycle_battery"] == {
        "type": "FOREIGN KEY",
        "name": "fk_cycle_battery",
        "columnNames": ["battery_id"],
        "targetTableName": "battery",
        "targetColumnNames": ["battery_id"],
        "updateConstraint": "NO_ACTION",
        "deleteConstraint": "CASCADE",
    }


def test_liam_build_reports_parse_errors(liam_cli, tmp_path):
    sql_file = tmp_path / "bad.sql"
    sql_file.write_text("CREATE TABLE broken (id int,);\n")
    with pytest.raises(LiamBuildError, match="exit code") as failure:
        liam_cli.build(sql_file, tmp_path / "erd")
    assert "syntax error" in failure.value.stdout + failure.value.stderr


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                pass
    return [pid for pid in pids if pid != os.getpid()]


def test_liam_build_times_out_and_kills_the_cli(liam_cli, tmp_path):
    sql_file = tmp_path / "no_final_semicolon.sql"
    sql_file.write_text("CREATE TABLE endless (id int)")  # makes the CLI loop forever
    with pytest.raises(LiamBuildError, match="timed out"):
        liam_cli.build(sql_file, tmp_path / "erd", timeout=3)
    assert _processes_mentioning(str(sql_file)) == []
