"""The loader (ingest/) on real engines: BDF CSV files in, values read back (units, sign, UTC,
record indexes), the quality report in strict and lenient mode, de-duplication by content
hash, and a corpus of bad files that must each be refused with a located message and leave
the database exactly as it was."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.cli import main
from tests.ingest.loading import (
    CELL,
    ENGINES,
    MACHINE_FILE,
    QUALITY_FILE,
    SESSION,
    START,
    ingest,
    session_of,
    sidecar,
    write,
)
from tests.support.dbkit import ROOT, sqlite_db

TARGET_ENGINES = ENGINES  # the `target` fixture (conftest.py) on every engine


# ------------------------------------------------------------------------- normalisation

LOCAL_FILE = """\
Date Time,Test Time / h,Voltage / mV,Current / mA,Cycle Count / 1,Charging Capacity / mAh,\
Surface Temperature / K,Step Type,Auxiliary / V
2024-03-31 01:30:00,0,3700,-1000,0,0,298.15,cc_charge,1
2024-03-31 03:30:00,0.5,3800,-2000,0,500,299.15,cc_charge,1
2024-03-31 04:00:00,1,3900,1500,1,1000,300.15,cc_discharge,1
"""


def test_units_sign_and_local_time_to_utc(target, tmp_path, capsys):
    """mV/mA/h/mAh/K become V/A/s/Ah/degC; a discharge-positive source is flipped; local
    Berlin times across the spring DST change become UTC, and the zone is recorded."""
    path = write(tmp_path, "local.csv", LOCAL_FILE)
    code, err = ingest(
        target,
        [path],
        "--sidecar",
        str(sidecar(tmp_path)),
        "--discharge-positive",
        "--time-zone",
        "Europe/Berlin",
        capsys=capsys,
    )
    assert code == 0, err
    session = session_of(target, path)
    rows = target.query(
        f"SELECT record_index, {target.epoch('recorded_at')}, test_time_second, voltage_volt,"
        " current_ampere, charging_capacity_ah, surface_temperature_celsius, step_type,"
        " cycle_count FROM timeseries_point WHERE session_id = %s ORDER BY record_index",
        [session],
    )
    assert [r[0] for r in rows] == [0, 1, 2]
    # 01:30 CET = 00:30 UTC; 03:30 CEST = 01:30 UTC; 04:00 CEST = 02:00 UTC
    assert [r[1] for r in rows] == [1711845000.0, 1711848600.0, 1711850400.0]
    assert [r[2] for r in rows] == [0.0, 1800.0, 3600.0]
    assert [r[3] for r in rows] == pytest.approx([3.7, 3.8, 3.9])
    assert [r[4] for r in rows] == pytest.approx([1.0, 2.0, -1.5])  # charge positive
    assert [r[5] for r in rows] == pytest.approx([0.0, 0.5, 1.0])
    assert [r[6] for r in rows] == pytest.approx([25.0, 26.0, 27.0])
    assert [r[7] for r in rows] == ["cc_charge", "cc_charge", "cc_discharge"]
    assert [r[8] for r in rows] == [0, 0, 1]
    zone, units, first, last = target.query(
        "SELECT assumed_time_zone, original_units, record_index_first, record_index_last"
        " FROM source_file WHERE uri = %s",
        [str(path)],
    )[0]
    assert zone == "Europe/Berlin"
    units = units if isinstance(units, dict) else json.loads(units)
    assert units == {
        "charging_capacity_ah": "mAh",
        "current_ampere": "mA",
        "surface_temperature_celsius": "K",
        "test_time_second": "h",
        "voltage_volt": "mV",
    }
    assert (first, last) == (0, 2)


def test_machine_names_and_continuous_record_index(target, tmp_path, capsys):
    """BDF machine names load as they are (no original units, no assumed zone), and a
    second file of the same session continues its record indexes."""
    first = write(tmp_path, "part1.csv", MACHINE_FILE)
    second = write(tmp_path, "part2.csv", MACHINE_FILE.replace("1711843", "1711844"))
    code, err = ingest(target, [first, second], "--sidecar", str(sidecar(tmp_path)), capsys=capsys)
    assert code == 0, err
    session = session_of(target, first)
    assert session_of(target, second) == session
    rows = target.query(
        f"SELECT record_index, {target.epoch('recorded_at')}, voltage_volt, step_id"
        " FROM timeseries_point WHERE session_id = %s ORDER BY record_index",
        [session],
    )
    assert [r[0] for r in rows] == [0, 1, 2, 3, 4, 5]
    assert rows[0][1] == 1711843200.0 and rows[3][1] == 1711844200.0
    assert [r[3] for r in rows] == [1, 1, 2, 1, 1, 2]
    files = target.query(
        "SELECT uri, original_units, assumed_time_zone, record_index_first, record_index_last"
        " FROM source_file WHERE session_id = %s ORDER BY record_index_first",
        [session],
    )
    # NULL (already BDF units); "{}" on SQLite, whose generated json_valid CHECK refuses NULL
    units = "{}" if target.kind == "sqlite" else None
    assert files == [(str(first), units, None, 0, 2), (str(second), units, None, 3, 5)]


def test_file_without_absolute_time_counts_from_session_start(target, tmp_path, capsys):
    path = write(
        tmp_path,
        "relative.csv",
        "Test Time / min,Voltage / V,Current / A,Cycle Count / 1\n0,3.6,1,0\n1,3.61,1,0\n",
    )
    code, err = ingest(target, [path], "--sidecar", str(sidecar(tmp_path)), capsys=capsys)
    assert code == 0, err
    rows = target.query(
        f"SELECT {target.epoch('recorded_at')}, test_time_second FROM timeseries_point"
        " WHERE session_id = %s ORDER BY record_index",
        [session_of(target, path)],
    )
    assert rows == [(1711843200.0, 0.0), (1711843260.0, 60.0)]


def test_same_file_twice_is_a_no_op(target, tmp_path, capsys):
    path = write(tmp_path, "twice.csv", MACHINE_FILE.replace("3.6,", "3.61,"))
    code, err = ingest(target, [path], "--sidecar", str(sidecar(tmp_path)), capsys=capsys)
    assert code == 0, err
    session = session_of(target, path)
    before = target.counts()
    code, err = ingest(target, [path], "--session", str(session), capsys=capsys)
    assert code == 0
    assert "already loaded" in err and "nothing written" in err
    assert target.counts() == before
    # the same bytes under another name are the same file
    copy = write(tmp_path, "renamed.csv", path.read_bytes())
    code, err = ingest(target, [copy], "--session", str(session), capsys=capsys)
    assert code == 0 and "already loaded" in err
    assert target.counts() == before


# ------------------------------------------------------------------------------ quality


def test_strict_refuses_with_the_report_and_writes_nothing(target, tmp_path, capsys):
    path = write(tmp_path, "quality.csv", QUALITY_FILE)
    before = target.counts()
    code, err = ingest(target, [path], "--sidecar", str(sidecar(tmp_path)), capsys=capsys)
    assert code == 1
    assert (
        "ck_timeseries_point_voltage_volt_range: column 'voltage_volt' 1 row(s) at line(s) 3" in err
    )
    assert "ck_timeseries_point_step_type_enum: column 'step_type' 1 row(s) at line(s) 4" in err
    assert (
        "ck_timeseries_point_cycle_count_range: column 'cycle_count' 1 row(s) at line(s) 7" in err
    )
    assert "test_time_backwards: column 'test_time_second' 1 row(s) at line(s) 6" in err
    assert "nothing was written" in err
    assert target.counts() == before  # not even the sidecar's cell and session


def test_lenient_loads_passing_rows_and_records_rejects(target, tmp_path, capsys):
    path = write(tmp_path, "quality.csv", QUALITY_FILE)
    report = tmp_path / "report.json"
    code, err = ingest(
        target,
        [path],
        "--sidecar",
        str(sidecar(tmp_path)),
        "--lenient",
        "--report",
        str(report),
        capsys=capsys,
    )
    assert code == 0, err
    session = session_of(target, path)
    rows = target.query(
        "SELECT test_time_second FROM timeseries_point WHERE session_id = %s ORDER BY record_index",
        [session],
    )
    assert [r[0] for r in rows] == [0.0, 3.0, 2.5]  # backwards time kept, as recorded
    (record,) = json.loads(report.read_text())
    assert record["rows_loaded"] == 3 and record["rows_rejected"] == 3
    assert record["rejects"] == [
        {"line": 3, "rules": ["ck_timeseries_point_voltage_volt_range"]},
        {"line": 4, "rules": ["ck_timeseries_point_step_type_enum"]},
        {"line": 7, "rules": ["ck_timeseries_point_cycle_count_range"]},
    ]
    assert {f["rule"] for f in record["findings"]} >= {"test_time_backwards"}


# ---------------------------------------------------------------------------- bad input

HEADER = "Test Time / s,Voltage / V,Current / A,Cycle Count / 1"
BAD_INPUT = [
    # (name, content, expected message start after the file name)
    ("zero_bytes", b"", ": the file is empty (0 bytes)"),
    ("header_only", HEADER + "\n", ":2: the file has a header but no data rows"),
    (
        "malformed_row",
        HEADER + "\n0,3.6,1,0\n1,3.6,1,0,7\n2,3.6,1,0\n",
        ":3: malformed CSV row: expected 4 fields, found 5",
    ),
    (
        "truncated",
        HEADER + "\n0,3.6,1,0\n1,3.6,1,0\n2,3.",
        ":4: malformed CSV row: expected 4 fields, found 2 (the file looks truncated)",
    ),
    (
        "missing_current",
        "Test Time / s,Voltage / V,Cycle Count / 1\n0,3.6,0\n",
        ":1: missing required column(s): current",
    ),
    (
        "unknown_unit",
        "Test Time / s,Voltage / furlong,Current / A,Cycle Count / 1\n0,3.6,1,0\n",
        ":1: column 'Voltage / furlong': unknown unit 'furlong' for voltage",
    ),
    (
        "not_a_number",
        HEADER + "\n0,3.6,1,0\n1,3.6,1,0\n2,n/a?,1,0\n",
        ":4: column 'Voltage / V': value 'n/a?' is not a number",
    ),
    (
        "not_an_integer",
        HEADER + "\n0,3.6,1,0\n1,3.6,1,1.5\n",
        ":3: column 'Cycle Count / 1': value '1.5' is not an integer",
    ),
    (
        "duplicate_record_index",
        "Record Index / 1," + HEADER + "\n1,0,3.6,1,0\n2,1,3.6,1,0\n2,2,3.6,1,0\n",
        ": refused",
    ),
    (
        "record_index_backwards",
        "Record Index / 1," + HEADER + "\n1,0,3.6,1,0\n3,1,3.6,1,0\n2,2,3.6,1,0\n",
        ": refused",
    ),
    (
        "local_time_without_zone",
        "Date Time," + HEADER + "\n2024-01-01 10:00:00,0,3.6,1,0\n",
        ":2: column 'Date Time': Date Time holds local times without an offset",
    ),
    (
        "another_cyclers_export",
        "Data_Point,Test_Time(s),Current(A),Voltage(V),Cycle_Index\n1,0,1,3.6,1\n",
        ":1: missing required column(s): test_time, voltage, current (BDF names"
        " such as 'Test Time / s', 'Voltage / V', 'Current / A'); it looks"
        " like an Arbin CSV export: use --format arbin",
    ),
    (
        "header_not_utf8",
        b"Test Time / s,Voltage / V,Current / A,Cycle Count / 1,Temp\xe9rature / K\n0,3.6,1,0,1\n",
        ":1: the header is not UTF-8 text (byte 0xe9 at column 59): save the file as UTF-8",
    ),
    (
        "chinese_neware_export_as_bdf",
        "数据序号,循环号,工步号,工步类型,总时间,电流(A),电压(V)\n1,1,1,搁置,00:00:00,0,3.6\n".encode(
            "gb18030"
        ),
        ":1: the header is not UTF-8 text (byte 0xca at column 1): save the file as UTF-8; it "
        "looks like a Neware CSV export: use --format neware",
    ),
    (
        "row_not_utf8",
        (HEADER + "\n0,3.6,1,0\n1,3.\xe96,1,0\n").encode("latin-1"),
        ":3: the line is not UTF-8 text (byte 0xe9 at column 5): save the file as UTF-8",
    ),
    (
        "terminal_escape_in_a_value",
        HEADER + "\n0,3.6,1,0\n1,\x1b[2J3.6,1,0\n",
        ":3: column 'Voltage / V': value '\\x1b[2J3.6' is not a number",
    ),
    (
        "semicolons_and_decimal_commas",
        HEADER.replace(",", ";") + "\n0;3,6;1;0\n",
        ":1: the header is one column holding ';' separators: --format bdf reads "
        "comma-separated CSV with '.' decimals",
    ),
    (
        "tab_separated",
        HEADER.replace(",", "\t") + "\n0\t3.6\t1\t0\n",
        ":1: the header is one column holding tab separators",
    ),
    (
        "quantity_twice",
        "Voltage / V," + HEADER + "\n3.6,0,3.6,1,0\n",
        ":1: column 'Voltage / V': voltage appears twice",
    ),
]
REPORT_LINES = {
    "duplicate_record_index": (
        "duplicate_record_index: column 'record_index' 2 row(s) at line(s) 3, 4"
    ),
    "record_index_backwards": "record_index_order: column 'record_index' 1 row(s) at line(s) 4",
}


@pytest.mark.parametrize("name,content,message", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_refused_whole(target, tmp_path, capsys, name, content, message):
    path = write(tmp_path, f"{name}.csv", content)
    before = target.counts()
    for mode in ("--strict", "--lenient"):
        # given as BDF: without --format, another cycler's export would be read as what it is
        options = ("--sidecar", str(sidecar(tmp_path)), mode, "--format", "bdf")
        code, err = ingest(target, [path], *options, capsys=capsys)
        assert code == 1, err
        assert f"error: {path}{message}" in err
        if name in REPORT_LINES:
            assert REPORT_LINES[name] in err
        assert "Traceback" not in err
        assert target.counts() == before


TIMED = "Record Index / 1,Test Time / s,Unix Time / s,Voltage / V,Current / A,Cycle Count / 1"
OUT_OF_TYPE = [
    # (name, header, the bad row, the rule and what it says): a value the engine's column type
    # cannot hold (SQLite would store it): refused on every engine alike, never a traceback
    (
        "step_id_past_smallint",
        TIMED + ",Step Id / 1",
        "2,1,1711843201,3.6,1,0,40000",
        "type_timeseries_point_step_id: column 'step_id' 1 row(s) at line(s) 3: step_id does "
        "not fit its type, smallint (-32,768 to 32,767)",
    ),
    (
        "cycle_count_past_integer",
        TIMED,
        "2,1,1711843201,3.6,1,3000000000",
        "type_timeseries_point_cycle_count: column 'cycle_count' 1 row(s) at line(s) 3",
    ),
    (
        "time_in_the_year_3e12",
        TIMED,
        "2,1,1e20,3.6,1,0",
        "type_timeseries_point_recorded_at: column 'recorded_at' 1 row(s) at line(s) 3: "
        "recorded_at does not fit its type, timestamptz (the years 1900 to 2299 in UTC)",
    ),
    (
        "test_started_before_1900",
        TIMED,
        "2,1e13,1711843201,3.6,1,0",
        "type_timeseries_point_test_start: column 'test_time_second' 1 row(s) at line(s) 3",
    ),
]


@pytest.mark.parametrize("name,header,bad,finding", OUT_OF_TYPE, ids=[c[0] for c in OUT_OF_TYPE])
def test_a_value_its_column_type_cannot_hold(target, tmp_path, capsys, name, header, bad, finding):
    """Strict: the file is refused with the rule and the line, nothing written. Lenient: the
    row that does not fit is left out and reported, the other loads."""
    good = "1,0,1711843200,3.6,1,0" + (",1" if "Step Id" in header else "")
    path = write(tmp_path, f"{name}.csv", f"{header}\n{good}\n{bad}\n")
    before = target.counts()
    code, err = ingest(target, [path], "--sidecar", str(sidecar(tmp_path)), capsys=capsys)
    assert code == 1, err
    assert f"error: {path}: refused (" in err and finding in err
    assert "Traceback" not in err
    assert target.counts() == before
    code, err = ingest(
        target, [path], "--sidecar", str(sidecar(tmp_path)), "--lenient", capsys=capsys
    )
    assert code == 0, err
    assert finding in err
    session = session_of(target, path)
    rows = target.query(
        "SELECT record_index FROM timeseries_point WHERE session_id = %s", [session]
    )
    assert rows == [(0,)]


# the hours Berlin lives twice or skips are read by the test time
# (tests/ingest/test_ingest_clock_change.py); a time no day has refuses the file
@pytest.mark.parametrize("local,message", [("2024-03-31 25:00:00", "as a date and time")])
def test_local_times_that_do_not_exist_refuse_the_file(target, tmp_path, capsys, local, message):
    text = "Date Time," + HEADER + f"\n2024-03-30 12:00:00,0,3.6,1,0\n{local},1,3.6,1,0\n"
    path = write(tmp_path, "dst.csv", text)
    before = target.counts()
    code, err = ingest(
        target,
        [path],
        "--sidecar",
        str(sidecar(tmp_path)),
        "--time-zone",
        "Europe/Berlin",
        capsys=capsys,
    )
    assert code == 1
    assert f"error: {path}:3: column 'Date Time': cannot read Date Time '{local}'" in err
    assert message in err
    assert target.counts() == before


def test_a_sidecar_the_schema_refuses_writes_nothing(target, tmp_path, capsys):
    path = write(tmp_path, "ok.csv", MACHINE_FILE.replace("3.7,", "3.71,"))
    bad = tmp_path / "bad-sidecar.json"
    # each value is valid alone (ingest/sidecar.py passes it); the table CHECK tying the two
    # cut-off voltages is the database's to refuse, and the cell inserted first is rolled back
    cell = {**CELL, "voltage_min_volt": 4.2, "voltage_max_volt": 2.5}
    bad.write_text(json.dumps({"cell": cell, "session": {**SESSION, "started_at": START}}))
    before = target.counts()
    code, err = ingest(target, [path], "--sidecar", str(bad), capsys=capsys)
    assert code == 1, err
    assert f"error: {path}: the database refused the load:" in err
    assert "ck_battery_cell_voltage_limits" in err
    assert "Traceback" not in err
    assert target.counts() == before


@pytest.mark.slow  # the loader in subprocesses
def test_command_line_exit_codes(tmp_path):
    """`python -m ingest` as a user runs it: 2 for a database that is not there, 1 for a bad
    file, 0 for a good one."""
    db = tmp_path / "battery.sqlite"
    run = [sys.executable, "-m", "ingest", "--sidecar", str(sidecar(tmp_path)), "--db"]
    good = write(tmp_path, "good.csv", MACHINE_FILE)
    missing = subprocess.run([*run, str(db), str(good)], capture_output=True, text=True, cwd=ROOT)
    assert missing.returncode == 2 and "no such SQLite database" in missing.stderr
    sqlite_db(db)
    bad = write(tmp_path, "bad.csv", b"")
    refused = subprocess.run([*run, str(db), str(bad)], capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode == 1 and "the file is empty" in refused.stderr
    loaded = subprocess.run([*run, str(db), str(good)], capture_output=True, text=True, cwd=ROOT)
    assert loaded.returncode == 0, loaded.stderr
    assert "3 rows loaded" in loaded.stderr


# --------------------------------------------------------- SQLite: indexes rebuilt at the end


def _sqlite_indexes(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'timeseries_point' AND sql IS NOT NULL ORDER BY name"
        ).fetchall()
    finally:
        conn.close()


def _ramp(rows: int, start: float = 0.0) -> str:
    lines = ["Test Time / s,Voltage / V,Current / A,Cycle Count / 1,Step Type"]
    lines += [f"{start + i},3.{i % 10},1,0,rest" for i in range(rows)]
    return "\n".join(lines) + "\n"


def test_sqlite_secondary_indexes_are_rebuilt_inside_the_load(tmp_path):
    """A file bigger than the table drops the (session, time) index and builds it at commit;
    afterwards the schema's indexes are exactly the DDL's, they answer queries, and a refused
    file's rollback restores them too."""
    path = tmp_path / "battery.sqlite"
    sqlite_db(path)
    declared = _sqlite_indexes(path)
    assert declared, "the generated SQLite DDL declares a secondary index on timeseries_point"
    url = f"sqlite:///{path}"
    report = tmp_path / "report.json"
    first = write(tmp_path, "first.csv", _ramp(50))
    code = main(
        [str(first), "--db", url, "--sidecar", str(sidecar(tmp_path)), "--report", str(report)]
    )
    assert code == 0
    assert json.loads(report.read_text())[0]["bulk_mode"].endswith("+indexes-rebuilt")
    assert _sqlite_indexes(path) == declared
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        plan = " ".join(
            row[-1]
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM timeseries_point "
                "WHERE session_id = 1 ORDER BY recorded_at LIMIT 5"
            )
        )
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
    finally:
        conn.close()
    # a bigger file into the same session that strict mode refuses (a voltage out of range
    # in its last row): the rollback must bring the dropped index back
    bad = _ramp(120, start=50).splitlines()
    bad[-1] = bad[-1].replace(",3.9,", ",2000,")
    refused = write(tmp_path, "refused.csv", "\n".join(bad) + "\n")
    code = main([str(refused), "--db", url, "--session", "1"])
    assert code == 1
    assert _sqlite_indexes(path) == declared
    # a small file into a big table keeps the index in place (plain row-by-row maintenance)
    small = write(tmp_path, "small.csv", _ramp(5, start=50))
    code = main([str(small), "--db", url, "--session", "1", "--report", str(report)])
    assert code == 0
    assert "+indexes-rebuilt" not in json.loads(report.read_text())[0]["bulk_mode"]
    assert _sqlite_indexes(path) == declared
