"""TimescaleDB behaviour the catalog cannot show: the generated hypertable compresses while
labels and predictions reference its samples, those references stay enforced on compressed
chunks, and the continuous aggregate refreshes. The hypertable is timeseries_point_store, which
stores test_started_at in place of test_time_second (schema.yaml, elapsed_as_start); users
query and insert through the view timeseries_point, which gives test_time_second back."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from tests.support.dbkit import ddl_text, load_pg_ddl
from tests.support.seed import SEED

POINTS = 5000


@pytest.fixture(scope="module")
def ts(timescale):
    with timescale.fresh_database("compress") as database, database.connect() as conn:
        load_pg_ddl(conn, ddl_text("timescaledb"))
        for table, row in SEED:
            if table in ("battery_pack", "battery_cell", "test_session"):
                columns = ", ".join(row)
                conn.execute(
                    f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(row))})",
                    list(row.values()),
                )
        # 5000 samples at 10 s, about 14 h, starting 6 h before a 7-day chunk boundary
        # (chunks are aligned to the Unix epoch, a Thursday): two chunks
        start = dt.datetime(2024, 1, 10, 18, tzinfo=dt.UTC)
        conn.execute(
            """
            INSERT INTO timeseries_point (recorded_at, test_time_second, session_id,
                record_index, cycle_count, voltage_volt, current_ampere,
                surface_temperature_celsius, step_id)
            SELECT %s + i * interval '10 s', i * 10.0, 101, i, i / 500, 3.6 + (i %% 100) / 1000.0,
                   CASE WHEN i %% 1000 < 500 THEN 2.5 ELSE -2.5 END, 25.0, 1
            FROM generate_series(0, %s - 1) AS i""",
            (start, POINTS),
        )
        conn.execute("""
            INSERT INTO label_soc (session_id, record_index, recorded_at, method,
                                   label_version, soc, reference_capacity_ah, initial_soc)
            SELECT session_id, record_index, recorded_at, 'coulomb_counting', 'v1', 0.5, 5, 0.5
            FROM timeseries_point WHERE record_index % 10 = 0""")
        yield conn, start


def test_every_chunk_compresses_while_labels_reference_samples(ts):
    conn, _ = ts
    chunks = [r[0] for r in conn.execute("SELECT show_chunks('timeseries_point_store')")]
    assert len(chunks) == 2
    for chunk in chunks:
        conn.execute("SELECT compress_chunk(%s)", (chunk,))
    before, after = conn.execute("""
        SELECT sum(before_compression_total_bytes), sum(after_compression_total_bytes)
        FROM chunk_compression_stats('timeseries_point_store')""").fetchone()
    assert after < before / 3, f"compression: {before} -> {after} bytes"
    assert conn.execute("SELECT count(*) FROM timeseries_point").fetchone()[0] == POINTS


def test_references_hold_on_compressed_chunks(ts):
    conn, start = ts
    insert = """INSERT INTO label_soc (session_id, record_index, recorded_at, method,
                                       label_version, soc, reference_capacity_ah, initial_soc)
                VALUES (101, %s, %s, 'coulomb_counting', 'v2', 0.4, 5, 0.5)"""
    conn.execute(insert, (7, start + dt.timedelta(seconds=70)))
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="fk_label_soc_point"):
        conn.execute(insert, (8, start + dt.timedelta(seconds=81)))
    joined = conn.execute("""
        SELECT count(*) FROM label_soc l JOIN timeseries_point p
          ON p.session_id = l.session_id AND p.record_index = l.record_index
         AND p.recorded_at = l.recorded_at""").fetchone()[0]
    assert joined == POINTS // 10 + 1


def test_deleting_a_session_with_samples_is_refused(ts):
    conn, _ = ts
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        conn.execute("DELETE FROM test_session WHERE session_id = 101")


def test_continuous_aggregate_refreshes(ts):
    conn, start = ts
    conn.execute("CALL refresh_continuous_aggregate('timeseries_point_1min', NULL, NULL)")
    buckets, samples = conn.execute(
        "SELECT count(*), sum(sample_count) FROM timeseries_point_1min"
    ).fetchone()
    assert samples == POINTS
    assert buckets == pytest.approx(POINTS * 10 / 60, abs=2)


def test_deleting_a_compressed_sample_cascades_to_its_labels(ts):
    conn, start = ts
    key = (101, 20, start + dt.timedelta(seconds=200))
    where = "session_id = %s AND record_index = %s AND recorded_at = %s"
    assert conn.execute(f"SELECT count(*) FROM label_soc WHERE {where}", key).fetchone()[0] == 1
    conn.execute(f"DELETE FROM timeseries_point WHERE {where}", key)
    assert (
        conn.execute(f"SELECT count(*) FROM timeseries_point WHERE {where}", key).fetchone()[0] == 0
    )
    assert conn.execute(f"SELECT count(*) FROM label_soc WHERE {where}", key).fetchone()[0] == 0


def test_view_gives_test_time_second_back_from_compressed_chunks(ts):
    """Inserted through the view as i * 10.0 s, stored as recorded_at - test_time_second
    (one instant per session), read back through the view by the same name and type."""
    conn, start = ts
    assert conn.execute(
        "SELECT count(DISTINCT test_started_at), min(test_started_at) FROM timeseries_point_store"
    ).fetchone() == (1, start)
    worst, kind = conn.execute("""
        SELECT max(abs(test_time_second - record_index * 10.0)),
               pg_typeof(min(test_time_second))::text
        FROM timeseries_point""").fetchone()
    assert (worst, kind) == (0, "double precision")
    # a fraction of a second keeps its microseconds; a negative time is refused by the
    # range check, whose name users know from the other engines
    conn.execute(
        """
        INSERT INTO timeseries_point (recorded_at, test_time_second, session_id, record_index,
                                      cycle_count, voltage_volt, current_ampere)
        VALUES (%s, 123.456789, 101, 90001, 0, 3.7, 0)""",
        (start,),
    )
    assert conn.execute(
        "SELECT test_time_second FROM timeseries_point WHERE record_index = 90001"
    ).fetchone()[0] == pytest.approx(123.456789, abs=1e-9)
    with pytest.raises(psycopg.errors.CheckViolation, match="test_time_second_range"):
        conn.execute(
            """
            INSERT INTO timeseries_point (recorded_at, test_time_second, session_id,
                                          record_index, cycle_count, voltage_volt, current_ampere)
            VALUES (%s, -1, 101, 90002, 0, 3.7, 0)""",
            (start,),
        )
    with pytest.raises(psycopg.errors.NotNullViolation, match="test_time_second"):
        conn.execute(
            """
            INSERT INTO timeseries_point (recorded_at, test_time_second, session_id,
                                          record_index, cycle_count, voltage_volt, current_ampere)
            VALUES (%s, NULL, 101, 90003, 0, 3.7, 0)""",
            (start,),
        )
    conn.execute("DELETE FROM timeseries_point WHERE record_index = 90001")
