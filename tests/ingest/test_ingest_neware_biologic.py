"""Neware BTS and BioLogic EC-Lab text exports (issue 11): `--format neware` and
`--format biologic`, read by a map of the vendors' column names onto the loader's own CSV
reader (ingest/readers/neware.py, biologic.py, text.py).

The files are written by this module, a few rows each, in the layouts real exports have
(learnt from public real files: dgbowl/yadg tests/test_x_eclab/*.mpt for EC-Lab, with its
81-line header block, the trailing tab of its column line, its decimal comma and Windows-1252
`°C`; TRI-AMDD/beep's Neware conversion schema and cellpy's `neware_txt` model for BTS 7.x and
8.x headers). Each is loaded into SQLite and PostgreSQL and the stored rows are checked: SI
units, sign, UTC, the cycler's counters, the record index continued across a session's files.
The bad-input corpus (SQLite, seconds) checks each refusal names the file, line and column,
exits 1 and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ingest.loading import Target, ingest, sidecar, write
from tests.ingest.vendor_files import (
    BTS7_HEADER,
    BTS7_ROWS,
    BTS8_EXPECTED,
    BTS8_HEADER,
    BTS8_ROWS,
    MPT_COLUMNS,
    MPT_SAMPLES,
    START,
    mpt,
    mpt_rows,
    same,
    stored,
)


def source_file(target: Target, path: Path) -> tuple:
    return target.query(
        "SELECT file_format, cycler_software, assumed_time_zone, original_units"
        " FROM source_file WHERE uri = %s",
        [str(path)],
    )[0]


# ------------------------------------------------------------------------------ BioLogic


def expected_biologic(start: float) -> list[dict]:
    out = []
    for n, (ns, t, ewe, i, qc, qd, ec, ed, cycle, temp) in enumerate(MPT_SAMPLES):
        out.append(
            {
                "recorded_at": start + t,
                "test_time_second": t,
                "voltage_volt": ewe,
                "current_ampere": i / 1000,
                "cycle_count": cycle,
                "record_index": n,
                "step_id": ns,
                "charging_capacity_ah": qc / 1000,
                "discharging_capacity_ah": qd / 1000,
                "charging_energy_wh": ec,
                "discharging_energy_wh": ed,
                "temperature_t1_celsius": temp,
            }
        )
    return out


BIOLOGIC = {
    # 01:00:00.5 in Berlin (CET) is 00:00:00.5 UTC
    "a .mpt with its header block, cp1252 °C, CRLF": (
        "cell7_C03.mpt",
        mpt(),
        ["--time-zone", "Europe/Berlin"],
        START + 0.5,
    ),
    "a decimal comma (a European locale's export)": (
        "cell7_C03_comma.mpt",
        mpt(mpt_rows(comma=True), comma=True),
        ["--time-zone", "Europe/Berlin"],
        START + 0.5,
    ),
    "the .txt export without a header block: time from the session's start": (
        "cell7_C03.txt",
        mpt(header=False),
        [],
        START,
    ),
}


@pytest.mark.parametrize("case", sorted(BIOLOGIC))
def test_biologic_export_normalises(target, tmp_path, capsys, case):
    name, content, options, start = BIOLOGIC[case]
    path = write(tmp_path, name, content)
    side = str(sidecar(tmp_path))
    code, err = ingest(
        target, [path], "--format", "biologic", *options, "--sidecar", side, capsys=capsys
    )
    assert code == 0, err
    got = stored(target, path)
    assert same(got, expected_biologic(start)), got
    file_format, software, zone, units = source_file(target, path)
    assert (file_format, software) == ("biologic_mpt", "BioLogic EC-Lab")
    assert zone == ("Europe/Berlin" if options else None)
    assert "mA" in str(units) and "mA.h" in str(units), units


def test_biologic_cell_voltage_is_preferred_to_the_working_electrode(sqlite_target, tmp_path):
    """A three-electrode export: Ewe/V is the working electrode against the reference, Ecell/V
    the cell's voltage; the cell's is stored."""
    columns = (*MPT_COLUMNS, "Ecell/V")
    rows = [r + "\t4.100000000000000E+000" for r in mpt_rows()]
    path = write(tmp_path, "three.mpt", mpt(rows, columns=columns))
    code, _ = ingest(
        sqlite_target,
        [path],
        "--format",
        "biologic",
        "--time-zone",
        "Europe/Berlin",
        "--sidecar",
        str(sidecar(tmp_path)),
    )
    assert code == 0
    assert [r["voltage_volt"] for r in stored(sqlite_target, path)] == [4.1, 4.1, 4.1]


def test_biologic_discharge_positive_flips_the_sign(sqlite_target, tmp_path):
    path = write(tmp_path, "flipped.mpt", mpt(header=False, eol="\n"))
    code, _ = ingest(
        sqlite_target,
        [path],
        "--format",
        "biologic",
        "--discharge-positive",
        "--sidecar",
        str(sidecar(tmp_path)),
    )
    assert code == 0
    assert [r["current_ampere"] for r in stored(sqlite_target, path)] == [0.0, -2.5, 2.5]


# -------------------------------------------------------------------------------- Neware


def neware(header: str, rows, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)


def test_neware_bts8_export_normalises(target, tmp_path, capsys):
    path = write(tmp_path, "bts8_cell3.csv", neware(BTS8_HEADER, BTS8_ROWS))
    code, err = ingest(
        target,
        [path],
        "--format",
        "neware",
        "--time-zone",
        "Asia/Shanghai",
        "--sidecar",
        str(sidecar(tmp_path)),
        capsys=capsys,
    )
    assert code == 0, err
    got = stored(target, path)
    assert same(got, BTS8_EXPECTED), got
    assert source_file(target, path)[:3] == ("neware_csv", "Neware BTS", "Asia/Shanghai")


def test_neware_bts7_export_normalises(target, tmp_path, capsys):
    """No total time in BTS 7: test time is the date-time minus the session's start."""
    path = write(tmp_path, "bts7_cell3.csv", neware(BTS7_HEADER, BTS7_ROWS, "cp1252"))
    code, err = ingest(
        target,
        [path],
        "--format",
        "neware",
        "--time-zone",
        "Asia/Shanghai",
        "--sidecar",
        str(sidecar(tmp_path)),
        capsys=capsys,
    )
    assert code == 0, err
    expected = [{k: v for k, v in r.items() if k != "step_type"} for r in BTS8_EXPECTED]
    got = stored(target, path)
    assert same(got, expected), got
    assert all(r["step_type"] is None for r in got)
    assert "mA" in str(source_file(target, path)[3])


def test_neware_session_of_two_files_continues_the_record_index(target, tmp_path, capsys):
    """BTS restarts DataPoint in each exported file; the session's record index goes on."""
    first = write(tmp_path, "part1.csv", neware(BTS8_HEADER, BTS8_ROWS[:2]))
    second = write(
        tmp_path, "part2.csv", neware(BTS8_HEADER, [BTS8_ROWS[2].replace("3,", "1,", 1)])
    )
    code, err = ingest(
        target,
        [first, second],
        "--format",
        "neware",
        "--time-zone",
        "Asia/Shanghai",
        "--sidecar",
        str(sidecar(tmp_path)),
        capsys=capsys,
    )
    assert code == 0, err
    got = stored(target, first, second)
    assert [r["record_index"] for r in got] == [0, 1, 2], got
    assert same(got, BTS8_EXPECTED), got


def test_neware_semicolon_and_decimal_comma(sqlite_target, tmp_path):
    rows = [r.replace(",", ";") for r in BTS8_ROWS]
    rows = [r.replace("3.6;", "3,6;").replace("3.55;", "3,55;") for r in rows]
    rows = [r.replace("0.0073", "0,0073").replace("0:00:10.500", "0:00:10,500") for r in rows]
    path = write(tmp_path, "semi.csv", neware(BTS8_HEADER.replace(",", ";"), rows))
    code, _ = ingest(
        sqlite_target,
        [path],
        "--format",
        "neware",
        "--time-zone",
        "Asia/Shanghai",
        "--sidecar",
        str(sidecar(tmp_path)),
    )
    assert code == 0
    got = stored(sqlite_target, path)
    assert same(got, BTS8_EXPECTED), got


# ------------------------------------------------------------ the bad-input corpus

TZ_BERLIN = ["--time-zone", "Europe/Berlin"]
TZ_SHANGHAI = ["--time-zone", "Asia/Shanghai"]
BAD_MPT_ROW = mpt_rows()[1].replace("3.600000000000000E+000", "3.6x", 1)
BACKWARDS_MPT = mpt_rows(
    [MPT_SAMPLES[0], MPT_SAMPLES[2], (*MPT_SAMPLES[1][:1], 5.0, *MPT_SAMPLES[1][2:])]
)
BAD = {
    # case -> (file name, content, --format, options, message)
    "Neware given as BioLogic": (
        "n.csv",
        neware(BTS8_HEADER, BTS8_ROWS),
        "biologic",
        TZ_BERLIN,
        ":1: not a BioLogic EC-Lab text export",
        "it looks like a Neware CSV export: use --format neware",
    ),
    "BioLogic given as Neware": (
        "b.mpt",
        mpt(header=False),
        "neware",
        TZ_BERLIN,
        ":1: not a Neware record export",
        "it looks like a BioLogic EC-Lab text export: use --format biologic",
    ),
    "BioLogic given as BDF": (
        "b.mpt",
        mpt(),
        "bdf",
        [],
        ":1: missing required column(s)",
        "it looks like a BioLogic EC-Lab text export: use --format biologic",
    ),
    "Neware BTS 7 given as Arbin": (
        "n7.csv",
        neware(BTS7_HEADER, BTS7_ROWS),
        "arbin",
        TZ_SHANGHAI,
        ":1: not an Arbin CSV export",
        "it looks like a Neware CSV export: use --format neware",
    ),
    "Neware BTS 8 given as Maccor": (
        "n8.csv",
        neware(BTS8_HEADER, BTS8_ROWS),
        "maccor",
        [],
        ":2: not a Maccor text export",
        "it looks like a Neware CSV export: use --format neware",
    ),
    "a BioLogic .mpr binary": (
        "run.mpr",
        b"BIO-LOGIC MODULAR FILE\x1a                         \x00\x00\x00\x00",
        "biologic",
        [],
        "a BioLogic .mpr binary file: not read",
        "export it from EC-Lab as text (.mpt)",
    ),
    "Neware without voltage": (
        "novolts.csv",
        neware(BTS8_HEADER.replace("Voltage(V)", "Volt"), BTS8_ROWS),
        "neware",
        TZ_SHANGHAI,
        ":1: not a Neware record export: line 1 lacks the column(s) 'Voltage(V)'",
        "",
    ),
    "BioLogic unknown unit": (
        "kA.mpt",
        mpt(columns=tuple(c.replace("<I>/mA", "<I>/kA") for c in MPT_COLUMNS)),
        "biologic",
        TZ_BERLIN,
        ":19: column '<I>/kA': unknown unit 'kA' for current",
        "",
    ),
    # (a whole layered export loads: tests/ingest/test_ingest_layouts.py)
    "a layered BTS 7 export cut before its first cycle row": (
        "layered.csv",
        (
            b"Cycle ID,Cap_Chg(mAh),Cap_DChg(mAh),Charge/Discharge Efficiency(%)\r\n"
            b",Step ID,Step Name,Step Time(h:min:s.ms),Capacity(mAh),Energy(mWh)\r\n"
            b",,Record ID,Time(h:min:s.ms),Voltage(V),Current(mA),Realtime\r\n"
            b",,1,0:00:00.000,3.5120,0.0000,2024-03-31 08:00:00\r\n"
            b"1,7.3,6.9,94.5\r\n,1,CC_Chg,0:00:10.500,7.3,26.28\r\n"
        ),
        "neware",
        TZ_SHANGHAI,
        ":4: a record row before any cycle and step row",
        "export it whole",
    ),
    "a Neware .nda binary cut after its magic": (
        "run.nda",
        b"NEWARE\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
        "neware",
        TZ_SHANGHAI,
        "NewareNDA cannot read this .nda file",
        "a damaged or truncated file",
    ),
    "Neware unsigned current on a discharge step": (
        "unsigned.csv",
        neware(BTS8_HEADER, [*BTS8_ROWS[:2], BTS8_ROWS[2].replace(",-2.5,", ",2.5,")]),
        "neware",
        TZ_SHANGHAI,
        ":4: column 'Current(A)': the current is positive on a discharge step ('CC DChg')",
        "discharge would load as charge",
    ),
    "Neware unknown unit": (
        "kv.csv",
        neware(BTS8_HEADER.replace("Voltage(V)", "Voltage(kV)"), BTS8_ROWS),
        "neware",
        TZ_SHANGHAI,
        ":1: column 'Voltage(kV)': unknown unit 'kV' for voltage",
        "",
    ),
    "BioLogic non-numeric value": (
        "x.mpt",
        mpt([mpt_rows()[0], BAD_MPT_ROW, mpt_rows()[2]]),
        "biologic",
        TZ_BERLIN,
        ":21: column 'Ewe/V': value '3.6x' is not a number",
        "",
    ),
    "BioLogic non-numeric value, decimal comma": (
        "xc.mpt",
        mpt(
            [mpt_rows(comma=True)[0], mpt_rows(comma=True)[1].replace("3,600", "3,6x0", 1)],
            comma=True,
        ),
        "biologic",
        TZ_BERLIN,
        ":21: column 'Ewe/V': value '3,6x0000000000000E+000' is not a number",
        "",
    ),
    "Neware non-numeric current": (
        "na.csv",
        neware(BTS8_HEADER, [BTS8_ROWS[0], BTS8_ROWS[1].replace(",2.5,", ",2.5A,")]),
        "neware",
        TZ_SHANGHAI,
        ":3: column 'Current(A)': value '2.5A' is not a number",
        "",
    ),
    "Neware bad duration": (
        "nd.csv",
        neware(BTS8_HEADER, [BTS8_ROWS[0], BTS8_ROWS[1].replace("0:00:10.500,2.5", "0:1x,2.5")]),
        "neware",
        TZ_SHANGHAI,
        ":3: column 'Total Time': value '0:1x' is not a duration h:mm:ss.fff",
        "",
    ),
    "Neware bad date": (
        "ndt.csv",
        neware(BTS8_HEADER, [BTS8_ROWS[0], BTS8_ROWS[1].replace("2024-03-31", "31.03.2024")]),
        "neware",
        TZ_SHANGHAI,
        ":3: column 'Date': cannot read Date Time '31.03.2024 08:00:10.500'",
        "",
    ),
    "Neware local time without --time-zone": (
        "nz.csv",
        neware(BTS8_HEADER, BTS8_ROWS),
        "neware",
        [],
        ":1: column 'Date': 'Date' holds local times without an offset",
        "--time-zone",
    ),
    "BioLogic local start without --time-zone": (
        "bz.mpt",
        mpt(),
        "biologic",
        [],
        ":11: 'Acquisition started on : 03/31/2024 01:00:00.500' is the cycler PC's local time",
        "--time-zone",
    ),
    "BioLogic truncated in a row": (
        "cut.mpt",
        mpt()[:-60],
        "biologic",
        TZ_BERLIN,
        ":22: malformed row: expected 23 fields, found",
        "the file looks truncated",
    ),
    "BioLogic truncated in its header block": (
        "cuthead.mpt",
        mpt()[:200],
        "biologic",
        TZ_BERLIN,
        "the file ends inside its header block",
        "the file looks truncated",
    ),
    "Neware truncated in a row": (
        "cut.csv",
        neware(BTS8_HEADER, BTS8_ROWS)[:-40],
        "neware",
        TZ_SHANGHAI,
        ":4: malformed row: expected 27 fields, found",
        "the file looks truncated",
    ),
    "BioLogic empty file": ("empty.mpt", b"", "biologic", TZ_BERLIN, "the file is empty", ""),
    "Neware empty file": ("empty.csv", b"", "neware", TZ_SHANGHAI, "the file is empty", ""),
    "Neware header only": (
        "head.csv",
        neware(BTS8_HEADER, []),
        "neware",
        TZ_SHANGHAI,
        ":2: the file has column names but no data rows",
        "",
    ),
    "BioLogic time stepping backwards": (
        "back.mpt",
        mpt(BACKWARDS_MPT),
        "biologic",
        TZ_BERLIN,
        "refused (1 rule(s) fail); nothing was written",
        "test_time_backwards: column 'test_time_second' 1 row(s) at line(s) 22",
    ),
    "Neware time stepping backwards": (
        "back.csv",
        neware(BTS8_HEADER, [BTS8_ROWS[0], "2" + BTS8_ROWS[2][1:], "3" + BTS8_ROWS[1][1:]]),
        "neware",
        TZ_SHANGHAI,
        "refused (1 rule(s) fail); nothing was written",
        "test_time_backwards: column 'test_time_second' 1 row(s) at line(s) 4",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_refused_and_located(sqlite_target, tmp_path, capsys, case):
    name, content, file_format, options, message, also = BAD[case]
    path = write(tmp_path, name, content)
    before = sqlite_target.counts()
    side = str(sidecar(tmp_path))
    code, err = ingest(
        sqlite_target,
        [path],
        "--format",
        file_format,
        *options,
        "--sidecar",
        side,
        capsys=capsys,
    )
    assert code == 1, err
    assert f"error: {path}" in err and message in err and also in err, err
    assert "Traceback" not in err
    assert sqlite_target.counts() == before
