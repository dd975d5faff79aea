"""Variants of the real Maccor and Arbin fixtures (tests/fixtures/maccor, tests/fixtures/arbin)
that the exports also come in or break in: a row without the padding tab its neighbours have,
a value that is not a number, a record number that is not whole, and the exports that hold no
time series (Maccor's statistics and impedance exports, MITS Pro's GlobalInfo and
StatisticByCycle sheets, an Arbin .res database): each loads, or is refused in one line naming
the file, line and column and what it is, with nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ingest.corpus import FIXTURES, sidecar
from tests.ingest.loading import ingest, write


def _lines(name: str) -> list[bytes]:
    return (FIXTURES / name).read_bytes().splitlines(keepends=True)


def _load(target, path: Path, file_format: str, tmp_path: Path, capsys, *more: str):
    side = sidecar(tmp_path, path.name)
    return ingest(
        target,
        [path],
        "--format",
        file_format,
        "--strict",
        "--sidecar",
        str(side),
        *more,
        capsys=capsys,
    )


def test_a_row_without_the_padding_tab_is_read(sqlite_target, tmp_path, capsys):
    """The newer export ends every row with a tab its header line lacks; the original of
    maccor_002.txt ends its last row without it. That row is read like the others."""
    lines = _lines("maccor/maccor_002.txt")
    lines[-1] = lines[-1].replace(b"\t\n", b"\n")
    assert not lines[-1].endswith(b"\t\n") and lines[-2].endswith(b"\t\n")
    path = write(tmp_path, "short.txt", b"".join(lines))
    code, err = _load(sqlite_target, path, "maccor", tmp_path, capsys)
    assert code == 0 and "300 rows loaded" in err, err
    last = sqlite_target.query(
        "SELECT voltage_volt, current_ampere FROM timeseries_point t JOIN source_file f"
        " ON f.session_id = t.session_id WHERE f.uri = %s ORDER BY record_index DESC LIMIT 1",
        [str(path)],
    )
    assert last == [(3.2787, -0.0001603)]


# case -> (fixture, line (1-based) to change, old bytes, new bytes, format, message)
BAD_VALUES = {
    "a voltage that is not a number": (
        "maccor/maccor_example.001",
        5,
        b"3.30571450",
        b"3.3O571450",
        "maccor",
        ":5: column 'Volts': value '3.3O571450' is not a number",
    ),
    "a record number that is not whole": (
        "maccor/maccor_example.001",
        6,
        b"4\t0\t1\t",
        b"4.5\t0\t1\t",
        "maccor",
        ":6: column 'Rec#': value '4.5' is not an integer",
    ),
    "a duration that is not one": (
        "maccor/maccor_001.txt",
        7,
        b"  0d 08:1",
        b"  0x 08:1",
        "maccor",
        ":7: column 'TestTime': value '0x 08:1",
    ),
    "an Arbin counter that is not whole": (
        "arbin/FastCharge_000025_CH8.csv",
        4,
        b",0.0,0.0,0.0,",
        b",0.5,0.0,0.0,",
        "arbin",
        ":4: column 'Step_Index': value '0.5' is not an integer",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_a_bad_value_is_named_by_line_and_column(sqlite_target, tmp_path, capsys, case):
    name, number, old, new, file_format, message = BAD_VALUES[case]
    lines = _lines(name)
    assert old in lines[number - 1], lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    path = write(tmp_path, Path(name).name, b"".join(lines))
    before = sqlite_target.counts()
    code, err = _load(sqlite_target, path, file_format, tmp_path, capsys)
    assert code == 1 and f"error: {path}{message}" in err, err
    assert sqlite_target.counts() == before


def test_a_date_time_of_the_files_form_that_is_no_date_is_named(sqlite_target, tmp_path, capsys):
    """DPt Time is parsed in Arrow (strptime): a value written like the others but no date
    (month 34) is refused naming its line and column, nothing written."""
    lines = _lines("maccor/maccor_three.txt")
    lines[7] = lines[7].replace(b"08/24/2021 2:47:11 AM", b"08/34/2021 2:47:11 AM", 1)
    path = write(tmp_path, "month34.txt", b"".join(lines))
    before = sqlite_target.counts()
    code, err = _load(sqlite_target, path, "maccor", tmp_path, capsys, "--time-zone", "UTC")
    assert code == 1, err
    assert (
        f"error: {path}:8: column 'DPt Time': value '08/34/2021 2:47:11 AM' is not a date-time "
        "like the file's first ('08/24/2021 2:43:11 AM')"
    ) in err, err
    assert sqlite_target.counts() == before


STATS = (
    b"TesterID:\tTester #2\t\t\t\nChannel Number:\t79\t\t\t\n\t\t\t\t\n"
    b"Cycle\tCycle Type\tTest Time\tCurrent\tVoltage\tAH-IN\tAH-OUT\tWH-IN\tWH-OUT\n"
    b"0\t\t  0d 00:08:59.16\t0.0997\t4.2001\t0.0365\t\t0.1532\t\n"
)
FRA = (
    b"MACCOR, INC.    AC Impedance Test\r\nFrequency Sweep:   Open Circut Voltage\r\n"
    b"EIS 1.000FRA default\r\n"
)
GLOBAL_INFO = "\ufeff,,,TEST REPORT,,,\n,, Test Name,cell 2, Serial Number,,\n".encode()
STATISTICS = (
    "\ufeffDate_Time ,Test Time (s),Step Time (s),Cycle Index,Step Index,Current (A),"
    "Voltage (V),Charge Capacity (Ah),Discharge Capacity (Ah),Charge Time (s),"
    "Discharge Time (s),V_Max_On_Cycle (V),Coulombic Efficiency (%)\n"
    '"\t05/22/2022 14:06:34.312",5008.5,600.0,1,4,0,2.64,0,0.305,0.0076,4396.7,0,0\n'
).encode()
# case -> (file name, content, --format, message)
NOT_RECORDS = {
    "Maccor's statistics export": (
        "cell - 079 [STATS].txt",
        STATS,
        "maccor",
        ":4: a Maccor statistics export (one row per cycle: 'Cycle', 'AH-IN', 'AH-OUT')",
    ),
    "Maccor's impedance export": (
        "cell.EDA0001.041",
        FRA,
        "maccor",
        ":1: a Maccor AC impedance (FRA) export: an impedance sweep",
    ),
    "MITS Pro's GlobalInfo sheet": (
        "cell_GlobalInfo.CSV",
        GLOBAL_INFO,
        "arbin",
        ":1: an Arbin GlobalInfo sheet (the test's settings, 'TEST REPORT')",
    ),
    "MITS Pro's StatisticByCycle sheet": (
        "cell_StatisticByCycle.CSV",
        STATISTICS,
        "arbin",
        ":1: an Arbin StatisticByCycle export (one row per cycle:",
    ),
    "an Arbin .res database": (
        "cell.res",
        b"\x00\x01\x00\x00Standard Jet DB\x00\x01\x00\x00\x00" + bytes(64),
        "arbin",
        ": an Arbin .res file (an MS Access database, MITS Pro's own store): not read",
    ),
}


@pytest.mark.parametrize("case", sorted(NOT_RECORDS))
def test_an_export_without_records_says_what_it_is(sqlite_target, tmp_path, capsys, case):
    name, content, file_format, message = NOT_RECORDS[case]
    path = write(tmp_path, name, content)
    before = sqlite_target.counts()
    code, err = _load(sqlite_target, path, file_format, tmp_path, capsys)
    assert code == 1 and f"error: {path}{message}" in err, err
    assert "Traceback" not in err
    assert sqlite_target.counts() == before
