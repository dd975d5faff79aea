"""What the field's public example files taught the loader (issue 22 items 2, 5, 6 and 10):
each case is a small file written here in the layout of a real one of the corpus
(tests/fixtures/corpus/MANIFEST.tsv names the originals), loaded into SQLite.

- the format is recognised from the content without --format: MITS Pro 8's spaced names
  (`Data Point`, `Test Time (s)`), a Maccor export whose column line comes after a 14-line
  preamble; a binary the loader does not read (an Arbin .res, an Access database) is named;
- step types in the words other writers use (`charge`, `discharge`, `REST`, `CC_DCH`) are
  stored as the schema's values, an unknown word is still refused naming the file's word;
- counters in mA·s and mW·s (Neware), a temperature whose degree sign was lost to a code page
  (`Temperature/\ufffdC`), BatMo's `Charge Capacity / Ah`;
- a file without cycle numbers: a BioLogic technique without `cycle number`, an Arbin export
  whose Cycle_Index is blank on every row: cycles numbered from the current, and said."""

from __future__ import annotations

import pytest

from ingest.cli import detect_format
from tests.ingest.loading import ingest, sidecar, write
from tests.ingest.vendor_files import ARBIN_HEADER, ARBIN_ROWS, MPT_COLUMNS, mpt, mpt_rows


def rows(target, path, columns: str) -> list[tuple]:
    return target.query(
        f"SELECT {columns} FROM timeseries_point t JOIN source_file f"
        " ON f.session_id = t.session_id WHERE f.uri = %s ORDER BY record_index",
        [str(path)],
    )


MITS8 = (
    "\ufeffData Point,Date Time,Test Time (s),Step Time (s),Cycle Index,Step Index,"
    "Current (A),Voltage (V),Charge Capacity (Ah),Discharge Capacity (Ah),"
    "Aux_Temperature_1 (C)\n"
    "1,\t09/20/2024 08:32:34.558,30.0005,30.0005,1,1,0,3.534595,0,0,24.66\n"
    "2,\t09/20/2024 08:33:04.559,60.0008,60.0008,1,2,1.5,3.61,0.0125,0,24.7\n"
)
MACCOR_PREAMBLE = (
    "Name:\tCELL-015.053\nChannel:\t53\nTester\tMaccor #4\nProcedure\tCT.000\n"
    "Description\tCapacity test\nStarted\t5/11/2021 3:40:24 PM\nSCap\t0.017\nC Rate\t0.002\n"
    "Ch. max. V\t4.20 V\nDisCh. min. V\t2.50 V\nCh. max. I\t5.000 A\nDisCh. max. I\t5.000 A\n"
    "\n"
    "Rec\tCycle P\tCycle C\tStep\tTestTime\tStepTime\tCap. [Ah]\tEner. [Wh]\tCurrent [A]\t"
    "Voltage [V]\tMd\tES\tDPT Time\n\n"
    "1\t0\t1\t1\t0.000000\t0.000000\t0.00000000\t0.00000000\t0.00000000\t3.1783\tR\t0\t"
    "5/11/2021 3:40:24 PM\n"
    "2\t0\t1\t2\t1.000000\t0.000000\t0.00010000\t0.00036000\t0.50000000\t3.2600\tC\t0\t"
    "5/11/2021 3:41:24 PM\n"
)


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("mits8.csv", MITS8, "arbin"),
        ("mits_underscores.csv", ARBIN_HEADER + ARBIN_ROWS, "arbin"),
        ("CELL-015.053", MACCOR_PREAMBLE, "maccor"),
        ("plain.csv", "Test Time / s,Voltage / V,Current / A\n0,3.6,1\n", "bdf"),
    ],
)
def test_the_format_is_recognised_from_the_content(tmp_path, name, content, expected):
    assert detect_format(write(tmp_path, name, content)) == expected


def test_a_mits8_export_loads_without_format(sqlite_target, tmp_path, capsys):
    path = write(tmp_path, "mits8.csv", MITS8)
    side = str(sidecar(tmp_path))
    code, err = ingest(
        sqlite_target, [path], "--time-zone", "America/Denver", "--sidecar", side, capsys=capsys
    )
    assert code == 0, err
    got = rows(sqlite_target, path, "test_time_second, current_ampere, charging_capacity_ah")
    assert got == [(30.0005, 0.0, 0.0), (60.0008, 1.5, 0.0125)]


def test_a_maccor_export_with_a_long_preamble_loads_without_format(sqlite_target, tmp_path, capsys):
    path = write(tmp_path, "CELL-015.053", MACCOR_PREAMBLE)
    side = str(sidecar(tmp_path))
    code, err = ingest(
        sqlite_target, [path], "--time-zone", "America/Denver", "--sidecar", side, capsys=capsys
    )
    assert code == 0, err
    got = rows(sqlite_target, path, "voltage_volt, current_ampere, cycle_count, step_id")
    assert got == [(3.1783, 0.0, 1, 1), (3.26, 0.5, 1, 2)]


def test_an_arbin_res_file_is_named_not_misread(sqlite_target, tmp_path, capsys):
    """An Arbin .res is an Access (Jet) database: its first bytes name it."""
    jet = b"\x00\x01\x00\x00Standard Jet DB\x00\x01\x00\x00\x00\xb5n\x03b`\t\xc2U\xe9\xa9g"
    path = write(tmp_path, "cell_01.res", jet + bytes(range(256)) * 8)
    code, err = ingest(sqlite_target, [path], "--sidecar", str(sidecar(tmp_path)), capsys=capsys)
    assert code == 1
    assert f"{path}:1: not a text file; it looks like an Arbin .res file" in err, err
    assert "export CSV or .xlsx from MITS Pro" in err and "UTF-8" not in err, err


STEP_WORDS_FILE = """\
Test Time / s,Voltage / V,Current / A,Cycle Count / 1,Step Type / 1
0,3.60,0,1,REST
10,3.70,1.0,1,Charge
20,3.65,-1.0,1,discharge
30,3.60,-1.0,1,CC_DCH
40,3.61,0,1,cv_charge
"""


def test_step_type_words_are_stored_as_the_schemas_values(sqlite_target, tmp_path, capsys):
    path = write(tmp_path, "words.csv", STEP_WORDS_FILE)
    code, err = ingest(
        sqlite_target, [path], "--strict", "--sidecar", str(sidecar(tmp_path)), capsys=capsys
    )
    assert code == 0, err
    got = [r[0] for r in rows(sqlite_target, path, "step_type")]
    assert got == ["rest", "cccv_charge", "cc_discharge", "cc_discharge", "cv_charge"]


def test_an_unknown_step_word_is_refused_in_the_files_words(sqlite_target, tmp_path, capsys):
    path = write(tmp_path, "odd.csv", STEP_WORDS_FILE.replace("CC_DCH", "Wobble"))
    code, err = ingest(
        sqlite_target, [path], "--strict", "--sidecar", str(sidecar(tmp_path)), capsys=capsys
    )
    assert code == 1
    assert "ck_timeseries_point_step_type_enum" in err and "line(s) 5" in err, err


def test_counters_in_milliampere_and_milliwatt_seconds(sqlite_target, tmp_path, capsys):
    """Neware's CSV counters written per second (fastnda's interp-test.csv): 3,600,000 mA·s
    is 1 Ah, 3,600,000 mW·s 1 Wh."""
    text = (
        "DataPoint,Cycle Index,Step Index,Step Type,Total Time,Current(A),Voltage(V),"
        "Chg. Cap.(mAs),DChg. Cap.(mAs),Chg. Energy(mWs),DChg. Energy(mWs)\n"
        "1,1,1,CC Chg,0,1.0,3.6,0,0,0,0\n"
        "2,1,1,CC Chg,10,1.0,3.7,3600000,0,13320000,0\n"
    )
    path = write(tmp_path, "nw.csv", text)
    code, err = ingest(
        sqlite_target,
        [path],
        "--format",
        "neware",
        "--sidecar",
        str(sidecar(tmp_path)),
        capsys=capsys,
    )
    assert code == 0, err
    got = rows(sqlite_target, path, "charging_capacity_ah, charging_energy_wh")
    assert got[1] == pytest.approx((1.0, 3.7)), got


def test_a_degree_sign_lost_to_a_code_page_is_still_celsius(sqlite_target, tmp_path, capsys):
    lost = "Temperature/\ufffdC"
    columns = tuple(lost if c.startswith("Temperature") else c for c in MPT_COLUMNS)
    content = mpt(header=False, columns=columns, encoding="utf-8")
    path = write(tmp_path, "lost_degree.txt", content)
    code, err = ingest(
        sqlite_target,
        [path],
        "--format",
        "biologic",
        "--sidecar",
        str(sidecar(tmp_path)),
        capsys=capsys,
    )
    assert code == 0, err
    temperatures = [r[0] for r in rows(sqlite_target, path, "temperature_t1_celsius")]
    assert all(t is not None and 0 < t < 60 for t in temperatures), temperatures


def test_batmo_counter_names(sqlite_target, tmp_path, capsys):
    text = (
        "Test Time / h,Current / A,Voltage / V,Cycle Count / 1,Charge Capacity / Ah,"
        "Discharge Capacity / Ah\n0,0.5,3.6,1,0,0\n0.5,0.5,3.8,1,0.25,0\n"
    )
    path = write(tmp_path, "batmo.csv", text)
    code, err = ingest(
        sqlite_target, [path], "--strict", "--sidecar", str(sidecar(tmp_path)), capsys=capsys
    )
    assert code == 0, err
    got = rows(sqlite_target, path, "test_time_second, charging_capacity_ah")
    assert got == [(0.0, 0.0), (1800.0, 0.25)]
    assert "Charge Capacity" not in err, err  # stored, so not in the 'not stored' list


def test_a_biologic_technique_without_cycle_number(sqlite_target, tmp_path, capsys):
    """EC-Lab's CA, CP, wait and LSV techniques write no `cycle number`: cycles from the
    current (a cycle begins at each charge that follows a discharge), and the report says
    why. A rest, a discharge, a charge: cycles 1, 1, 2."""
    samples = (
        (0, 0.0, 3.6, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 24.8),
        (1, 10.0, 3.5, -2500.0, 0.0, 6.9, 0.0, 0.02, 0, 24.9),
        (2, 20.0, 3.6, 2500.0, 6.9, 6.9, 0.02, 0.02, 0, 25.1),
    )
    keep = [i for i, c in enumerate(MPT_COLUMNS) if c != "cycle number"]
    lines = [r.split("\t") for r in mpt_rows(samples)]
    content = mpt(
        ["\t".join(cells[i] for i in keep) for cells in lines],
        columns=tuple(MPT_COLUMNS[i] for i in keep),
        header=False,
    )
    path = write(tmp_path, "nocycle.txt", content)
    code, err = ingest(
        sqlite_target,
        [path],
        "--format",
        "biologic",
        "--strict",
        "--sidecar",
        str(sidecar(tmp_path)),
        capsys=capsys,
    )
    assert code == 0, err
    assert "cycle_count: the file has no 'cycle number' column; numbered from the current" in err
    assert [r[0] for r in rows(sqlite_target, path, "cycle_count")] == [1, 1, 2]


def test_an_arbin_export_with_a_blank_cycle_index(sqlite_target, tmp_path, capsys):
    """BEEP's 2017-05-09_test-TC-contact_CH33.csv: Cycle_Index empty on every row."""
    lines = ARBIN_ROWS.splitlines(keepends=True)
    cells = [r.split(",") for r in lines]
    blank = "".join(",".join(c if i != 4 else "" for i, c in enumerate(r)) for r in cells)
    path = write(tmp_path, "contact_CH33.csv", ARBIN_HEADER + blank)
    code, err = ingest(
        sqlite_target,
        [path],
        "--format",
        "arbin",
        "--strict",
        "--time-zone",
        "Europe/Berlin",
        "--sidecar",
        str(sidecar(tmp_path)),
        capsys=capsys,
    )
    assert code == 0, err
    assert "cycle_count: the file's 'Cycle_Index' is empty on every row" in err, err
    # rest, charge, discharge: one cycle (a charge opens a new one only after a discharge)
    assert [r[0] for r in rows(sqlite_target, path, "cycle_count")] == [1, 1, 1]


def test_a_bdf_parquet_file_loads_as_its_csv_twin(sqlite_target, tmp_path, capsys):
    """BDF's Parquet form: the same names as the CSV, the same samples stored; the legacy
    `date_time_millisecond` of numbers (BDF's own legacy.bdf.parquet) is Unix time in ms."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "test_time_millisecond": pa.array([0, 1000, 2500], pa.int64()),
            "voltage_volt": [3.6, 3.7, 3.65],
            "current_ampere": [0.0, 1.0, -1.0],
            "cycle_dimensionless": pa.array([1, 1, 1], pa.int64()),
            "date_time_millisecond": pa.array([1719933538046, 1719933539046, 1719933540546]),
            "step_type": ["REST", "charge", "discharge"],
        }
    )
    path = tmp_path / "cell.bdf.parquet"
    pq.write_table(table, path, row_group_size=2)
    code, err = ingest(
        sqlite_target, [path], "--strict", "--sidecar", str(sidecar(tmp_path)), capsys=capsys
    )
    assert code == 0, err
    got = rows(sqlite_target, path, "test_time_second, current_ampere, cycle_count, step_type")
    assert got == [
        (0.0, 0.0, 1, "rest"),
        (1.0, 1.0, 1, "cccv_charge"),
        (2.5, -1.0, 1, "cc_discharge"),
    ]
    stamps = [r[0] for r in rows(sqlite_target, path, sqlite_target.epoch("recorded_at"))]
    assert stamps == pytest.approx([1719933538.046, 1719933539.046, 1719933540.546])
    assert sqlite_target.query(
        "SELECT file_format FROM source_file WHERE uri = %s", [str(path)]
    ) == [("bdf_parquet",)]


def test_a_parquet_file_with_a_column_of_the_wrong_type(sqlite_target, tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "test_time_second": [0.0, 1.0],
            "voltage_volt": ["3.6", "high"],
            "current_ampere": [0.0, 1],
        }
    )
    path = tmp_path / "bad.parquet"
    pq.write_table(table, path)
    code, err = ingest(sqlite_target, [path], "--sidecar", str(sidecar(tmp_path)), capsys=capsys)
    assert code == 1
    assert f"{path}:3: column 'voltage_volt': value 'high' is not a number" in err, err


def _ocv_file(technique: str) -> bytes:
    """An EC-Lab export of an OCV technique: no current column, the mean voltage <Ewe/V>."""
    columns = ("mode", "error", "time/s", "<Ewe/V>")
    rows = ["3\t0\t0.000000000000000E+000\t3.7100000E+000", "3\t0\t1.000000000000000E+001\t3.7"]
    content = mpt(rows, columns=columns)
    return content.replace(b"Galvanostatic Cycling with Potential Limitation", technique.encode())


def test_an_open_circuit_voltage_technique_has_zero_current(sqlite_target, tmp_path, capsys):
    path = write(tmp_path, "ocv.mpt", _ocv_file("Open Circuit Voltage"))
    side = str(sidecar(tmp_path))
    code, err = ingest(
        sqlite_target, [path], "--time-zone", "Europe/Berlin", "--sidecar", side, capsys=capsys
    )
    assert code == 0, err
    assert "an Open Circuit Voltage technique and has no current column; stored as 0 A" in err
    got = rows(sqlite_target, path, "test_time_second, voltage_volt, current_ampere")
    assert got == [(0.0, 3.71, 0.0), (10.0, 3.7, 0.0)]


def test_another_technique_without_current_is_refused(sqlite_target, tmp_path, capsys):
    path = write(tmp_path, "ca.mpt", _ocv_file("Chronoamperometry / Chronocoulometry"))
    side = str(sidecar(tmp_path))
    code, err = ingest(
        sqlite_target, [path], "--time-zone", "Europe/Berlin", "--sidecar", side, capsys=capsys
    )
    assert code == 1
    assert "lacks the column(s) 'I/mA or <I>/mA'" in err, err


def test_the_cyclers_own_numbers_and_the_compressed_hash_are_kept(sqlite_target, tmp_path, capsys):
    """source_file keeps the cycler's own number of the first sample stored (Arbin
    Data_Point 1 becomes record_index 0, or the session's next) and a .gz file's own hash
    beside the hash of its content (schema version 4)."""
    import gzip
    import hashlib

    side = str(sidecar(tmp_path))
    arbin = write(tmp_path, "ch1.csv", ARBIN_HEADER + ARBIN_ROWS)
    bdf = tmp_path / "more.csv.gz"
    later = "Test Time / s,Voltage / V,Current / A,Cycle Count / 1\n"
    later += "".join(f"{t},3.6,0,2\n" for t in (86400, 86410, 86420))
    bdf.write_bytes(gzip.compress(later.encode()))
    code, err = ingest(
        sqlite_target, [arbin], "--time-zone", "Europe/Berlin", "--sidecar", side, capsys=capsys
    )
    assert code == 0, err
    session = sqlite_target.query("SELECT session_id FROM source_file WHERE uri = %s", [str(arbin)])
    code, err = ingest(sqlite_target, [bdf], "--session", str(session[0][0]), capsys=capsys)
    assert code == 0, err
    got = sqlite_target.query(
        "SELECT uri, record_index_first, native_record_first, compressed_sha256, content_sha256"
        " FROM source_file WHERE session_id = %s ORDER BY source_file_id",
        [session[0][0]],
    )
    assert got[0][:4] == (str(arbin), 0, 1, None)
    assert got[1][:3] == (str(bdf), 3, None)  # no record numbers of its own: NULL
    assert got[1][3] == hashlib.sha256(bdf.read_bytes()).hexdigest()
    assert got[1][4] == hashlib.sha256(gzip.decompress(bdf.read_bytes())).hexdigest()
