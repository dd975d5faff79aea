"""Real-style cycler files: the variants real tools write (BDF CSV as spreadsheets and scripts
save it, the BDF ontology's other labels, Maccor text exports, Arbin MITS Pro CSV exports),
each with the normalised result it must give (sign, SI units, UTC, record index, the cycler's
counters kept), and the files given with the wrong --format. The files are written by this
module, a few lines each, modelled on the vendors' layouts (battery-data-toolkit's Maccor
example, Arbin's MITS Pro CSV export columns, the BDF ontology's labels).

SQLite for the corpus (seconds); PostgreSQL for the vendor readers' normalised rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.cli import main
from tests.ingest.loading import Target, ingest, sidecar, write
from tests.ingest.vendor_files import ARBIN_HEADER, ARBIN_ROWS, START


def rows(target: Target, path: Path) -> list[tuple]:
    """The file's samples as loaded, in record order."""
    return target.query(
        f"SELECT {target.epoch('recorded_at')}, test_time_second, voltage_volt, current_ampere,"
        " cycle_count, record_index, step_id, charging_capacity_ah, temperature_t1_celsius"
        " FROM timeseries_point t JOIN source_file f ON f.session_id = t.session_id"
        " WHERE f.uri = %s ORDER BY record_index",
        [str(path)],
    )


def close(a: tuple, b: tuple) -> bool:
    return all(
        (x is None and y is None) or (x is not None and y is not None and abs(x - y) < 1e-6)
        for x, y in zip(a, b, strict=True)
    )


# ------------------------------------------------------------------------------ BDF CSV

# case -> (file bytes, options, expected rows: (recorded_at, test time, V, A, cycle, record
# index from 0, step id, charging capacity, T1)
BDF = {
    "bom, CRLF, quoted headers, a trailing empty column, unknown columns": (
        b'\xef\xbb\xbf"Test Time / s","Voltage / V","Current / A","Cycle Count / 1",'
        b'"Power / W","Comment",\r\n'
        b"0,3.7,1.5,0,5.55,x,\r\n10,3.8,1.5,0,5.7,,\r\n",
        [],
        [
            (START, 0, 3.7, 1.5, 0, 0, None, None, None),
            (START + 10, 10, 3.8, 1.5, 0, 1, None, None, None),
        ],
    ),
    "the ontology's machine labels (altLabels)": (
        b"unix_time_ms,test_time_s,voltage_v,current_a,cycle_dimensionless,step_id,"
        b"charging_capacity_ampere_hour,surface_temperature_t1_celsius\n"
        b"1711843200500,0,3.7,2,3,1,0.5,25\n1711843201500,1,3.71,2,3,1,0.5005,25.1\n",
        [],
        [
            (START + 0.5, 0, 3.7, 2, 3, 0, 1, 0.5, 25),
            (START + 1.5, 1, 3.71, 2, 3, 1, 1, 0.5005, 25.1),
        ],
    ),
    "human labels in other units: ms, mV, mA, mAh, K, Surface Temperature T1": (
        "Test Time / ms,Voltage / mV,Current / µA,Cycle Count / 1,Charging Capacity / mAh,"
        "Surface Temperature T1 / K\n0,3700,-1000000,1,0,298.15\n500,3650,-1000000,1,0.1,"
        "298.65\n".encode(),
        [],
        [
            (START, 0, 3.7, -1, 1, 0, None, 0, 25),
            (START + 0.5, 0.5, 3.65, -1, 1, 1, None, 1e-4, 25.5),
        ],
    ),
    "Date Time with Z, an offset and fractions": (
        b"Date Time,Test Time / s,Voltage / V,Current / A,Cycle Count / 1\n"
        b"2024-03-31T00:00:00.250Z,0,3.7,1,0\n2024-03-31T02:00:01+02:00,1,3.7,1,0\n",
        [],
        [
            (START + 0.25, 0, 3.7, 1, 0, 0, None, None, None),
            (START + 1, 1, 3.7, 1, 0, 1, None, None, None),
        ],
    ),
    "local Date Time with --time-zone, across the spring DST change": (
        b"Date Time,Test Time / s,Voltage / V,Current / A,Cycle Count / 1\n"
        b"2024-03-31 01:59:59,0,3.7,1,0\n2024-03-31 03:00:00,1,3.7,1,0\n",
        ["--time-zone", "Europe/Berlin"],
        [
            (START + 3599, 0, 3.7, 1, 0, 0, None, None, None),
            (START + 3600, 1, 3.7, 1, 0, 1, None, None, None),
        ],
    ),
    "a discharge-positive source (PyBaMM)": (
        b"Test Time / h,Voltage / V,Current / A,Cycle Count / 1\n0,3.7,2,0\n0.5,3.6,2,0\n",
        ["--discharge-positive"],
        [
            (START, 0, 3.7, -2, 0, 0, None, None, None),
            (START + 1800, 1800, 3.6, -2, 0, 1, None, None, None),
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(BDF))
def test_bdf_variants_normalise(sqlite_target, tmp_path, capsys, case):
    content, options, expected = BDF[case]
    path = write(tmp_path, "run.csv", content)
    code, err = ingest(
        sqlite_target, [path], "--sidecar", str(sidecar(tmp_path)), *options, capsys=capsys
    )
    assert code == 0, err
    got = rows(sqlite_target, path)
    first = got[0][5]
    got = [(*r[:5], r[5] - first, *r[6:]) for r in got]
    assert len(got) == len(expected) and all(map(close, got, expected)), got


# --------------------------------------------------------------------------------- Maccor

MACCOR_PREAMBLE = (
    "Today's Date 04/04/2024  Date of Test:\t03/30/2024\t Filename:\tC:\\Data\\cell7.001"
    " Procedure:\tRPT.000\tComment/Barcode:\tcell 7\r\n"
)
MACCOR_HEADER = (
    "Rec#\tCyc#\tStep\tTest (Min)\tStep (Min)\tAmp-hr\tWatt-hr\tAmps\tVolts\tState\tES\t"
    "DPt Time\r\n"
)
# a session's second file: cycle 3 onwards, records from 101, local times of a Berlin lab
MACCOR_ROWS = [
    "\t".join(row.split(" ", 11))
    for row in (
        "101 3 4 0.0000 0.0000 0.0000000000 0.0000000000 0.0000000000 3.50000000 R 0"
        " 03/31/2024 01:59:00",
        "102 3 5 0.5000 0.0000 0.0000000000 0.0000000000 2.0000000000 3.60000000 C 0"
        " 03/31/2024 01:59:30",
        "103 3 5 1.0000 0.5000 0.0166666667 0.0600000000 2.0000000000 3.70000000 C 0"
        " 03/31/2024 03:00:00",
        "104 4 7 1.5000 0.0000 0.0000000000 0.0000000000 2.0000000000 3.60000000 D 0"
        " 03/31/2024 03:00:30",
    )
]


def maccor(rows: list[str]) -> bytes:
    return (MACCOR_PREAMBLE + MACCOR_HEADER + "".join(r + "\r\n" for r in rows)).encode("latin-1")


def test_maccor_export_keeps_the_cyclers_counters_and_local_time(target, tmp_path, capsys):
    path = write(tmp_path, "cell7.001", maccor(MACCOR_ROWS))
    code, err = ingest(
        target,
        [path],
        "--format",
        "maccor",
        "--time-zone",
        "Europe/Berlin",
        "--sidecar",
        str(sidecar(tmp_path)),
        capsys=capsys,
    )
    assert code == 0, err
    got = rows(target, path)
    # DPt Time is Berlin local time (CET until 02:00, then CEST); cycles and steps as written,
    # not counted from the file's first; the discharge row signed negative; Amp-hr (which
    # restarts at every step) summed into the cumulative charge counter
    expected = [
        (START + 3540, 0, 3.5, 0, 3, 0, 4, 0, None),
        (START + 3570, 30, 3.6, 2, 3, 1, 5, 0, None),
        (START + 3600, 60, 3.7, 2, 3, 2, 5, 1 / 60, None),
        (START + 3630, 90, 3.6, -2, 4, 3, 7, 1 / 60, None),
    ]
    first = got[0][5]
    got = [(*r[:5], r[5] - first, *r[6:]) for r in got]
    assert all(map(close, got, expected)), got
    zone = target.query("SELECT assumed_time_zone FROM source_file WHERE uri = %s", [str(path)])
    assert zone == [("Europe/Berlin",)]


def test_maccor_duplicate_samples_are_reported_not_dropped(sqlite_target, tmp_path, capsys):
    """battery-data-toolkit drops a row whose time, voltage and current repeat an earlier one;
    the loader says so: strict refuses the file, lenient leaves the row out and reports it."""
    duplicated = [*MACCOR_ROWS[:3], MACCOR_ROWS[2].replace("103\t", "104\t", 1)]
    duplicated.append(MACCOR_ROWS[3].replace("104\t", "105\t", 1))
    path = write(tmp_path, "dup.001", maccor(duplicated))
    before = sqlite_target.counts()
    side = str(sidecar(tmp_path))
    code, err = ingest(
        sqlite_target, [path], "--format", "maccor", "--sidecar", side, capsys=capsys
    )
    assert code == 1, err
    assert "duplicate_sample: 1 row(s) at line(s) 6" in err, err
    assert sqlite_target.counts() == before

    report = tmp_path / "report.json"
    code, err = ingest(
        sqlite_target,
        [path],
        "--format",
        "maccor",
        "--lenient",
        "--report",
        str(report),
        "--sidecar",
        side,
        capsys=capsys,
    )
    assert code == 0, err
    assert "4 rows loaded" in err and "(1 rejected)" in err, err
    assert len(rows(sqlite_target, path)) == 4
    record = json.loads(report.read_text())
    record = record[0] if isinstance(record, list) else record
    text = json.dumps(record)
    assert "duplicate_sample" in text and '"line": 6' in text, text


def test_maccor_repeated_record_number_is_refused(sqlite_target, tmp_path, capsys):
    """A Rec# written twice (different samples): the duplicate rule counts the reader's own
    record numbers (it re-read the file as BDF CSV before, and failed with a traceback)."""
    repeated = [*MACCOR_ROWS[:2], MACCOR_ROWS[2].replace("103\t", "102\t", 1), MACCOR_ROWS[3]]
    path = write(tmp_path, "rec.001", maccor(repeated))
    before = sqlite_target.counts()
    code, err = ingest(
        sqlite_target,
        [path],
        "--format",
        "maccor",
        "--sidecar",
        str(sidecar(tmp_path)),
        capsys=capsys,
    )
    assert code == 1, err
    assert "duplicate_record_index: column 'record_index' 2 row(s)" in err, err
    assert "Traceback" not in err, err
    assert sqlite_target.counts() == before


# ---------------------------------------------------------------------------------- Arbin


def test_arbin_export_normalises(target, tmp_path, capsys):
    path = write(tmp_path, "cell9_Channel_1.csv", ARBIN_HEADER + ARBIN_ROWS)
    code, err = ingest(
        target,
        [path],
        "--format",
        "arbin",
        "--time-zone",
        "Europe/Berlin",
        "--sidecar",
        str(sidecar(tmp_path)),
        capsys=capsys,
    )
    assert code == 0, err
    got = rows(target, path)
    expected = [
        (START + 3599.5, 0, 3.512, 0, 1, 0, 1, 0, 24.8),
        (START + 3600.5, 1, 3.6, 2.5, 1, 1, 2, 0.000694, 24.9),
        (START + 3610.5, 11, 3.55, -2.5, 2, 2, 3, 0.000694, 25.1),
    ]
    first = got[0][5]
    got = [(*r[:5], r[5] - first, *r[6:]) for r in got]
    assert all(map(close, got, expected)), got
    found = target.query(
        "SELECT file_format, cycler_software, assumed_time_zone FROM source_file WHERE uri = %s",
        [str(path)],
    )
    assert found == [("arbin_csv", "Arbin", "Europe/Berlin")]


def test_arbin_year_first_dates_are_the_same_instants(sqlite_target, tmp_path, capsys):
    """MITS Pro on a PC set to an East Asian locale writes `2024/3/31 1:59:59`: the same local
    times as `03/31/2024 01:59:59` (month and day with or without their leading zero)."""
    month_first = ARBIN_ROWS.replace("3.512000", "3.513000")  # bytes no other test loads
    first = write(tmp_path, "us.csv", ARBIN_HEADER + month_first)
    rows_year_first = (
        month_first.replace("03/31/2024 01:", "2024/3/31 01:")
        .replace("03/31/2024 03:00:00", "2024/03/31 03:00:00")
        .replace("03/31/2024 03:00:10", "2024/3/31 03:00:10")
    )
    assert "03/31/2024" not in rows_year_first
    second = write(tmp_path, "cn.csv", ARBIN_HEADER + rows_year_first)
    got = []
    for path in (first, second):
        side = str(sidecar(tmp_path))
        options = ["--format", "arbin", "--time-zone", "Europe/Berlin", "--sidecar", side]
        code, err = ingest(sqlite_target, [path], *options, capsys=capsys)
        assert code == 0, err
        got.append([r[0] for r in rows(sqlite_target, path)])
    assert got[0] == got[1] and got[0][0] == START + 3599.5, got


def test_arbin_local_time_needs_a_zone(sqlite_target, tmp_path, capsys):
    path = write(tmp_path, "nozone.csv", ARBIN_HEADER + ARBIN_ROWS)
    side = str(sidecar(tmp_path))
    code, err = ingest(sqlite_target, [path], "--format", "arbin", "--sidecar", side, capsys=capsys)
    assert code == 1 and "local times without an offset" in err and "--time-zone" in err, err


# ------------------------------------------------------------- the wrong --format, or none

# case -> (file name, content, --format, message)
WRONG = {
    "Maccor given as BDF": (
        "m.001",
        maccor(MACCOR_ROWS),
        "bdf",
        "it looks like a Maccor text export: use --format maccor",
    ),
    "Arbin given as BDF": (
        "a.csv",
        (ARBIN_HEADER + ARBIN_ROWS).encode(),
        "bdf",
        "it looks like an Arbin CSV export: use --format arbin",
    ),
    "Arbin given as Maccor": (
        "a.csv",
        (ARBIN_HEADER + ARBIN_ROWS).encode(),
        "maccor",
        "not a Maccor text export: line 2 lacks the column(s) 'Cyc#'",
    ),
    "Maccor given as Arbin": (
        "m.001",
        maccor(MACCOR_ROWS),
        "arbin",
        ":1: not an Arbin CSV export: line 1 lacks the column(s) 'test_time', 'cycle_index', "
        "'current', 'voltage'",
    ),
    "BDF given as Arbin": (
        "b.csv",
        b"Test Time / s,Voltage / V,Current / A,Cycle Count / 1\n0,3.7,1,0\n",
        "arbin",
        "it looks like BDF CSV: use --format bdf",
    ),
    "Neware CSV given as BDF": (
        "n.csv",
        b"Record ID,Realtime,Time(h:min:s.ms),Step ID,Cycle ID,Current(mA),Voltage(V)\n"
        b"1,2024-03-31 01:00:00,0:00:00.000,1,1,0,3700\n",
        "bdf",
        "it looks like a Neware CSV export: use --format neware",
    ),
    "BioLogic text given as BDF": (
        "b.mpt",
        b"EC-Lab ASCII FILE\nNb header lines : 3\nmode\tox/red\terror\ttime/s\tEwe/V\tI/mA\n",
        "bdf",
        "it looks like a BioLogic EC-Lab text export: use --format biologic",
    ),
    # MITS Pro's workbook is read (tests/ingest/test_ingest_arbin_workbook.py); a damaged one is
    # named
    "a damaged .xlsx given as Arbin": (
        "a.xlsx",
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(256)),
        "arbin",
        "a damaged .xlsx workbook (its zip archive does not open",
    ),
    # an export signs all its discharge rows (BEEP's) or none (Maccor's default): both load;
    # one that signs some and not others cannot be read
    "a Maccor export whose Amps are signed on some discharge rows only": (
        "signed.001",
        maccor(
            [
                *MACCOR_ROWS,
                MACCOR_ROWS[3].replace("104\t", "105\t", 1).replace("1.5000\t", "2.0000\t", 1),
                MACCOR_ROWS[3]
                .replace("104\t", "106\t", 1)
                .replace("1.5000\t", "2.5000\t", 1)
                .replace("2.0000000000\t3.6", "-2.0000000000\t3.6"),
            ]
        ),
        "maccor",
        ":8: column 'Amps': Amps is negative on this discharge (State D) row but of the other "
        "sign on 2 others",
    ),
    "a comment line before the header": (
        "c.csv",
        b"# exported by a script\nTest Time / s,Voltage / V,Current / A,Cycle Count / 1\n",
        "bdf",
        ":1: missing required column(s)",
    ),
}


@pytest.mark.parametrize("case", sorted(WRONG))
def test_a_file_of_another_cycler_is_named(sqlite_target, tmp_path, capsys, case):
    name, content, file_format, message = WRONG[case]
    path = write(tmp_path, name, content)
    before = sqlite_target.counts()
    side = str(sidecar(tmp_path))
    code, err = ingest(
        sqlite_target, [path], "--format", file_format, "--sidecar", side, capsys=capsys
    )
    assert code == 1, err
    assert f"error: {path}" in err and message in err, err
    assert "Traceback" not in err
    assert sqlite_target.counts() == before


@pytest.mark.parametrize(
    "name, message",
    [
        ("ndax", "Neware's binary .nda/.ndax files are read with --format neware"),
        ("mpr", "BioLogic's binary .mpr files are not read"),
        ("digatron", "unknown format 'digatron'"),
    ],
)
def test_a_format_not_read_says_why(tmp_path, capsys, name, message):
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path / "run.csv"), "--format", name, "--db", str(tmp_path / "x.sqlite")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert message in err and "--format reads arbin, bdf, biologic, maccor, neware" in err, err
