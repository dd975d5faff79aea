"""Battery Data Format (BDF) CSV: header names and units to the schema's columns, read in
columnar chunks with pyarrow and normalised to the schema's conventions (SI units, current
positive when it charges, absolute time in UTC).

A BDF header names a quantity and its unit, in the human form `Voltage / mV` or the
machine form `voltage_volt`; both are accepted, with any unit this module knows how to
convert. Unknown quantities are ignored (reported); unknown units are refused.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from . import sniff
from .errors import IngestError

# unit -> (factor, offset) to the SI unit of its dimension: si = value * factor + offset
UNITS: dict[str, dict[str, tuple[float, float]]] = {
    "voltage": {"v": (1, 0), "volt": (1, 0), "mv": (1e-3, 0), "millivolt": (1e-3, 0)},
    "current": {
        "a": (1, 0),
        "ampere": (1, 0),
        "ma": (1e-3, 0),
        "milliampere": (1e-3, 0),
        "ua": (1e-6, 0),
        "µa": (1e-6, 0),
        "microampere": (1e-6, 0),
    },
    "time": {
        "s": (1, 0),
        "second": (1, 0),
        "ms": (1e-3, 0),
        "millisecond": (1e-3, 0),
        "min": (60, 0),
        "minute": (60, 0),
        "h": (3600, 0),
        "hour": (3600, 0),
    },
    "charge": {
        "ah": (1, 0),
        "ampere_hour": (1, 0),
        "mah": (1e-3, 0),
        "milliampere_hour": (1e-3, 0),
        "as": (1 / 3600, 0),
        "c": (1 / 3600, 0),
        "coulomb": (1 / 3600, 0),
    },
    "energy": {
        "wh": (1, 0),
        "watt_hour": (1, 0),
        "mwh": (1e-3, 0),
        "milliwatt_hour": (1e-3, 0),
        "kwh": (1e3, 0),
        "j": (1 / 3600, 0),
        "joule": (1 / 3600, 0),
    },
    "temperature": {
        "degc": (1, 0),
        "°c": (1, 0),
        "celsius": (1, 0),
        "c": (1, 0),
        "k": (1, -273.15),
        "kelvin": (1, -273.15),
    },
    "count": {"1": (1, 0), "": (1, 0), "dimensionless": (1, 0)},
}
SI_UNIT = {
    "voltage": "V",
    "current": "A",
    "time": "s",
    "charge": "Ah",
    "energy": "Wh",
    "temperature": "degC",
    "count": "1",
}


@dataclass(frozen=True)
class Quantity:
    key: str  # BDF quantity, snake case: test_time, voltage...
    column: str  # schema column (timeseries_point), or a pseudo column for absolute time
    dimension: str  # a key of UNITS, or "text"
    integer: bool = False


QUANTITIES = {
    q.key: q
    for q in (
        Quantity("test_time", "test_time_second", "time"),
        Quantity("voltage", "voltage_volt", "voltage"),
        Quantity("current", "current_ampere", "current"),
        Quantity("unix_time", "unix_time_second", "time"),
        Quantity("date_time", "date_time", "text"),
        Quantity("record_index", "record_index", "count", integer=True),
        Quantity("cycle_count", "cycle_count", "count", integer=True),
        Quantity("step_count", "step_count", "count", integer=True),
        Quantity("step_id", "step_id", "count", integer=True),
        Quantity("step_type", "step_type", "text"),
        Quantity("step_time", "step_time_second", "time"),
        Quantity("charging_capacity", "charging_capacity_ah", "charge"),
        Quantity("discharging_capacity", "discharging_capacity_ah", "charge"),
        Quantity("charging_energy", "charging_energy_wh", "energy"),
        Quantity("discharging_energy", "discharging_energy_wh", "energy"),
        Quantity("surface_temperature", "surface_temperature_celsius", "temperature"),
        Quantity("ambient_temperature", "ambient_temperature_celsius", "temperature"),
        Quantity("temperature_t1", "temperature_t1_celsius", "temperature"),
        Quantity("temperature_t2", "temperature_t2_celsius", "temperature"),
        Quantity("temperature_t3", "temperature_t3_celsius", "temperature"),
    )
}
# other names the BDF ontology gives the same quantities (its altLabels), snake case
ALIASES = {
    "t1": "temperature_t1",
    "t2": "temperature_t2",
    "t3": "temperature_t3",
    "surface_temperature_t1": "temperature_t1",
    "surface_temperature_t2": "temperature_t2",
    "surface_temperature_t3": "temperature_t3",
    "cycle_dimensionless": "cycle_count",
    "step_dimensionless": "step_count",
}
# the BDF required columns, plus cycle_count, which the schema requires (NOT NULL)
REQUIRED = ("test_time", "voltage", "current", "cycle_count")

# columns of timeseries_point the reader fills, in staging order
STAGED_COLUMNS = (
    "recorded_at",
    "test_time_second",
    "step_time_second",
    "charging_capacity_ah",
    "discharging_capacity_ah",
    "charging_energy_wh",
    "discharging_energy_wh",
    "record_index",
    "cycle_count",
    "step_count",
    "voltage_volt",
    "current_ampere",
    "surface_temperature_celsius",
    "ambient_temperature_celsius",
    "temperature_t1_celsius",
    "temperature_t2_celsius",
    "temperature_t3_celsius",
    "step_id",
    "step_type",
)
INTEGER_COLUMNS = {"record_index", "cycle_count", "step_count", "step_id"}
TEXT_COLUMNS = {"step_type"}

_VENDOR = re.compile(r"^[^/]*\(\s*\w+\s*\)\s*$")  # Arbin/Neware style: Voltage(V)
_HUMAN = re.compile(r"^\s*(?P<name>[^/]+?)\s*(?:/\s*(?P<unit>.*?)\s*)?$")


@dataclass(frozen=True)
class HeaderColumn:
    header: str
    position: int
    quantity: Quantity
    unit: str  # as written in the file
    factor: float
    offset: float


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def _machine_split(name: str) -> tuple[str, str] | None:
    """`voltage_millivolt` -> (voltage, millivolt); the longest known quantity prefix wins."""
    for key in sorted([*QUANTITIES, *ALIASES], key=len, reverse=True):
        if name == key:
            return key, ""
        if name.startswith(key + "_"):
            return key, name[len(key) + 1 :]
    return None


def parse_header(file: str, names: list[str]) -> tuple[list[HeaderColumn], list[str]]:
    """The recognised columns and the names ignored; raises on unknown units, duplicates and
    missing required quantities."""
    found: dict[str, HeaderColumn] = {}
    ignored: list[str] = []
    for position, header in enumerate(names):
        if "/" in header:
            match = _HUMAN.match(header)
            key, unit = _snake(match["name"]), (match["unit"] or "")
        elif " " in header.strip() and re.fullmatch(r"[A-Za-z0-9 ]+", header.strip()):
            key, unit = _snake(header), ""  # a human name without unit: Date Time, Step Type
        elif re.fullmatch(r"[A-Za-z0-9_]+", header.strip()):
            split = _machine_split(header.strip().lower())
            key, unit = split if split else (header.strip().lower(), "")
        else:
            # neither BDF form (e.g. Arbin's Voltage(V)): not guessed at
            ignored.append(header)
            continue
        key = ALIASES.get(key, key)
        quantity = QUANTITIES.get(key)
        if quantity is None:
            ignored.append(header)
            continue
        if quantity.dimension == "text":
            factor, offset = 1.0, 0.0
        else:
            conversion = UNITS[quantity.dimension].get(unit.strip().lower())
            if conversion is None:
                known = ", ".join(sorted(u for u in UNITS[quantity.dimension] if u))
                raise IngestError(
                    file,
                    f"unknown unit '{unit}' for {quantity.key} (known: {known})",
                    line=1,
                    column=header,
                )
            factor, offset = conversion
        if key in found:
            raise IngestError(
                file,
                f"{key} appears twice (also as '{found[key].header}')",
                line=1,
                column=header,
            )
        found[key] = HeaderColumn(header, position, quantity, unit, factor, offset)
    missing = [k for k in REQUIRED if k not in found]
    if missing:
        vendor = [n for n in ignored if _VENDOR.match(n)]
        hint = sniff.looks_like(",".join(names), "bdf") or (
            f"; headers such as '{vendor[0]}' look like a cycler's own export, not BDF"
            if vendor
            else ""
        )
        raise IngestError(
            file,
            "missing required column(s): "
            + ", ".join(missing)
            + " (BDF names such as 'Test Time / s', 'Voltage / V', 'Current / A', "
            f"'Cycle Count / 1'){hint}",
            line=1,
        )
    return list(found.values()), ignored


@dataclass
class ReadOptions:
    discharge_positive: bool = False  # the source counts discharge current as positive
    time_zone: str | None = None  # IANA zone of a Date Time column without offset
    started_at: float | None = None  # Unix seconds: absolute time when the file has none
    block_size: int = 2 << 20  # bytes of CSV per chunk: memory is a few of these
    # Date Time may be written MM/DD/YYYY hh:mm:ss[.fff] (Arbin MITS Pro, Maccor: US order)
    month_first_dates: bool = False


@dataclass
class FileInfo:
    columns: list[HeaderColumn]
    ignored: list[str]
    assumed_time_zone: str | None = None
    original_units: dict[str, str] = field(default_factory=dict)
    # what the reader found before the rows reached the checker (quality.Finding), and the
    # rows it left out for them: (file line, [rule names]); they join the quality report
    findings: list = field(default_factory=list)
    rejects: list[tuple[int, list[str]]] = field(default_factory=list)
    rows_left_out: int = 0

    def original_units_json(self) -> str | None:
        return json.dumps(self.original_units, sort_keys=True) if self.original_units else None


def _read_header(path: Path, declared: str = "bdf") -> list[str]:
    """The header's column names; `declared` is the --format read (a hint names another)."""
    size = path.stat().st_size
    if size == 0:
        raise IngestError(str(path), "the file is empty (0 bytes)")
    # a .csv.gz is read as it is (pyarrow's CSV reader decompresses by the file name)
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as handle:
            first = handle.readline()
    except (OSError, EOFError) as exc:  # not gzip after all, or cut short
        raise IngestError(str(path), f"cannot read the file: {exc}") from None
    try:
        first.decode("utf-8")
    except UnicodeDecodeError as exc:  # pyarrow would raise it from the column names
        raise IngestError(
            str(path),
            f"the header is not UTF-8 text (byte 0x{first[exc.start]:02x} at column "
            f"{len(first[: exc.start].decode('utf-8')) + 1}): save the file as UTF-8"
            # a vendor's export in its own code page (a Chinese Neware CSV): name the format
            + sniff.looks_like(sniff.first_lines(path), declared),
            line=1,
        ) from None
    try:
        reader = pacsv.open_csv(
            pa.py_buffer(first),
            read_options=pacsv.ReadOptions(column_names=None),
        )
        names = reader.schema.names
    except pa.ArrowInvalid as exc:
        raise IngestError(str(path), f"header is not valid CSV ({exc})", line=1) from None
    if not any(n.strip() for n in names):
        raise IngestError(str(path), "the first line holds no column names", line=1)
    if len(names) == 1:  # one column: another separator (a spreadsheet's ';' or a tab)?
        separator = next((s for s in (";", "\t", "|") if s in names[0]), None)
        # another cycler's export (a Maccor preamble has tabs) is named by the column check
        if separator is not None and not sniff.looks_like(sniff.first_lines(path), declared):
            shown = "tab" if separator == "\t" else f"'{separator}'"
            raise IngestError(
                str(path),
                f"the header is one column holding {shown} separators: --format {declared} "
                "reads comma-separated CSV with '.' decimals; save or export the file so (a "
                "spreadsheet set to a European locale writes ';' and decimal commas)",
                line=1,
            )
    return names


def _first_bad_value(path: Path, header: str, numeric: bool) -> tuple[int, str]:
    """Line and text of the first value of `header` that is not a number (the slow path,
    taken only once a chunk has failed to convert)."""
    table = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            include_columns=[header], column_types={header: pa.string()}
        ),
    )
    for i, value in enumerate(table.column(0).to_pylist()):
        if value is None or value == "":
            continue
        try:
            number = float(value)
            if not numeric and not number.is_integer():
                return i + 2, value
        except ValueError:
            return i + 2, value
    return 0, ""


class HashingReader(io.RawIOBase):
    """The file's bytes as pyarrow reads them, hashed (SHA-256) and counted on the way: the
    content hash costs no second pass over the file."""

    def __init__(self, path: Path):
        super().__init__()
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by close()
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self.sha256.update(data)
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def hexdigest(self) -> str:
        """The hash of the whole file (reads what pyarrow did not, if anything)."""
        while self.read(1 << 20):
            pass
        return self.sha256.hexdigest()

    def close(self) -> None:
        # A reader wrapped around this stream (gzip) closes it when it is done; the file stays
        # open for hexdigest() until the loader calls release().
        super().close()

    def release(self) -> None:
        self._file.close()
        super().close()


def record_indexes(path: Path, columns: list[HeaderColumn]) -> np.ndarray:
    """The file's Record Index column, whole (the slow path of the duplicate rule)."""
    header = next(c.header for c in columns if c.quantity.key == "record_index")
    table = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            include_columns=[header], column_types={header: pa.int64()}
        ),
    )
    return table.column(0).to_numpy()


def read(
    path: Path,
    options: ReadOptions,
    source: HashingReader | None = None,
    rename: Callable[[str, list[str]], list[str]] | None = None,
) -> tuple[FileInfo, Iterator[tuple[int, pa.Table]]]:
    """Parse the header now (errors early); return the file's facts and an iterator of
    (first file line, normalised chunk) whose columns are STAGED_COLUMNS plus `line`. Chunks
    are `options.block_size` bytes of the file each: memory stays flat whatever its size.
    `source`, when given, is the stream the chunks are read from (a HashingReader).
    `rename`, when given, maps (file, header names) to BDF names position by position: a
    cycler's CSV export whose columns are BDF quantities under other names (Arbin) is read
    by the same columnar reader; messages keep naming the file's own headers."""
    file = str(path)
    names = _read_header(path, "bdf" if rename is None else "arbin")
    if rename is None:
        columns, ignored = parse_header(file, names)
    else:
        columns, ignored = parse_header(file, rename(file, names))
        columns = [replace(c, header=names[c.position]) for c in columns]
        ignored = [names[i] for i, n in enumerate(rename(file, names)) if n in ignored]
    info = FileInfo(columns, ignored)
    by_key = {c.quantity.key: c for c in columns}
    for c in columns:
        if c.quantity.dimension not in ("text", "count") and (c.factor, c.offset) != (1, 0):
            info.original_units[c.quantity.column] = c.unit
    if "unix_time" not in by_key and "date_time" in by_key:
        info.assumed_time_zone = options.time_zone
    types: dict[str, pa.DataType] = {}
    for c in columns:
        if c.quantity.dimension == "text":
            types[c.header] = pa.string()
        elif c.quantity.integer:
            types[c.header] = pa.int64()
        else:
            types[c.header] = pa.float64()
    bad_rows: list = []

    def on_invalid(row) -> str:
        bad_rows.append(row)
        return "error"

    def chunks() -> Iterator[tuple[int, pa.Table]]:
        try:
            stream = path if source is None else source
            if source is not None and path.suffix == ".gz":
                # pyarrow decompresses by the file name; a stream says nothing of its name
                stream = pa.input_stream(source, compression="gzip")
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(block_size=options.block_size, use_threads=False),
                parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(
                    include_columns=[c.header for c in columns],
                    column_types=types,
                    strings_can_be_null=True,
                ),
            )
        except pa.ArrowInvalid as exc:
            raise _located(path, exc, columns, bad_rows) from None
        except OSError as exc:  # a .gz cut short within the first block
            raise IngestError(file, f"cannot read the file: {exc}") from None
        line = 2
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                raise _located(path, exc, columns, bad_rows) from None
            except OSError as exc:  # a .gz cut short
                raise IngestError(file, f"cannot read the file: {exc}", line=line) from None
            table = pa.Table.from_batches([batch])
            yield line, _normalise(file, table, line, by_key, options)
            line += table.num_rows
        if line == 2:
            raise IngestError(file, "the file has a header but no data rows", line=2)

    return info, chunks()


def _located(path: Path, exc: Exception, columns: list[HeaderColumn], bad_rows: list):
    file = str(path)
    text = str(exc)
    if bad_rows:
        row = bad_rows[0]
        line = row.number  # 1-based, the header being line 1
        truncated = " (the file looks truncated)" if _is_last_line(path, row.text) else ""
        return IngestError(
            file,
            f"malformed CSV row: expected {row.expected_columns} fields, found "
            f"{row.actual_columns}{truncated}",
            line=line,
        )
    undecodable = _first_non_utf8_line(path)
    if undecodable is not None:
        line, byte, column = undecodable
        return IngestError(
            file,
            f"the line is not UTF-8 text (byte 0x{byte:02x} at column {column}): "
            "save the file as UTF-8",
            line=line,
        )
    wrong = _first_wrong_field_count(path) if re.search(r"Expected \d+ columns", text) else None
    if wrong is not None:
        line, expected, found = wrong
        return IngestError(
            file, f"malformed CSV row: expected {expected} fields, found {found}", line=line
        )
    match = re.search(r"CSV column #(\d+)", text)
    if match:
        position = int(match.group(1))
        column = next((c for c in columns if c.position == position), None)
        if column is not None:
            numeric = not column.quantity.integer
            line, value = _first_bad_value(path, column.header, numeric)
            kind = "an integer" if column.quantity.integer else "a number"
            return IngestError(
                file,
                f"value '{value}' is not {kind}",
                line=line or None,
                column=column.header,
            )
    return IngestError(file, f"cannot parse the CSV: {text}")


def _lines(path: Path) -> Iterator[bytes]:
    with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as handle:
        yield from handle


def _first_non_utf8_line(path: Path) -> tuple[int, int, int] | None:
    """(line, byte, column) of the first byte that is not UTF-8 (the slow path, taken only
    once pyarrow has refused the file)."""
    try:
        for number, raw in enumerate(_lines(path), start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                column = len(raw[: exc.start].decode("utf-8", errors="replace")) + 1
                return number, raw[exc.start], column
    except (OSError, EOFError):
        return None
    return None


def _first_wrong_field_count(path: Path) -> tuple[int, int, int] | None:
    """(line, expected, found) of the first row whose field count is not the header's."""
    import csv

    try:
        text = (line.decode("utf-8", errors="replace") for line in _lines(path))
        rows = csv.reader(text)
        expected = len(next(rows))
        for row in rows:
            if row and len(row) != expected:
                return rows.line_num, expected, len(row)
    except (OSError, EOFError, csv.Error, StopIteration):
        return None
    return None


def _is_last_line(path: Path, text: str) -> bool:
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - len(text.encode()) - 2))
        tail = handle.read().decode(errors="replace")
    return tail.rstrip("\r\n").endswith(text.rstrip("\r\n"))


def _normalise(
    file: str, table: pa.Table, first_line: int, by_key: dict[str, HeaderColumn], options
) -> pa.Table:
    n = table.num_rows
    out: dict[str, pa.Array] = {}
    for c in by_key.values():
        array = table.column(c.header).combine_chunks()
        if c.quantity.dimension != "text" and not c.quantity.integer:
            if c.factor != 1:
                array = pc.multiply(array, c.factor)
            if c.offset != 0:
                array = pc.add(array, c.offset)
        out[c.quantity.column] = array
    if options.discharge_positive:
        out["current_ampere"] = pc.negate(out["current_ampere"])
    out["recorded_at"] = _absolute_time(file, out, first_line, options)
    out.pop("unix_time_second", None)
    out.pop("date_time", None)
    if "record_index" not in out:
        # position in the file; the loader offsets it to continue the session's records
        out["record_index"] = pa.array(np.arange(first_line - 2, first_line - 2 + n))
    columns = [pa.array(np.arange(first_line, first_line + n))]
    for name in STAGED_COLUMNS:
        if name in out:
            columns.append(out[name])
        else:
            kind = (
                pa.int64()
                if name in INTEGER_COLUMNS
                else pa.string()
                if name in TEXT_COLUMNS
                else pa.float64()
            )
            columns.append(pa.nulls(n, kind))
    return pa.Table.from_arrays(columns, names=["line", *STAGED_COLUMNS])


def _absolute_time(file: str, out: dict, first_line: int, options: ReadOptions) -> pa.Array:
    if "unix_time_second" in out:
        return out["unix_time_second"]
    if "date_time" in out:
        text = out["date_time"]
        if options.month_first_dates:
            text = _iso_from_month_first(text)
        has_offset = pc.any(pc.match_substring_regex(text, r"(Z|[+-]\d\d:?\d\d)$")).as_py()
        try:
            if has_offset:
                # ISO 8601 with an offset (or Z), fractional seconds allowed
                stamps = pc.cast(text, pa.timestamp("us", "UTC"))
            else:
                if not options.time_zone:
                    raise IngestError(
                        file,
                        "Date Time holds local times without an offset: say which zone with "
                        "--time-zone (e.g. Europe/Berlin); it is recorded in source_file",
                        line=first_line,
                        column="Date Time",
                    )
                stamps = pc.assume_timezone(
                    pc.cast(text, pa.timestamp("us")),
                    options.time_zone,
                    ambiguous="raise",
                    nonexistent="raise",
                )
        except pa.ArrowInvalid as exc:
            line, value = _first_bad_time(text, has_offset, options.time_zone)
            raise IngestError(
                file,
                f"cannot read Date Time '{value}': {exc}",
                line=first_line + line,
                column="Date Time",
            ) from None
        seconds = pc.divide(pc.cast(pc.cast(stamps, pa.timestamp("us")), pa.int64()), 1e6)
        return seconds
    if options.started_at is None:
        raise IngestError(
            file,
            "no absolute time (Unix Time / s or Date Time) and the session has no start time",
        )
    return pc.add(out["test_time_second"], options.started_at)


def _iso_from_month_first(text: pa.Array) -> pa.Array:
    """`3/1/2024 13:05:00.5` -> `2024-03-01 13:05:00.5`, and the year-first slashes some
    exports write (Arbin's on a PC set to an East Asian locale), `2024/3/1 13:05:00` ->
    `2024-03-01 13:05:00`; ISO text is left as it is."""
    text = pc.utf8_trim_whitespace(text)
    text = pc.replace_substring_regex(text, r"^(\d{4})/(\d)/", r"\1/0\2/")
    text = pc.replace_substring_regex(text, r"^(\d{4})/(\d\d)/(\d)(\D|$)", r"\1/\2/0\3\4")
    text = pc.replace_substring_regex(text, r"^(\d{4})/(\d\d)/(\d\d)", r"\1-\2-\3")
    text = pc.replace_substring_regex(text, r"^(\d)/", r"0\1/")
    text = pc.replace_substring_regex(text, r"^(\d\d)/(\d)/", r"\1/0\2/")
    return pc.replace_substring_regex(text, r"^(\d\d)/(\d\d)/(\d{4})", r"\3-\1-\2")


def _first_bad_time(text: pa.Array, has_offset: bool, zone: str | None) -> tuple[int, str]:
    """Position in the chunk and text of the first Date Time that does not convert (the slow
    path, after the chunk failed)."""
    for i, value in enumerate(text.to_pylist()):
        one = pa.array([value], pa.string())
        try:
            if has_offset:
                pc.cast(one, pa.timestamp("us", "UTC"))
            else:
                pc.assume_timezone(
                    pc.cast(one, pa.timestamp("us")), zone, ambiguous="raise", nonexistent="raise"
                )
        except pa.ArrowInvalid:
            return i, value
    return 0, ""
