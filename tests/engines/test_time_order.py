"""Time-ordered access to the samples on every engine, proven by the engines' own plans.

The two queries engineers write most (a session's samples between two times in time order,
and the latest N samples of a session) must be read from an index in time order, or reach
only the chunks they need on TimescaleDB: no sequential scan of the samples and no sort.
The query texts and plan verdicts are the benchmark's (bench/queries.py), so the bench and
these tests judge the same SQL the same way.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from bench import queries
from tests.support.dbkit import ddl_text, load_pg_ddl
from tests.support.seed import SEED

SESSIONS = (101, 102, 103)
SAMPLES = 20_000  # per session: enough that a planner prefers an index to reading it all
STEP_SECONDS = 10
# 6 h before a 7-day chunk boundary (chunks align to the Unix epoch), so the samples of
# each session span two TimescaleDB chunks and the window lies in the second one.
START = dt.datetime(2024, 1, 10, 18, tzinfo=dt.UTC)
WINDOW = (START + dt.timedelta(hours=30), START + dt.timedelta(hours=31))
SESSION = 102


def _problems(verdict: queries.PlanVerdict, plan: str) -> str:
    found = queries.time_order_problems(verdict)
    return "; ".join(found) + "\nplan:\n" + plan if found else ""


def _parents(conn, mark: str) -> None:
    for table, row in SEED:
        if table in ("battery_pack", "battery_cell", "test_session"):
            values = [
                v.timestamp() if mark == "?" and isinstance(v, dt.datetime) else v
                for v in row.values()
            ]
            conn.execute(
                f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join([mark] * len(row))})",
                values,
            )


# ------------------------------------------------------------------------------ SQLite


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("time-order") / "time.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.executescript(ddl_text("sqlite"))
    conn.execute("BEGIN")
    _parents(conn, "?")
    for session in SESSIONS:
        conn.execute(
            """
            WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n + 1 < ?)
            INSERT INTO timeseries_point (recorded_at, test_time_second, session_id,
                record_index, cycle_count, voltage_volt, current_ampere,
                surface_temperature_celsius, step_id)
            SELECT ? + n * ?, n * ?, ?, n, n / 500, 3.6 + (n % 100) / 1000.0, 2.5, 25.0, 1
            FROM i""",
            (SAMPLES, START.timestamp(), STEP_SECONDS, float(STEP_SECONDS), session),
        )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    yield conn
    conn.close()


@pytest.mark.parametrize("query", queries.TIME_ORDERED, ids=lambda q: q.key)
def test_sqlite_reads_samples_in_time_order_from_an_index(sqlite_db, query):
    args = _args(query, lambda t: t.timestamp())
    sql = query.sql("sqlite")
    plan = [row[3] for row in sqlite_db.execute("EXPLAIN QUERY PLAN " + sql, args)]
    verdict = queries.sqlite_verdict(plan)
    if problems := _problems(verdict, "\n".join(plan)):
        pytest.fail(f"sqlite, {query.key}: {problems}", pytrace=False)
    rows = sqlite_db.execute(sql, args).fetchall()
    _assert_result(query, [r[0] for r in rows], lambda t: t.timestamp())


# -------------------------------------------------------------- PostgreSQL, TimescaleDB


def _fill_pg(conn) -> None:
    _parents(conn, "%s")
    for session in SESSIONS:
        conn.execute(
            """
            INSERT INTO timeseries_point (recorded_at, test_time_second, session_id,
                record_index, cycle_count, voltage_volt, current_ampere,
                surface_temperature_celsius, step_id)
            SELECT %s + i * make_interval(secs => %s), i * %s::float8, %s, i, i / 500,
                   3.6 + (i %% 100) / 1000.0, 2.5, 25.0, 1
            FROM generate_series(0, %s - 1) AS i""",
            (START, STEP_SECONDS, STEP_SECONDS, session, SAMPLES),
        )
    conn.execute("VACUUM ANALYZE")


def _pg_check(conn, engine: str, query, total_chunks=None) -> None:
    args = _args(query, lambda t: t)
    sql = query.sql(engine)
    text = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql, args))
    plan_json = conn.execute("EXPLAIN (FORMAT JSON) " + sql, args).fetchone()[0]
    verdict = queries.postgres_verdict(plan_json, total_chunks)
    if problems := _problems(verdict, text):
        pytest.fail(f"{engine}, {query.key}: {problems}", pytrace=False)
    rows = conn.execute(sql, args).fetchall()
    _assert_result(query, [r[0] for r in rows], lambda t: t)


@pytest.fixture(scope="module")
def pg_db(pg_engine):
    with pg_engine.fresh_database("timeorder") as database, database.connect() as conn:
        load_pg_ddl(conn, ddl_text("postgres"))
        _fill_pg(conn)
        yield conn, pg_engine.name


@pytest.mark.parametrize("query", queries.TIME_ORDERED, ids=lambda q: q.key)
def test_postgres_reads_samples_in_time_order_from_an_index(pg_db, query):
    conn, _ = pg_db
    _pg_check(conn, "postgres", query)


@pytest.fixture(scope="module")
def ts_db(timescale):
    with timescale.fresh_database("timeorder") as database, database.connect() as conn:
        load_pg_ddl(conn, ddl_text("timescaledb"))
        _fill_pg(conn)
        chunks = conn.execute(
            "SELECT count(*) FROM show_chunks('timeseries_point_store')"
        ).fetchone()
        assert chunks[0] == 2, "the samples should span two chunks"
        yield conn


@pytest.mark.parametrize("query", queries.TIME_ORDERED, ids=lambda q: q.key)
def test_timescaledb_reads_samples_in_time_order(ts_db, query):
    _pg_check(ts_db, "timescaledb", query, total_chunks=2)


@pytest.mark.parametrize("query", queries.TIME_ORDERED, ids=lambda q: q.key)
def test_timescaledb_compressed_reads_samples_in_time_order(ts_db, query):
    for (chunk,) in ts_db.execute("SELECT show_chunks('timeseries_point_store')").fetchall():
        ts_db.execute("SELECT compress_chunk(%s, if_not_compressed => true)", (chunk,))
    ts_db.execute("ANALYZE")
    _pg_check(ts_db, "timescaledb", query, total_chunks=2)


# ------------------------------------------------------------------------------ shared


def _args(query, to_engine_time) -> tuple:
    if query.key == "time_range":
        return (SESSION, to_engine_time(WINDOW[0]), to_engine_time(WINDOW[1]))
    if query.key == "latest":
        return (SESSION, queries.LATEST_N)
    raise KeyError(query.key)


def _assert_result(query, times: list, to_engine_time) -> None:
    """The rows are the right ones, in the asked order: the plan check is not vacuous."""
    step = dt.timedelta(seconds=STEP_SECONDS)
    if query.key == "time_range":
        expected = [WINDOW[0] + i * step for i in range(int((WINDOW[1] - WINDOW[0]) / step))]
    else:
        last = START + (SAMPLES - 1) * step
        expected = [last - i * step for i in range(queries.LATEST_N)]
    assert times == [to_engine_time(t) for t in expected]


# ------------------------------------------------------- the checks can fail (teeth)


def test_sqlite_check_fails_without_the_time_index(sqlite_db):
    sqlite_db.execute("BEGIN")
    try:
        sqlite_db.execute("DROP INDEX ix_timeseries_point_session_time")
        for query in queries.TIME_ORDERED:
            plan = [
                row[3]
                for row in sqlite_db.execute(
                    # a new text: sqlite3's statement cache would replay the old plan
                    "EXPLAIN QUERY PLAN " + query.sql("sqlite") + "\n-- without the index",
                    _args(query, lambda t: t.timestamp()),
                )
            ]
            assert queries.time_order_problems(queries.sqlite_verdict(plan)), plan
    finally:
        sqlite_db.execute("ROLLBACK")


def test_postgres_check_fails_without_the_time_index(pg_db):
    conn, _ = pg_db
    with conn.transaction(force_rollback=True):
        conn.execute("DROP INDEX ix_timeseries_point_session_time")
        for query in queries.TIME_ORDERED:
            plan = conn.execute(
                "EXPLAIN (FORMAT JSON) " + query.sql("postgres"), _args(query, lambda t: t)
            ).fetchone()[0]
            assert queries.time_order_problems(queries.postgres_verdict(plan)), plan
