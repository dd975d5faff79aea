"""Arbin MITS Pro's Excel export, read by `--format arbin` (ingest/readers/arbin.py): workbooks
made here with openpyxl in the layout real exports have (learnt from public code that reads
them, names only: cellpy's arbin_sql_xlsx, the BDF tooling's arbin_xlsx plugin and the sheet
names it lists): a `Global_Info` (MITS Pro 4.x) or `Info` sheet, the channel's data on
`Channel_1-008` (4.x) or `Channel1_1`/`Channel_6_1` (7/8) with the CSV export's columns, a
channel's rows continued on `Channel_1-008_2` when they outgrow a sheet, and
`Statistics_1-008`. `Date_Time` is a date cell, a bare Excel day count or MITS Pro's
`MM/DD/YYYY hh:mm:ss.fff` text, local time in every case.

Each is loaded into SQLite and PostgreSQL and read back against the numbers set in the
workbook (the CSV export's samples in tests/ingest/test_ingest_real_files.py: the same stored
values), and a corpus of bad workbooks must each be refused with one line naming the file, the sheet
and the cell, exit code 1 and no table changed."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pytest

from ingest.readers import arbin
from ingest.readers.workbook import OLE
from tests.ingest.loading import ingest, sidecar, write
from tests.ingest.vendor_files import same, source_file, stored
from tests.ingest.vendor_files import workbook as neware_workbook

openpyxl = pytest.importorskip("openpyxl")

TZ = ["--time-zone", "Europe/Berlin"]
START = 1711843200.0  # 2024-03-31T00:00:00Z, the sidecar's started_at

HEADER = [
    "Data_Point",
    "Date_Time",
    "Test_Time(s)",
    "Step_Time(s)",
    "Cycle_Index",
    "Step_Index",
    "Current(A)",
    "Voltage(V)",
    "Power(W)",
    "Charge_Capacity(Ah)",
    "Discharge_Capacity(Ah)",
    "Charge_Energy(Wh)",
    "Discharge_Energy(Wh)",
    "ACR(Ohm)",
    "dV/dt(V/s)",
    "Internal Resistance(Ohm)",
    "Aux_Temperature_1(C)",
]
# (Data_Point, local Date_Time, test s, step s, cycle, step, A, V, Ah in, Ah out, Wh in,
# Wh out, T1 °C): Europe/Berlin moves to summer time at 02:00 on 2024-03-31, so the second
# sample, an hour of wall clock after the first, is one second later in UTC
SAMPLES = (
    (1, "2024-03-31 01:59:59.500", 0.0, 0.0, 1, 1, 0.0, 3.512, 0.0, 0.0, 0.0, 0.0, 24.8),
    (2, "2024-03-31 03:00:00.500", 1.0, 1.0, 1, 2, 2.5, 3.6, 0.000694, 0.0, 0.0025, 0.0, 24.9),
    (
        3, "2024-03-31 03:00:10.500", 11.0, 0.0, 2, 3, -2.5, 3.55, 0.000694, 0.006944, 0.0025,
        0.024653, 25.1,
    ),
)  # fmt: skip
EXPECTED = [
    {
        "recorded_at": START + utc,
        "test_time_second": s[2],
        "step_time_second": s[3],
        "cycle_count": s[4],
        "step_id": s[5],
        "current_ampere": s[6],  # Arbin's sign: charge positive, discharge negative, kept
        "voltage_volt": s[7],
        "charging_capacity_ah": s[8],
        "discharging_capacity_ah": s[9],
        "charging_energy_wh": s[10],
        "discharging_energy_wh": s[11],
        "temperature_t1_celsius": s[12],
        "record_index": i,
        "step_type": None,
    }
    for i, (s, utc) in enumerate(zip(SAMPLES, (3599.5, 3600.5, 3610.5), strict=True))
]
EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def cells(sample, dates: str = "cells", milli: bool = False) -> list:
    """One data row as MITS Pro writes it into the workbook; `dates`: `cells` (a date cell),
    `days` (a bare Excel day count), `text` (MM/DD/YYYY hh:mm:ss.fff, as the CSV has it);
    `milli`: current, capacities and energies in mA, mAh and mWh."""
    point, when, test, step_time, cycle, step, amps, volts, ah_in, ah_out, wh_in, wh_out, t1 = (
        sample
    )
    local = dt.datetime.fromisoformat(when)
    if dates == "cells":
        date = local
    elif dates == "days":
        date = (local - EXCEL_EPOCH) / dt.timedelta(days=1)
    else:
        date = local.strftime("%m/%d/%Y %H:%M:%S.") + f"{local.microsecond // 1000:03d}"
    k = 1000.0 if milli else 1.0
    return [
        point, date, test, step_time, cycle, step, amps * k, volts, round(amps * volts, 4),
        ah_in * k, ah_out * k, wh_in * k, wh_out * k, 0.0321, 0.0, 0.0, t1,
    ]  # fmt: skip


def milli_header() -> list[str]:
    units = {"(A)": "(mA)", "(Ah)": "(mAh)", "(Wh)": "(mWh)"}
    out = []
    for name in HEADER:
        for old, new in units.items():
            if name.endswith(old) and "Resistance" not in name:
                name = name[: -len(old)] + new
        out.append(name)
    return out


def arbin_workbook(
    path: Path,
    channels: dict[str, list[list]] | None = None,
    *,
    header: list | None = None,
    headers: dict[str, list] | None = None,
    info: str = "Global_Info",
    statistics: str | None = "Statistics_1-008",
) -> Path:
    """A MITS Pro workbook: the info sheet, the channel's data sheet(s) (name -> rows, each
    under the header row), then the statistics sheet."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = info
    sheet.append(["Test_Name", "cell9_RPT", "Schedule_File_Name", "RPT_0.5C.sdx"])
    sheet.append(["Channel", 8, "Start_DateTime", "03/31/2024 01:59:59"])
    if channels is None:
        channels = {"Channel_1-008": [cells(s) for s in SAMPLES]}
    for name, rows in channels.items():
        sheet = book.create_sheet(name)
        sheet.append((headers or {}).get(name) or header or HEADER)
        for row in rows:
            sheet.append(row)
    if statistics:
        sheet = book.create_sheet(statistics)
        sheet.append(["Cycle_Index", "Charge_Capacity(Ah)", "Discharge_Capacity(Ah)"])
        sheet.append([1, 0.000694, 0.0])
        sheet.append([2, 0.000694, 0.006944])
    book.save(path)
    return path


WORKBOOKS = {
    # case -> (channel sheets, other workbook options, original units)
    "MITS Pro 4.x: Global_Info, Channel_1-008, Statistics_1-008; date cells": (
        {"Channel_1-008": [cells(s) for s in SAMPLES]},
        {},
        None,
    ),
    "Date_Time as MITS Pro's MM/DD/YYYY text": (
        {"Channel_1-008": [cells(s, "text") for s in SAMPLES]},
        {},
        None,
    ),
    "a channel split over Channel_1-008 and Channel_1-008_2 (date cells, then text)": (
        {
            "Channel_1-008": [cells(s) for s in SAMPLES[:2]],
            "Channel_1-008_2": [cells(SAMPLES[2], "text")],
        },
        {},
        None,
    ),
    "MITS Pro 8: Info, Channel1_1 and Channel1_2; mA, mAh, mWh; bare day counts": (
        {
            "Channel1_1": [cells(s, "days", milli=True) for s in SAMPLES[:1]],
            "Channel1_2": [cells(s, "days", milli=True) for s in SAMPLES[1:]],
        },
        {"info": "Info", "statistics": "Statistics1_1", "header": milli_header()},
        {
            "current_ampere": "mA",
            "charging_capacity_ah": "mAh",
            "discharging_capacity_ah": "mAh",
            "charging_energy_wh": "mWh",
            "discharging_energy_wh": "mWh",
        },
    ),
}


@pytest.mark.parametrize("case", sorted(WORKBOOKS))
def test_arbin_workbook_normalises(target, tmp_path, capsys, case):
    channels, options, units = WORKBOOKS[case]
    path = arbin_workbook(tmp_path / "cell9.xlsx", channels, **options)
    code, err = ingest(
        target, [path], "--format", "arbin", *TZ, "--sidecar", str(sidecar(tmp_path)), capsys=capsys
    )
    assert code == 0, err
    got = stored(target, path)
    assert same(got, EXPECTED), got
    file_format, software, zone, original, first, last = source_file(target, path)
    assert (file_format, software, zone, last - first) == (
        "arbin_xlsx",
        "Arbin",
        "Europe/Berlin",
        2,
    )
    assert (json.loads(original) if original else {}) == (units or {})


def test_a_csv_and_a_workbook_make_one_session(target, tmp_path, capsys):
    """The channel's first samples exported as CSV, the rest as a workbook: one session, the
    record index continued from the CSV's, the same stored values as one export."""
    header = ",".join(HEADER)
    first = write(
        tmp_path,
        "cell9_part1.csv",
        "\r\n".join([header, ",".join(map(str, cells(SAMPLES[0], "text")))]) + "\r\n",
    )
    second = arbin_workbook(
        tmp_path / "cell9_part2.xlsx", {"Channel_1-008": [cells(s) for s in SAMPLES[1:]]}
    )
    side = str(sidecar(tmp_path))
    code, err = ingest(
        target, [first, second], "--format", "arbin", *TZ, "--sidecar", side, capsys=capsys
    )
    assert code == 0, err
    got = stored(target, first, second)
    assert same(got, EXPECTED), got
    assert [source_file(target, p)[0] for p in (first, second)] == ["arbin_csv", "arbin_xlsx"]
    assert source_file(target, second)[4] == source_file(target, first)[5] + 1


def ramp(count: int, start: int = 0) -> list[list]:
    """`count` charging samples a second apart, Data_Point from start + 1."""
    base = dt.datetime(2024, 3, 31, 8, 0, 0)
    return [
        [
            i + 1, base + dt.timedelta(seconds=i), float(i), float(i), 1, 2, 2.5, 3.6, 9.0,
            i / 1440, 0.0, i / 400, 0.0, 0.0321, 0.0, 0.0, 25.0,
        ]
        for i in range(start, start + count)
    ]  # fmt: skip


@pytest.mark.slow  # a long workbook in small chunks
def test_a_long_channel_over_two_sheets_in_small_chunks(sqlite_target, tmp_path, capsys):
    """3,000 rows, 2,000 on Channel_1-008 and 1,000 on Channel_1-008_2, read 1,024 rows a chunk
    (--block-size): every row loaded in order, the record index continuous across the sheets,
    and a bad cell on the second sheet named by its own row there."""
    channels = {"Channel_1-008": ramp(2000), "Channel_1-008_2": ramp(1000, 2000)}
    path = arbin_workbook(tmp_path / "long.xlsx", channels)
    side = str(sidecar(tmp_path))
    options = ["--format", "arbin", *TZ, "--block-size", "1000", "--sidecar", side]
    code, err = ingest(sqlite_target, [path], *options, capsys=capsys)
    assert code == 0, err
    got = stored(sqlite_target, path)
    assert [r["record_index"] for r in got] == list(range(3000))
    assert [r["test_time_second"] for r in got] == [float(i) for i in range(3000)]
    assert got[-1]["recorded_at"] == START + 6 * 3600 + 2999.0  # 08:00 CEST is 06:00 UTC

    channels["Channel_1-008_2"][500][7] = "3.6V"  # its row 502 (the header is row 1), column H
    bad = arbin_workbook(tmp_path / "long_bad.xlsx", channels)
    before = sqlite_target.counts()
    code, err = ingest(sqlite_target, [bad], *options, capsys=capsys)
    assert code == 1, err
    assert (
        f"error: {bad}:502: column 'Voltage(V)': value '3.6V' is not a number "
        "(sheet 'Channel_1-008_2', cell H502)"
    ) in err, err
    assert sqlite_target.counts() == before


def test_channel_sheets_are_found_and_ordered():
    def order(*names):
        return arbin.channel_sheets("f.xlsx", list(names))

    assert order("Global_Info", "Channel_1-008", "Statistics_1-008") == ["Channel_1-008"]
    assert order("Info", "Channel_1-008_2", "Channel_1-008", "Channel_1-008_1") == [
        "Channel_1-008",
        "Channel_1-008_1",
        "Channel_1-008_2",
    ]
    for one in ("Channel1_1", "Channel_6_1", "Channel-6_1", "Channel_6", "channel_1-002"):
        assert order("Global_Info", one, "ACIM_chan_1", "StatisticsByCycle-Chan_1") == [one]
    assert order("Channel_6_2", "Channel_6_1") == ["Channel_6_1", "Channel_6_2"]
    # CALCE's incremental-OCV workbooks: a channel over three numbered sheets, none without
    parts = ["Channel_1-005_1", "Channel_1-005_2", "Channel_1-005_3"]
    assert order("Info", parts[2], parts[0], parts[1], "Statistics_1-005") == parts


# ------------------------------------------------------------ the bad-input corpus


def _zip_without_workbook(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.csv", "Data_Point,Test_Time(s)\n1,0\n")
    return path


def _truncated(path: Path) -> Path:
    data = arbin_workbook(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _broken_sheet(path: Path) -> Path:
    """A workbook whose channel sheet's XML is cut short (the zip itself is sound)."""
    source = arbin_workbook(path.with_name("whole.xlsx"))
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename == "xl/worksheets/sheet2.xml":
                data = data[: len(data) // 2]
            new.writestr(item, data)
    return path


def _encrypted_stand_in(path: Path) -> Path:
    """What the reader checks of an encrypted .xlsx: an OLE2 compound file holding a stream
    named EncryptedPackage (no library here writes a whole encrypted workbook)."""
    directory = "EncryptionInfo".encode("utf-16-le") + bytes(50)
    directory += "EncryptedPackage".encode("utf-16-le") + bytes(48)
    path.write_bytes(OLE + bytes(504) + directory + bytes(2048))
    return path


def _xls_stand_in(path: Path) -> Path:
    """An OLE2 compound file with a `Workbook` stream, as an Excel 97-2003 .xls is."""
    directory = "Workbook".encode("utf-16-le") + bytes(48)
    path.write_bytes(OLE + bytes(504) + directory + bytes(2048))
    return path


def book(name: str, channels: dict | None = None, **options):
    """A maker of an Arbin workbook in the test's folder."""
    return lambda folder: arbin_workbook(folder / name, channels, **options)


def _with(index: int, position: int, value, dates: str = "cells") -> list[list]:
    rows = [cells(s, dates) for s in SAMPLES]
    rows[index][position] = value
    return rows


NO_VOLTS = [h for h in HEADER if h != "Voltage(V)"]

BAD = {
    # case -> (make(tmp_path) -> path, options, message, also)
    "a workbook without a channel sheet": (
        book("nochannel.xlsx", {}, statistics="Statistics_1-008"),
        TZ,
        "no Arbin channel sheet in the workbook (its sheets: 'Global_Info', 'Statistics_1-008')",
        "'Channel_<n>-<m>' or 'Channel<n>_<m>'",
    ),
    "a Neware BTSDA workbook given as Arbin": (
        lambda d: neware_workbook(d / "neware.xlsx"),
        TZ,
        "no Arbin channel sheet in the workbook (its sheets: 'unit', 'test', 'cycle', 'step', "
        "'record')",
        "it looks like a Neware BTSDA workbook (a record sheet), which is read with --format "
        "neware",
    ),
    "two channels in one workbook": (
        book(
            "two.xlsx",
            {"Channel_1-008": [cells(SAMPLES[0])], "Channel_1-009": [cells(SAMPLES[1])]},
        ),
        TZ,
        "2 channels in the workbook ('Channel_1-008'; 'Channel_1-009'): the loader reads one "
        "channel per file",
        "",
    ),
    "a channel sheet without Voltage(V)": (
        book(
            "novolts.xlsx",
            {"Channel_1-008": [cells(s)[:7] + cells(s)[8:] for s in SAMPLES]},
            header=NO_VOLTS,
        ),
        TZ,
        ":1: not an Arbin channel sheet: the header row lacks the column(s) 'voltage' ",
        "(sheet 'Channel_1-008', row 1)",
    ),
    "a continuation sheet without Voltage(V)": (
        book(
            "novolts2.xlsx",
            {"Channel_1-008": [cells(SAMPLES[0])], "Channel_1-008_2": [cells(SAMPLES[1])]},
            headers={"Channel_1-008_2": NO_VOLTS},
        ),
        TZ,
        ":1: not an Arbin channel sheet: the header row lacks the column(s) 'voltage' ",
        "(sheet 'Channel_1-008_2', row 1)",
    ),
    "a continuation sheet with another header row": (
        book(
            "other2.xlsx",
            {"Channel_1-008": [cells(SAMPLES[0])], "Channel_1-008_2": [cells(SAMPLES[1])]},
            headers={"Channel_1-008_2": [*HEADER[:-1], "Aux_Temperature_2(C)"]},
        ),
        TZ,
        ":1: sheet 'Channel_1-008_2' continues sheet 'Channel_1-008' but its header row is not "
        "the same",
        "",
    ),
    "an unknown unit": (
        book("kv.xlsx", header=[h.replace("Voltage(V)", "Voltage(kV)") for h in HEADER]),
        TZ,
        ":1: column 'Voltage(kV)': unknown unit 'kV' for voltage",
        "(sheet 'Channel_1-008', cell H1)",
    ),
    "a cell that is not a number": (
        book("badcell.xlsx", {"Channel_1-008": _with(1, 6, "2.5A")}),
        TZ,
        ":3: column 'Current(A)': value '2.5A' is not a number (sheet 'Channel_1-008', cell G3)",
        "",
    ),
    "a Cycle_Index that is not whole": (
        book("cycle.xlsx", {"Channel_1-008": _with(2, 4, 1.5)}),
        TZ,
        ":4: column 'Cycle_Index': value '1.5' is not an integer (sheet 'Channel_1-008', cell E4)",
        "",
    ),
    "date cells without --time-zone": (
        book("nozone.xlsx"),
        [],
        ":2: column 'Date_Time': Date Time holds local times without an offset",
        "(sheet 'Channel_1-008', cell B2)",
    ),
    # a local time the zone skips is read by the test time (test_ingest_clock_change.py)
    "a Date_Time text that is no date": (
        book("baddate.xlsx", {"Channel_1-008": _with(2, 1, "31.03.2024 03:00:10", "text")}),
        TZ,
        ":4: column 'Date_Time': cannot read Date Time '31.03.2024 03:00:10'",
        "(sheet 'Channel_1-008', cell B4)",
    ),
    "a channel sheet with no data rows": (
        book("empty.xlsx", {"Channel_1-008": []}),
        TZ,
        ":2: the file has column names but no data rows (sheet 'Channel_1-008', row 2)",
        "",
    ),
    "test time stepping backwards across the sheets": (
        book(
            "back.xlsx",
            {
                "Channel_1-008": [cells(SAMPLES[0]), [2, *cells(SAMPLES[2])[1:]]],
                "Channel_1-008_2": [[3, *cells(SAMPLES[1])[1:]]],
            },
        ),
        TZ,
        "refused (1 rule(s) fail); nothing was written",
        # the quality report counts the lines on through the sheets: line 4 is the second
        # sheet's first row
        "test_time_backwards: column 'test_time_second' 1 row(s) at line(s) 4",
    ),
    "a Data_Point repeated on the continuation sheet": (
        book(
            "dup.xlsx",
            {
                "Channel_1-008": [cells(s) for s in SAMPLES[:2]],
                "Channel_1-008_2": [[2, *cells(SAMPLES[2])[1:]]],
            },
        ),
        TZ,
        "refused (1 rule(s) fail); nothing was written",
        "record_index",
    ),
    "a damaged workbook (cut in half)": (
        lambda d: _truncated(d / "cut.xlsx"),
        TZ,
        "a damaged .xlsx workbook (its zip archive does not open",
        "",
    ),
    "a channel sheet whose XML is cut short": (
        lambda d: _broken_sheet(d / "broken.xlsx"),
        TZ,
        "a damaged .xlsx workbook: sheet 'Channel_1-008' does not parse",
        "",
    ),
    "a zip that is no workbook": (
        lambda d: _zip_without_workbook(d / "data.xlsx"),
        TZ,
        "a zip archive but no Excel workbook (it has no xl/workbook.xml)",
        "",
    ),
    "a password-protected workbook": (
        lambda d: _encrypted_stand_in(d / "locked.xlsx"),
        TZ,
        "a password-protected (encrypted) Excel workbook: not read",
        "without a password",
    ),
    "an Excel 97-2003 .xls": (
        lambda d: _xls_stand_in(d / "old.xls"),
        TZ,
        "an Excel 97-2003 .xls workbook (an OLE2 compound file): not read",
        "save it as .xlsx, or export CSV from MITS Pro",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_workbook_is_refused_and_located(sqlite_target, tmp_path, capsys, case):
    make, options, message, also = BAD[case]
    path = make(tmp_path)
    before = sqlite_target.counts()
    side = str(sidecar(tmp_path))
    code, err = ingest(
        sqlite_target, [path], "--format", "arbin", *options, "--sidecar", side, capsys=capsys
    )
    assert code == 1, err
    assert f"error: {path}" in err and message in err and also in err, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 or "refused" in err, err  # one line
    assert sqlite_target.counts() == before


@pytest.mark.parametrize("file_format", ["bdf", "maccor", "biologic"])
def test_an_arbin_workbook_given_as_another_format_is_named(
    sqlite_target, tmp_path, capsys, file_format
):
    path = arbin_workbook(tmp_path / "cell9.xlsx")
    before = sqlite_target.counts()
    side = str(sidecar(tmp_path))
    code, err = ingest(
        sqlite_target, [path], "--format", file_format, *TZ, "--sidecar", side, capsys=capsys
    )
    assert code == 1, err
    assert f"error: {path}: it looks like an Excel workbook" in err, err
    assert "an Arbin MITS Pro .xlsx with --format arbin" in err, err
    assert sqlite_target.counts() == before
