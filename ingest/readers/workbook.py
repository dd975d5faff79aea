"""Spreadsheet exports (a Neware BTSDA or Arbin MITS Pro .xlsx): what the workbook readers
share. Each reader opens its sheets with python-calamine and turns the cells into the text the
vendor's CSV export holds (`cell_text`), so the CSV path's conversions and rules apply to
them; `Place` names the sheet and the cell in an error."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from ..errors import IngestError

ZIP = b"PK\x03\x04"  # an .xlsx (or an .ndax): a zip archive
OLE = bytes.fromhex("D0CF11E0A1B11AE1")  # an OLE2 compound file: .xls, or an encrypted .xlsx


def open_book(path: Path):
    """calamine's workbook and its sheet names, or the refusal of a damaged or
    password-protected one (the caller has checked it is an .xlsx zip)."""
    file = str(path)
    try:
        import python_calamine
    except ImportError:
        raise IngestError(
            file,
            "an Excel workbook: reading it needs python-calamine (pip install -e '.[ingest]')",
        ) from None
    try:
        book = python_calamine.CalamineWorkbook.from_path(file)
        return book, list(book.sheet_names)
    except python_calamine.PasswordError:
        raise IngestError(file, "a password-protected Excel workbook: not read") from None
    except python_calamine.CalamineError as exc:
        raise IngestError(file, f"a damaged .xlsx workbook: {one_line(exc)}") from None


def sheet(file: str, book, name: str):
    """A sheet, read whole by calamine (one at a time: a sheet's cells are held in memory)."""
    import python_calamine

    try:
        return book.get_sheet_by_name(name)
    except python_calamine.CalamineError as exc:
        raise IngestError(
            file, f"a damaged .xlsx workbook: sheet '{name}' does not parse ({one_line(exc)})"
        ) from None


def compound_file(path: Path, export: str) -> IngestError:
    """The refusal of an OLE2 compound file: an encrypted (password-protected) .xlsx holds its
    workbook in an `EncryptedPackage` stream; anything else of the kind is an Excel 97-2003
    .xls. `export` says what the vendor's software writes instead."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
        handle.seek(max(0, size - (1 << 16)))
        tail = handle.read()
    if "EncryptedPackage".encode("utf-16-le") in head + tail:
        return IngestError(
            str(path),
            "a password-protected (encrypted) Excel workbook: not read; save it from Excel "
            f"without a password, or {export}",
        )
    return IngestError(
        str(path),
        f"an Excel 97-2003 .xls workbook (an OLE2 compound file): not read; save it as .xlsx, "
        f"or {export}",
    )


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: a spreadsheet's column name."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_text(value) -> str | None:
    """A cell as the CSV export writes it: numbers in full (repr: round-trips), date-times
    `YYYY-MM-DD hh:mm:ss.ffffff`, a time of day or a duration `h:mm:ss.ffffff` (hours past
    24); an empty cell is None."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        return clock(seconds)
    if isinstance(value, dt.timedelta):
        return clock(value.total_seconds())
    return str(value)


def clock(seconds: float) -> str:
    sign = "-" if seconds < 0 else ""
    micro = round(abs(seconds) * 1e6)
    whole, micro = divmod(micro, 1_000_000)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    fraction = f".{micro:06d}" if micro else ""
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}{fraction}"


def one_line(exc: Exception) -> str:
    """The library's message on one line (its class name when it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__


class Place:
    """Names the sheet and the cell in an error of the sheet's rows (`line` is the row)."""

    def __init__(self, file: str, sheet: str, left: int, names: list[str]):
        self.file, self.sheet, self.left = file, sheet, left
        self.positions = {n: i for i, n in reversed(list(enumerate(names)))}  # the first

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, trace):
        if not isinstance(exc, IngestError) or exc.file != self.file:
            return False
        where = f"sheet '{self.sheet}'"
        position = self.positions.get(exc.column)
        if exc.line is not None and position is not None:
            where += f", cell {column_letter(self.left + position)}{exc.line}"
        elif exc.line is not None:
            where += f", row {exc.line}"
        raise IngestError(
            self.file, f"{exc.message} ({where})", line=exc.line, column=exc.column
        ) from None


def sheet_batches(rows, positions: list[int], chunk_rows: int):
    """The sheet's rows, `chunk_rows` at a time, as text columns keyed by position."""
    block: list[list] = []
    for row in rows:
        block.append(row)
        if len(block) == chunk_rows:
            yield len(block), texts(block, positions)
            block = []
    if block:
        yield len(block), texts(block, positions)


def texts(block: list[list], positions: list[int]) -> dict[int, pa.Array]:
    return {
        p: pa.array([cell_text(r[p]) if p < len(r) else None for r in block], pa.string())
        for p in positions
    }
