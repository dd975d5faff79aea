"""Maccor text exports, every layout the field's readers know (BEEP's MaccorDatapath, cellpy's
maccor_txt models zero to three, battery-data-toolkit's MACCORReader, PyProBE's Maccor
reader), read by pyarrow's CSV reader and converted column by column in Arrow
(ingest/readers/text.py), then normalised as every reader's chunks are.

The layouts (docs/loading.md, "Maccor text exports"):

- a preamble of one line (MIMS: `Today's Date ... Date of Test: ... Filename: ...`), three
  (cellpy's maccor_txt_one), two with blank lines between (maccor_txt_three), a dozen
  (`Name:`, `Channel:`, ..., `DisCh. max. I`: maccor_txt_two, the newer export) or two
  comma-separated (PyProBE's `.csv`); the column names are found on the first line among the
  first 40 that names a record, a cycle, a test time, a current and a voltage column;
- tab-separated (comma-separated when the header line has no tab), decimal point or decimal
  comma (European locale: a tab-separated file whose numbers are written `0,1377`);
- the record `Rec#` or `Rec`; the cycle `Cyc#` or `Cycle C` (`Cycle P`, the procedure's loop
  counter, is not the cycle); the step `Step`;
- the test time `Test (Sec)`, `Test (Min)`, `Test (Hr)`, `Test Time (sec)`, or `TestTime`
  written as a duration `0d 00:00:00.0000` (days, then h:mm:ss, the seconds sometimes one
  digit) or, in the newer layout, as a plain number of minutes (checked against its
  `DPT Time`); the step time likewise (`Step (Sec)`, `StepTime`, ...);
- the current `Amps` (A), `mAmps` (mA), `Current [A]` or `Current` (A); the voltage `Volts`,
  `Voltage [V]` or `Voltage` (V); in the milli layout (`mAmps`, `mAmp-hr`, `mWatt-hr`,
  cellpy's maccor_txt_three) `Volts` holds millivolts, as cellpy reads it;
- the sign of the current: Maccor writes `Amps` unsigned with the direction in `State` (`Md`
  in the newer layout): C charge, D discharge, R rest, O/S other; some exports sign it
  already (BEEP's files). The file decides: discharge rows all >= 0, they are negated; all
  <= 0, the export is signed already; both, the file is refused (ambiguous). A file without
  a state column (PyProBE's) is taken as signed (positive charges);
- `Amp-hr`/`Watt-hr` (`mAmp-hr`, `Cap. [Ah]`, `Capacity`, ...) restart at every step: they
  are summed into the cumulative charge and discharge counters the schema stores (since the
  file's first sample), each step's last value added to the direction of its state;
- `DPt Time`/`DPT Time`, the cycler PC's local time (`MM/DD/YYYY hh:mm:ss`, with or without
  AM/PM, or PyProBE's `23-Nov-23 3:56:11 PM`): used with `--time-zone`, else absolute time is
  the session's `started_at` plus the test time;
- temperatures `Temp 1`..`Temp n` and the auxiliary inputs `Aux #n` whose ` Units` column says
  `C`: the first three into temperature_t1..t3 (the placement is the lab's to note), the rest
  listed as ignored; a reading below absolute zero (Maccor writes about -2500 for an input
  with no sensor) is stored as NULL.

A row whose test time, voltage and current repeat an earlier row's of the same cycle and step
is a duplicate sample (the rule battery-data-toolkit applies by dropping it): strict refuses
the file, lenient leaves the row out and reports it.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .. import sniff, staging
from ..errors import IngestError
from ..quality import DUPLICATE_SAMPLE, Finding
from ..staging import Chunks, FileInfo, HashingReader, ReadOptions
from . import text

FILE_FORMAT = "maccor_txt"
BINARY_FILES: frozenset[str] = frozenset()  # text only (readers.Reader)
CYCLER = "Maccor"
HEAD_LINES = 40  # the header is looked for among the first lines
CHUNK_ROWS = 1 << 16

# column name (lower case, stripped) -> (role, unit): the first present of each role is read
NAMES: dict[str, tuple[str, str]] = {
    "rec#": ("record", "1"),
    "rec": ("record", "1"),
    "cyc#": ("cycle", "1"),
    "cycle c": ("cycle", "1"),
    "step": ("step", "1"),
    "test (sec)": ("test_time", "s"),
    "test (min)": ("test_time", "min"),
    "test (hr)": ("test_time", "h"),
    "test time (sec)": ("test_time", "s"),
    "test time (s)": ("test_time", "s"),
    "testtime": ("test_time", "duration"),
    "step (sec)": ("step_time", "s"),
    "step (min)": ("step_time", "min"),
    "step (hr)": ("step_time", "h"),
    "step time (sec)": ("step_time", "s"),
    "step time (s)": ("step_time", "s"),
    "steptime": ("step_time", "duration"),
    "amps": ("current", "A"),
    "mamps": ("current", "mA"),
    "current [a]": ("current", "A"),
    "current": ("current", "A"),
    "volts": ("voltage", "V"),
    "voltage [v]": ("voltage", "V"),
    "voltage": ("voltage", "V"),
    "amp-hr": ("capacity", "Ah"),
    "mamp-hr": ("capacity", "mAh"),
    "cap. [ah]": ("capacity", "Ah"),
    "capacity": ("capacity", "Ah"),
    "watt-hr": ("energy", "Wh"),
    "mwatt-hr": ("energy", "mWh"),
    "ener. [wh]": ("energy", "Wh"),
    "energy": ("energy", "Wh"),
    "state": ("state", ""),
    "md": ("state", ""),
    "dpt time": ("date_time", ""),
    # the cycler's DC resistance reading, 0 where it measured nothing (kept as written);
    # ACImp/Ohms (an AC impedance) is not stored
    "dcir/ohms": ("internal_resistance", "ohm"),
}
# without these a file is not a Maccor export (in the order a missing value is named)
REQUIRED = ("test_time", "voltage", "current", "cycle")
SHOWN = {
    "record": "Rec#",
    "cycle": "Cyc#",
    "test_time": "Test (Min)",
    "current": "Amps",
    "voltage": "Volts",
}
_TEMP = re.compile(r"^temp\s*(\d+)$", re.IGNORECASE)
_AUX = re.compile(r"^aux\s*#\s*(\d+)$", re.IGNORECASE)
_DURATION = r"^(?P<d>\d+)d\s+(?P<h>\d+):(?P<m>\d+):(?P<s>\d+(?:\.\d*)?)$"
_DECIMAL_COMMA = re.compile(r"(?:^|\t)-?\d+,\d+(?:\t|$)")
_TEMPERATURES = ("temperature_t1", "temperature_t2", "temperature_t3")


def _opener(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _unreadable(file: str, exc: Exception) -> IngestError:
    return IngestError(file, f"cannot read the file: {exc}")


class Layout:
    """Where the table is and how it is written: found from the file's first lines."""

    def __init__(self, path: Path):
        file = str(path)
        if not path.is_file():
            raise IngestError(file, "no such file")
        if path.stat().st_size == 0:
            raise IngestError(file, "the file is empty (0 bytes)")
        try:
            with _opener(path) as handle:
                head = [handle.readline(1 << 16) for _ in range(HEAD_LINES + 8)]
        except (OSError, EOFError, zlib.error) as exc:
            raise _unreadable(file, exc) from None
        head = [h for h in head if h]
        lines = [h.decode("latin-1").rstrip("\r\n") for h in head]
        found = None
        for number, line in enumerate(lines[:HEAD_LINES], 1):
            delimiter = "\t" if "\t" in line else ","
            names = [n.strip().strip('"').strip() for n in line.split(delimiter)]
            roles = {NAMES[n.lower()][0] for n in names if n.lower() in NAMES}
            if all(r in roles for r in REQUIRED):
                found = number, delimiter, names
                break
        if found is None:
            _not_records(file, lines)
            where = 2 if len(lines) >= 2 else 1
            names = lines[where - 1].split("\t") if len(lines) >= where else []
            present = {NAMES[n.strip().lower()][0] for n in names if n.strip().lower() in NAMES}
            missing = [
                SHOWN.get(r, r)
                for r in ("cycle", "test_time", "current", "voltage")
                if r not in present
            ]
            guess = sniff.looks_like("\n".join(lines[:3]), "maccor")
            if len(lines) < 2:
                guess = guess or " (the file ends before its column names)"
            raise IngestError(
                file,
                f"not a Maccor text export: line {where} lacks the column(s) "
                + ", ".join(f"'{n}'" for n in missing)
                + " (no line among the first ones names Maccor's record, cycle, test time, "
                "current and voltage columns: 'Rec#', 'Cyc#', 'Test (Sec)' or 'TestTime', "
                f"'Amps', 'Volts'){guess}",
                line=where,
            )
        self.header_line, self.delimiter, names = found
        # blank lines after the header (the newer layout writes one): the data starts after
        data = self.header_line
        while data < len(lines) and not lines[data].strip():
            data += 1
        self.skip = data  # lines before the first data line
        sample = [ln for ln in lines[data:] if ln.strip()]
        if not sample:
            raise IngestError(
                file, "the file has column names but no data rows", line=self.header_line + 1
            )
        width = len(sample[0].split(self.delimiter))
        self.padded = False
        while len(names) < width:  # a row ending with a tab the header line has not
            names.append("")
            self.padded = True
        self.names = names
        self.decimal_comma = self.delimiter == "\t" and any(
            _DECIMAL_COMMA.search(ln) for ln in sample[:10]
        )
        raw = b"".join(head[self.header_line - 1 :])
        self.encoding = text.decode_guess(raw)
        self.first_row = sample[0].split(self.delimiter)


def _not_records(file: str, lines: list[str]) -> None:
    """Refuse, saying what it is, a Maccor export that holds no time series: the statistics
    export (`[STATS]`, one row per cycle) and an impedance sweep's (FRA) export."""
    for number, line in enumerate(lines[:HEAD_LINES], 1):
        names = {n.strip().lower() for n in line.split("\t")}
        if {"cycle", "ah-in", "ah-out"} <= names:
            raise IngestError(
                file,
                "a Maccor statistics export (one row per cycle: 'Cycle', 'AH-IN', 'AH-OUT'), "
                "not the test's records: export the data points (Rec#, Cyc#, ...) instead",
                line=number,
            )
    if lines and "AC Impedance Test" in lines[0]:
        raise IngestError(
            file,
            "a Maccor AC impedance (FRA) export: an impedance sweep, not a time series of "
            "the test (the loader reads the test's data points)",
            line=1,
        )


def _roles(layout: Layout) -> dict[str, tuple[int, str]]:
    """role -> (position, unit) of the columns read; temperatures as temperature_t1..t3."""
    roles: dict[str, tuple[int, str]] = {}
    temperatures: list[tuple[int, str]] = []
    names = layout.names
    for position, name in enumerate(names):
        key = name.lower()
        if key in NAMES:
            role, unit = NAMES[key]
            roles.setdefault(role, (position, unit))
        elif _TEMP.match(name):
            temperatures.append((position, "degC"))
        elif _AUX.match(name):
            # `Aux #n` then ` Units`: a temperature input when its unit is C
            unit = ""
            if position + 1 < len(names) and names[position + 1].lower() == "units":
                row = layout.first_row
                unit = row[position + 1].strip() if position + 1 < len(row) else ""
            if unit.lower() in ("c", "°c", "degc"):
                temperatures.append((position, "degC"))
    for key, column in zip(_TEMPERATURES, temperatures, strict=False):
        roles[key] = column
    if "mamps" in {n.lower() for n in names} and roles.get("voltage", (0, ""))[1] == "V":
        # cellpy's maccor_txt_three: in the milli layout `Volts` holds millivolts
        position, _unit = roles["voltage"]
        if names[position].lower() == "volts":
            roles["voltage"] = (position, "mV")
    return roles


def _read_all(
    path: Path, layout: Layout, positions: list[int], numeric: frozenset[int] = frozenset()
) -> tuple[dict, list]:
    """The wanted columns, whole (pyarrow's CSV reader, no quoting in a tab file), and the
    malformed rows it met (their line and field count). The `numeric` columns are parsed as
    numbers by pyarrow (the fast path); when one holds a value that is not a number, or the
    file writes decimal commas, every column is read as text, for text.convert to convert and
    to name the first bad value."""
    if numeric and not layout.decimal_comma:
        try:
            return _read_columns(path, layout, positions, numeric)
        except _NotNumbers:
            pass
    return _read_columns(path, layout, positions, frozenset())


class _NotNumbers(Exception):
    """A column of the fast path holds a value that is not a number."""


def _read_columns(
    path: Path, layout: Layout, positions: list[int], numeric: frozenset[int]
) -> tuple[dict, list]:
    file = str(path)
    bad: list = []

    short: list[tuple[int, list[str]]] = []

    def on_invalid(row) -> str:
        fields = row.text.rstrip("\r\n").split(layout.delimiter)
        if layout.padded and row.actual_columns == row.expected_columns - 1:
            short.append((row.number, [*fields, ""]))  # no trailing tab on this row only
        else:
            bad.append((row.number, row.actual_columns, row.expected_columns, row.text))
        return "skip"

    names = [f"{i}:{n}" for i, n in enumerate(layout.names)]
    wanted = [names[p] for p in positions]
    try:
        with _opener(path) as handle:
            table = pacsv.read_csv(
                handle,
                read_options=pacsv.ReadOptions(
                    skip_rows=layout.skip,
                    column_names=names,
                    encoding=text.table_encoding(path, layout.encoding, layout.skip),
                    # a row short of the padding tab is put back by its line number, which
                    # pyarrow gives only when it reads with one thread
                    use_threads=not layout.padded,
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=layout.delimiter,
                    quote_char='"' if layout.delimiter == "," else False,
                    invalid_row_handler=on_invalid,
                ),
                convert_options=pacsv.ConvertOptions(
                    include_columns=wanted,
                    column_types={
                        names[p]: pa.float64() if p in numeric else pa.string() for p in positions
                    },
                    strings_can_be_null=True,
                ),
            )
    except (OSError, EOFError, zlib.error) as exc:
        raise _unreadable(file, exc) from None
    except pa.ArrowInvalid as exc:
        if numeric and "CSV conversion error" in str(exc):
            raise _NotNumbers from None
        raise IngestError(file, f"cannot parse the table: {exc}") from None
    except UnicodeDecodeError as exc:
        raise IngestError(
            file, f"the file is not {layout.encoding.upper()} text throughout: {exc.reason}"
        ) from None
    columns = {p: table.column(names[p]) for p in positions}
    for number, fields in short:
        at = number - layout.skip - 1  # its place among the rows (those before included)
        at = min(max(at, 0), len(columns[positions[0]]) if positions else 0)
        for p in positions:
            array = columns[p].combine_chunks()
            value = (fields[p].strip() if p < len(fields) else None) or None
            if p in numeric and value is not None:
                try:
                    value = float(value)
                except ValueError:
                    raise _NotNumbers from None
            columns[p] = pa.concat_arrays(
                [array.slice(0, at), pa.array([value], array.type), array.slice(at)]
            )
    return columns, bad


def _malformed(path: Path, layout: Layout, bad: list, roles: dict) -> IngestError:
    file = str(path)
    line, actual, expected, written = bad[0]
    with _opener(path) as handle:
        body = handle.read()
    if line is None:  # pyarrow's threads number no rows: find the row's own line
        target = written.rstrip("\r\n").encode(layout.encoding, errors="replace")
        for number, raw in enumerate(body.split(b"\n"), 1):
            if number > layout.skip and raw.rstrip(b"\r") == target:
                line = number
                break
    ends = body.endswith(b"\n")
    last = body.count(b"\n") + (0 if ends else 1)
    if actual < expected and line == last:
        for role in REQUIRED:
            position, _unit = roles[role]
            if position >= actual:
                return IngestError(
                    file,
                    "no value (the file looks truncated): cut the partial last line off to "
                    "load the rest",
                    line=line,
                    column=layout.names[position],
                )
    return IngestError(
        file, f"malformed row: expected {expected} fields, found {actual}", line=line
    )


def _duration(file: str, values: pa.Array, header: str, line: int, comma: bool) -> pa.Array:
    """`0d 01:02:03.5` -> seconds; a plain number (the newer layout's TestTime) -> minutes."""
    values = pc.utf8_trim(values, " \t\"'")
    values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
    if comma:
        values = pc.replace_substring(values, ",", ".")
    clock = pc.match_substring_regex(values, _DURATION)
    plain = pc.match_substring_regex(values, r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
    ok = pc.or_kleene(clock, plain)
    if not pc.all(pc.fill_null(ok, True)).as_py():
        flags = ok.to_pylist()
        for i, value in enumerate(values.to_pylist()):
            if value is not None and flags[i] is False:
                raise IngestError(
                    file,
                    f"value '{value}' is not a duration (Maccor writes '0d 00:00:00.0000') "
                    "or a number of minutes",
                    line=line + i,
                    column=header,
                )
    parts = pc.extract_regex(pc.if_else(clock, values, pa.scalar("0d 0:0:0")), _DURATION)
    seconds = pc.add(
        pc.add(
            pc.multiply(pc.cast(pc.struct_field(parts, "d"), pa.float64()), 86400.0),
            pc.multiply(pc.cast(pc.struct_field(parts, "h"), pa.float64()), 3600.0),
        ),
        pc.add(
            pc.multiply(pc.cast(pc.struct_field(parts, "m"), pa.float64()), 60.0),
            pc.cast(pc.struct_field(parts, "s"), pa.float64()),
        ),
    )
    minutes = pc.multiply(pc.cast(pc.if_else(plain, values, pa.scalar("0")), pa.float64()), 60.0)
    out = pc.if_else(clock, seconds, minutes)
    return pc.if_else(pc.is_null(values), pa.scalar(None, pa.float64()), out)


# DPt Time as written -> (pattern, strptime format, hour given in 12-hour form)
_DATE_FORMATS = (
    (r"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2}$", "%m/%d/%Y %H:%M:%S"),
    (r"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M$", "%m/%d/%Y %I:%M:%S %p"),
    (r"^\d{1,2}-[A-Za-z]{3}-\d{2} \d{1,2}:\d{2}:\d{2} [AP]M$", "%d-%b-%y %I:%M:%S %p"),
)


def _date_time(file: str, values: pa.Array, header: str, line: int) -> pa.Array:
    """DPt Time -> ISO text without an offset (the zone is the user's to give). A date written
    without its time (MIMS does so at midnight, as BEEP notes) is midnight. Parsed and written
    in Arrow (pyarrow.compute strptime/strftime), not value by value."""
    values = pc.utf8_trim(values, " \t\"'")
    values = pc.if_else(
        pc.match_substring_regex(values, r"^\d{1,2}/\d{1,2}/\d{4}$"),
        pc.binary_join_element_wise(values, pa.scalar("00:00:00"), " "),
        values,
    )
    given = pc.drop_null(pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values))
    first = given[0].as_py() if len(given) else None
    pattern, fmt = next(
        ((p, f) for p, f in _DATE_FORMATS if first and re.match(p, first)), (None, None)
    )
    if fmt is None:
        raise IngestError(
            file,
            f"cannot read the date-time '{first}' (Maccor writes MM/DD/YYYY hh:mm:ss)",
            line=line,
            column=header,
        )
    ok = pc.match_substring_regex(values, pattern)
    stamps = pc.strptime(values, format=fmt, unit="s", error_is_null=True)
    # a value of another form, or of the form but no date (13/45/2024): its line, once
    ok = pc.and_kleene(ok, pc.or_kleene(pc.is_valid(stamps), pc.is_null(values)))
    if not pc.all(pc.fill_null(ok, True)).as_py():
        i = pc.index(pc.fill_null(ok, True), False).as_py()
        raise IngestError(
            file,
            f"value '{values[i].as_py()}' is not a date-time like the file's first ('{first}')",
            line=line + i,
            column=header,
        )
    # the cast writes `YYYY-MM-DD hh:mm:ss` as strftime's %Y-%m-%dT%H:%M:%S does, the T a
    # space, at a tenth of its cost
    return pc.replace_substring(pc.cast(stamps, pa.string()), " ", "T", max_replacements=1)


def _date_time_fast(values: pa.Array) -> pa.Array | None:
    """DPt Time written `MM/DD/YYYY hh:mm:ss` throughout, zero-padded (MIMS's usual form), as
    naive timestamps, read in numpy (staging.iso_text): the instants _date_time's text names,
    quoted in messages as its text is (staging.absolute_time); None for any other chunk, or
    one with a value that is no date (13/45/2024): _date_time reads it, or names that value."""
    return staging.wall_clock(values, month_first=True, unit="s", between=" ", fraction=False)


def _state(values: pa.Array) -> pa.Array:
    return pc.utf8_upper(pc.utf8_trim_whitespace(values))


def _is(state: pa.DictionaryArray, word: str) -> np.ndarray:
    """Where the state (dictionary-encoded: each word compared once) is `word` (no state:
    none)."""
    where = pc.take(pc.equal(state.dictionary, word), state.indices)
    return pc.fill_null(where, False).to_numpy(zero_copy_only=False)


def _cumulative(value: np.ndarray, direction: np.ndarray, step: np.ndarray, cycle: np.ndarray):
    """A counter that restarts at every step (Maccor's Amp-hr, Watt-hr) -> the cumulative
    (charge, discharge) counters since the file's first sample: each step's last value is
    added to the direction of its state (+1 charge, -1 discharge, 0 neither)."""
    v = np.abs(np.nan_to_num(value, nan=0.0))
    n = len(v)
    start = np.ones(n, dtype=bool)
    if n > 1:
        start[1:] = (step[1:] != step[:-1]) | (cycle[1:] != cycle[:-1]) | (v[1:] < v[:-1])
        start[1:] |= direction[1:] != direction[:-1]
    segment = np.cumsum(start) - 1
    last = np.r_[np.flatnonzero(start)[1:] - 1, n - 1] if n else np.array([], dtype=int)
    sense = direction[last]
    final = v[last]
    charge_before = np.r_[0.0, np.cumsum(np.where(sense > 0, final, 0.0))[:-1]]
    discharge_before = np.r_[0.0, np.cumsum(np.where(sense < 0, final, 0.0))[:-1]]
    here = sense[segment]
    charge = charge_before[segment] + np.where(here > 0, v, 0.0)
    discharge = discharge_before[segment] + np.where(here < 0, v, 0.0)
    return charge, discharge


def read(
    path: Path, options: ReadOptions, source: HashingReader | None = None
) -> tuple[FileInfo, Chunks]:
    """The Reader contract (readers.Reader): the file's facts now (errors early), then
    normalised chunks of STAGED_COLUMNS plus `line`. The file is read by its path; `source`
    (the loader's hashing stream) is left unread and hashes the file when asked."""
    file = str(path)
    layout = Layout(path)
    roles = _roles(layout)
    names = layout.names
    positions = sorted({p for p, _u in roles.values()})
    numeric = frozenset(
        p
        for role, (p, unit) in roles.items()
        if role not in ("state", "date_time") and unit != "duration"
    )
    texts, bad = _read_all(path, layout, positions, numeric)
    if bad:
        raise _malformed(path, layout, bad, roles)
    n = len(texts[positions[0]]) if positions else 0
    first = layout.skip + 1  # the first data line
    if n == 0:
        raise IngestError(file, "the file has column names but no data rows", line=first)
    comma = layout.decimal_comma

    def column(role: str, quantity: str, kind: str = "number") -> pa.Array:
        position, unit = roles[role]
        header = names[position]
        if kind == "number":
            factor, offset = text.conversion(file, header, quantity, unit, layout.header_line)
        else:
            factor, offset = 1.0, 0.0
        values = texts[position]
        if pa.types.is_floating(values.type):  # parsed as numbers already (the fast path)
            if kind == "integer":
                whole = pc.and_(
                    pc.equal(pc.floor(values), values), pc.less(pc.abs(values), 2.0**63)
                )
                if pc.all(whole).as_py() in (True, None):
                    return pc.cast(values, pa.int64())
                at = int(np.flatnonzero(~np.asarray(pc.fill_null(whole, True)))[0])
                raise IngestError(
                    file,
                    f"value '{values[at].as_py()}' is not an integer",
                    line=first + at,
                    column=header,
                )
            if factor != 1:
                values = pc.multiply(values, factor)
            return pc.add(values, offset) if offset else values
        spec = text.Column(header, position, quantity, unit, factor, offset, kind)
        return text.convert(file, values, spec, first, comma)

    def missing(values: pa.Array, role: str) -> None:
        if values.null_count:
            at = int(np.flatnonzero(np.asarray(pc.is_null(values)))[0])
            truncated = " (the file looks truncated)" if at == n - 1 else ""
            raise IngestError(
                file, f"no value{truncated}", line=first + at, column=names[roles[role][0]]
            )

    out: dict[str, pa.Array] = {}
    original: dict[str, str] = {}
    for role, quantity in (("test_time", "test_time"), ("step_time", "step_time")):
        if role not in roles:
            continue
        position, unit = roles[role]
        if unit == "duration":
            out[quantity] = _duration(file, texts[position], names[position], first, comma)
        else:
            out[quantity] = column(role, quantity)
        if unit != "s":
            original[staging.QUANTITIES[quantity].column] = (
                "d hh:mm:ss or min" if unit == "duration" else unit
            )
    out["voltage"] = column("voltage", "voltage")
    current = column("current", "current")
    for role, values in (
        ("test_time", out["test_time"]),
        ("voltage", out["voltage"]),
        ("current", current),
    ):
        missing(values, role)
    for role, quantity in (
        ("record", "record_index"),
        ("cycle", "cycle_count"),
        ("step", "step_id"),
    ):
        if role in roles:
            out[quantity] = column(role, quantity, "integer")
            if role == "cycle":
                missing(out[quantity], role)
    if roles["voltage"][1] != "V":
        original["voltage_volt"] = roles["voltage"][1]
    if roles["current"][1] != "A":
        original["current_ampere"] = roles["current"][1]

    # the sign of the current, from the state column
    amps = current.to_numpy(zero_copy_only=False)
    if "state" in roles:
        state = staging.per_distinct(_state, texts[roles["state"][0]], encoded=True)
        discharge = _is(state, "D")
        positive = np.flatnonzero(discharge & (amps > 0))
        negative = np.flatnonzero(discharge & (amps < 0))
        if positive.size and negative.size:
            # both on discharge rows: which rows are signed cannot be told
            odd = negative if negative.size <= positive.size else positive
            word = "negative" if odd is negative else "positive"
            raise IngestError(
                file,
                f"{names[roles['current'][0]]} is {word} on this discharge (State D) row but "
                f"of the other sign on {max(positive.size, negative.size)} others: the export "
                "signs some discharge rows and not others (export the current unsigned, as "
                "Maccor does by default)",
                line=first + int(odd[0]),
                column=names[roles["current"][0]],
            )
        if positive.size:
            amps = np.where(discharge, -amps, amps)
        direction = np.where(_is(state, "C"), 1, np.where(discharge, -1, 0))
    else:
        direction = np.sign(np.nan_to_num(amps)).astype(int)
    out["current"] = pa.array(amps, pa.float64())

    # Amp-hr and Watt-hr restart at each step: the cumulative counters
    step = out["step_id"].to_numpy(zero_copy_only=False) if "step_id" in out else np.zeros(n)
    cycle = out["cycle_count"].to_numpy(zero_copy_only=False)
    for role, quantity, (charge_key, discharge_key) in (
        ("capacity", "charging_capacity", ("charging_capacity", "discharging_capacity")),
        ("energy", "charging_energy", ("charging_energy", "discharging_energy")),
    ):
        if role not in roles:
            continue
        values = column(role, quantity).to_numpy(zero_copy_only=False)
        charge, discharge_total = _cumulative(values, direction, step, cycle)
        out[charge_key] = pa.array(charge)
        out[discharge_key] = pa.array(discharge_total)
        unit = roles[role][1]
        if unit not in ("Ah", "Wh"):
            original[staging.QUANTITIES[charge_key].column] = unit

    for key in _TEMPERATURES:
        if key in roles:
            values = column(key, key)
            # below absolute zero: an input with no sensor (Maccor writes about -2500)
            out[key] = pc.if_else(pc.less(values, -273.15), pa.scalar(None, pa.float64()), values)

    if "internal_resistance" in roles:
        out["internal_resistance"] = column("internal_resistance", "internal_resistance")

    if options.time_zone and "date_time" in roles:
        position = roles["date_time"][0]
        written = texts[position]
        stamps = _date_time_fast(written)
        if stamps is not None:
            out["date_time"] = stamps
        elif not pc.any(pc.match_substring_regex(written, r"^\s*\d{1,2}:\d{2}:\d{2}\s*$")).as_py():
            out["date_time"] = _date_time(file, written, names[position], first)
        # else a time of day without its date (a continuation file): absolute time is the
        # session's started_at plus the test time

    # battery-data-toolkit's duplicate rule (test time to 10 ms, voltage and current repeat),
    # within one cycle and step: a step's end record may repeat the last sample of the step
    # before it (MIMS writes one at the end of a test)
    t = out["test_time"].to_numpy(zero_copy_only=False)
    rounded = np.round(t - t[0], 2)
    kept = np.ones(n, dtype=bool)
    if n > 1 and not (np.diff(rounded) > 0).all():
        # only rows whose test time occurs more than once can repeat a sample
        _values, where, counts = np.unique(rounded, return_inverse=True, return_counts=True)
        rows = np.flatnonzero(counts[where] > 1)
        keys = pa.table(
            {
                "t": rounded[rows],
                "v": out["voltage"].take(pa.array(rows)),
                "i": amps[rows],
                "c": cycle[rows],
                "s": step[rows],
                "n": rows,
            }
        )
        first_seen = keys.group_by(["t", "v", "i", "c", "s"]).aggregate([("n", "min")])
        kept[rows] = False
        kept[first_seen.column("n_min").to_numpy()] = True
    duplicated = ~kept
    lines = first + np.arange(n)
    impedance = np.zeros(n, dtype=bool)
    if "state" in roles:
        # an impedance sweep written into the export (State FRA): its points share one record
        # number and a stopped test clock; they are no time series and are left out
        impedance = _is(state, "FRA")
        duplicated &= ~impedance
        kept |= impedance
        kept &= ~impedance
    if (~kept).any():
        keep = pa.array(kept)
        out = {k: pc.filter(v, keep) for k, v in out.items()}
        lines = lines[kept]

    read_roles = {p for p, _u in roles.values()}
    ignored = [n_ for i, n_ in enumerate(names) if n_ and i not in read_roles]
    columns = [
        staging.HeaderColumn(
            names[roles[r][0]], roles[r][0], staging.QUANTITIES[q], roles[r][1], 1.0, 0.0
        )
        for r, q in (
            ("record", "record_index"),
            ("cycle", "cycle_count"),
            ("step", "step_id"),
            ("test_time", "test_time"),
            ("step_time", "step_time"),
            ("current", "current"),
            ("voltage", "voltage"),
            ("capacity", "charging_capacity"),
            ("energy", "charging_energy"),
            *((k, k) for k in _TEMPERATURES),
            ("internal_resistance", "internal_resistance"),
        )
        if r in roles
    ]
    info = FileInfo(
        columns=columns,
        ignored=ignored,
        original_units=original,
        cycler_software=CYCLER,
        rows_left_out=int(duplicated.sum()) + int(impedance.sum()),
    )
    if impedance.any():
        at = first + np.flatnonzero(impedance)
        info.ignored.append(
            f"State FRA rows: {int(impedance.sum())} impedance points (lines {at[0]}-{at[-1]}), "
            "left out"
        )
    if "record_index" in out:
        records = out["record_index"].to_numpy(zero_copy_only=False)
        info.record_reader = lambda: records
    if "date_time" in out:
        info.assumed_time_zone = options.time_zone
    if duplicated.any():
        dropped = first + np.flatnonzero(duplicated)
        info.findings.append(
            Finding(DUPLICATE_SAMPLE, int(duplicated.sum()), [int(x) for x in dropped[:5]])
        )
        info.rejects += [(int(x), [DUPLICATE_SAMPLE.name]) for x in dropped[:1000]]

    def chunks() -> Iterator[tuple[int, pa.Table]]:
        total = len(lines)
        for start in range(0, total, CHUNK_ROWS):
            piece = {k: v.slice(start, CHUNK_ROWS) for k, v in out.items()}
            line = int(lines[start])
            normalised = staging.normalise_quantities(file, piece, line, options)
            yield (
                line,
                normalised.set_column(0, "line", pa.array(lines[start : start + CHUNK_ROWS])),
            )

    return info, chunks()
