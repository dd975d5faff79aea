"""Neware BTS text/CSV exports of the record (detail) layer, read by the loader's own pyarrow
CSV reader (ingest/readers/text.py) after a map of Neware's column names to BDF quantities, as
the Arbin reader does. Two families of header, both read by their names:

BTS 7.x (e.g. TRI-AMDD/beep beep/conversion_schemas/neware_conversion.yaml, its
structure/neware.py):
    Record ID,Realtime,Time(h:min:s.ms),Step ID,Cycle ID,Current(mA),Voltage(V),
    Capacitance_Chg(mAh),Capacitance_DChg(mAh),Engy_Chg(mWh),Engy_DChg(mWh),Temperature(C),...
BTS 8.x (e.g. cellpy's neware_txt model ONE, its docs/examples; the BDF tooling's
data_sources/neware_csv.py):
    DataPoint,Cycle Index,Step Index,Step Type,Time,Total Time,Current(A),Voltage(V),
    Capacity(Ah),Chg. Cap.(Ah),DChg. Cap.(Ah),Energy(Wh),Chg. Energy(Wh),DChg. Energy(Wh),
    Date,T1(℃),...

(no code copied: the names are the exports', the mapping this project's.) Units come from the
parentheses (mA, A, mAh, Ah, mWh, Wh, °C/℃); durations (`Time`, `Total Time`,
`Time(h:min:s.ms)`) are written `h:mm:ss.fff`, the hours running past 24, or as seconds when
the header says `(s)`. Date-times (`Realtime`, `Date`: YYYY-MM-DD or YYYY/MM/DD hh:mm:ss) are
the cycler PC's local time without a zone: --time-zone says which (refused without it).

What lands where: the record number (`Record ID`, `DataPoint`) -> record_index (continued
across a session's files); `Cycle ID`/`Cycle Index` -> cycle_count and `Step ID`/`Step Index`
-> step_id (the cycler's counters, kept, never renumbered); `Step Type` -> step_type (`CC Chg`
-> cc_charge, `CC DChg` -> cc_discharge, `CCCV Chg` -> cccv_charge, `Rest` -> rest...,
any other label -> other: see neware_vocabulary.STEP_TYPES); `Total Time` -> test_time;
`Time` -> step_time; the charge and discharge capacity and energy columns -> the BDF counters,
as Neware writes them (BTS counts them within each step); `T1`..`T3` or `Temperature` ->
temperature_t1..t3.
A BTS 7.x export has no total time: test_time is then the sample's date-time minus the
session's started_at (the sidecar's).

BTSDA on a Chinese-locale PC writes the same columns under Chinese names
(数据序号, 循环号, 工步号, 工步类型, 时间, 总时间, 电流(A), 电压(V), 充电容量(Ah), ...,
绝对时间; units also in full-width parentheses, 电流（mA）) and step types (搁置, 恒流充电,
恒流放电, 恒流恒压充电...), usually in GB18030 (text.decode_guess): each is read as its
English twin.

BTSDA's .xlsx export (a workbook: `unit`, `test`, `cycle`, `step`, `record` sheets in BTS 8.x,
`Info`, `Cycle_...`, `Statis_...`, `Detail_...` in BTS 7.x) is read from its record sheet by
python-calamine, each cell turned into the text the CSV export holds and converted by the same
path (text.convert_batches); messages name the sheet and the cell.

Current sign: Neware writes discharge current negative, charge positive: this schema's sign,
kept as written (--discharge-positive flips it for an export that does otherwise). With a
Step Type column, a positive current on a discharge step (`... DChg`) is refused: an export of
unsigned magnitudes would otherwise load discharge as charge.

The binary .nda/.ndax (recognised by their bytes: `NEWARE`, or a zip of .ndc members) are read
by NewareNDA in ingest/readers/neware_binary.py, onto the same quantities and rules.

BTSDA's layered export (cycle, step and record rows interleaved under three header lines) is
read by ingest/readers/neware_layered.py: each record with its cycle and step.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import sniff, staging
from ..errors import IngestError
from ..staging import HashingReader, ReadOptions, absolute_time
from . import neware_binary, neware_layered, text, workbook
from .neware_vocabulary import CYCLER, check_sign, is_record_sheet, step_types
from .text import Match

FILE_FORMAT = "neware_csv"
WORKBOOK_FORMAT = "neware_xlsx"  # source_file.file_format of BTSDA's .xlsx export
BINARY_FILES = frozenset({sniff.WORKBOOK, sniff.NEWARE_BINARY})  # BTSDA's .xlsx, .nda, .ndax

# English (BTS 7.x, 8.x) and Chinese (BTS 8.x on a Chinese-locale PC) names of each quantity
MATCHES = [
    Match(
        "record_index",
        ("record id", "datapoint", "data point", "record index", "数据序号", "记录序号"),
        "integer",
    ),
    Match("cycle_count", ("cycle id", "cycle index", "cycle", "循环号", "循环序号"), "integer"),
    Match("step_id", ("step id", "step index", "step", "工步号", "工步序号"), "integer"),
    Match(
        "step_type", ("step type", "step name", "status", "工步类型", "工步名称", "状态"), "text"
    ),
    Match(
        "test_time",
        ("total time", "cumulative time", "test time", "总时间", "累计时间", "测试时间"),
        "duration",
    ),
    Match(
        "step_time",
        ("time", "step time", "relative time", "时间", "相对时间", "工步时间"),
        "duration",
    ),
    Match("current", ("current", "电流")),
    Match("voltage", ("voltage", "电压")),
    Match("charging_capacity", ("chg. cap.", "capacitance_chg", "charge capacity", "充电容量")),
    Match(
        "discharging_capacity", ("dchg. cap.", "capacitance_dchg", "discharge capacity", "放电容量")
    ),
    Match("charging_energy", ("chg. energy", "engy_chg", "charge energy", "充电能量")),
    Match("discharging_energy", ("dchg. energy", "engy_dchg", "discharge energy", "放电能量")),
    Match(
        "date_time",
        (
            "realtime",
            "date",
            "date time",
            "datetime",
            "absolute time",
            "绝对时间",
            "日期",
            "系统时间",
            "实际时间",
        ),
        "text",
    ),
    Match("temperature_t1", ("t1", "temperature", "aux. t1", "温度", "辅助温度")),
    Match("temperature_t2", ("t2", "aux. t2")),
    Match("temperature_t3", ("t3", "aux. t3")),
]
# what a missing column is called in the message: as an English export names it, and as a
# Chinese one does (the message speaks the file's language)
REQUIRED = {
    "voltage": ("Voltage(V)", "电压(V)"),
    "current": ("Current(mA) or Current(A)", "电流(mA) or 电流(A)"),
    "cycle_count": ("Cycle ID or Cycle Index", "循环号"),
}
TIME_REQUIRED = ("Total Time or Realtime/Date", "总时间 or 绝对时间")
_NAME = re.compile(r"^(?P<name>.*?)\s*(?:\((?P<unit>[^()]*)\))?\s*$")
# full-width parentheses, as a Chinese-locale export may write the unit: 电流（A）
_FULL_WIDTH = str.maketrans({"\uff08": "(", "\uff09": ")"})


def parse_name(header: str) -> tuple[str, str]:
    """`Current(mA)` -> (current, mA); `Chg. Cap.(Ah)` -> (chg. cap., Ah); `T1(℃)` -> (t1, ℃);
    `Time(h:min:s.ms)` -> (time, h:min:s.ms); `Date` -> (date, ''); `电流（A）` -> (电流, A)."""
    match = _NAME.match(header.translate(_FULL_WIDTH))
    name = re.sub(r"\s+", " ", match["name"].strip().lower())
    return name, (match["unit"] or "").strip()


def _layout(path: Path) -> text.Layout:
    lines = text.head_lines(path, 2)
    raw = b"".join(lines)
    encoding = text.decode_guess(raw)
    header = lines[0].decode(encoding).lstrip("\ufeff")
    data = lines[1].decode(encoding, "replace") if len(lines) > 1 else ""
    counts = {d: header.count(d) for d in (",", "\t", ";")}
    delimiter = max(counts, key=lambda d: counts[d])
    names = text.split_names(header, delimiter)
    fields = len(data.rstrip("\r\n").split(delimiter)) if data.strip() else 0
    if fields > len(names):
        names += [""] * (fields - len(names))  # rows ending with a delimiter of their own
    # with ';' or a tab between fields, a comma inside a number is a decimal comma
    decimal_comma = delimiter != ","
    return text.Layout(1, delimiter, encoding, names, decimal_comma)


_ISO = r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d*)?$"


def _dates(values: pa.Array) -> pa.Array:
    """`2024/3/31 1:30:00` -> `2024-03-31 01:30:00`; ISO text is left as it is (checked by one
    pattern for the whole chunk: written so, none of the rewritings below changes a value)."""
    if staging.iso_text(values) is not None:  # fixed width, checked in numpy (the usual file)
        return values
    if pc.all(pc.match_substring_regex(values, _ISO)).as_py() in (True, None):
        return values
    values = pc.replace_substring_regex(values, r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})", r"\1-\2-\3")
    values = pc.replace_substring_regex(values, r"^(\d{4})-(\d)-", r"\1-0\2-")
    values = pc.replace_substring_regex(values, r"^(\d{4})-(\d\d)-(\d)([ T])", r"\1-\2-0\3\4")
    return pc.replace_substring_regex(values, r"([ T])(\d):", r"\10\2:")


NDA = b"NEWARE"  # a Neware .nda binary file (read by NewareNDA: neware_binary.py)


def read(path: Path, options: ReadOptions, source: HashingReader | None = None):
    """The Reader contract (readers.Reader), for a Neware record-layer export: CSV, or the
    .xlsx workbook BTSDA writes (its record sheet), or a binary .nda/.ndax (neware_binary).
    `source` (the loader's hashing stream) is left unread: it hashes the file when asked."""
    file = str(path)
    first = text.head_lines(path, 1)[0]
    if first.startswith(NDA):
        return neware_binary.read(path, options, ndax=False)
    if first.startswith(workbook.OLE):
        raise workbook.compound_file(path, "export the record layer from BTSDA as CSV")
    if first.startswith(workbook.ZIP):
        if _is_ndax(path):
            return neware_binary.read(path, options, ndax=True)
        return _read_workbook(path, options)
    if path.suffix.lower() in (".nda", ".ndax"):
        what = "a zip archive" if path.suffix.lower() == ".ndax" else "'NEWARE'"
        raise IngestError(
            file,
            f"named {path.suffix} but not a Neware binary file (it does not begin as one: "
            f"{what}); a damaged file, or another file renamed",
        )
    if neware_layered.is_layered(text.head_lines(path, neware_layered.HEADER_LINES)):
        return neware_layered.read(path, options, _columns, parse_name)
    layout = _layout(path)
    columns, derive, date = _columns(file, layout, options, "line 1")
    by_quantity = {c.quantity: c for c in columns}
    info = text.file_info(
        columns,
        layout,
        CYCLER,
        record_reader=lambda: text.record_indexes(path, layout, by_quantity.get("record_index")),
    )
    if date is not None:
        info.assumed_time_zone = options.time_zone
    return info, text.read_table(path, layout, columns, options, derive)


def _columns(file: str, layout: text.Layout, options: ReadOptions, where: str):
    """The record table's columns by their names (English or Chinese), the per-chunk `derive`
    (step types, the sign check, absolute time) and the date-time column if any."""
    found = text.pick(layout.names, parse_name, MATCHES)
    have = {m.quantity for m, *_ in found}
    chinese = any(text.CJK_RUN.search(n) for n in layout.names)
    missing = [names[chinese] for key, names in REQUIRED.items() if key not in have]
    if not missing and not have & {"test_time", "date_time"}:
        missing = [TIME_REQUIRED[chinese]]
    if missing:
        example = (
            "'数据序号', '循环号', '总时间', '电流(A)', '电压(V)'"
            if chinese
            else "'DataPoint', 'Cycle Index', 'Total Time', 'Current(A)', 'Voltage(V)'"
        )
        raise IngestError(
            file,
            f"not a Neware record export: {where} lacks the column(s) "
            + ", ".join(f"'{n}'" for n in missing)
            + f" (BTS writes e.g. {example})"
            + sniff.looks_like(",".join(layout.names), "neware"),
            line=layout.header_line,
        )
    columns = text.build_columns(file, found, layout.header_line)
    by_quantity = {c.quantity: c for c in columns}
    date = by_quantity.get("date_time")
    if date is not None and not options.time_zone:
        raise IngestError(
            file,
            f"'{date.header}' holds local times without an offset: say which zone with "
            "--time-zone (e.g. Asia/Shanghai); it is recorded in source_file",
            line=layout.header_line,
            column=date.header,
        )

    def derive(out: dict, line: int) -> None:
        if "step_type" in out:
            # encoded once: the sign check, this mapping and normalise's read each word once
            out["step_type"] = pc.dictionary_encode(out["step_type"])
            check_sign(file, out, line, by_quantity)
            out["step_type"] = step_types(out["step_type"], encoded=True)
        if date is None:
            return
        try:
            given = {"date_time": _dates(out.pop("date_time"))}
            if "test_time" in out:  # the tie-breaker of a clock change's repeated hour
                given["test_time_second"] = out["test_time"]
            seconds = absolute_time(file, given, line, options)
        except IngestError as exc:
            raise IngestError(file, exc.message, line=exc.line, column=date.header) from None
        out["unix_time"] = seconds
        if "test_time" not in out:
            # BTS 7.x: no total time; the session's start is the test's (a sidecar without
            # started_at: the file's first date-time, which the loader then takes for it)
            known = pc.drop_null(seconds)  # a blank Date is NULL
            if options.started_at is None and len(known):
                options.started_at = float(known[0].as_py())
            out["test_time"] = pc.subtract(seconds, options.started_at)

    return columns, derive, date


# ------------------------------------------------------------------ the .xlsx workbook


def _zip_members(path: Path) -> list[str]:
    """The names in the zip archive, or the refusal of a damaged one, or of a zip that is no
    workbook (a Neware .ndax is a zip too)."""
    file = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        return _refuse(file, f"a damaged .xlsx workbook (its zip archive does not open: {exc})")
    if "xl/workbook.xml" not in names:
        return _refuse(file, "a zip archive but no Excel workbook (it has no xl/workbook.xml)")
    return names


def _is_ndax(path: Path) -> bool:
    """A zip that is a Neware .ndax (named so, or holding .ndc members), not a workbook."""
    if path.suffix.lower() == ".ndax":
        return True
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False  # the workbook path names the damage
    return "xl/workbook.xml" not in names and any(n.lower().endswith(".ndc") for n in names)


def _refuse(file: str, message: str):
    raise IngestError(file, message)


def _open_sheet(path: Path):
    """The workbook's record sheet: (its name, calamine's sheet)."""
    file = str(path)
    _zip_members(path)
    book, names = workbook.open_book(path)
    records = [n for n in names if is_record_sheet(n)]
    if not records:
        shown = ", ".join(f"'{n}'" for n in names)
        raise IngestError(
            file,
            f"no record sheet in the workbook (its sheets: {shown}): BTSDA writes the "
            "records on a sheet named 'record' (BTS 8.x, '记录' in Chinese) or 'Detail_...' "
            "(BTS 7.x); export the record layer",
        )
    if len(records) > 1:
        shown = ", ".join(f"'{n}'" for n in records)
        raise IngestError(
            file,
            f"{len(records)} record sheets ({shown}): the loader reads a workbook with one "
            "(export each channel's records to a workbook of its own, or as CSV)",
        )
    return records[0], workbook.sheet(file, book, records[0])


def _read_workbook(path: Path, options: ReadOptions):
    """BTSDA's .xlsx export: the record sheet, turned into the text the CSV export holds, so
    that every rule of the CSV path applies (units, durations, local date-times, the sign
    check, the record index). A value's line is the sheet's row; messages name the sheet and
    the cell."""
    file = str(path)
    name, sheet = _open_sheet(path)
    top, left = sheet.start or (0, 0)
    rows = iter(sheet.iter_rows())
    header = next(rows, [])
    names = [(workbook.cell_text(v) or "").strip() for v in header]
    while names and not names[-1]:
        names.pop()
    layout = text.Layout(top + 1, ",", "utf-8", names)
    place = workbook.Place(file, name, left, names)
    with place:
        columns, derive, date = _columns(file, layout, options, "the header row")
    by_quantity = {c.quantity: c for c in columns}
    positions = [c.position for c in columns]
    chunk_rows = max(1024, options.block_size // 128)
    record = by_quantity.get("record_index")
    info = text.file_info(
        columns,
        layout,
        CYCLER,
        record_reader=lambda: _sheet_records(path, layout, record),
        file_format=WORKBOOK_FORMAT,
    )
    if date is not None:
        info.assumed_time_zone = options.time_zone

    def chunks():
        with place:
            batches = workbook.sheet_batches(rows, positions, chunk_rows)
            yield from text.convert_batches(file, batches, columns, layout, options, derive)

    return info, chunks()


def _sheet_records(path: Path, layout: text.Layout, column: text.Column | None) -> np.ndarray:
    """The record sheet's record index column, whole (the duplicate rule's slow path)."""
    if column is None:
        return np.array([], dtype=np.int64)
    _name, sheet = _open_sheet(path)
    rows = iter(sheet.iter_rows())
    next(rows, None)
    batches = workbook.sheet_batches(rows, [column.position], 1 << 16)
    return text.indexes(str(path), batches, column, layout.header_line + 1)
