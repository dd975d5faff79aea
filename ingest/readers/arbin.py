"""Arbin MITS Pro CSV exports (`Data_Point,Date_Time,Test_Time(s),...,Current(A),Voltage(V),...`),
read by pyarrow and converted in Arrow by the shared text machinery (ingest/readers/text.py,
as a channel sheet of the .xlsx is) after a map of Arbin's column names to BDF quantities:
Arbin's CSV is a plain CSV whose columns are BDF's quantities under other names, with the unit
in parentheses (`Test_Time(s)`, `Test Time (s)`) or, in the ArbinResult database's columns as
BEEP and battery-data-toolkit export them (`Test_Time`, `Current`, `DateTime` in Unix seconds,
`Temperature`), without one: the unit Arbin implies (IMPLIED). A gzipped CSV goes through the
BDF reader (ingest/bdf.py) with the same map. MITS Pro's GlobalInfo and StatisticByCycle
sheets saved as CSV, and a .res database, are refused as what they are.

Why not battery-data-toolkit's ArbinReader: it reads only the database layout, drops rows whose
voltage and current repeat silently, and keeps neither the capacity and energy counters nor
the step index. A column-name map costs nothing and keeps all of them (see docs/loading.md);
the tests compare the two on battery-data-toolkit's own example file.

Arbin writes current positive on charge (as this schema), `Date_Time` in the cycler PC's local
time without a zone (`--time-zone` says which; MM/DD/YYYY or ISO order), `Cycle_Index` and
`Step_Index` as the schedule's counters (kept, never renumbered), `Data_Point` as the record
number (kept as the record index, continued across a session's files).

MITS Pro's Excel export (.xlsx) is read too (`_read_workbook`): an `Info` or `Global_Info`
sheet, the channel's data on `Channel_<n>-<m>` (MITS Pro 4.x: `Channel_1-008`) or
`Channel<n>_<m>`/`Channel_<n>_<m>`/`Channel-<n>_<m>` sheets (MITS Pro 7/8) holding the CSV's
columns, and `Statistics_...` sheets (ignored). A channel whose rows outgrow a sheet continues
on further sheets (`Channel_1-008_1`, `Channel_1-008_2`): they are read in order as one table,
each with the same header row. The cells are read by python-calamine, turned into the text the
CSV holds (workbook.cell_text), mapped by the same `rename` and converted by the shared
text.convert_batches, so every rule of the CSV path applies; a `Date_Time` cell may be a date
cell (or a bare Excel day count, days since 1899-12-30) or text, in local time either way.
Messages name the sheet and the cell. The old binary .xls (and an encrypted .xlsx, which is the
same kind of file) is refused: calamine reads .xls, but no real Arbin .xls was at hand to test
it with.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from .. import bdf, sniff
from ..errors import IngestError
from ..staging import QUANTITIES, HashingReader, ReadOptions, absolute_time
from . import text, workbook
from .neware_vocabulary import is_record_sheet
from .workbook import OLE, ZIP, Place, cell_text, sheet_batches

FILE_FORMAT = "arbin_csv"
WORKBOOK_FORMAT = "arbin_xlsx"  # source_file.file_format of MITS Pro's .xlsx export
BINARY_FILES = frozenset({sniff.WORKBOOK})  # MITS Pro's .xlsx (an .xls refused by read())
CYCLER = "Arbin"

# Arbin's quantity name (snake case, unit removed) -> quantity (ingest/staging.py QUANTITIES)
NAMES = {
    "data_point": "record_index",
    "date_time": "date_time",
    "test_time": "test_time",
    "step_time": "step_time",
    "cycle_index": "cycle_count",
    "step_index": "step_id",
    "current": "current",
    "voltage": "voltage",
    "charge_capacity": "charging_capacity",
    "discharge_capacity": "discharging_capacity",
    "charge_energy": "charging_energy",
    "discharge_energy": "discharging_energy",
    # the ArbinResult database's columns as BEEP and battery-data-toolkit export them (no unit
    # in the name): DateTime in Unix seconds, Temperature the first auxiliary input
    "datetime": "unix_time",
    "temperature": "temperature_t1",
    "aux_temperature_1": "temperature_t1",
    "aux_temperature_2": "temperature_t2",
    "aux_temperature_3": "temperature_t3",
    # the cycler's own DC resistance reading (`Internal_Resistance(Ohm)`, `Internal Resistance
    # (Ohm)`, the database's `Internal_Resistance`): 0 where it measured nothing, kept as
    # written; ACR (an AC resistance) is not stored
    "internal_resistance": "internal_resistance",
}
# the columns without which a file is not an Arbin export
REQUIRED = ("test_time", "cycle_index", "current", "voltage")
# `Test_Time(s)`, `Test Time (s)`, `Aux_Temperature_1(C)`, `Date_Time`
_ARBIN = re.compile(r"^\s*(?P<name>[A-Za-z][A-Za-z0-9_ ]*?)\s*(?:\((?P<unit>[^()]*)\))?\s*$")
# Arbin's units as BDF writes them (the rest are the same words)
_UNITS = {"c": "degC", "°c": "degC"}
# the unit Arbin's format implies for a name written without one (`Test_Time`, `Current`):
# MITS Pro and its database keep every quantity in these units
IMPLIED = {
    "time": "s",
    "voltage": "V",
    "current": "A",
    "charge": "Ah",
    "energy": "Wh",
    "temperature": "degC",
    "resistance": "ohm",
}


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def rename(
    file: str, names: list[str], what: str = "an Arbin CSV export", where: str = "line 1"
) -> list[str]:
    """Arbin's header names -> BDF human names (`Voltage(V)` -> `voltage / V`), position by
    position; a name that is not an Arbin quantity stays as it is (and is ignored). `what` and
    `where` name the file and its header row in the refusal of one without Arbin's columns."""
    out: list[str] = []
    found: set[str] = set()
    for name in names:
        match = _ARBIN.match(name)
        key = _snake(match["name"]) if match else ""
        if key not in NAMES:
            out.append(name)
            continue
        found.add(key)
        unit = (match["unit"] or "").strip()
        quantity = NAMES[key]
        dimension = QUANTITIES[quantity].dimension
        if dimension == "text":
            out.append(quantity.replace("_", " ").title())
        elif dimension == "count":
            out.append(f"{quantity} / 1")
        elif not unit:
            out.append(f"{quantity} / {IMPLIED[dimension]}")
        else:
            out.append(f"{quantity} / {_UNITS.get(unit.lower(), unit)}")
    missing = [k for k in REQUIRED if k not in found]
    if missing:
        raise IngestError(
            file,
            f"not {what}: {where} lacks the column(s) "
            + ", ".join(f"'{k}'" for k in missing)
            + f" (Arbin writes e.g. 'Test_Time(s)', 'Cycle_Index', 'Current(A)', 'Voltage(V)')"
            f"{sniff.looks_like(','.join(names), 'arbin')}",
            line=1,
        )
    return out


def read(path: Path, options: ReadOptions, source: HashingReader | None = None):
    """The Reader contract (readers.Reader), for an Arbin CSV export or MITS Pro's .xlsx
    workbook; the CSV is read by BDF's columnar reader, its names mapped by `rename`."""
    options.month_first_dates = True  # the same object: the loader sets started_at on it later
    magic = _magic(path)
    if magic.startswith(ZIP):
        return _read_workbook(path, options)
    if magic.startswith(OLE):
        raise workbook.compound_file(path, "export CSV from MITS Pro")
    if magic[4:8] == b"Stan":  # `Standard Jet DB` / `Standard ACE DB`: an Access database
        raise IngestError(
            str(path),
            "an Arbin .res file (an MS Access database, MITS Pro's own store): not read; "
            "export the channel as CSV or .xlsx from MITS Pro",
        )
    if path.suffix == ".gz":
        info, chunks = bdf.read(path, options, source, rename)
        return replace(info, cycler_software=CYCLER), chunks
    return _read_csv(path, options)


def _read_csv(path: Path, options: ReadOptions):
    """The CSV export: its header mapped by `rename` (as a channel sheet's is), every column
    read as text by pyarrow and converted in Arrow by text.convert_batches, so an integer
    written `1.0` is read and a bad value is named by line and column."""
    file = str(path)
    head = text.head_lines(path, 2)
    encoding = text.decode_guess(b"".join(head))
    header = head[0].decode(encoding, errors="replace").lstrip("\ufeff")
    names = text.split_names(header, ",")
    _not_records(file, names)
    columns = workbook_columns(file, names, 1, "an Arbin CSV export", "line 1")
    by_quantity = {c.quantity: c for c in columns}
    date = by_quantity.get("date_time") if "unix_time" not in by_quantity else None
    if "unix_time" in by_quantity and "date_time" in by_quantity:
        columns = [c for c in columns if c.quantity != "date_time"]
    record = by_quantity.get("record_index")
    layout = text.Layout(1, ",", encoding, names)
    info = text.file_info(
        columns,
        layout,
        CYCLER,
        record_reader=lambda: text.record_indexes(path, layout, record),
    )
    derive = _dates(file, date, info, options)

    return info, text.read_table(path, layout, columns, options, derive)


def _dates(file: str, date, info, options: ReadOptions):
    """The per-chunk step that turns a `Date_Time` column (when the file has one) into Unix
    time in the zone given, with the test time as the tie-breaker of a clock change's repeated
    or missing hour (CSV and workbook alike)."""
    if date is not None:
        info.assumed_time_zone = options.time_zone

    def derive(out: dict, line: int) -> None:
        if date is None:
            return
        try:
            given = {"date_time": out.pop("date_time")}
            if "test_time" in out:
                given["test_time_second"] = out["test_time"]
            out["unix_time"] = absolute_time(file, given, line, options)
        except IngestError as exc:
            raise IngestError(file, exc.message, line=exc.line, column=date.header) from None

    return derive


# MITS Pro's other sheets, exported as CSV beside the channel's: a statistics-by-cycle table
# (one row per cycle) and the GlobalInfo sheet (the test's settings)
_STATISTICS = ("coulombic efficiency", "charge time", "discharge time", "v_max_on_cycle")


def _not_records(file: str, names: list[str]) -> None:
    keys = {re.sub(r"\s*\(.*\)$", "", n).strip().lower() for n in names}
    if "test report" in keys:
        raise IngestError(
            file,
            "an Arbin GlobalInfo sheet (the test's settings, 'TEST REPORT'), not the "
            "channel's records: load the channel's CSV (or the .xlsx's Channel sheet)",
            line=1,
        )
    found = [n for n in _STATISTICS if n in keys]
    if len(found) >= 2 and "data_point" not in {k.replace(" ", "_") for k in keys}:
        raise IngestError(
            file,
            "an Arbin StatisticByCycle export (one row per cycle: "
            + ", ".join(f"'{n}'" for n in found)
            + "), not the channel's records: load the channel's CSV (or the .xlsx's Channel "
            "sheet)",
            line=1,
        )


def _magic(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(20)
    except OSError:
        return b""  # the CSV reader names the problem


# ------------------------------------------------------------------ the .xlsx workbook

# a channel's data sheet: Channel_1-008 (MITS Pro 4.x), Channel1_1, Channel_6_1, Channel-6_1
# (7/8), Channel_6 (older); not Global_Info, Statistics_1-008, StatisticsByCycle-Chan_1,
# ACIM_chan_1 (impedance) or a chart sheet
_CHANNEL_SHEET = re.compile(r"^channel[ _-]?\d+(?:[-_]\d+)*$", re.IGNORECASE)


def is_channel_sheet(name: str) -> bool:
    return bool(_CHANNEL_SHEET.match(name.strip()))


# a sheet numbered within its channel: Channel_1-008_2 (the channel Channel_1-008, part 2),
# Channel_6_1 (Channel_6, part 1); Channel_1-008 and Channel_6 are part 0 of their own
_PART = re.compile(r"^(?P<channel>channel[ _-]?\d+(?:[-_]\d+)*)_(?P<part>\d+)$", re.IGNORECASE)
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # day 0 of Excel's 1900 date system (as used)
_LAST_EXCEL_DAY = 2958466  # 10000-01-01: past Excel's last date


def _open(path: Path):
    """The workbook (calamine's) and its sheet names, or the refusal of a damaged one."""
    file = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise IngestError(
            file, f"a damaged .xlsx workbook (its zip archive does not open: {exc})"
        ) from None
    if "xl/workbook.xml" not in members:
        raise IngestError(file, "a zip archive but no Excel workbook (it has no xl/workbook.xml)")
    return workbook.open_book(path)


def channel_sheets(file: str, names: list[str]) -> list[str]:
    """The workbook's channel sheets in reading order: one channel's sheets, part 0 first."""
    found = [n for n in names if is_channel_sheet(n)]
    if not found:
        shown = ", ".join(f"'{n}'" for n in names)
        neware = (
            "; it looks like a Neware BTSDA workbook (a record sheet), which is read with "
            "--format neware"
            if any(is_record_sheet(n) for n in names)
            else ""
        )
        raise IngestError(
            file,
            f"no Arbin channel sheet in the workbook (its sheets: {shown}): MITS Pro writes a "
            "channel's data on sheets named 'Channel_<n>-<m>' or 'Channel<n>_<m>'" + neware,
        )
    channels: dict[str, list[tuple[int, int, str]]] = {}
    for order, name in enumerate(found):
        part = _PART.match(name.strip())
        channel, number = (part["channel"], int(part["part"])) if part else (name.strip(), 0)
        channels.setdefault(channel.lower(), []).append((number, order, name))
    if len(channels) > 1:
        shown = "; ".join(", ".join(f"'{n}'" for *_, n in parts) for parts in channels.values())
        raise IngestError(
            file,
            f"{len(channels)} channels in the workbook ({shown}): the loader reads one channel "
            "per file (export each channel to a workbook of its own, or as CSV)",
        )
    return [name for *_, name in sorted(next(iter(channels.values())))]


def _header(sheet) -> tuple[int, int, list[str], object]:
    """(the header's row, 1-based; the first column, 0-based; the names; the data rows)."""
    top, left = sheet.start or (0, 0)
    rows = iter(sheet.iter_rows())
    names = [(cell_text(v) or "").strip() for v in next(rows, [])]
    while names and not names[-1]:
        names.pop()
    return top + 1, left, names, rows


def workbook_columns(
    file: str,
    names: list[str],
    header_row: int,
    what: str = "an Arbin channel sheet",
    where: str = "the header row",
) -> list[text.Column]:
    """A channel sheet's (or the CSV's) columns: `rename`, then BDF's units."""
    renamed = names
    try:
        renamed = rename(file, names, what, where)
        found, _ignored = bdf.parse_header(file, renamed)
    except IngestError as exc:
        written = dict(zip(renamed, names, strict=True))
        raise IngestError(
            file, exc.message, line=header_row, column=written.get(exc.column, exc.column)
        ) from None
    columns = []
    for c in found:
        q = c.quantity
        kind = "text" if q.dimension == "text" else "integer" if q.integer else "number"
        columns.append(
            text.Column(names[c.position], c.position, q.key, c.unit, c.factor, c.offset, kind)
        )
    return columns


def _excel_days(rows, position: int):
    """A `Date_Time` cell holding a bare number (a date cell without its date format): Excel's
    day count since 1899-12-30, to the millisecond (as calamine reads a date cell)."""
    for row in rows:
        if position < len(row):
            value = row[position]
            if (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and 1 <= value < _LAST_EXCEL_DAY
            ):
                row[position] = _EXCEL_EPOCH + dt.timedelta(milliseconds=round(value * 86_400_000))
        yield row


class _Counted:
    """The batches of a sheet, counting its rows."""

    def __init__(self, batches):
        self.batches, self.rows = batches, 0

    def __iter__(self):
        for n, texts in self.batches:
            self.rows += n
            yield n, texts


class _Shift:
    """A line counted through the channel's sheets -> the row of the sheet being read (the
    first sheet's rows are its lines; a continuation sheet's rows continue the count)."""

    def __init__(self, file: str, shift: int):
        self.file, self.shift = file, shift

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, trace):
        if not isinstance(exc, IngestError) or exc.file != self.file or exc.line is None:
            return False
        raise IngestError(
            self.file, exc.message, line=exc.line + self.shift, column=exc.column
        ) from None


def _read_workbook(path: Path, options: ReadOptions):
    """MITS Pro's .xlsx export: the channel's sheets, in order, as one table. A value's line is
    its sheet's row (on a continuation sheet, the rows of the sheets before it are counted on
    in the quality report's lines); messages name the sheet and the cell."""
    file = str(path)
    book, sheet_names = _open(path)
    sheets = channel_sheets(file, sheet_names)
    first = workbook.sheet(file, book, sheets[0])
    header_row, left, names, first_rows = _header(first)
    with Place(file, sheets[0], left, names):
        columns = workbook_columns(file, names, header_row)
    by_quantity = {c.quantity: c for c in columns}
    positions = [c.position for c in columns]
    date = by_quantity.get("date_time")
    record = by_quantity.get("record_index")
    chunk_rows = max(1024, options.block_size // 128)
    layout = text.Layout(header_row, ",", "utf-8", names)
    info = text.file_info(
        columns,
        layout,
        CYCLER,
        record_reader=lambda: _records(path, sheets, record),
        file_format=WORKBOOK_FORMAT,
    )
    derive = _dates(file, date, info, options)

    def chunks():
        nonlocal first, first_rows
        line = header_row  # the last line read, counted through the sheets
        for index, name in enumerate(sheets):
            if index == 0:
                top, rows = header_row, first_rows
            else:
                first = first_rows = None  # let calamine's cells of the first sheet go
                top, left_here, here, rows = _header(workbook.sheet(file, book, name))
                with Place(file, name, left_here, here):
                    workbook_columns(file, here, top)  # the same refusal as the first's
                if (here, left_here) != (names, left):
                    raise IngestError(
                        file,
                        f"sheet '{name}' continues sheet '{sheets[0]}' but its header row is "
                        "not the same (a channel's sheets repeat one header row)",
                        line=top,
                    )
            if date is not None:
                rows = _excel_days(rows, date.position)
            batches = _Counted(sheet_batches(rows, positions, chunk_rows))
            sheet_layout = text.Layout(line, ",", "utf-8", names)
            with Place(file, name, left, names), _Shift(file, top - line):
                yield from text.convert_batches(
                    file, batches, columns, sheet_layout, options, derive
                )
            line += batches.rows

    return info, chunks()


def _records(path: Path, sheets: list[str], column: text.Column | None) -> np.ndarray:
    """The channel's record index (Data_Point), whole, through its sheets (the duplicate
    rule's slow path)."""
    if column is None:
        return np.array([], dtype=np.int64)
    file = str(path)
    book, _names = _open(path)
    values = []
    for name in sheets:
        top, _left, _here, rows = _header(workbook.sheet(file, book, name))
        batches = sheet_batches(rows, [column.position], 1 << 16)
        values.append(text.indexes(file, batches, column, top + 1))
    return np.concatenate(values) if values else np.array([], dtype=np.int64)
