"""BioLogic EC-Lab / BT-Lab ASCII exports (.mpt, and the .txt export of the same table), read
by the loader's own pyarrow CSV reader (ingest/readers/text.py) after a map of EC-Lab's column
names to BDF quantities, as the Arbin reader does.

The layout (learnt from public real files: dgbowl/yadg tests/test_x_eclab/*.mpt and its
extractors/eclab/mpt.py, the BDF tooling's data_sources/biologic_mpt.py; no code copied):

    EC-Lab ASCII FILE
    Nb header lines : 81
    (blank, then the settings, among them `Acquisition started on : 01/10/2024 11:02:29.886`)
    mode<TAB>ox/red<TAB>...<TAB>time/s<TAB>...<TAB>Ewe/V<TAB>...<TAB><I>/mA<TAB>...<TAB>
    3<TAB>1<TAB>...  (rows; from a European locale the numbers have a decimal comma)

`Nb header lines` counts every line up to and including the column names. An export without
its header block starts with the column names. The file is Windows-1252 (`°C`); the column
line ends with a tab the rows do not have.

What lands where: `time/s` -> test_time (from the acquisition start); the voltage from
`Ecell/V`, else `Ewe-Ece/V`, else `Ewe/V`, else `<Ewe>/V` (the cell's voltage: Ewe alone is the
working electrode against the reference, the cell's voltage in a two-electrode set-up);
`I/mA`, else `<I>/mA` -> current; `cycle number` -> cycle_count (EC-Lab counts from 0; kept,
never renumbered); `Ns` -> step_id; `step time/s` -> step_time; `Q charge/mA.h`,
`Q discharge/mA.h`, `Energy charge/W.h`, `Energy discharge/W.h` -> the capacity and energy
counters; `Temperature/°C` -> temperature_t1 (an auxiliary probe: where it sits is the
user's to say). Other columns (mode, ox/red, control/V/mA, (Q-Qo)/mA.h, P/W...) are ignored.

Current sign: EC-Lab writes the current positive when it oxidises the working electrode. With
the cell's positive electrode on the working lead (the usual wiring) that is charge, this
schema's sign, and the values are kept as written; a cell wired the other way round (or a
half cell whose working electrode is the negative one, if its lithiation is to count as charge)
is loaded with --discharge-positive, which flips the sign.

Absolute time: `Acquisition started on` (MM/DD/YYYY, EC-Lab's order whatever the locale) is the
cycler PC's local time, without a zone: --time-zone says which (refused without it), and each
sample is that instant plus time/s. Without a header block, it is the session's started_at plus
time/s, as for a BDF file without absolute time.

A `time/s` column written as dates (EC-Lab's "time format: date" option, e.g. PyProBE's
Sample_data_biologic_timestamped.txt: `11/20/2024 11:38:41.707`, MM/DD/YYYY as the header's
start) is read as the cycler PC's local time (--time-zone, refused without it): each sample's
absolute time is that instant, and its test time the seconds since `Acquisition started on`
(or, without a header block, since the file's first sample). PyProBE reads it the same way
(the dates less the first).

Not read: the binary .mpr (its layout is undocumented; galvani, which reads it, is GPL-3.0).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import sniff
from ..errors import IngestError
from ..staging import HashingReader, ReadOptions, absolute_time, iso_from_month_first
from . import text
from .text import Match

FILE_FORMAT = "biologic_mpt"
BINARY_FILES: frozenset[str] = frozenset()  # text only; the .mpr is refused by read()
CYCLER = "BioLogic EC-Lab"
MAGIC = (b"EC-Lab ASCII FILE", b"BT-Lab ASCII FILE")

MATCHES = [
    Match("test_time", ("time",)),
    Match("voltage", ("ecell", "ewe-ece", "ewe", "<ewe>")),
    Match("current", ("i", "<i>")),
    Match("cycle_count", ("cycle number",), "integer"),
    Match("step_id", ("ns",), "integer"),
    Match("step_time", ("step time",)),
    Match("charging_capacity", ("q charge",)),
    Match("discharging_capacity", ("q discharge",)),
    Match("charging_energy", ("energy charge", "energy we-ce charge", "energy we charge")),
    Match(
        "discharging_energy",
        ("energy discharge", "energy we-ce discharge", "energy we discharge"),
    ),
    Match("temperature_t1", ("temperature", "temp")),
]
REQUIRED = {
    "test_time": "time/s",
    "voltage": "Ewe/V or Ecell/V",
    "current": "I/mA or <I>/mA",
}
_NB_HEADER = re.compile(rb"^\s*Nb header lines\s*:\s*(\d+)\s*$")
_STARTED = re.compile(r"^\s*Acquisition started on\s*:\s*(.+?)\s*$")
_START_FORMATS = (
    "%m/%d/%Y %H:%M:%S.%f",
    "%m/%d/%Y %H:%M:%S",
    "%m.%d.%Y %H:%M:%S.%f",
    "%m.%d.%Y %H:%M:%S",
    "%m-%d-%Y %H:%M:%S.%f",
    "%m-%d-%Y %H:%M:%S",
)
MAX_HEADER_LINES = 10_000
# a time/s value written as a date (EC-Lab's "time format: date"): MM/DD/YYYY hh:mm:ss[.fff]
_DATE_TIME = re.compile(r"^\s*\d{1,2}[/.-]\d{1,2}[/.-]\d{4}[ T]\d{1,2}:\d\d")


def parse_name(header: str) -> tuple[str, str]:
    """`<I>/mA` -> (<i>, mA); `Q charge/discharge/mA.h` -> (q charge/discharge, mA.h);
    `cycle number` -> (cycle number, '')."""
    if header.startswith("<") and header.endswith(">") and "/" in header:  # <Ewe/V>: a mean
        header = header[:-1].replace("/", ">/", 1) if header.count("/") == 1 else header
    name, slash, unit = header.rpartition("/")
    if not slash:
        name, unit = header, ""
    return re.sub(r"\s+", " ", name.strip().lower()), unit.strip()


def _layout(path: Path) -> tuple[text.Layout, list[str], str]:
    """Where the table starts, its names and encoding; the header block's lines; the first
    data row."""
    file = str(path)
    first = text.head_lines(path, 2)
    block: list[bytes] = []
    if first[0].lstrip(b"\xef\xbb\xbf").startswith(MAGIC):
        match = _NB_HEADER.match(first[1]) if len(first) > 1 else None
        if match is None:
            raise IngestError(
                file,
                "an EC-Lab ASCII file without 'Nb header lines : N' on line 2 (the file looks "
                "truncated)"
                if len(first) < 2
                else "an EC-Lab ASCII file without 'Nb header lines : N' on line 2",
                line=2,
            )
        count = int(match.group(1))
        if not 1 < count <= MAX_HEADER_LINES:
            raise IngestError(file, f"'Nb header lines : {count}' is not possible", line=2)
        lines = text.head_lines(path, count + 1)
        if len(lines) < count:
            raise IngestError(
                file,
                f"the file ends inside its header block (line {len(lines)} of the {count} "
                "'Nb header lines' announces; the file looks truncated)",
                line=len(lines),
            )
        header_line = count
        block = lines[: count - 1]
        column_line = lines[count - 1]
        data_line = lines[count] if len(lines) > count else b""
    else:
        lines = text.head_lines(path, 2)
        header_line = 1
        column_line = lines[0]
        data_line = lines[1] if len(lines) > 1 else b""
    encoding = text.decode_guess(b"".join([*block, column_line, data_line]))
    names = text.split_names(column_line.decode(encoding).lstrip("\ufeff"), "\t")
    fields = len(data_line.decode(encoding, "replace").rstrip("\r\n").split("\t"))
    if data_line.strip() and fields > len(names):
        names += [""] * (fields - len(names))  # rows ending with a tab of their own
    # tab-separated, no thousands separator: a comma in a number is a decimal comma (a
    # European locale's export), whichever row it first appears in
    layout = text.Layout(header_line, "\t", encoding, names, decimal_comma=True)
    return layout, [b.decode(encoding) for b in block], data_line.decode(encoding, "replace")


def _started(file: str, block: list[str], zone: str | None) -> tuple[float, str] | None:
    """The header's acquisition start as Unix seconds, and the text it was read from."""
    for number, line in enumerate(block, start=1):
        match = _STARTED.match(line)
        if not match:
            continue
        value = match.group(1)
        for fmt in _START_FORMATS:
            try:
                local = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
        else:
            raise IngestError(
                file,
                f"cannot read 'Acquisition started on : {value}' (EC-Lab writes "
                "MM/DD/YYYY HH:MM:SS[.fff])",
                line=number,
            )
        if not zone:
            raise IngestError(
                file,
                f"'Acquisition started on : {value}' is the cycler PC's local time without an "
                "offset: say which zone with --time-zone (e.g. Europe/Berlin); it is recorded "
                "in source_file",
                line=number,
            )
        try:
            stamp = local.replace(tzinfo=ZoneInfo(zone)).timestamp()
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise IngestError(file, f"unknown --time-zone '{zone}': {exc}") from None
        return stamp, value
    return None


def read(path: Path, options: ReadOptions, source: HashingReader | None = None):
    """The Reader contract (readers.Reader), for an EC-Lab ASCII export. `source` (the
    loader's hashing stream) is left unread: it hashes the file when asked."""
    file = str(path)
    if text.head_lines(path, 1)[0].startswith(b"BIO-LOGIC MODULAR FILE"):
        raise IngestError(
            file,
            "a BioLogic .mpr binary file: not read (its layout is undocumented and galvani, "
            "which reads it, is GPL-3.0); export it from EC-Lab as text (.mpt)",
        )
    layout, block, first_row = _layout(path)
    found = text.pick(layout.names, parse_name, MATCHES)
    have = {m.quantity for m, *_ in found}
    # EC-Lab's Open Circuit Voltage technique holds the cell at open circuit and writes no
    # current column: its current is zero by the technique's definition (the report says so)
    open_circuit = "current" not in have and any(
        line.strip() == "Open Circuit Voltage" for line in block[:8]
    )
    missing = [
        name
        for key, name in REQUIRED.items()
        if key not in have and not (key == "current" and open_circuit)
    ]
    if missing:
        shown = "\t".join(layout.names)
        raise IngestError(
            file,
            f"not a BioLogic EC-Lab text export: line {layout.header_line} lacks the column(s) "
            + ", ".join(f"'{n}'" for n in missing)
            + " (export the table with time/s, Ewe/V, I/mA or <I>/mA and, if it has one,"
            " cycle number)" + sniff.looks_like(shown, "biologic"),
            line=layout.header_line,
        )
    columns = text.build_columns(file, found, layout.header_line)
    dated = _dated_time(columns, first_row)
    if dated is not None:  # time/s written as local dates: read as such, not as numbers
        columns[columns.index(dated)] = text.Column(
            dated.header, dated.position, "date_time", "", kind="text"
        )
    started = _started(file, block, options.time_zone)
    info = text.file_info(columns, layout, CYCLER)
    if "cycle_count" not in have:  # a technique without cycles (CA, CP, wait, LSV)
        info.derive_cycles = True
        info.cycles_why = "the file has no 'cycle number' column"
    if started is not None:
        info.assumed_time_zone = options.time_zone

    if open_circuit:
        info.notes.append(
            "current: the file is an Open Circuit Voltage technique and has no current "
            "column; stored as 0 A, the technique's current"
        )

    if dated is not None:
        info.assumed_time_zone = options.time_zone
        info.notes.append(
            f"test time: '{dated.header}' is written as local dates (EC-Lab's date time "
            "format); test time is each date less "
            + ("'Acquisition started on'" if started is not None else "the file's first")
        )
    origin: list[float] = [] if started is None else [started[0]]

    def derive(out: dict, line: int) -> None:
        if dated is not None:
            out["unix_time"] = _dates(file, out.pop("date_time"), line, options, dated, origin)
            # to the microsecond the dates are written in (the difference of two Unix times
            # carries float noise of ~1e-7 s)
            out["test_time"] = pc.round(pc.subtract(out["unix_time"], origin[0]), 6)
        elif started is not None:
            out["unix_time"] = pc.add(out["test_time"], started[0])
        if open_circuit:
            out["current"] = pa.array(np.zeros(len(out["test_time"])))

    return info, text.read_table(path, layout, columns, options, derive)


def _dated_time(columns: list[text.Column], first_row: str) -> text.Column | None:
    """The test time column when its first value is a date (EC-Lab's date time format)."""
    column = next((c for c in columns if c.quantity == "test_time"), None)
    fields = first_row.rstrip("\r\n").split("\t")
    if column is None or column.position >= len(fields):
        return None
    return column if _DATE_TIME.match(fields[column.position]) else None


def _dates(file, written, line, options, column, origin: list[float]) -> pa.Array:
    """Unix seconds of time/s written as local dates, MM/DD/YYYY; `origin` receives the
    first sample's when the header gives no acquisition start."""
    try:
        seconds = absolute_time(file, {"date_time": iso_from_month_first(written)}, line, options)
    except IngestError as exc:
        message = exc.message.replace("Date Time", f"'{column.header}' (dates)")
        raise IngestError(file, message, line=exc.line, column=column.header) from None
    known = pc.drop_null(seconds)  # a blank date is NULL
    if not origin and len(known):
        origin.append(float(known[0].as_py()))
    return seconds
