"""derive/sqlite_features.py (SQLite's cycle features in numpy) gives FEATURES's rows to the
bit: every session of the room (CC-CV with step labels, counters that restart, time stepping
backwards, cycles without counters, temperature channels, partial cycles) derived both ways on
one SQLite file, each value compared exactly (NULL with NULL)."""

from __future__ import annotations

import sqlite3

import pytest

import derive
from connection.dbapi import DbapiConnection
from derive import sql, sqlite_features
from derive.plan import temperature_channel
from derive.run import CV_TOLERANCE_VOLT
from tests.derive.sessions import load_sessions
from tests.support.dbkit import ROOT

COLUMNS = ", ".join(sql.FEATURE_COLUMNS)
# the sessions are loaded by the loader (about 3 s; 8 s on a busy machine)
pytestmark = pytest.mark.slow
READ = f"SELECT session_id, cycle_index, {COLUMNS} FROM cycle_feature WHERE feature_version = ?"


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sqlite-features")
    path = tmp / "derive.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript((ROOT / "sql" / "sqlite" / "schema.sql").read_text())
    conn.close()
    ids = load_sessions(str(path), tmp)
    derive.run(str(path), what="cycles")
    return path, ids


def _sql_rows(conn: DbapiConnection, session_id: int, version: str) -> None:
    channel = temperature_channel(conn.query, session_id) or sql.TEMPERATURE_CHANNELS[0]
    tol = CV_TOLERANCE_VOLT
    conn.execute(sql.features(channel), [session_id, tol, tol, version])


def test_numpy_gives_the_sql_texts_rows_to_the_bit(database):
    path, ids = database
    conn = DbapiConnection(sqlite3.connect(path))
    try:
        for session_id in ids.values():
            _sql_rows(conn, session_id, "by-sql")
            channel = temperature_channel(conn.query, session_id) or sql.TEMPERATURE_CHANNELS[0]
            written = sqlite_features.derive(
                conn, session_id, channel, "by-numpy", CV_TOLERANCE_VOLT
            )
            assert (
                written
                == conn.query(
                    "SELECT count(*) FROM cycle_feature WHERE session_id = %s"
                    " AND feature_version = %s",
                    [session_id, "by-sql"],
                )[0][0]
            )
        conn.raw.commit()
        by_sql = conn.raw.execute(READ + " ORDER BY 1, 2", ["by-sql"]).fetchall()
        by_numpy = conn.raw.execute(READ + " ORDER BY 1, 2", ["by-numpy"]).fetchall()
    finally:
        conn.raw.close()
    assert len(by_sql) > 10
    assert by_numpy == by_sql  # floats compared with ==: the same bits, NULL where NULL


def test_a_rerun_writes_nothing_and_a_changed_sample_rewrites_its_cycle(database, tmp_path):
    path, ids = database
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(path.read_bytes())
    first = derive.run(str(copy), what="features", feature_version="rerun")
    assert sum(r.features for r in first) > 10
    again = derive.run(str(copy), what="features", feature_version="rerun")
    assert [r.features for r in again] == [0] * len(again)
    conn = sqlite3.connect(copy)
    session = min(ids.values())
    conn.execute(
        "UPDATE timeseries_point SET voltage_volt = voltage_volt + 0.01 WHERE session_id = ? "
        "AND record_index = (SELECT max(record_index) FROM timeseries_point WHERE session_id = ?)",
        [session, session],
    )
    conn.commit()
    conn.close()
    (changed,) = derive.run(str(copy), [session], what="features", feature_version="rerun")
    assert changed.features == 1


def test_numpy_cycles_are_the_sql_texts_rows(database, tmp_path):
    """The cycles of a run that derives features too come from the same read (numpy's min
    and max per cycle): sql.CYCLES's rows, exactly; a run over them changes none."""
    path, ids = database  # the fixture derived the cycles alone: by the SQL text
    conn = DbapiConnection(sqlite3.connect(path))
    try:
        for session_id in ids.values():
            samples = sqlite_features.read(conn, session_id, sql.TEMPERATURE_CHANNELS[0])
            kind = conn.query(sql.CYCLE_KIND, [session_id])[0][0]
            stored = conn.query(
                "SELECT session_id, cycle_index, record_index_first, record_index_last,"
                " test_time_start_second, test_time_end_second, cycle_type, cycle_type_source"
                " FROM cycle WHERE session_id = %s ORDER BY cycle_index",
                [session_id],
            )
            assert stored and sqlite_features.cycle_rows(samples, session_id, kind) == stored
    finally:
        conn.raw.close()
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(path.read_bytes())
    again = derive.run(str(copy), what="cycles,features", feature_version="cycles-numpy")
    assert [r.cycles for r in again] == [0] * len(again)
    assert all(r.features for r in again)


def test_blocks_of_a_few_cycles_give_the_rows_of_one_block(database, monkeypatch):
    """rows() computes a block of whole cycles at a time (the sample before a block's first
    is the previous block's last): blocks of a few samples give the one block's rows to the
    bit, for every session of the room (counters that restart, time stepping back, CC-CV)."""
    path, ids = database
    conn = DbapiConnection(sqlite3.connect(path))
    try:
        for session_id in ids.values():
            channel = temperature_channel(conn.query, session_id) or sql.TEMPERATURE_CHANNELS[0]
            samples = sqlite_features.read(conn, session_id, channel)
            whole = sqlite_features.rows(samples, session_id, "v", CV_TOLERANCE_VOLT)
            with monkeypatch.context() as m:
                m.setattr(sqlite_features, "BLOCK", 5)
                blocks = sqlite_features._blocks(samples[:, 0])
                assert len(blocks) > 1 or len(whole) < 2
                assert sqlite_features.rows(samples, session_id, "v", CV_TOLERANCE_VOLT) == whole
    finally:
        conn.raw.close()
