"""The machinery the Neware and BioLogic readers share: a cycler's text table (a header line of
its own names, then delimited rows) read in columnar chunks by pyarrow's CSV reader, every
column first as text, then converted here so that a bad value is named by file, line and
column (a decimal comma, a `h:mm:ss.fff` duration and a local date-time are read too), and
handed to the shared normalisation (ingest/staging.py `normalise`).

A reader describes its format by `Column`s: which of the file's headers (by a name key and a
unit) give which BDF quantity, in which unit; `Layout` says where the table starts, its
delimiter and encoding.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .. import sniff, staging
from ..bdf import not_stored  # BDF names the quantities; a vendor's own form counts too
from ..errors import IngestError
from ..staging import QUANTITIES, UNITS, FileInfo, HeaderColumn, ReadOptions


def file_info(columns: list[Column], layout: Layout, cycler: str, **more) -> FileInfo:
    """What a vendor reader found: the mapped columns, the ones it ignores, the units it
    converted, the cycler; `more`: further FileInfo fields (record_reader, file_format)."""
    positions = {c.position for c in columns}
    ignored = [n for i, n in enumerate(layout.names) if n and i not in positions]
    return FileInfo(
        columns=[
            HeaderColumn(c.header, c.position, QUANTITIES[c.quantity], c.unit, c.factor, 0)
            for c in columns
        ],
        ignored=ignored,
        not_stored=[n for n in ignored if not_stored(n)],
        original_units=original_units(columns),
        cycler_software=cycler,
        **more,
    )


@dataclass
class Layout:
    header_line: int  # 1-based line of the column names
    delimiter: str
    encoding: str  # a Python codec name: utf-8, gb18030, cp1252, latin-1
    names: list[str]  # the column names as written (stripped), one per field of a data row
    decimal_comma: bool = False  # numbers may be written 3,42 (European locales)


@dataclass(frozen=True)
class Column:
    """One of the file's columns, read as a BDF quantity."""

    header: str  # as written in the file
    position: int
    quantity: str  # a key of staging.QUANTITIES
    unit: str  # as written ('' when none)
    factor: float = 1.0  # to the SI unit of the quantity's dimension
    offset: float = 0.0
    kind: str = "number"  # number | integer | duration (h:mm:ss.fff) | text


# a run of two CJK ideographs: Chinese text, not a Western code page's accented letters or
# `°C` (b'\xb0C' is one GB18030 character too, so one alone proves nothing)
CJK_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2}")


def decode_guess(raw: bytes) -> str:
    """The encoding of a vendor text file, from its first bytes: UTF-8 (with or without BOM)
    when they decode as UTF-8; else GB18030 (BTS or EC-Lab on a Chinese-locale Windows, GBK's
    superset) when they decode as GB18030 into Chinese words; else Windows-1252 (EC-Lab and
    BTS on a western Windows), else Latin-1 (which decodes any byte)."""
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(raw) - 3:
            return "utf-8"  # a character cut by the sample's end
    try:
        if CJK_RUN.search(raw.decode("gb18030")):
            return "gb18030"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def head_lines(path: Path, count: int) -> list[bytes]:
    """Up to `count` first lines of the file, raw (the file must exist and not be empty)."""
    file = str(path)
    if not path.is_file():
        raise IngestError(file, "no such file")
    if path.stat().st_size == 0:
        raise IngestError(file, "the file is empty (0 bytes)")
    try:
        with open(path, "rb") as handle:
            lines = []
            for _ in range(count):
                line = handle.readline(1 << 16)
                if not line:
                    break
                lines.append(line)
            return lines
    except OSError as exc:
        raise IngestError(file, f"cannot read the file: {exc}") from None


def table_encoding(path: Path, encoding: str, skip_lines: int) -> str:
    """The encoding to hand pyarrow for the table after the first `skip_lines` lines: UTF-8
    when every byte there is ASCII (a code page's header, `°C`, above plain numbers), which
    each encoding decode_guess names reads alike, so pyarrow need not transcode the file
    through Python's codec (its slowest step, three times its parsing); else `encoding`."""
    if encoding == "utf-8" or path.suffix == ".gz":
        return encoding
    with open(path, "rb") as handle:
        skipped = b"".join(handle.readline() for _ in range(skip_lines))
        if skipped.count(b"\r") != skipped.count(b"\r\n"):
            return encoding  # lines ended by a bare CR: pyarrow's rows are not these lines
        while block := handle.read(1 << 20):
            if not block.isascii():
                return encoding
    return "utf-8"


def split_names(line: str, delimiter: str) -> list[str]:
    names = [n.strip().strip('"').strip() for n in line.rstrip("\r\n").split(delimiter)]
    while names and not names[-1]:
        names.pop()  # EC-Lab ends its column line with a tab; Neware often with a comma
    return names


def unit_key(unit: str, dimension: str) -> str:
    """A vendor's unit as a key of staging.UNITS: `mA.h` -> mah, `W.h` -> wh; for a temperature
    `℃` and `øC` (the degree sign of an OEM code page read as Latin-1) -> °c. `C` stays what
    the dimension says: coulomb for a charge, Celsius for a temperature."""
    u = unit.strip().lower().replace(".", "").replace(" ", "")
    if dimension == "temperature":
        u = u.replace("℃", "°c").replace("øc", "°c")
    return u


def conversion(file: str, header: str, quantity: str, unit: str, line: int) -> tuple[float, float]:
    dimension = QUANTITIES[quantity].dimension
    if dimension in ("text", "count"):
        return 1.0, 0.0
    key = unit_key(unit, dimension)
    found = UNITS[dimension].get(key)
    if found is None:
        known = ", ".join(sorted(u for u in UNITS[dimension] if u))
        raise IngestError(
            file,
            f"unknown unit '{unit}' for {quantity} (known: {known})",
            line=line,
            column=header,
        )
    return found


def read_table(
    path: Path,
    layout: Layout,
    columns: list[Column],
    options: ReadOptions,
    derive: Callable[[dict[str, pa.Array], int], None] | None = None,
) -> Iterator[tuple[int, pa.Table]]:
    """Chunks of (first file line, normalised table), as every reader yields them. `derive`, when
    given, completes each chunk's converted columns (keyed by BDF quantity) in place, e.g. the
    absolute time from a header's start time."""
    return convert_batches(
        str(path), _csv_batches(path, layout, columns, options), columns, layout, options, derive
    )


def convert_batches(
    file: str,
    batches: Iterator[tuple[int, dict[int, pa.Array]]],
    columns: list[Column],
    layout: Layout,
    options: ReadOptions,
    derive: Callable[[dict[str, pa.Array], int], None] | None = None,
) -> Iterator[tuple[int, pa.Table]]:
    """Batches of text (row count, {column position: text}) from a CSV file or a workbook's
    sheet -> chunks of (first line, normalised table): every column converted with its bad
    values located by line and column, `derive` applied, then the shared normalisation."""
    first_data = layout.header_line + 1
    line = first_data
    for n, texts in batches:
        if not n:
            continue
        out: dict[str, pa.Array] = {}
        for column in columns:
            text = texts[column.position]
            out[column.quantity] = convert(file, text, column, line, layout.decimal_comma)
        if derive is not None:
            derive(out, line)
        yield line, staging.normalise_quantities(file, out, line, options)
        line += n
    if line == first_data:
        raise IngestError(
            file, "the file has column names but no data rows", line=layout.header_line + 1
        )


def _csv_batches(
    path: Path, layout: Layout, columns: list[Column], options: ReadOptions
) -> Iterator[tuple[int, dict[int, pa.Array]]]:
    """The CSV file's wanted columns in pyarrow's blocks: the number columns parsed by pyarrow
    as numbers (the fast path, what convert makes of their text) while every value reads as
    one and every integer is whole; from the first block where one does not (a decimal comma,
    a word, a fraction in an integer column, a malformed row), as text, for convert to read
    or to name the bad value by line and column, as if the file had been read as text
    throughout (the blocks are the same: they are cut by bytes, not values)."""
    names = [f"{i}:{n}" for i, n in enumerate(layout.names)]  # unique even if repeated
    wanted = {f"{c.position}:{layout.names[c.position]}": c for c in columns}
    encoding = table_encoding(path, layout.encoding, layout.header_line)
    numeric = {n for n, c in wanted.items() if c.kind in ("number", "integer")}
    done = 0
    if numeric:
        done = yield from _number_batches(path, layout, options, names, wanted, encoding, numeric)
        if done is None:
            return
    yield from _text_batches(path, layout, options, names, wanted, encoding, done)


def _open_csv(path, layout, options, names, wanted, encoding, types, on_invalid):
    return pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            skip_rows=layout.header_line,
            column_names=names,
            encoding=encoding,
            block_size=options.block_size,
            use_threads=False,
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=layout.delimiter, invalid_row_handler=on_invalid
        ),
        convert_options=pacsv.ConvertOptions(
            include_columns=list(wanted), column_types=types, strings_can_be_null=True
        ),
    )


def _columns_of(batch, wanted: dict) -> dict[int, pa.Array]:
    return {
        column.position: batch.column(batch.schema.get_field_index(name))
        for name, column in wanted.items()
    }


def _number_batches(path, layout, options, names, wanted, encoding, numeric):
    """The fast path's blocks; returns None when it read the whole file, else the rows it
    yielded before the first block it could not read so."""
    types = {n: pa.float64() if n in numeric else pa.string() for n in wanted}
    integers = [n for n in numeric if wanted[n].kind == "integer"]
    done = 0
    try:
        reader = _open_csv(path, layout, options, names, wanted, encoding, types, _error)
        for batch in reader:
            columns = _columns_of(batch, wanted)
            for name in integers:
                values = columns[wanted[name].position]
                if not _whole(values):
                    return done
                columns[wanted[name].position] = pc.cast(values, pa.int64())  # checked: whole
            yield batch.num_rows, columns
            done += batch.num_rows
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return done
    return None


def _error(row) -> str:
    return "error"


def _whole(values: pa.Array) -> bool:
    """Every number whole and within int64 (inf is its own floor; 1e40 has no int64)."""
    whole = pc.and_(pc.equal(pc.floor(values), values), pc.less(pc.abs(values), 2.0**63))
    return pc.all(whole).as_py() in (True, None)


def _text_batches(path, layout, options, names, wanted, encoding, skip: int):
    """The wanted columns as text, in pyarrow's blocks, from the row `skip` on."""
    bad_rows: list = []

    def on_invalid(row) -> str:
        bad_rows.append(row)
        return "error"

    types = {n: pa.string() for n in wanted}
    try:
        reader = _open_csv(path, layout, options, names, wanted, encoding, types, on_invalid)
    except pa.ArrowInvalid as exc:
        raise _malformed(path, layout, exc, bad_rows) from None
    except UnicodeDecodeError:
        raise _undecodable(path, layout) from None
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except pa.ArrowInvalid as exc:
            raise _malformed(path, layout, exc, bad_rows) from None
        except UnicodeDecodeError:
            raise _undecodable(path, layout) from None
        if skip >= batch.num_rows:  # read by the fast path already
            skip -= batch.num_rows
            continue
        if skip:
            batch, skip = batch.slice(skip), 0
        yield batch.num_rows, _columns_of(batch, wanted)


def _malformed(path: Path, layout: Layout, exc: Exception, bad_rows: list) -> IngestError:
    file = str(path)
    if "straddl" in str(exc):  # a line longer than pyarrow's block
        what, line = sniff.overlong_message(path, ReadOptions.block_size)
        return IngestError(file, what, line=line)
    if bad_rows:
        row = bad_rows[0]
        line = row.number  # pyarrow counts the skipped lines too: the file's own line
        truncated = ""
        with open(path, "rb") as handle:
            handle.seek(max(0, path.stat().st_size - 2))
            if not handle.read().endswith(b"\n"):
                truncated = " (the file looks truncated: its last line has no end)"
        return IngestError(
            file,
            f"malformed row: expected {row.expected_columns} fields, found "
            f"{row.actual_columns}{truncated}",
            line=line,
        )
    if layout.encoding == "utf-8":
        undecodable = sniff.first_non_utf8_line(path)
        if undecodable is not None:
            line, byte, column = undecodable
            return IngestError(
                file,
                f"the line is not UTF-8 text (byte 0x{byte:02x} at column {column}): save "
                "the file as UTF-8 or Windows-1252 throughout",
                line=line,
            )
    if "Could not skip initial" in str(exc):  # the column names are the file's last line
        return IngestError(file, f"no data rows after the header (line {layout.header_line})")
    return IngestError(file, f"cannot parse the table: {exc}")


def _undecodable(path: Path, layout: Layout) -> IngestError:
    """A byte the file's encoding has no character for (pyarrow transcodes a file that is not
    UTF-8 through Python's codec, which raises): the first such line, the slow path."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                raw.decode(layout.encoding)
            except UnicodeDecodeError as exc:
                byte = raw[exc.start]
                return IngestError(
                    str(path),
                    f"the line is not {layout.encoding.upper()} text, as the file's first lines "
                    f"are (byte 0x{byte:02x} at column {exc.start + 1}): save the file in one "
                    "encoding throughout, preferably UTF-8",
                    line=number,
                )
    return IngestError(str(path), f"the file is not {layout.encoding.upper()} text throughout")


_DURATION = r"^\d+:\d{1,2}:\d{1,2}(\.\d*)?$"
# what pyarrow's cast to float64 reads (its own grammar; checked here to locate a bad value)
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|nan)$"


def convert(file: str, text: pa.Array, column: Column, line: int, decimal_comma: bool):
    """One column of text -> its BDF values (SI), or an error naming the first bad value."""
    if column.kind == "integer" and pa.types.is_integer(text.type):
        return text  # read as whole numbers by the fast path (_number_batches)
    values = _numbers(text) if column.kind in ("number", "integer") else None
    if values is None:
        if column.kind == "duration":
            return _duration(file, text, column, line, decimal_comma)
        text = _trimmed(text)
        if column.kind == "text":
            return text
        written = text
        if decimal_comma:
            text = pc.replace_substring(text, ",", ".")
        try:
            values = pc.cast(text, pa.float64())
        except pa.ArrowInvalid:
            ok = pc.match_substring_regex(text, _NUMBER)
            raise _first_bad(file, written, column, line, "a number", ok) from None
    else:
        written = text
    if column.kind == "integer":
        # whole and within int64 (inf is its own floor; 1e40 has no int64)
        whole = pc.and_(pc.equal(pc.floor(values), values), pc.less(pc.abs(values), 2.0**63))
        if pc.all(whole).as_py() not in (True, None):
            raise _first_bad(file, written, column, line, "an integer", whole)
        return pc.cast(values, pa.int64())
    if column.factor != 1:
        values = pc.multiply(values, column.factor)
    if column.offset:
        values = pc.add(values, column.offset)
    return values


_PADDING = " \t\"'"
_PADDING_BYTES = np.frombuffer(_PADDING.encode(), np.uint8)


def _trimmed(text: pa.Array) -> pa.Array:
    """The values without the blanks and quotes around them, an empty one NULL. A chunk with
    neither (the usual file: no NULL, no empty value, no value's first or last byte a blank or
    a quote, checked in numpy) is returned as it is."""
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    n = len(text)
    if n and not text.null_count and pa.types.is_string(text.type):
        offsets = np.frombuffer(text.buffers()[1], np.int32, n + 1, text.offset * 4)
        if (offsets[1:] > offsets[:-1]).all():
            data = np.frombuffer(text.buffers()[2], np.uint8)
            ends = np.concatenate((data[offsets[:-1]], data[offsets[1:] - 1]))
            if not np.isin(ends, _PADDING_BYTES).any():
                return text
    text = pc.utf8_trim(text, _PADDING)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _numbers(text: pa.Array) -> pa.Array | None:
    """The column cast to numbers as written, or None when a value is not one (the fast path:
    a cast that succeeds met no blank, quote, padding or decimal comma, so trimming and
    replacing, the slow path's first steps, would have changed nothing)."""
    try:
        return pc.cast(text, pa.float64())
    except pa.ArrowInvalid:
        return None


def _duration(file, text, column, line, decimal_comma) -> pa.Array:
    """`h:mm:ss.fff` (hours may pass 24) -> seconds; a plain number is read as seconds."""
    values = fixed_clock_seconds(text, decimal_comma)
    if values is not None:  # every value h:mm:ss.fff, one width (the usual file)
        return pc.multiply(values, column.factor) if column.factor != 1 else values
    text = written = _trimmed(text)
    if decimal_comma:
        text = pc.replace_substring(text, ",", ".")
    clock = pc.match_substring_regex(text, _DURATION)
    if pc.all(clock).as_py() in (True, None):  # every value h:mm:ss (the common case)
        values = _clock_seconds(text)
    else:
        plain = pc.match_substring_regex(text, r"^[0-9]+(\.[0-9]*)?$")
        ok = pc.or_kleene(clock, plain)
        if not pc.all(pc.fill_null(ok, True)).as_py():
            raise _first_bad(file, written, column, line, "a duration h:mm:ss.fff", ok)
        seconds = _clock_seconds(pc.if_else(clock, text, pa.scalar("0:0:0")))
        number = pc.cast(pc.if_else(plain, text, pa.scalar("0")), pa.float64())
        values = pc.if_else(clock, seconds, number)
        values = pc.if_else(pc.is_null(text), pa.scalar(None, pa.float64()), values)
    return pc.multiply(values, column.factor) if column.factor != 1 else values


def _number(block: np.ndarray, start: int, end: int) -> np.ndarray:
    """The whole number the digits in columns [start, end) of each row write."""
    out = (block[:, start] - 48).astype(np.int64)
    for i in range(start + 1, end):
        out *= 10
        out += block[:, i]
        out -= 48
    return out


def fixed_clock_seconds(text: pa.Array, decimal_comma: bool = False) -> pa.Array | None:
    """Seconds of a chunk of `h:mm:ss[.fff]` durations written alike, one width (staging.
    fixed_width: the hours zero-padded, as BTS writes them), read in numpy: what _clock_seconds
    makes of them, to the bit (each part a whole number of digits, the seconds' fraction
    divided by its power of ten, both exact, the division rounded as a parse of the decimal
    text is); None when the chunk is not written so."""
    block = staging.fixed_width(text)
    if block is None:
        return None
    first = block[0]
    colons = np.flatnonzero(first == ord(":"))
    if len(colons) != 2:
        return None
    hours, minutes = int(colons[0]), int(colons[1])
    width = block.shape[1]
    marks = (ord("."), ord(",")) if decimal_comma else (ord("."),)
    dot = next((i for i in range(minutes + 1, width) if first[i] in marks), width)
    if not (
        1 <= hours <= 15
        and 1 <= minutes - hours - 1 <= 2
        and 1 <= dot - minutes - 1 <= 2
        and (dot == width or 1 <= width - dot - 1 <= 13)
    ):
        return None
    template = ["9"] * width
    template[hours] = template[minutes] = ":"
    if dot < width:
        template[dot] = chr(first[dot])
    if not staging.written_as(block, "".join(template)):
        return None
    digits = width - dot - 1 if dot < width else 0
    scale = 10**digits
    fraction = _number(block, dot + 1, width) if digits else 0
    seconds = (_number(block, minutes + 1, dot) * scale + fraction) / scale
    h = _number(block, 0, hours).astype(np.float64)
    m = _number(block, hours + 1, minutes).astype(np.float64)
    return pa.array(h * 3600.0 + m * 60.0 + seconds)


def _clock_seconds(text: pa.Array) -> pa.Array:
    """`h:mm:ss.fff` text (each value so, or NULL) -> seconds."""
    parts = pc.split_pattern(text, ":")
    if not text.null_count:  # three parts each: cast in one go, summed in the same order
        hms = pc.cast(pc.list_flatten(parts), pa.float64()).to_numpy().reshape(-1, 3)
        return pa.array(hms[:, 0] * 3600.0 + hms[:, 1] * 60.0 + hms[:, 2])
    return pc.add(
        pc.add(
            pc.multiply(pc.cast(pc.list_element(parts, 0), pa.float64()), 3600.0),
            pc.multiply(pc.cast(pc.list_element(parts, 1), pa.float64()), 60.0),
        ),
        pc.cast(pc.list_element(parts, 2), pa.float64()),
    )


def _first_bad(file, text, column, line, kind, ok) -> IngestError:
    """The first value `ok` flags false, named by line and column (the slow path)."""
    flags = ok.to_pylist()
    for i, value in enumerate(text.to_pylist()):
        if value is not None and flags[i] is False:
            return IngestError(
                file, f"value '{value}' is not {kind}", line=line + i, column=column.header
            )
    return IngestError(file, f"a value is not {kind}", line=line, column=column.header)


@dataclass
class Match:
    """Which header gives which quantity: the first candidate name present wins."""

    quantity: str
    names: tuple[str, ...]  # name keys (lower case, unit removed), in order of preference
    kind: str = "number"


def pick(
    names: list[str],
    parse: Callable[[str], tuple[str, str]],
    matches: list[Match],
) -> list[tuple[Match, int, str, str]]:
    """(match, position, header, unit) for each quantity whose column the file has."""
    keyed: dict[str, tuple[int, str, str]] = {}
    for position, header in enumerate(names):
        key, unit = parse(header)
        keyed.setdefault(key, (position, header, unit))
    found = []
    for m in matches:
        for candidate in m.names:
            if candidate in keyed:
                position, header, unit = keyed[candidate]
                found.append((m, position, header, unit))
                break
    return found


def build_columns(file: str, found, header_line: int) -> list[Column]:
    columns = []
    for m, position, header, unit in found:
        factor, offset, kind = 1.0, 0.0, m.kind
        if kind == "duration" and unit and ":" not in unit:
            kind = "number"  # Time(s), Total Time(h): a plain number in that unit
        if kind == "number":
            factor, offset = conversion(file, header, m.quantity, unit, header_line)
        columns.append(Column(header, position, m.quantity, unit, factor, offset, kind))
    return columns


def original_units(columns: list[Column]) -> dict[str, str]:
    return {
        QUANTITIES[c.quantity].column: c.unit
        for c in columns
        if c.kind == "number" and (c.factor, c.offset) != (1, 0)
    }


def no_nulls(indexes: pa.Array) -> np.ndarray:
    """The indexes as int64, an empty one (the not-null rule's to report) made a negative
    number of its own, so it is never counted as a duplicate."""
    if not indexes.null_count:
        return indexes.to_numpy()
    out = indexes.to_numpy(zero_copy_only=False)  # float64, NaN where empty
    empty = np.isnan(out)
    out[empty] = -1 - np.arange(int(empty.sum()))
    return out.astype(np.int64)


def record_indexes(path: Path, layout: Layout, column: Column | None) -> np.ndarray:
    """The file's record index column, whole (or the row positions when it has none)."""
    if column is None:
        return np.array([], dtype=np.int64)
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            skip_rows=layout.header_line,
            column_names=[f"{i}:{n}" for i, n in enumerate(layout.names)],
            encoding=table_encoding(path, layout.encoding, layout.header_line),
            block_size=ReadOptions.block_size,
        ),
        parse_options=pacsv.ParseOptions(delimiter=layout.delimiter),
        convert_options=pacsv.ConvertOptions(
            include_columns=[f"{column.position}:{layout.names[column.position]}"],
            column_types={f"{column.position}:{layout.names[column.position]}": pa.string()},
        ),
    )
    batches = ((b.num_rows, {column.position: b.column(0)}) for b in reader)
    return indexes(str(path), batches, column, layout.header_line + 1)


def indexes(
    file: str, batches: Iterator[tuple[int, dict[int, pa.Array]]], column: Column, line: int
) -> np.ndarray:
    """A record index column, whole, from batches of text as convert_batches takes them (a
    CSV file's or a sheet's), its first row on `line`."""
    values = []
    for n, texts in batches:
        values.append(no_nulls(convert(file, texts[column.position], column, line, False)))
        line += n
    return np.concatenate(values) if values else np.array([], dtype=np.int64)
