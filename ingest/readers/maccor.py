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
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from .. import bdf
from ..errors import IngestError, UsageError

FILE_FORMAT = "maccor_txt"
CYCLER = "Maccor"
# the columns battdat reads from a Maccor export: without them the file is not one
REQUIRED = ("Cyc#", "Test (Min)", "Amps", "Volts", "State")
# battdat's column -> BDF quantity (ingest/bdf.py QUANTITIES) and the unit battdat gives
COLUMNS = {
    "test_time": ("test_time", "s"),
    "voltage": ("voltage", "V"),
    "current": ("current", "A"),
    "cycle_number": ("cycle_count", "1"),
}
CHUNK_ROWS = 1 << 16
FIRST_DATA_LINE = 3  # line 1 the preamble, line 2 the column names


@dataclass
class VendorFileInfo(bdf.FileInfo):
    file_format: str = FILE_FORMAT
    cycler_software: str | None = None
    dropped_duplicates: int = 0


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
        first = preamble.rstrip("\r\n")[:60]
        guess = ""
        if "," in first and "/" in first:
            guess = " (its first line looks like BDF CSV: use --format bdf)"
        elif not header:
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


def read(
    path: Path, options: bdf.ReadOptions, source: bdf.HashingReader | None = None
) -> tuple[VendorFileInfo, Iterator]:
    """The contract of bdf.read: the file's facts now (errors early), then normalised chunks
    of STAGED_COLUMNS plus `line`. battdat reads the file by its path; `source` (the
    loader's hashing stream) is left unread here and hashes the file when asked."""
    file = str(path)
    if not path.is_file():
        raise IngestError(file, "no such file")
    lines = _layout(path)
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
    table = pa.table({name: frame[name].to_numpy() for name in COLUMNS})
    for name in ("test_time", "voltage", "current"):
        column = table.column(name)
        if column.null_count or pc.any(pc.is_nan(column)).as_py():
            first = pc.index(pc.is_nan(column), True).as_py()
            truncated = " (the file looks truncated)" if first == table.num_rows - 1 else ""
            raise IngestError(
                file,
                f"no value{truncated}",
                line=FIRST_DATA_LINE + first,
                column={"test_time": "Test (Min)", "voltage": "Volts", "current": "Amps"}[name],
            )
    by_key = {}
    for position, (name, (key, unit)) in enumerate(COLUMNS.items()):
        by_key[key] = bdf.HeaderColumn(name, position, bdf.QUANTITIES[key], unit, 1.0, 0.0)
    info = VendorFileInfo(
        columns=list(by_key.values()),
        ignored=[],
        cycler_software=CYCLER,
        dropped_duplicates=lines - table.num_rows,
    )

    def chunks() -> Iterator[tuple[int, pa.Table]]:
        for start in range(0, table.num_rows, CHUNK_ROWS):
            piece = table.slice(start, CHUNK_ROWS)
            line = FIRST_DATA_LINE + start
            yield line, bdf._normalise(file, piece, line, by_key, options)

    return info, chunks()
