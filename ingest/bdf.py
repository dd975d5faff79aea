"""Battery Data Format (BDF) CSV and Parquet: header names and units to the schema's quantities
(ingest/staging.py), read in columnar chunks with pyarrow and handed to the shared
normalisation (staging.normalise). A reader like the others (readers.Reader); the Arbin reader
reads its CSV export through this one, its names mapped onto BDF's.

A BDF header names a quantity and its unit, in the human form `Voltage / mV` or the
machine form `voltage_volt`; both are accepted, with any unit this module knows how to
convert. Unknown quantities are ignored (reported); unknown units are refused.

BDF's Parquet form (a file starting with `PAR1`) names its columns the same way, machine form
(`voltage_volt`, `test_time_millisecond`); it is read by row groups with pyarrow.parquet, and
a `date_time_<unit>` column of numbers (the legacy form of BDF's own test file
`legacy.bdf.parquet`) is Unix time in that unit.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from . import sniff
from .errors import IngestError
from .staging import (
    QUANTITIES,
    STAGED_COLUMNS,  # noqa: F401 - quality.py imports it from here, for now
    UNITS,
    Chunks,
    FileInfo,
    HashingReader,
    HeaderColumn,
    ReadOptions,
    normalise,
)

FILE_FORMAT = "bdf_csv"  # source_file.file_format
BINARY_FILES: frozenset[str] = frozenset()  # text only (readers.Reader)

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
    # deprecated in BDF 1.3.0 (renamed step_record_index, a counter within a step), but every
    # reference file of BDF's repository writes the program step under it (1, 2, 3, 2...), as
    # BDF's own tooling reads a vendor's "Step Index": read as step_id
    "step_index": "step_id",
    # the counters under the names other BDF writers give them (BatMo's export, as in cellpy's
    # testdata/data/batmo_bdf.csv: 'Charge Capacity / Ah')
    "charge_capacity": "charging_capacity",
    "discharge_capacity": "discharging_capacity",
    "charge_energy": "charging_energy",
    "discharge_energy": "discharging_energy",
    # the cycler's DC reading under BDF's other name: one column holds it (a file with both
    # is refused as naming one quantity twice)
    "dc_internal_resistance": "internal_resistance",
}
# BDF's required columns; Cycle Count is only recommended: without it the loader numbers the
# cycles from the current (ingest/cycles.py) and the report says so
REQUIRED = ("test_time", "voltage", "current")
# BDF quantities (the ontology's machine names without their unit) that timeseries_point has
# no column for: recognised, and listed in every load's report as not stored
NOT_STORED = frozenset(
    {
        "power",
        "ac_internal_resistance",  # an AC (1 kHz) impedance, not the DC reading stored
        "real_impedance",
        "imaginary_impedance",
        "absolute_impedance",
        "phase",
        "frequency",
        "net_capacity",
        "net_energy",
        "cumulative_capacity",
        "cumulative_energy",
        "step_record_index",
        "step_capacity",
        "step_energy",
        "temperature_t4",
        "temperature_t5",
        "surface_temperature_t4",
        "surface_temperature_t5",
        "ambient_pressure",
        "applied_pressure",
        "surface_pressure",
        *(
            f"{scope}_{kind}_{what}"
            for scope in ("cycle", "step", "schedule")
            for kind in ("charging", "discharging", "net", "cumulative")
            for what in ("capacity", "energy")
        ),
    }
)

_VENDOR = re.compile(r"^[^/]*\(\s*\w+\s*\)\s*$")  # Arbin/Neware style: Voltage(V)
_HUMAN = re.compile(r"^\s*(?P<name>[^/]+?)\s*(?:/\s*(?P<unit>.*?)\s*)?$")


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


_KEYS = sorted([*QUANTITIES, *ALIASES, *NOT_STORED], key=len, reverse=True)


def _machine_split(name: str) -> tuple[str, str] | None:
    """`voltage_millivolt` -> (voltage, millivolt); the longest known quantity prefix wins."""
    for key in _KEYS:
        if name == key:
            return key, ""
        if name.startswith(key + "_"):
            return key, name[len(key) + 1 :]
    return None


def _key_unit(header: str) -> tuple[str, str] | None:
    """A header's BDF quantity key (snake case, aliases resolved) and its unit as written;
    None when it has neither BDF form."""
    if "/" in header:
        match = _HUMAN.match(header)
        key, unit = _snake(match["name"]), (match["unit"] or "")
    elif " " in header.strip() and re.fullmatch(r"[A-Za-z0-9 ]+", header.strip()):
        key, unit = _snake(header), ""  # a human name without unit: Date Time, Step Type
    elif re.fullmatch(r"[A-Za-z0-9_]+", header.strip()):
        split = _machine_split(header.strip().lower())
        key, unit = split if split else (header.strip().lower(), "")
    else:
        return None
    return ALIASES.get(key, key), unit


def not_stored(header: str) -> bool:
    """True when the header names a BDF quantity that timeseries_point has no column for
    (Power / W, power_watt, Step Record Index / 1...)."""
    split = _key_unit(header)
    if split is None and _VENDOR.match(header):  # a cycler's own form: Power(W)
        split = _snake(header.split("(")[0]), ""
    return split is not None and split[0] in NOT_STORED


def parse_header(file: str, names: list[str]) -> tuple[list[HeaderColumn], list[str]]:
    """The recognised columns and the names ignored; raises on unknown units, duplicates and
    missing required quantities. A BDF quantity the schema does not store (`not_stored`) is
    among the ignored."""
    found: dict[str, HeaderColumn] = {}
    ignored: list[str] = []
    for position, header in enumerate(names):
        split = _key_unit(header)
        if split is None:  # neither BDF form (e.g. Arbin's Voltage(V)): not guessed at
            ignored.append(header)
            continue
        key, unit = split
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
            + f" (BDF names such as 'Test Time / s', 'Voltage / V', 'Current / A'){hint}",
            line=1,
        )
    return list(found.values()), ignored


class SignCheck:
    """BDF's current is positive when it charges the cell. A file that carries its step types
    (Step Type, BDF's codes or a cycler's words: staging.step_types) says which rows charge and
    which discharge; one whose discharge steps' current is mostly positive and charge steps'
    mostly negative (every kind it has, each over the whole file) counts the other way (BatMo's
    export, cellpy's testdata/data/batmo_bdf.csv) and would load discharge as charge: refused,
    strict or lenient (no row of it is right to keep), naming --discharge-positive. A few rows
    against their step (a charge step's first sample, a relaxation labelled charge) are not
    the file's sign. Counted on the normalised chunks, after --discharge-positive's flip: a
    file signed as BDF says, loaded with the flag, is refused the same way."""

    def __init__(self, file: str, header: str, flipped: bool):
        self.file, self.header, self.flipped = file, header, flipped
        self.rows = {"discharge": 0, "charge": 0}  # step rows with a current other than 0
        self.wrong = {"discharge": 0, "charge": 0}  # of them, the sign against the step
        self.first: int | None = None  # the line of the first discharge row charging

    def add(self, line: int, table: pa.Table) -> None:
        kinds = table.column("step_type")
        if kinds.null_count == len(kinds):
            return
        current = table.column("current_ampere")
        for kind, against in (("discharge", pc.greater), ("charge", pc.less)):
            on_step = pc.fill_null(pc.ends_with(kinds, f"_{kind}"), False)
            rows = pc.and_(on_step, pc.fill_null(pc.not_equal(current, 0), False))
            wrong = pc.and_(rows, pc.fill_null(against(current, 0), False))
            self.rows[kind] += pc.sum(rows).as_py() or 0
            count = pc.sum(wrong).as_py() or 0
            self.wrong[kind] += count
            if count and kind == "discharge" and self.first is None:
                self.first = line + pc.index(wrong, True).as_py()

    def finish(self) -> None:
        present = [k for k in self.rows if self.rows[k]]
        if not present or any(2 * self.wrong[k] <= self.rows[k] for k in present):
            return
        said = " and ".join(
            f"{self.wrong[k]} of {self.rows[k]} {k} rows are "
            + ("positive" if k == "discharge" else "negative")
            for k in present
        )
        hint = (
            "with --discharge-positive it is the opposite: the file is signed as BDF says, "
            "load it without the flag"
            if self.flipped
            else "the file counts discharge as positive: load it with --discharge-positive"
        )
        raise IngestError(
            self.file,
            "the current's sign is the opposite of BDF's (positive charges the cell): by the "
            f"file's own step types, {said}; {hint}",
            line=self.first,
            column=self.header,
        )


def sign_check(file: str, by_key: dict[str, HeaderColumn], options: ReadOptions):
    """A SignCheck when the file has a step type column, else None (nothing to check by)."""
    if "step_type" not in by_key:
        return None
    return SignCheck(file, by_key["current"].header, options.discharge_positive)


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
        # a vendor's export in its own code page (a Chinese Neware CSV): name the format;
        # a binary file of a format the loader does not read (.mpr, .res): say that alone
        hint = sniff.looks_like(sniff.first_lines(path), declared)
        if "which the loader does not read" in hint:
            raise IngestError(str(path), f"not a text file{hint}", line=1) from None
        raise IngestError(
            str(path),
            f"the header is not UTF-8 text (byte 0x{first[exc.start]:02x} at column "
            f"{len(first[: exc.start].decode('utf-8')) + 1}): save the file as UTF-8" + hint,
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
) -> tuple[FileInfo, Chunks]:
    """Parse the header now (errors early); return the file's facts and an iterator of
    (first file line, normalised chunk) whose columns are STAGED_COLUMNS plus `line`. Chunks
    are `options.block_size` bytes of the file each: memory stays flat whatever its size.
    `source`, when given, is the stream the chunks are read from (a HashingReader).
    `rename`, when given, maps (file, header names) to BDF names position by position: a
    cycler's CSV export whose columns are BDF quantities under other names (Arbin) is read
    by the same columnar reader; messages keep naming the file's own headers."""
    file = str(path)
    if rename is None and is_parquet(path):
        return _read_parquet(path, options)
    names = _read_header(path, "bdf" if rename is None else "arbin")
    if rename is None:
        columns, ignored = parse_header(file, names)
    else:
        columns, ignored = parse_header(file, rename(file, names))
        columns = [replace(c, header=names[c.position]) for c in columns]
        ignored = [names[i] for i, n in enumerate(rename(file, names)) if n in ignored]
    info = FileInfo(columns, ignored)
    info.not_stored = [n for n in ignored if not_stored(n)]
    by_key = {c.quantity.key: c for c in columns}
    # BDF recommends Cycle Count, does not require it: numbered from the data (ingest/cycles.py)
    info.derive_cycles = "cycle_count" not in by_key
    if "record_index" in by_key:
        info.record_reader = lambda: record_indexes(path, columns)
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
            # pyarrow decompresses a .gz path by its name; the loader's stream decompresses
            stream = path if source is None else source
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
            raise _located(path, exc, columns, bad_rows, options.block_size) from None
        except OSError as exc:  # a .gz cut short within the first block
            raise IngestError(file, f"cannot read the file: {exc}") from None
        line = 2
        signs = sign_check(file, by_key, options) if rename is None else None
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                raise _located(path, exc, columns, bad_rows, options.block_size) from None
            except OSError as exc:  # a .gz cut short
                raise IngestError(file, f"cannot read the file: {exc}", line=line) from None
            table = pa.Table.from_batches([batch])
            staged = normalise(file, table, line, by_key, options)
            if signs is not None:
                signs.add(line, staged)
            yield line, staged
            line += table.num_rows
        if line == 2:
            raise IngestError(file, "the file has a header but no data rows", line=2)
        if signs is not None:
            signs.finish()

    return info, chunks()


PARQUET_MAGIC = b"PAR1"


def is_parquet(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == PARQUET_MAGIC
    except OSError:
        return False


def _read_parquet(path: Path, options: ReadOptions) -> tuple[FileInfo, Chunks]:
    """A BDF Parquet file: its columns through the CSV path's header parser, then row groups
    in batches (memory flat, as the CSV path), each cast and normalised as a CSV chunk is.
    `line` counts rows from 2, as if the file had a header line, so messages name the row a
    CSV export of it would have (row N of the table is line N + 1)."""
    import pyarrow.parquet as pq  # only for Parquet files

    file = str(path)
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(file, f"cannot read the Parquet file: {exc}") from None
    arrow = parquet.schema_arrow
    names = list(arrow.names)
    unix = {}  # date_time_<unit> of numbers -> unix_time in that unit
    for i, name in enumerate(names):
        key_unit = _key_unit(name)
        field = arrow.field(i)
        numeric = pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
        if key_unit and key_unit[0] == "date_time" and numeric:
            unix[name] = "unix_time_" + key_unit[1]
    columns, ignored = parse_header(file, [unix.get(n, n) for n in names])
    columns = [replace(c, header=names[c.position]) for c in columns]
    info = FileInfo(columns, ignored)
    info.file_format = "bdf_parquet"
    info.not_stored = [n for n in ignored if not_stored(n)]
    by_key = {c.quantity.key: c for c in columns}
    info.derive_cycles = "cycle_count" not in by_key
    for c in columns:
        if c.quantity.dimension not in ("text", "count") and (c.factor, c.offset) != (1, 0):
            info.original_units[c.quantity.column] = c.unit
    if "unix_time" not in by_key and "date_time" in by_key:
        info.assumed_time_zone = options.time_zone
    types = {
        c.header: pa.string()
        if c.quantity.dimension == "text"
        else pa.int64()
        if c.quantity.integer
        else pa.float64()
        for c in columns
    }
    batch_rows = max(1024, options.block_size // 64)

    def chunks() -> Iterator[tuple[int, pa.Table]]:
        line = 2
        signs = sign_check(file, by_key, options)
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=list(types)):
            table = pa.Table.from_batches([batch])
            for name, kind in types.items():
                position = table.column_names.index(name)
                try:
                    column = pc.cast(table.column(name), kind)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    row, value = _first_uncastable(table.column(name), kind)
                    raise IngestError(
                        file,
                        f"value {value!r} is not {'text' if kind == pa.string() else 'a number'}"
                        f" (the column's type is {table.schema.field(name).type})",
                        line=line + row,
                        column=name,
                    ) from None
                table = table.set_column(position, name, column)
            staged = normalise(file, table, line, by_key, options)
            if signs is not None:
                signs.add(line, staged)
            yield line, staged
            line += table.num_rows
        if line == 2:
            raise IngestError(file, "the Parquet file has no rows")
        if signs is not None:
            signs.finish()

    return info, chunks()


def _first_uncastable(column: pa.ChunkedArray, kind: pa.DataType) -> tuple[int, object]:
    """(row, value) of the first value of `column` that does not cast to `kind` (the slow
    path, once a cast of the whole batch has failed)."""
    for row, value in enumerate(column.to_pylist()):
        try:
            pc.cast(pa.array([value], column.type), kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return row, value
    return 0, None


def _located(
    path: Path, exc: Exception, columns: list[HeaderColumn], bad_rows: list, block_size: int
):
    file = str(path)
    text = str(exc)
    if "straddl" in text:  # a line longer than pyarrow's block
        what, line = sniff.overlong_message(path, block_size)
        return IngestError(file, what, line=line)
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
    undecodable = sniff.first_non_utf8_line(path)
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


def _first_wrong_field_count(path: Path) -> tuple[int, int, int] | None:
    """(line, expected, found) of the first row whose field count is not the header's."""
    import csv

    try:
        text = (line.decode("utf-8", errors="replace") for line in sniff.lines(path))
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
