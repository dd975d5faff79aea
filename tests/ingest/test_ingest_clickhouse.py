"""The loader into ClickHouse (chdb: the real engine, in a child process per command, since
chdb opens one data directory per process): the generated tables filled from BDF CSV, the
quality report in strict and lenient mode, a refused file leaving nothing behind (not even
its sidecar's session), and a file loaded twice counted once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ingest.loading import MACHINE_FILE, QUALITY_FILE, sidecar, write
from tests.support.chkit import CREATE, chdb_or_skip
from tests.support.dbkit import ROOT

# ClickHouse (chdb) runs in this process or a child of it
pytestmark = pytest.mark.engines

QUERY = """
import sys
from chdb import session
s = session.Session({path!r})
s.query("USE battery")
print(s.query(sys.argv[1], "JSONCompact").bytes().decode())
"""


@pytest.fixture(scope="module")
def chdb_dir(tmp_path_factory) -> Path:
    chdb_or_skip()
    path = tmp_path_factory.mktemp("chdb") / "data"
    path.mkdir()
    code = CREATE.format(
        root=str(ROOT), path=str(path), ddl=str(ROOT / "sql/clickhouse/schema.sql")
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=300)
    return path


def query(path: Path, sql: str) -> list:
    proc = subprocess.run(
        [sys.executable, "-c", QUERY.format(path=str(path)), sql],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["data"]


def ingest(path: Path, *args: str) -> subprocess.CompletedProcess:
    url = f"chdb://{path}?database=battery"
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args, "--db", url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


COUNTS = (
    "SELECT (SELECT count() FROM timeseries_point), (SELECT count() FROM test_session), "
    "(SELECT count() FROM battery_cell), (SELECT count() FROM source_file), "
    "(SELECT count() FROM system.tables WHERE database = 'battery' AND name LIKE 'ingest_stage%')"
)


def test_clickhouse_load_refuse_lenient_and_twice(chdb_dir, tmp_path):
    good = write(tmp_path, "good.csv", MACHINE_FILE)
    loaded = ingest(chdb_dir, str(good), "--sidecar", str(sidecar(tmp_path)))
    assert loaded.returncode == 0, loaded.stderr
    assert "3 rows loaded into session 1" in loaded.stderr
    rows = query(
        chdb_dir,
        "SELECT record_index, toFloat64(recorded_at), round(voltage_volt, 3), step_id "
        "FROM timeseries_point ORDER BY record_index",
    )
    assert rows == [[0, 1711843200, 3.6, 1], [1, 1711843210, 3.65, 1], [2, 1711843220, 3.7, 2]]
    assert query(
        chdb_dir,
        "SELECT session_id, record_index_first, record_index_last, "
        "content_sha256 != '' FROM source_file",
    ) == [[1, 0, 2, 1]]
    before = query(chdb_dir, COUNTS)
    assert before == [[3, 1, 1, 1, 0]]

    # the same bytes again: a no-op
    again = ingest(chdb_dir, str(good), "--session", "1")
    assert again.returncode == 0 and "already loaded" in again.stderr
    assert query(chdb_dir, COUNTS) == before

    # strict: refused with the report; its sidecar's cell and session are gone again
    bad = write(tmp_path, "quality.csv", QUALITY_FILE)
    refused = ingest(chdb_dir, str(bad), "--sidecar", str(sidecar(tmp_path)))
    assert refused.returncode == 1
    assert (
        "ck_timeseries_point_voltage_volt_range: column 'voltage_volt' 1 row(s) at line(s) 3"
        in refused.stderr
    )
    assert "Traceback" not in refused.stderr
    assert query(chdb_dir, COUNTS) == before

    # lenient: the passing rows, continuing the session's record indexes (the file counts
    # from the session's start, as the first did: its times overlap, allowed here)
    report = tmp_path / "report.json"
    options = ("--session", "1", "--lenient", "--allow-overlap", "--report", str(report))
    lenient = ingest(chdb_dir, str(bad), *options)
    assert lenient.returncode == 0, lenient.stderr
    (record,) = json.loads(report.read_text())
    assert record["rows_loaded"] == 3 and record["rows_rejected"] == 3
    assert [r["line"] for r in record["rejects"]] == [3, 4, 7]
    assert query(chdb_dir, COUNTS) == [[6, 1, 1, 2, 0]]
    assert query(
        chdb_dir, "SELECT min(record_index) FROM timeseries_point WHERE test_time_second = 3"
    ) == [[6]]  # 3 + its position in the file


def test_clickhouse_bad_database_is_a_usage_error(tmp_path):
    chdb_or_skip()
    good = write(tmp_path, "good.csv", MACHINE_FILE)
    missing = ingest(tmp_path / "nowhere", str(good), "--session", "1")
    assert missing.returncode == 2 and "no such chdb data directory" in missing.stderr
