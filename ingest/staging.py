"""What every reader shares, and the loader after them: the quantities a cycler file gives and
the units each may be written in; the staged table every reader yields (STAGED_COLUMNS plus
`line`), normalised to the schema's conventions (SI units, current positive when it charges,
absolute time in UTC, record indexes numbered from the file's position when it has none); the
options a reader is given, the facts it returns (`FileInfo`), and the stream the loader hashes
the file's bytes on (`HashingReader`).

A reader (ingest/bdf.py, ingest/readers/*.py; the contract is `readers.Reader`) maps its file's
columns onto QUANTITIES, converts them, and hands each chunk to `normalise`; nothing here knows
a file format.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
        "mas": (1e-3 / 3600, 0),  # Neware's mA·s (Chg. Cap.(mAs))
        "c": (1 / 3600, 0),
        "coulomb": (1 / 3600, 0),
    },
    "energy": {
        "wh": (1, 0),
        "watt_hour": (1, 0),
        "mwh": (1e-3, 0),
        "milliwatt_hour": (1e-3, 0),
        "kwh": (1e3, 0),
        "ws": (1 / 3600, 0),
        "mws": (1e-3 / 3600, 0),  # Neware's mW·s (Chg. Energy(mWs))
        "j": (1 / 3600, 0),
        "joule": (1 / 3600, 0),
    },
    "temperature": {
        "degc": (1, 0),
        "°c": (1, 0),
        "ºc": (1, 0),  # the ordinal sign typed for the degree sign
        "\ufffdc": (1, 0),  # a degree sign lost to a wrong code page (EC-Lab °C re-saved)
        "celsius": (1, 0),
        "c": (1, 0),
        "k": (1, -273.15),
        "kelvin": (1, -273.15),
    },
    "count": {"1": (1, 0), "": (1, 0), "dimensionless": (1, 0)},
    "resistance": {
        "ohm": (1, 0),
        "ohms": (1, 0),
        "\u03c9": (1, 0),  # the sign, as some exports write it
        "\u2126": (1, 0),
        "mohm": (1e-3, 0),
        "milliohm": (1e-3, 0),
        "m\u03c9": (1e-3, 0),
        "m\u2126": (1e-3, 0),
    },
}
SI_UNIT = {
    "voltage": "V",
    "current": "A",
    "time": "s",
    "charge": "Ah",
    "energy": "Wh",
    "temperature": "degC",
    "count": "1",
    "resistance": "ohm",
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
        # the cycler's own resistance reading (schema version 5), stored as the file writes it
        Quantity("internal_resistance", "internal_resistance_ohm", "resistance"),
    )
}


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
    "internal_resistance_ohm",
)
INTEGER_COLUMNS = {"record_index", "cycle_count", "step_count", "step_id"}
TEXT_COLUMNS = {"step_type"}


@dataclass(frozen=True)
class HeaderColumn:
    header: str
    position: int
    quantity: Quantity
    unit: str  # as written in the file
    factor: float
    offset: float


@dataclass
class ReadOptions:
    discharge_positive: bool = False  # the source counts discharge current as positive
    time_zone: str | None = None  # IANA zone of a Date Time column without offset
    started_at: float | None = None  # Unix seconds: absolute time when the file has none
    block_size: int = 2 << 20  # bytes of CSV per chunk: memory is a few of these
    # Date Time may be written MM/DD/YYYY hh:mm:ss[.fff] (Arbin MITS Pro, Maccor: US order)
    month_first_dates: bool = False
    # the file's local clock across chunks (absolute_time): set by the loader per file
    clock: Clock = field(default_factory=lambda: Clock())


def no_record_indexes() -> np.ndarray:
    """The record indexes of a file without its own: none (`normalise` numbers its rows by
    position, which never repeat)."""
    return np.array([], dtype=np.int64)


@dataclass
class FileInfo:
    """What a reader found in the file before its rows: the one shape every reader returns."""

    columns: list[HeaderColumn]
    ignored: list[str]  # the file's column names no quantity is read from
    assumed_time_zone: str | None = None
    original_units: dict[str, str] = field(default_factory=dict)
    # what the reader found before the rows reached the checker (quality.Finding), and the
    # rows it left out for them: (file line, [rule names]); they join the quality report
    findings: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the reader did, for the report
    rejects: list[tuple[int, list[str]]] = field(default_factory=list)
    rows_left_out: int = 0
    cycler_software: str | None = None
    # source_file.file_format when the file is not the reader's usual one (a workbook, a
    # binary); None: the reader's FILE_FORMAT
    file_format: str | None = None
    # the file's record indexes, whole: the duplicate rule's slow path (quality.Checker)
    record_reader: Callable[[], np.ndarray] = no_record_indexes
    # the names among `ignored` that are quantities of the format the schema does not store
    # (BDF's Power / W): the report names them as such
    not_stored: list[str] = field(default_factory=list)
    # the file has no cycle counter: the loader numbers the cycles from the current
    # (ingest/cycles.py) and the report says so
    derive_cycles: bool = False
    cycles_why: str = "the file has none (BDF only recommends it)"  # the report's words

    def original_units_json(self) -> str | None:
        return json.dumps(self.original_units, sort_keys=True) if self.original_units else None


# what a reader yields after its FileInfo: (first file line, normalised chunk)
Chunks = Iterator[tuple[int, pa.Table]]


def compressed(path: Path) -> bool:
    """A gzip file, as the readers tell it: by its name (pyarrow decompresses `.gz` by name)."""
    return path.suffix.lower() == ".gz"


class _Counted(io.RawIOBase):
    """The raw file, its bytes counted and hashed as they pass (a .gz file's own bytes)."""

    def __init__(self, path: Path):
        super().__init__()
        self.file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the owner
        self.sha256 = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.file.readinto(buffer)
        if n:
            self.sha256.update(memoryview(buffer)[:n])
            self.count += n
        return n or 0


class HashingReader(io.RawIOBase):
    """The file's content as pyarrow reads it, hashed (SHA-256) and counted on the way: the
    content hash costs no second pass over the file. The content of a `.gz` file is its
    decompressed bytes (a compressed and a plain copy of one file are the same file), read
    here: `compressed_sha256` is the hash of the gzip bytes themselves. `bytes_read` counts
    the file's own bytes (the progress bar's and the row estimate's measure)."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = path
        self._raw = _Counted(path)
        self._file = gzip.GzipFile(fileobj=self._raw, mode="rb") if compressed(path) else self._raw
        self.sha256 = hashlib.sha256()
        self._lock = threading.Lock()
        self._released = False

    @property
    def bytes_read(self) -> int:
        return self._raw.count

    @property
    def compressed_sha256(self) -> str | None:
        return self._raw.sha256.hexdigest() if self._file is not self._raw else None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        # pyarrow reads ahead on its own I/O threads: a read still under way when a refused
        # load releases the file ends first, later ones find the end (no thread is left in
        # here when the command exits: issue 22, item 8)
        with self._lock:
            if self._released:
                return b""
            try:
                data = self._file.read(size)
            except EOFError as exc:  # a .gz cut short: an OSError, as the readers expect
                raise OSError(f"{self.path.name}: the gzip stream ends early ({exc})") from None
            self.sha256.update(data)
            return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def hexdigest(self) -> str:
        """The hash of the whole content (reads what pyarrow did not, if anything)."""
        while self.read(1 << 20):
            pass
        return self.sha256.hexdigest()

    def close(self) -> None:
        # A reader wrapped around this stream closes it when it is done; the file stays
        # open for hexdigest() until the loader calls release().
        super().close()

    def release(self) -> None:
        with self._lock:  # waits for a read-ahead under way
            self._released = True
            self._raw.file.close()
        super().close()


def content_sha256(path: Path) -> str:
    """SHA-256 of the file's content: a .gz file's decompressed bytes (as HashingReader)."""
    digest = hashlib.sha256()
    opener = gzip.open if compressed(path) else open
    with opener(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# the words tools write for a step type (BDF files that keep the cycler's words, e.g. BatMo's
# charge/discharge/rest; BDF's upper-case codes CC_CHG, CC_DCH...) -> the schema's step_type;
# a value already in the schema's vocabulary passes, an unknown one is left for the rule
# ck_timeseries_point_step_type_enum to name (docs/loading.md)
STEP_WORDS = {
    "charge": "cccv_charge",  # a charge whose control mode is not said
    "chg": "cccv_charge",
    "discharge": "cc_discharge",
    "dchg": "cc_discharge",
    "dch": "cc_discharge",
    "cc_chg": "cc_charge",
    "cv_chg": "cv_charge",
    "cccv_chg": "cccv_charge",
    "cc_cv_chg": "cccv_charge",
    "cc_dch": "cc_discharge",
    "cc_dchg": "cc_discharge",
    "cv_dch": "cv_discharge",
    "cv_dchg": "cv_discharge",
    "cp_dch": "cp_discharge",
    "cp_dchg": "cp_discharge",
    "relax": "rest",
    "relaxation": "rest",
    "pause": "rest",
    "ocv_rest": "ocv",
    "impedance": "eis",
    "peis": "eis",
    "geis": "eis",
    "hppc": "pulse",
    "drive_cycle": "dynamic",
    "profile": "dynamic",
}


@cache
def _step_vocabulary() -> tuple[pa.Array, pa.Array]:
    """(keys, values): STEP_WORDS, and each of the schema's step_type values in any case."""
    from connection import schema

    words = {e.value: e.value for e in schema.model().enum_map["step_type"].values}
    words.update(STEP_WORDS)
    return pa.array(list(words)), pa.array(list(words.values()))


def per_distinct(
    function: Callable[[pa.Array], pa.Array], values: pa.Array, encoded: bool = False
) -> pa.Array:
    """`function(values)` computed once per distinct value and spread back over the rows (a
    column of a few words, a step type or a state, repeated on every row); `function` must
    map each value by itself alone, NULL to NULL. `values` may be dictionary-encoded already
    (pc.dictionary_encode: a column that several such functions read); with `encoded`, so is
    the result (for the next)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.DictionaryArray):
        values = pc.dictionary_encode(values)
    mapped = function(values.dictionary)
    if encoded:
        return pa.DictionaryArray.from_arrays(values.indices, mapped)
    return pc.take(mapped, values.indices)


def step_types(labels: pa.Array) -> pa.Array:
    """A file's step type words -> the schema's values where STEP_WORDS or the schema knows
    them (`Charge` -> cccv_charge, `CC_DCH` -> cc_discharge, ` REST ` -> rest); other words
    unchanged, for the step_type rule to quote as the file writes them. Per distinct word."""
    return per_distinct(_step_types, labels)


def _step_types(labels: pa.Array) -> pa.Array:
    keys, values = _step_vocabulary()
    key = pc.utf8_lower(pc.replace_substring_regex(pc.utf8_trim_whitespace(labels), r"[\s-]+", "_"))
    return pc.coalesce(pc.take(values, pc.index_in(key, value_set=keys)), labels)


def normalise(
    file: str,
    table: pa.Table,
    first_line: int,
    by_key: dict[str, HeaderColumn],
    options: ReadOptions,
) -> pa.Table:
    """A chunk of the file's columns (`by_key`: quantity -> its column in `table`, with the
    factor and offset to SI) -> the staged table: `line`, then STAGED_COLUMNS, absent ones NULL.
    Current is negated for `options.discharge_positive`; recorded_at comes from Unix time,
    Date Time or the session's start plus test time; without a record index, the rows are
    numbered by their position in the file (the loader continues the session's numbering)."""
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
    if "step_type" in out:
        out["step_type"] = step_types(out["step_type"])
    out["recorded_at"] = absolute_time(file, out, first_line, options)
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


def normalise_quantities(
    file: str, out: dict[str, pa.Array], first_line: int, options: ReadOptions
) -> pa.Table:
    """`normalise` for columns a reader has converted to SI already, keyed by quantity."""
    by_key = {q: HeaderColumn(q, i, QUANTITIES[q], "", 1.0, 0.0) for i, q in enumerate(out)}
    return normalise(file, pa.table(out), first_line, by_key, options)


def absolute_time(file: str, out: dict, first_line: int, options: ReadOptions) -> pa.Array:
    """Unix seconds of each row: its Unix time, its Date Time (with an offset, or local in
    `options.time_zone`, resolved across clock changes by the test time in
    `out["test_time_second"]` when there is one: `local_seconds`), or the session's start plus
    its test time. Date Time is text, or naive timestamps a reader has read from its own form
    of wall-clock text (quoted in messages as ISO text: `_quoted`)."""
    if "unix_time_second" in out:
        return out["unix_time_second"]
    if "date_time" in out:
        text = written = out["date_time"]  # messages quote the line's own text
        if pa.types.is_timestamp(text.type):
            stamps = text  # naive timestamps: the reader has read the wall-clock text itself
        else:
            # every value written alike, fixed width, no offset (the usual file): in numpy
            stamps = wall_clock(text, options.month_first_dates)
        has_offset = False
        if stamps is None:
            if options.month_first_dates:
                text = _iso_from_month_first(text)
            has_offset = pc.any(pc.match_substring_regex(text, r"(Z|[+-]\d\d:?\d\d)$")).as_py()
        if not has_offset and not options.time_zone:
            raise IngestError(
                file,
                "Date Time holds local times without an offset: say which zone with "
                "--time-zone (e.g. Europe/Berlin); it is recorded in source_file",
                line=first_line,
                column="Date Time",
            )
        try:
            if stamps is None:
                kind = pa.timestamp("us", "UTC") if has_offset else pa.timestamp("us")
                stamps = pc.cast(text, kind)
        except pa.ArrowInvalid:
            line, _ = _first_bad_time(text, has_offset)
            value = written[line].as_py()
            example = "2024-10-27T02:30:00+01:00" if has_offset else "2024-10-27 02:30:00"
            raise IngestError(
                file,
                f"cannot read Date Time '{value}' as a date and time (e.g. {example})",
                line=first_line + line,
                column="Date Time",
            ) from None
        if has_offset:
            micros = pc.cast(pc.cast(stamps, pa.timestamp("us")), pa.int64())
            return pc.divide(micros, 1e6)
        test_time = out.get("test_time_second")
        # a blank or `NA` Date Time is NULL, in any zone: the row is kept without an absolute
        # time, for the not-null rule of recorded_at to name (quality.py)
        return pa.array(
            local_seconds(
                stamps,
                options.time_zone,
                None if test_time is None else _floats(test_time),
                options.clock,
                first_line,
                written,
            ),
            from_pandas=True,
        )
    if options.started_at is None:
        raise IngestError(
            file,
            "no absolute time (Unix Time / s or Date Time) and the session has no start time: "
            "give the session's started_at (in the sidecar, ISO 8601 with an offset)",
        )
    return pc.add(out["test_time_second"], options.started_at)


def _floats(array) -> np.ndarray:
    """An Arrow array of numbers as float64, NULL as NaN."""
    return pc.fill_null(pc.cast(array, pa.float64()), np.nan).to_numpy(zero_copy_only=False)


# ------------------------------------------------------------ local wall-clock time -> UTC

# a jump of recorded_at - test_time this close to a whole hour is a clock change, not a pause
JUMP_TOLERANCE = 120.0  # seconds


@dataclass
class ClockJump:
    """Where a file's local clock jumps by whole hours while its test time runs on."""

    line: int
    seconds: float  # recorded_at - test_time after, minus before
    value: str  # the line's own Date Time text
    before: str  # the Date Time text of the sample before it


@dataclass
class Clock:
    """A file's local clock, carried across its chunks: how far recorded_at is from the test
    time (the tie-breaker of an ambiguous or nonexistent local time at a chunk's start), the
    samples resolved so, and where the clock jumps by whole hours (a finding: the loader turns
    `jumps` into the report's clock_jump)."""

    offset: float | None = None  # recorded_at - test_time of the last sample with both
    text: str | None = None  # the Date Time text of that sample
    resolved: int = 0  # local times that were ambiguous or nonexistent, resolved
    jumps: list[ClockJump] = field(default_factory=list)
    jump_count: int = 0


def zone_error(zone: str) -> str | None:
    """Why `zone` is not an IANA time zone the loader can use (None when it is)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
        pc.assume_timezone(pa.array([0], pa.timestamp("us")), zone)
    except (ZoneInfoNotFoundError, ValueError, pa.ArrowInvalid) as exc:
        return f"unknown --time-zone '{zone}' ({exc}); an IANA name such as Europe/Berlin or UTC"
    return None


def local_seconds(
    stamps: pa.Array,
    zone: str,
    test_time: np.ndarray | None,
    clock: Clock,
    first_line: int = 2,
    text: pa.Array | None = None,
) -> np.ndarray:
    """Wall-clock times (naive timestamps) in `zone` -> Unix seconds, vectorised.

    A local time in the autumn's repeated hour has two readings, one in the spring's gap
    none; each such sample gets the two candidates `wall - offset` for the zone's offsets
    before and after the change, and the one whose `recorded_at - test_time` matches that of
    the nearest sample before it that was not in doubt (carried across chunks by `clock`;
    after it, when the file starts in doubt) is taken: the cycler's test time is monotonic, so
    `recorded_at - test_time` stays constant across the change and recorded_at never steps
    back where test time steps forward. Without test time the repeated hour is read first as
    the earlier reading, then, once the wall clock has stepped back, as the later one; a gap's
    time with the offset before the change.

    Where `recorded_at - test_time` then still jumps by whole hours (the zone given is not the
    one the clock kept, e.g. --time-zone UTC on a file in Europe/Berlin's time), the jump is
    recorded in `clock.jumps` with its line and text."""
    wall = _micros(stamps)
    if zone in _UTC:  # no offset, no change: each wall-clock time is its instant
        seconds = wall / 1e6
    else:
        before, after = _readings(wall, zone)
        seconds = before / 1e6
        doubt = (before != after) & ~np.isnan(before)  # a NULL time (NaN) is in no doubt
        if doubt.any():  # a repeated or missing local time: resolved, still columnar
            seconds = _resolved(wall, before / 1e6, after / 1e6, doubt, test_time, clock)
    if test_time is not None and len(seconds):
        _note_jumps(seconds, test_time, clock, first_line, text)
    return seconds


def _micros(array: pa.Array) -> np.ndarray:
    """µs since the epoch, int64; float64 with NaN where the array holds NULL (a blank or
    `NA` Date Time)."""
    return pc.cast(pc.cast(array, pa.timestamp("us")), pa.int64()).to_numpy(zero_copy_only=False)


# a local time is its instant plus the zone's offset, which is between -12 h and +14 h
_WIDEST = (14 * 3600 * 10**6, 12 * 3600 * 10**6)  # µs


def _offsets(instants: np.ndarray, zone: str) -> np.ndarray:
    """The zone's UTC offset (µs) at each instant (µs since the epoch)."""
    aware = pa.array(instants, pa.timestamp("us", zone))
    return _micros(pc.local_timestamp(aware)) - instants


_UTC = frozenset({"UTC", "Etc/UTC"})


def _readings(wall: np.ndarray, zone: str) -> tuple[np.ndarray, np.ndarray]:
    """The instants (µs) a wall-clock time (µs) may be in `zone`: read with the offset before
    and with the offset after a change. Every instant that reads as `wall` lies within
    [wall - 14 h, wall + 12 h], a window no two changes share, so the zone's offsets at its
    ends are the only candidates: where they agree, both readings are the one instant; else
    a reading counts when the zone has its offset at the instant it names. Both count in the
    repeated hour, neither in the gap (there both are kept: the clock kept the old offset or
    took the new one early)."""
    if zone in _UTC:  # no offset, no change: each wall-clock time is its instant
        return wall, wall.copy()
    if wall.dtype.kind == "f":  # NULL times (NaN): no reading, the others read as ever
        known = ~np.isnan(wall)
        before, after = np.full(len(wall), np.nan), np.full(len(wall), np.nan)
        if known.any():
            before[known], after[known] = _readings(wall[known].astype(np.int64), zone)
        return before, after
    first = _offsets(wall - _WIDEST[0], zone)
    last = _offsets(wall + _WIDEST[1], zone)
    before, after = wall - first, wall - last
    near = np.flatnonzero(first != last)  # within a day of a change: is either reading real?
    if len(near):
        b, a = before[near], after[near]
        real_b = _offsets(b, zone) == first[near]
        real_a = _offsets(a, zone) == last[near]
        before[near] = np.where(real_b | ~real_a, b, a)
        after[near] = np.where(real_a | ~real_b, a, b)
    return before, after


def _resolved(
    wall: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    doubt: np.ndarray,
    test_time: np.ndarray | None,
    clock: Clock,
) -> np.ndarray:
    """Each doubtful sample's reading, `before` or `after` (Unix seconds), by the test time."""
    clock.resolved += int(np.count_nonzero(doubt))
    n = len(wall)
    index = np.arange(n)
    known = ~np.isnan(before)  # a NULL time (NaN) is neither sure nor in doubt
    if test_time is None:
        # no test time: the repeated hour reads first as before, after a step back as after
        stepped = np.zeros(n, dtype=bool)
        stepped[1:] = wall[1:] < wall[:-1]
        last_step = np.maximum.accumulate(np.where(stepped, index, -1))
        last_sure = np.maximum.accumulate(np.where(~doubt & known, index, -1))
        repeated = before < after
        take_after = doubt & repeated & (last_step > last_sure)
        return np.where(take_after, after, before)
    sure = ~doubt & known & ~np.isnan(test_time)
    offsets = before - test_time  # where sure, before == after
    previous = np.maximum.accumulate(np.where(sure, index, -1))
    following = np.minimum.accumulate(np.where(sure, index, n)[::-1])[::-1]
    if clock.offset is not None:
        fallback = np.full(n, clock.offset)
    elif following[0] < n:
        fallback = offsets[np.minimum(following, n - 1)]
        # past the chunk's last sure sample, the one before
        fallback = np.where(following < n, fallback, offsets[np.maximum(previous, 0)])
    else:  # nothing sure in the file yet: read the first sample as before, the rest by it
        fallback = np.full(n, before[0] - test_time[0])
    reference = np.where(previous >= 0, offsets[np.maximum(previous, 0)], fallback)
    with np.errstate(invalid="ignore"):
        take_after = doubt & (
            np.abs(after - test_time - reference) < np.abs(before - test_time - reference)
        )
    return np.where(take_after, after, before)


def _note_jumps(
    seconds: np.ndarray,
    test_time: np.ndarray,
    clock: Clock,
    first_line: int,
    text: pa.Array | None,
) -> None:
    """Whole-hour jumps of recorded_at - test_time into `clock.jumps`; `clock.offset` moves on
    to the chunk's last sample."""
    offsets = seconds - test_time
    where = np.flatnonzero(~np.isnan(offsets))
    if not len(where):
        return
    known = offsets[where]
    previous = np.concatenate(([np.nan if clock.offset is None else clock.offset], known[:-1]))
    step = known - previous
    hours = np.round(step / 3600)
    with np.errstate(invalid="ignore"):
        jumped = (hours != 0) & (np.abs(step - hours * 3600) <= JUMP_TOLERANCE)
    found = np.flatnonzero(jumped)
    clock.jump_count += len(found)
    values = None
    for k in found[: max(0, 5 - len(clock.jumps))]:
        if values is None:
            values = [] if text is None else _quoted(text).to_pylist()
        i = int(where[k])
        here = values[i] if i < len(values) else ""
        if k > 0:
            there = values[int(where[k - 1])] if values else ""
        else:
            there = clock.text or ""
        clock.jumps.append(ClockJump(first_line + i, float(step[k]), here or "", there or ""))
    clock.offset = float(known[-1])
    if text is not None:
        clock.text = _quoted(text.slice(int(where[-1]), 1))[0].as_py()


def _quoted(text: pa.Array) -> pa.Array:
    """Date Time as messages quote it: its text, or the ISO text of a reader's timestamps."""
    if not pa.types.is_timestamp(text.type):
        return text
    whole = pc.cast(pc.cast(text, pa.timestamp("s")), pa.string())  # YYYY-MM-DD hh:mm:ss
    return pc.replace_substring(whole, " ", "T", max_replacements=1)


def _iso_from_month_first(text: pa.Array) -> pa.Array:
    """`3/1/2024 13:05:00.5` -> `2024-03-01 13:05:00.5`, and the year-first slashes some
    exports write (Arbin's on a PC set to an East Asian locale), `2024/3/1 13:05:00` ->
    `2024-03-01 13:05:00`; ISO text is left as it is. Two fast paths, each one cheap check
    of the whole chunk: no slash at all (ISO text, nothing to rewrite) and every value written
    `MM/DD/YYYY...` with two-digit month and day (only the last rewriting below changes such
    a value)."""
    text = pc.utf8_trim_whitespace(text)
    if not pc.any(pc.match_substring(text, "/")).as_py():
        return text
    if pc.all(pc.match_substring_regex(text, r"^\d\d/\d\d/\d{4}")).as_py():
        return pc.replace_substring_regex(text, r"^(\d\d)/(\d\d)/(\d{4})", r"\3-\1-\2")
    text = pc.replace_substring_regex(text, r"^(\d{4})/(\d)/", r"\1/0\2/")
    text = pc.replace_substring_regex(text, r"^(\d{4})/(\d\d)/(\d)(\D|$)", r"\1/\2/0\3\4")
    text = pc.replace_substring_regex(text, r"^(\d{4})/(\d\d)/(\d\d)", r"\1-\2-\3")
    text = pc.replace_substring_regex(text, r"^(\d)/", r"0\1/")
    text = pc.replace_substring_regex(text, r"^(\d\d)/(\d)/", r"\1/0\2/")
    return pc.replace_substring_regex(text, r"^(\d\d)/(\d\d)/(\d{4})", r"\3-\1-\2")


# the readers' name for it (BioLogic's dates in time/s)
iso_from_month_first = _iso_from_month_first


# ------------------------------------------------ fixed-width text, checked and read in numpy
# A cycler writes its date-times and durations zero-padded, every row alike: such a chunk is
# an (n, width) block of bytes, checked column by column and read in numpy in a millisecond,
# where Arrow's regular expressions take ten (issue 22 item 9). Any chunk not written so (a
# blank, a padded value, another form, a bad value) goes the general path, which reads it as
# before and names its first bad value; the fast path returns what the general path would.


def fixed_width(values: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """The chunk's text as an (n, width) uint8 array when every value is present and of one
    width; else None."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    n = len(values)
    if not n or values.null_count or not pa.types.is_string(values.type):
        return None
    offsets = np.frombuffer(values.buffers()[1], np.int32, n + 1, values.offset * 4)
    width = int(offsets[1] - offsets[0])
    if not width or int(offsets[-1] - offsets[0]) != n * width:
        return None
    if n > 1 and not (np.diff(offsets) == width).all():
        return None
    data = np.frombuffer(values.buffers()[2], np.uint8, n * width, int(offsets[0]))
    return data.reshape(n, width)


def written_as(block: np.ndarray, template: str) -> bool:
    """Every row of `block` (fixed_width) as `template` says, byte for byte: `9` a digit, `?`
    any byte, another character itself."""
    if block.shape[1] != len(template):
        return False
    digits = [i for i, c in enumerate(template) if c == "9"]
    if digits and not ((block[:, digits] - 48) < 10).all():  # uint8: below '0' wraps high
        return False
    for i, c in enumerate(template):
        if c not in "9?" and not (block[:, i] == ord(c)).all():
            return False
    return True


def _from_bytes(block: np.ndarray) -> pa.Array:
    """An (n, width) block of bytes -> a string array of its rows."""
    n, width = block.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(block)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _date_template(width: int, month_first: bool) -> str | None:
    """The fixed-width forms read fast: `YYYY-MM-DD hh:mm:ss[.f...]` (a T or a space between),
    or `MM/DD/YYYY hh:mm:ss[.f...]` with month_first."""
    date = "99/99/9999" if month_first else "9999-99-99"
    whole = date + "?99:99:99"
    if width == len(whole):
        return whole
    if width > len(whole) + 1:
        return whole + "." + "9" * (width - len(whole) - 1)
    return None


def iso_text(
    values: pa.Array,
    month_first: bool = False,
    sep: str | None = None,
    between: str = " T",
    fraction: bool = True,
) -> pa.Array | None:
    """ISO text (`YYYY-MM-DD hh:mm:ss[.f...]`) of a chunk of date-times written alike and fixed
    width (YYYY-MM-DD, or MM/DD/YYYY with month_first), the date and the time written with one
    of `between` between them, then the seconds' fraction if `fraction`; in the ISO text they
    are separated by `sep` (None: as written). None when the chunk is not written so. The
    values are not checked as dates (2024-02-30): the cast to a timestamp does."""
    block = fixed_width(values)
    if block is None or (not fraction and block.shape[1] != 19):
        return None
    template = _date_template(block.shape[1], month_first)
    if template is None or not written_as(block, template):
        return None
    marks = [ord(c) for c in between]
    if not np.isin(block[:, 10], marks).all():
        return None
    if not month_first and sep is None:
        return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    iso = block.copy()
    if month_first:  # MM/DD/YYYY -> YYYY-MM-DD, as _iso_from_month_first rewrites it
        iso[:, 0:4] = block[:, 6:10]
        iso[:, 5:7] = block[:, 0:2]
        iso[:, 8:10] = block[:, 3:5]
        iso[:, [4, 7]] = ord("-")
    if sep is not None:
        iso[:, 10] = ord(sep)
    return _from_bytes(iso)


def wall_clock(
    values: pa.Array, month_first: bool = False, unit: str = "us", **written
) -> pa.Array | None:
    """Naive timestamps (in `unit`) of a chunk of local date-times written alike and fixed
    width (iso_text, `written` its between= and fraction=); None when it is not written so, or
    a value is no date (the general path then names it)."""
    iso = iso_text(values, month_first, **written)
    if iso is None:
        return None
    try:
        return pc.cast(iso, pa.timestamp(unit))
    except pa.ArrowInvalid:
        return None


def _first_bad_time(text: pa.Array, has_offset: bool) -> tuple[int, str]:
    """Position in the chunk and text of the first Date Time that does not read as one (the
    slow path, after the chunk failed)."""
    kind = pa.timestamp("us", "UTC") if has_offset else pa.timestamp("us")
    for i, value in enumerate(text.to_pylist()):
        try:
            pc.cast(pa.array([value], pa.string()), kind)
        except pa.ArrowInvalid:
            return i, value
    return 0, ""
