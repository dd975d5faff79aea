"""Neware BTSDA's layered CSV export ("regular export": cycle, step and record rows interleaved
under three header lines), e.g. cellpy's testdata/data/nw_regular_export_ife_example.csv:

    Cycle Index,Chg. Cap.(Ah),DChg. Cap.(Ah),Chg.-DChg. Eff(%),...,Chg. Time,DChg. Time
    ,Step Index,Step Number,Step Type,Step Time,Capacity(Ah),Energy(Wh),...
    ,,DataPoint,Time,Total Time,Current(A),Voltage(V),Capacity(Ah),Energy(Wh),Date,...,T1(?),...
    1,0.02256,0.33067,...,00:41:50,1,1,Rest,00:00:20,...      <- cycle 1 (and its first step)
    ,,1,00:00:00,00:00:00,0.00000,4.3185,...                    <- its records
    ,2,2,CC Chg,00:02:51,...                                   <- the next step
    ,,12,00:00:00,00:00:20,0.50000,4.3734,...

A row's layer is told by its leading empty fields: none, a cycle (whose first step may follow
on the same row, after the cycle's own fields), one, a step, two, a record. Each record is read
with the cycle and step it sits under: `Cycle Index` of the cycle row -> cycle_count, `Step
Index` (the program's step, which repeats every cycle; `Step Number` counts them) -> step_id,
`Step Type` -> step_type (BTS 7.x: `Cycle ID`, `Step ID`, `Step Name`); the record layer's
own columns as the record export's (ingest/readers/neware.py, which hands this reader its
column map: DataPoint, Time, Total Time, Current, Voltage, Date, T1...). The record layer's
`Capacity(Ah)` and `Energy(Wh)` count within the step, unsigned: they are the charge counters
on a charge step and the discharge counters on a discharge step (by the step's type, else by
the current's sign). The cycle and step rows' own totals are not stored (derive
computes them from the records). A temperature unit written `?` (the export's code page lost
`℃`) is read as °C, and the report says so. Messages name the file's own line.

No code copied (cellpy reads these files with its neware_txt loader; the layout is the file's).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .. import sniff
from ..errors import IngestError
from ..staging import QUANTITIES, HeaderColumn, ReadOptions
from . import text
from .neware_vocabulary import CYCLER

FILE_FORMAT = "neware_csv"
# the columns a record row is given from the rows above it, as the record export names them
CARRIED = ("Cycle Index", "Step Index", "Step Type")
# their names in the cycle and step headers (BTS 8.x, BTS 7.x, Chinese), as neware.parse_name
# keys them
CYCLE_NAMES = ("cycle index", "cycle id", "cycle", "循环号", "循环序号")
STEP_NAMES = ("step index", "step id", "工步号", "工步序号")
STEP_TYPE_NAMES = ("step type", "step name", "工步类型", "工步名称")
HEADER_LINES = 3
LOST_CELSIUS = "(?)"


def is_layered(lines: list[bytes]) -> bool:
    """The first three lines are the cycle, step and record headers: none, one and two
    leading delimiters (a comma or a tab)."""
    if len(lines) < HEADER_LINES:
        return False
    first, second, third = (line.lstrip(b"\xef\xbb\xbf") for line in lines[:HEADER_LINES])
    for d in (b",", b"\t"):
        if (
            first[:1] not in (d, b"")
            and second.startswith(d)
            and second[1:2] not in (d, b"\r", b"\n")
            and third.startswith(d + d)
            and third[2:3] not in (d, b"\r", b"\n")
        ):
            return True
    return False


def _names(line: str, delimiter: str, lead: int) -> list[str]:
    return text.split_names(line, delimiter)[lead:]


def read(path: Path, options: ReadOptions, record_columns, parse_name):
    """The Reader contract (readers.Reader) for the layered export, given the record export's
    `record_columns` (neware._columns: the columns by their names, the per-chunk derive, the
    date column) and `parse_name` (neware.parse_name), which read its record layer."""
    file = str(path)
    head = text.head_lines(path, HEADER_LINES + 1)
    encoding = text.decode_guess(b"".join(head))
    header = [line.decode(encoding).lstrip("\ufeff") for line in head[:HEADER_LINES]]
    delimiter = "," if header[1].startswith(",") else "\t"
    cycle_names = _names(header[0], delimiter, 0)
    step_names = _names(header[1], delimiter, 1)
    record_names = _names(header[2], delimiter, 2)
    lost = [n for n in record_names if n.endswith(LOST_CELSIUS) and _is_temperature(n)]
    record_names = [n[: -len(LOST_CELSIUS)] + "(℃)" if n in lost else n for n in record_names]
    cycle_at = _find(cycle_names, CYCLE_NAMES, parse_name)
    step_at = (
        _find(step_names, STEP_NAMES, parse_name),
        _find(step_names, STEP_TYPE_NAMES, parse_name),
    )
    if cycle_at is None or None in step_at:
        where, line = ("cycle", 1) if cycle_at is None else ("step", 2)
        wanted = (
            "'Cycle Index' or 'Cycle ID'"
            if cycle_at is None
            else ("'Step Index' or 'Step ID', and 'Step Type' or 'Step Name'")
        )
        raise IngestError(
            file,
            f"a layered Neware export (cycle, step and record header lines) whose {where} "
            f"header (line {line}) lacks {wanted}: export the record layer alone",
            line=line,
        )
    layout = text.Layout(HEADER_LINES, delimiter, encoding, [*CARRIED, *record_names])
    columns, derive, date = record_columns(file, layout, options, "line 3")
    capacity = _counter_columns(file, layout, parse_name)
    columns += capacity
    rows = _records(path, layout, cycle_at, len(cycle_names), step_at, len(step_names))
    info = text.file_info(
        columns,
        layout,
        CYCLER,
        record_reader=lambda: _record_indexes(file, rows, layout, columns),
    )
    for column in capacity:  # the counters it splits in two: reported as read
        info.columns.append(
            HeaderColumn(
                column.header,
                column.position,
                QUANTITIES[_OTHER[column.quantity]],
                column.unit,
                column.factor,
                0,
            )
        )
    info.notes.append(
        "a layered export: each record read with its cycle row's 'Cycle Index' and its step "
        "row's 'Step Index' and 'Step Type'; the cycle and step rows' totals are not stored"
    )
    if capacity:
        info.notes.append(
            "'Capacity' and 'Energy' of the record rows (within the step, unsigned) stored as "
            "the charge counters on a charge step, the discharge counters on a discharge step"
        )
    if lost:
        info.notes.append(
            "temperature unit '?' (the export's code page lost '℃') read as °C: "
            + ", ".join(f"'{n}'" for n in lost)
        )
    if date is not None:
        info.assumed_time_zone = options.time_zone

    def split(out: dict, line: int) -> None:
        derive(out, line)
        _split_counters(out)

    return info, _chunks(file, rows, columns, layout, options, split)


_OTHER = {"charging_capacity": "discharging_capacity", "charging_energy": "discharging_energy"}


def _is_temperature(name: str) -> bool:
    key = name[: -len(LOST_CELSIUS)].strip().lower()
    return key in ("t1", "t2", "t3", "temperature", "aux. t1", "aux. t2", "aux. t3")


def _counter_columns(file: str, layout: text.Layout, parse_name) -> list[text.Column]:
    """`Capacity(Ah)`, `Energy(Wh)` of the record layer: read as the charge counters, split
    by step in `_split_counters`."""
    out = []
    for position, header in enumerate(layout.names):
        name, unit = parse_name(header)
        quantity = {"capacity": "charging_capacity", "energy": "charging_energy"}.get(name)
        if quantity is None:
            continue
        factor, offset = text.conversion(file, header, quantity, unit, layout.header_line)
        out.append(text.Column(header, position, quantity, unit, factor, offset))
    return out


def _split_counters(out: dict) -> None:
    if "step_type" in out:
        kind = out["step_type"]
        if isinstance(kind, pa.DictionaryArray):  # neware.py's derive leaves it encoded
            kind = kind.dictionary_decode()
        kind = pc.fill_null(kind, "")
        charge = pc.ends_with(kind, "_charge")
        discharge = pc.ends_with(kind, "_discharge")
    else:
        charge = discharge = pa.array(np.zeros(len(out["voltage"]), dtype=bool))
    if "current" in out:  # a step of another type: the current's sign says which
        other = pc.invert(pc.or_(charge, discharge))
        charge = pc.or_(charge, pc.and_(other, pc.fill_null(pc.greater(out["current"], 0), False)))
        discharge = pc.or_(
            discharge, pc.and_(other, pc.fill_null(pc.less(out["current"], 0), False))
        )
    rest = pc.invert(pc.or_(charge, discharge))
    for name, other in _OTHER.items():
        if name not in out:
            continue
        value = out[name]
        zero = pa.scalar(0.0)
        # a rest: Neware writes 0 there; anything else is kept as the charge counter's
        out[name] = pc.if_else(pc.or_(charge, rest), value, zero)
        out[other] = pc.if_else(discharge, value, pc.if_else(rest, value, zero))


class _Rows:
    """The record rows, each with its cycle and step prefixed, as one CSV text in memory,
    and each row's own line in the file."""

    def __init__(self, data: bytes, lines: np.ndarray):
        self.data = data
        self.lines = lines


def _find(names: list[str], candidates: tuple[str, ...], parse_name) -> int | None:
    keys = [parse_name(n)[0] for n in names]
    return next((keys.index(c) for c in candidates if c in keys), None)


def _records(path, layout, cycle_at, width, step_at, step_width) -> _Rows:
    """The record rows, each prefixed with the cycle and step it sits under."""
    file = str(path)
    d = layout.delimiter.encode()
    cycle = step = None
    prefix = b""
    out: list[bytes] = []
    lines: list[int] = []
    for number, raw in enumerate(sniff.lines(path), start=1):
        if number <= HEADER_LINES:
            continue
        if raw.startswith(d + d):
            if cycle is None or step is None:
                raise IngestError(
                    file,
                    "a record row before any cycle and step row: the layered export is cut "
                    "(export it whole, or the record layer alone)",
                    line=number,
                )
            out.append(prefix + raw[2:])
            lines.append(number)
            continue
        if not raw.strip():
            continue
        fields = raw.rstrip(b"\r\n").split(d)
        if raw.startswith(d):  # a step row
            step_fields = fields[1:]
        else:  # a cycle row, perhaps with its first step's row after the cycle's fields
            cycle = fields[cycle_at].strip()
            step_fields = fields[width:]
            if not step_fields:
                continue
        if len(step_fields) <= max(step_at):
            raise IngestError(
                file,
                f"a step row with {len(step_fields)} field(s) where the step header (line 2) "
                f"has {step_width}",
                line=number,
            )
        step, kind = step_fields[step_at[0]].strip(), step_fields[step_at[1]].strip()
        prefix = d.join([cycle, step, kind]) + d
    if not out:
        raise IngestError(file, "the layered export has no record rows", line=HEADER_LINES + 1)
    return _Rows(b"".join(out), np.array(lines, dtype=np.int64))


def _batches(file: str, rows: _Rows, layout: text.Layout, positions: list[int], block: int):
    bad: list = []

    def on_invalid(row) -> str:
        bad.append(row)
        return "error"

    names = [f"{i}:{n}" for i, n in enumerate(layout.names)]
    wanted = [names[p] for p in positions]
    try:
        reader = pacsv.open_csv(
            io.BytesIO(rows.data),
            read_options=pacsv.ReadOptions(
                column_names=names,
                encoding=layout.encoding,
                block_size=block,
                use_threads=False,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=layout.delimiter, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted,
                column_types={n: pa.string() for n in wanted},
                strings_can_be_null=True,
            ),
        )
        for batch in reader:
            yield batch.num_rows, {p: batch.column(i) for i, p in enumerate(positions)}
    except pa.ArrowInvalid as exc:
        if bad:
            row = bad[0]
            raise IngestError(
                file,
                f"malformed record row: expected {row.expected_columns - len(CARRIED) + 2} "
                f"fields, found {row.actual_columns - len(CARRIED) + 2}",
                line=int(rows.lines[row.number - 1]),
            ) from None
        raise IngestError(file, f"cannot parse the record rows: {exc}") from None


def _real(rows: _Rows, virtual: int | None) -> int | None:
    """A line as convert_batches counts it (records one after another from line 4) -> the
    record's own line in the file."""
    if virtual is None:
        return None
    at = virtual - HEADER_LINES - 1
    return int(rows.lines[at]) if 0 <= at < len(rows.lines) else virtual


def _chunks(file, rows: _Rows, columns, layout, options, derive):
    positions = sorted({c.position for c in columns})
    batches = _batches(file, rows, layout, positions, options.block_size)
    first = HEADER_LINES + 1
    try:
        for line, table in text.convert_batches(file, batches, columns, layout, options, derive):
            at = line - first
            real = rows.lines[at : at + table.num_rows]
            yield int(real[0]), table.set_column(0, "line", pa.array(real))
    except IngestError as exc:
        raise IngestError(
            file, exc.message, line=_real(rows, exc.line), column=exc.column
        ) from None


def _record_indexes(file: str, rows: _Rows, layout: text.Layout, columns) -> np.ndarray:
    """The record index column, whole (the duplicate rule's slow path)."""
    column = next((c for c in columns if c.quantity == "record_index"), None)
    if column is None:
        return np.array([], dtype=np.int64)
    batches = _batches(file, rows, layout, [column.position], ReadOptions.block_size)
    return text.indexes(file, batches, column, HEADER_LINES + 1)
