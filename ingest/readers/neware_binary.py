"""Neware's binary files, read by NewareNDA (BSD-3-Clause, d-cogswell/NewareNDA; chosen over
fastnda: docs/loading.md, "Why battery-data-toolkit"): `.nda` (BTS 7.x, version 29; BTS 9.x,
version 130) and `.ndax` (BTS 8.x and later: a zip of `.ndc` members, the records in
`data.ndc`). No byte of either is parsed here: the library returns a pandas DataFrame, whose
columns this module maps onto the quantities the CSV export gives (ingest/readers/neware.py)
and hands, a chunk at a time, to the shared normalisation (ingest/staging.py `normalise`).

What the library returns, and where it lands (units as NewareNDA documents them in its
column names, checked against its reference outputs, tests/fixtures/neware/):
    Index -> record_index (continued across a session's files by the loader)
    Cycle -> cycle_count (the cycler's counter: `software_cycle_number=False`, never
             renumbered, as the CSV path keeps `Cycle Index`)
    Step -> step_count (NewareNDA's count of step changes), Step_Index -> step_id
    Status (`CC_Chg`, `CC_DChg`, `Rest`...) -> step_type, through neware_vocabulary.STEP_TYPES
    Time (s) -> step_time; test_time is derived from it (below)
    Voltage (V); Current(mA), Charge/Discharge_Capacity(mAh), Charge/Discharge_Energy(mWh)
             -> A, Ah, Wh (the factors of staging.UNITS; recorded in source_file.original_units)
    Timestamp -> recorded_at; T1..T3 (auxiliary temperatures, °C) -> temperature_t1..t3;
             other auxiliary channels (V1, t1, H1...) are listed as ignored.

Time. NewareNDA's `Time` is the step's time in BTS 7/8 files (it restarts at 0 on each step's
first record, which the cycler writes at the instant the previous step ended), and the test's
time in a BTS 9.1 `.nda` (it runs on across steps). Both are read: within a step the test time
advances as `Time` does; at a step whose `Time` restarts it advances by that first value (0),
at one whose `Time` runs on, by the difference. The test time is thus the cycler's own clock
(pauses excluded), as BTSDA's `Total Time` column is, never a sum of wall-clock gaps.

Absolute time. BTS 7 `.nda` (version 29) and `.ndax` of ndc version 2 or 5 store each record's
date-time as the cycler PC's local wall-clock time, whole seconds, without a zone: NewareNDA
returns it naive, and --time-zone says which zone (refused without it; recorded in
source_file.assumed_time_zone), as for the CSV export. BTS 9 `.nda` (version 130) and `.ndax`
of ndc version 11 and later store Unix time (an instant); NewareNDA returns it time-zone aware
(converted to the reading machine's zone): it is taken as the instant it is, --time-zone is
not needed and not recorded. (Checked on the library's sample files: their TestInfo.xml
`StartTime`, local, is the first record's UTC time plus the recording PC's offset: +1 h for
two of them, 0 for the others.)

Current sign: Neware stores discharge current negative (the `CC_DChg` records of the samples
are), this schema's sign; the CSV path's check applies (a positive current on a `..._DChg`
step is refused).

Memory: NewareNDA reads the whole file into one DataFrame (it has no streaming interface);
the rows then go to the loader in chunks. A file takes about 200 bytes a record while it
loads (the DataFrame, about 55, and the columns converted from it).

Errors: a file the library cannot read (damaged, truncated inside its header, an unknown
version), an `.ndax` whose zip does not open or holds no `data.ndc`: one line naming the file
(with the library's own words), nothing written. The library's log messages and warnings are
kept off stderr. Not detected: a BTS 7 `.nda` cut short inside its records (its records have
fixed length and no count or footer; NewareNDA reads the whole records before the cut).
"""

from __future__ import annotations

import logging
import warnings
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import staging
from ..errors import IngestError
from ..staging import ReadOptions, local_seconds
from . import text
from .neware_vocabulary import CYCLER, check_sign, step_types

NDA_FORMAT = "neware_nda"  # source_file.file_format
NDAX_FORMAT = "neware_ndax"
NDAX_DATA = "data.ndc"  # the .ndax member holding the records

# NewareNDA's column -> (quantity, unit as its name says, kind)
COLUMNS = {
    "Index": ("record_index", "", "integer"),
    "Cycle": ("cycle_count", "", "integer"),
    "Step": ("step_count", "", "integer"),
    "Step_Index": ("step_id", "", "integer"),
    "Status": ("step_type", "", "text"),
    "Time": ("step_time", "s", "number"),
    "Voltage": ("voltage", "V", "number"),
    "Current(mA)": ("current", "mA", "number"),
    "Charge_Capacity(mAh)": ("charging_capacity", "mAh", "number"),
    "Discharge_Capacity(mAh)": ("discharging_capacity", "mAh", "number"),
    "Charge_Energy(mWh)": ("charging_energy", "mWh", "number"),
    "Discharge_Energy(mWh)": ("discharging_energy", "mWh", "number"),
    "T1": ("temperature_t1", "°C", "number"),
    "T2": ("temperature_t2", "°C", "number"),
    "T3": ("temperature_t3", "°C", "number"),
}
TIMESTAMP = "Timestamp"
REQUIRED = ("Index", "Cycle", "Step", "Status", "Time", "Voltage", "Current(mA)", TIMESTAMP)


@contextmanager
def _quiet():
    """The library's log records and warnings, collected instead of written to stderr."""
    log = logging.getLogger("newarenda")
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    saved = log.handlers[:], log.propagate, log.level
    log.handlers, log.propagate = [Collect(logging.WARNING)], False
    log.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield messages
    finally:
        log.handlers, log.propagate = saved[0], saved[1]
        log.setLevel(saved[2])


def _one_line(exc: BaseException) -> str:
    words = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {words}" if words else type(exc).__name__


def _library(file: str):
    try:
        import NewareNDA  # noqa: F401
        from NewareNDA.NewareNDA import read_nda, read_nda_metadata
        from NewareNDA.NewareNDAx import read_ndax, read_ndax_metadata
    except ImportError:
        raise IngestError(
            file,
            "a Neware binary file: reading it needs NewareNDA (pip install -e '.[ingest]')",
        ) from None
    return read_nda, read_nda_metadata, read_ndax, read_ndax_metadata


def _check_ndax(path: Path) -> None:
    file = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise IngestError(
            file, f"a damaged .ndax (its zip archive does not open: {_one_line(exc)})"
        ) from None
    if bad is not None:
        raise IngestError(file, f"a damaged .ndax: its member '{bad}' fails its CRC check")
    if NDAX_DATA not in names:
        shown = ", ".join(f"'{n}'" for n in names[:8]) + (", ..." if len(names) > 8 else "")
        raise IngestError(
            file,
            f"not a Neware .ndax this loader reads: the zip holds no '{NDAX_DATA}' (the "
            f"records); its members: {shown or 'none'}",
        )


def _software(metadata: dict, ndax: bool) -> str:
    """`Neware BTS (BTSServer(R3)-8.0.1.437 (2025.01.23); BTS Client 8.0.1.492(2025.01.23))`,
    from the versions the file names; `Neware BTS` when it names none."""
    parts: list[str] = []
    if ndax:
        version = (metadata.get("VersionInfo") or {}).get("ZwjVersion") or {}
        if isinstance(version, dict):
            parts = [version.get("SvrVer"), version.get("CurrClientVer")]
    else:
        parts = [
            metadata.get("server_version"),
            metadata.get("client_version"),
            metadata.get("bts_version") and f"BTS {metadata['bts_version']}",
        ]
    parts = [str(p).strip() for p in parts if p and str(p).strip()]
    return f"{CYCLER} ({'; '.join(parts)})" if parts else CYCLER


def read(path: Path, options: ReadOptions, ndax: bool):
    """The Reader contract (readers.Reader) for a Neware .nda (`ndax` False) or .ndax: reached
    through neware.read, which tells the binary files by their bytes."""
    file = str(path)
    kind = ".ndax" if ndax else ".nda"
    read_nda, read_nda_metadata, read_ndax, read_ndax_metadata = _library(file)
    if ndax:
        _check_ndax(path)
    with _quiet() as messages:
        try:
            frame = (read_ndax if ndax else read_nda)(file, False, "chg")
        except Exception as exc:  # the library's own exceptions: any, for any damage
            said = f"; it logged: {messages[0]}" if messages and messages[0] not in str(exc) else ""
            raise IngestError(
                file,
                f"NewareNDA cannot read this {kind} file ({_one_line(exc)}{said}): a damaged "
                "or truncated file, or a version the library does not read",
            ) from None
        try:
            metadata = (read_ndax_metadata if ndax else read_nda_metadata)(file)
        except Exception:  # the versions are a courtesy: a file without them still loads
            metadata = {}
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise IngestError(
            file,
            f"NewareNDA returned no column(s) {', '.join(missing)} for this {kind} file",
        )
    if not len(frame):
        raise IngestError(file, f"the {kind} file holds no records")
    return _convert(file, frame, options, ndax, _software(metadata, ndax))


def _times(step: np.ndarray, time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(test time, step time) from NewareNDA's step counter and `Time` (see the module's
    docstring: a step's `Time` restarts at 0, or runs on as the test's time)."""
    starts = np.flatnonzero(np.r_[True, step[1:] != step[:-1]])
    restarts = np.r_[True, time[starts[1:]] < time[starts[1:] - 1]]
    # the value `Time` had when each step began: 0 where it restarts, else the last before it
    base = np.where(restarts, 0.0, np.r_[0.0, time[starts[1:] - 1]])
    segment = np.cumsum(np.r_[True, step[1:] != step[:-1]]) - 1
    step_time = time - base[segment]
    advance = np.r_[time[0], np.diff(time)]
    advance[starts[1:]] = np.where(restarts[1:], time[starts[1:]], advance[starts[1:]])
    return np.cumsum(advance), step_time


def _convert(file: str, frame, options: ReadOptions, ndax: bool, software: str):
    names = [str(c) for c in frame.columns]
    columns: list[text.Column] = []
    for position, name in enumerate(names):
        if name not in COLUMNS:
            continue
        quantity, unit, kind = COLUMNS[name]
        factor, offset = 1.0, 0.0
        if kind == "number":
            factor, offset = text.conversion(file, name, quantity, unit, 0)
        columns.append(text.Column(name, position, quantity, unit, factor, offset, kind))
    timestamp = frame[TIMESTAMP]
    aware = getattr(timestamp.dt, "tz", None) is not None
    zone = None
    if not aware:
        if not options.time_zone:
            raise IngestError(
                file,
                f"this {'.ndax' if ndax else '.nda'} stores the cycler PC's local time without "
                "a zone (a BTS 7 file): say which zone with --time-zone (e.g. Asia/Shanghai); "
                "it is recorded in source_file",
            )
        zone = options.time_zone
    columns.append(text.Column(TIMESTAMP, names.index(TIMESTAMP), "unix_time", "", kind="text"))
    layout = text.Layout(0, ",", "utf-8", names)
    by_quantity = {c.quantity: c for c in columns}
    values = {c.quantity: _array(frame[c.header], c) for c in columns if c.kind != "text"}
    values["step_type"] = pa.array(frame["Status"].tolist(), pa.string(), from_pandas=True)
    step = frame["Step"].to_numpy(np.int64)
    time = frame["Time"].to_numpy(np.float64)
    test_time, step_time = _times(step, time)
    values["unix_time"] = _seconds(timestamp, zone, test_time, options)
    # NewareNDA hands times as float32: rounded to the microsecond (the files store ms or
    # finer), so 0.1 s stays 0.1, not 0.10000000149
    values["test_time"] = pa.array(np.round(test_time, 6))
    values["step_time"] = pa.array(np.round(step_time, 6))
    notes = _unsigned_counters(values, by_quantity)
    records = values["record_index"].to_numpy()
    info = text.file_info(
        columns,
        layout,
        software,
        record_reader=lambda: records,
        file_format=NDAX_FORMAT if ndax else NDA_FORMAT,
    )
    info.assumed_time_zone = zone
    info.notes += notes
    del frame
    return info, _chunks(file, values, by_quantity, options)


def _array(series, column: text.Column) -> pa.Array:
    if column.kind == "integer":
        return pa.array(series.to_numpy(np.int64))
    values = series.to_numpy(np.float64)
    if column.factor != 1:
        values = values * column.factor
    if column.offset:
        values = values + column.offset
    return pa.array(values, from_pandas=True)  # NaN (no aux reading) -> NULL


def _unsigned_counters(values: dict, by_quantity: dict) -> list[str]:
    """Some files come out of NewareNDA with the discharge counters negative (a BTS 9.0
    `.nda`: every value <= 0); the schema's counters are magnitudes (>= 0, BDF): such a
    counter is negated whole, and the report says so. One with both signs is left for the
    rules to refuse."""
    notes = []
    for quantity in ("discharging_capacity", "discharging_energy"):
        array = values.get(quantity)
        if array is None:
            continue
        low, high = pc.min_max(array).values()
        if low.as_py() is not None and low.as_py() < 0 and high.as_py() <= 0:
            values[quantity] = pc.negate(array)
            notes.append(
                f"'{by_quantity[quantity].header}': negative on every record in this file "
                "(as NewareNDA reads it); loaded as its magnitude"
            )
    return notes


def _seconds(timestamp, zone: str | None, test_time: np.ndarray, options) -> pa.Array:
    """Unix seconds of the records' date-times: an aware one as it is, a naive one in `zone`
    (a clock change's repeated or missing hour resolved by the test time:
    staging.local_seconds)."""
    stamps = pa.array(timestamp, from_pandas=True)
    stamps = pc.cast(stamps, pa.timestamp("us", stamps.type.tz))
    if zone is not None:
        return pa.array(local_seconds(stamps, zone, test_time, options.clock))
    micros = pc.cast(pc.cast(stamps, pa.timestamp("us")), pa.int64())
    return pc.divide(pc.cast(micros, pa.float64()), 1e6)


def _chunks(file: str, values: dict, by_quantity: dict, options: ReadOptions):
    """The records in chunks (line = the record's position in the file, from 1), each through
    the CSV path's derive (the sign check, step types) and the shared normalisation."""
    n = len(values["record_index"])
    size = max(1024, options.block_size // 64)
    for start in range(0, n, size):
        line = start + 1
        out = {q: a.slice(start, size) for q, a in values.items()}
        check_sign(file, out, line, by_quantity)
        out["step_type"] = step_types(out["step_type"])
        yield line, staging.normalise_quantities(file, out, line, options)
