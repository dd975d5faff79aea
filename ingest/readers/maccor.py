"""Maccor text exports (tab-separated, one preamble line, then `Rec#  Cyc#  Step  Test (Min)
... Amps  Volts  State ...`), read by battery-data-toolkit (`battdat`), the field's library,
and normalised by the same code as BDF CSV.

What battdat returns and how it lands: `test_time` (seconds from the file's first sample) ->
test_time_second; `current` (battdat has already signed Maccor's unsigned Amps by the State
column: positive charges, as in this schema) -> current_ampere; `voltage` -> voltage_volt;
`cycle_number` (Cyc# counted from the file's first cycle) -> cycle_count. The export has no
zone on its DPt Time and battdat does not return it, so absolute time is the session's
`started_at` plus the test time, as for a BDF file without Unix Time or Date Time.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import sniff
from ..errors import IngestError, UsageError
from ..quality import DUPLICATE_SAMPLE, Finding
from ..staging import (
    QUANTITIES,
    Chunks,
    FileInfo,
    HashingReader,
    HeaderColumn,
    ReadOptions,
    normalise,
)

FILE_FORMAT = "maccor_txt"
BINARY_FILES: frozenset[str] = frozenset()  # text only (readers.Reader)
CYCLER = "Maccor"
# the columns battdat reads from a Maccor export: without them the file is not one
REQUIRED = ("Cyc#", "Test (Min)", "Amps", "Volts", "State")
# battdat's column -> quantity (ingest/staging.py QUANTITIES) and the unit battdat gives
COLUMNS = {
    "test_time": ("test_time", "s"),
    "voltage": ("voltage", "V"),
    "current": ("current", "A"),
    "cycle_number": ("cycle_count", "1"),
}
# the export's columns battdat does not return, read from the file beside it
EXTRA = {
    "record_index": ("record_index", "1"),  # Rec#
    "step_id": ("step_id", "1"),  # Step: the program's step number
    "date_time": ("date_time", ""),  # DPt Time, local: used with --time-zone
}
CHUNK_ROWS = 1 << 16
FIRST_DATA_LINE = 3  # line 1 the preamble, line 2 the column names


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="ISO-8859-1")
    return open(path, encoding="ISO-8859-1")


def _layout(path: Path) -> int:
    """Check the two first lines are a Maccor export's; return the number of data lines."""
    file = str(path)
    if path.stat().st_size == 0:
        raise IngestError(file, "the file is empty (0 bytes)")
    try:
        with _open_text(path) as handle:
            preamble = handle.readline()
            header = handle.readline()
            data = sum(1 for line in handle if line.strip())
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise IngestError(file, f"cannot read the file: {exc}") from None
    names = [n.strip() for n in header.rstrip("\r\n").split("\t")]
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        guess = sniff.looks_like(preamble + header, "maccor")
        if not guess and not header:
            guess = " (the file ends before its column names)"
        raise IngestError(
            file,
            "not a Maccor text export: line 2 lacks the column(s) "
            + ", ".join(f"'{n}'" for n in missing)
            + f"{guess}",
            line=2,
        )
    if data == 0:
        raise IngestError(file, "the file has column names but no data rows", line=3)
    return data


def _raw(file: str) -> pd.DataFrame:
    """The export's columns as written (pandas, as battdat reads it: tab-separated after the
    preamble line), to check and complete what battdat returns."""
    try:
        return pd.read_csv(
            file,
            skiprows=1,
            sep="\t",
            index_col=False,
            encoding="ISO-8859-1",
            usecols=lambda name: name.strip() in RAW_COLUMNS,
            dtype={"State": str, "DPt Time": str},
        ).rename(columns=str.strip)
    except Exception as exc:
        raise IngestError(file, f"cannot read the Maccor export: {exc}") from None


RAW_COLUMNS = ("Rec#", "Cyc#", "Step", "Test (Min)", "Amps", "Volts", "State", "DPt Time")


def _duplicated(raw: pd.DataFrame) -> np.ndarray:
    """True for each row battdat drops as a repeat of an earlier one (its rule, its order)."""
    minutes = raw["Test (Min)"].astype(float)
    key = pd.DataFrame(
        {
            "time": (minutes * 60 - minutes.iloc[0] * 60).round(2),
            "voltage": raw["Volts"],
            "current": np.where(raw["State"] == "D", -raw["Amps"], raw["Amps"]),
        }
    )
    return key.duplicated(keep="first").to_numpy()


def _integers(file: str, raw: pd.DataFrame, column: str, kept: np.ndarray) -> pa.Array:
    values = pd.to_numeric(raw[column], errors="coerce").to_numpy(dtype=float)[kept]
    bad = np.flatnonzero(np.isnan(values) | (values != np.round(values)))
    if bad.size:
        line = FIRST_DATA_LINE + int(np.flatnonzero(kept)[bad[0]])
        value = raw[column].to_numpy()[np.flatnonzero(kept)[bad[0]]]
        shown = "no value" if pd.isna(value) else f"value '{value}' is not an integer"
        raise IngestError(file, shown, line=line, column=column)
    return pa.array(values.astype(np.int64))


def _extra_columns(file: str, raw: pd.DataFrame, kept: np.ndarray, options) -> dict:
    out: dict[str, pa.Array] = {}
    for name, column in (("record_index", "Rec#"), ("step_id", "Step")):
        if column in raw:
            out[name] = _integers(file, raw, column, kept)
    if options.time_zone and "DPt Time" in raw:
        # DPt Time is the cycler PC's local time (MM/DD/YYYY hh:mm:ss); read only when the
        # user says which zone it is, else absolute time is started_at + test time
        text = raw["DPt Time"].astype(str).str.strip().to_numpy()[kept]
        if all("/" in t for t in text[:1]):
            options.month_first_dates = True
            out["date_time"] = pa.array(text, pa.string())
    return out


def read(
    path: Path, options: ReadOptions, source: HashingReader | None = None
) -> tuple[FileInfo, Chunks]:
    """The Reader contract (readers.Reader): the file's facts now (errors early), then
    normalised chunks of STAGED_COLUMNS plus `line`. battdat reads the file by its path;
    `source` (the loader's hashing stream) is left unread here and hashes the file when asked."""
    file = str(path)
    if not path.is_file():
        raise IngestError(file, "no such file")
    _layout(path)
    try:
        from battdat.io.maccor import MACCORReader
    except ImportError:
        raise UsageError(
            "--format maccor needs battery-data-toolkit: install the `ingest` extra "
            "(make ingest, or pip install -e '.[ingest]')"
        ) from None
    try:
        frame = MACCORReader().read_file(file)
    except Exception as exc:  # the library's own words, located at the file
        raise IngestError(
            file, f"battery-data-toolkit cannot read it as a Maccor export: {exc!r}"
        ) from None
    raw = _raw(file)
    signed = np.flatnonzero((raw["State"].astype(str).str.strip() == "D") & (raw["Amps"] < 0))
    if signed.size:
        # battdat negates Amps on State D rows: an export that already signs them would load
        # discharge as charge, silently
        raise IngestError(
            file,
            "Amps is negative on a discharge (State D) row: this export signs its current "
            "already, and battery-data-toolkit would flip it to charge (export Amps unsigned, "
            "or convert the file to BDF CSV)",
            line=FIRST_DATA_LINE + int(signed[0]),
            column="Amps",
        )
    duplicated = _duplicated(raw)
    kept = ~duplicated
    if int(kept.sum()) != len(frame):  # battdat dropped other rows than its rule says
        raise IngestError(
            file,
            f"battery-data-toolkit returned {len(frame)} of {len(raw)} rows and the loader "
            f"cannot tell which it left out (duplicates by its rule: {int(duplicated.sum())})",
        )
    lines = FIRST_DATA_LINE + np.flatnonzero(kept)
    table = pa.table({name: frame[name].to_numpy() for name in COLUMNS})
    for name, column in (("test_time", "Test (Min)"), ("voltage", "Volts"), ("current", "Amps")):
        values = table.column(name).to_numpy(zero_copy_only=False)
        if np.isnan(values).any():
            first = int(np.flatnonzero(np.isnan(values))[0])
            truncated = " (the file looks truncated)" if first == table.num_rows - 1 else ""
            raise IngestError(file, f"no value{truncated}", line=int(lines[first]), column=column)
    # battdat counts cycles from the file's first (Cyc# - min): the cycler's own counter is
    # kept, never renumbered, so a session's second file goes on where the first stopped
    table = table.set_column(
        table.column_names.index("cycle_number"),
        "cycle_number",
        _integers(file, raw, "Cyc#", kept),
    )
    extra = _extra_columns(file, raw, kept, options)
    for name, array in extra.items():
        table = table.append_column(name, array)
    by_key = {}
    for position, name in enumerate(table.column_names):
        key, unit = {**COLUMNS, **EXTRA}[name]
        by_key[key] = HeaderColumn(name, position, QUANTITIES[key], unit, 1.0, 0.0)
    info = FileInfo(
        columns=list(by_key.values()),
        ignored=[],
        cycler_software=CYCLER,
        rows_left_out=int(duplicated.sum()),
    )
    if "record_index" in extra:
        records = extra["record_index"].to_numpy()
        info.record_reader = lambda: records  # Rec#, whole (the duplicate rule's slow path)
    if "date_time" in by_key:
        info.assumed_time_zone = options.time_zone
    if duplicated.any():
        dropped = FIRST_DATA_LINE + np.flatnonzero(duplicated)
        info.findings.append(
            Finding(DUPLICATE_SAMPLE, int(duplicated.sum()), [int(n) for n in dropped[:5]])
        )
        info.rejects += [(int(n), [DUPLICATE_SAMPLE.name]) for n in dropped[:1000]]

    def chunks() -> Iterator[tuple[int, pa.Table]]:
        for start in range(0, table.num_rows, CHUNK_ROWS):
            piece = table.slice(start, CHUNK_ROWS)
            first = int(lines[start])
            normalised = normalise(file, piece, first, by_key, options)
            # the file's own line numbers: rows battdat left out leave gaps
            yield (
                first,
                normalised.set_column(0, "line", pa.array(lines[start : start + CHUNK_ROWS])),
            )

    return info, chunks()
