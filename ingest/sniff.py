"""What a file looks like, from its first lines: so that a file given with the wrong `--format`
(a Maccor export as BDF, an Arbin CSV as Maccor, a Neware CSV as BioLogic) is refused with a
message naming what it seems to be, and the option that reads it; and where a file stops being
UTF-8 text (the readers' slow path, once pyarrow has refused it)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

# (what, --format that reads it or None, markers any of which names it), most specific first
SIGNATURES: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    # a zip (.xlsx, .ndax) or a BioLogic .mpr: binary, no CSV reader helps
    ("an Excel workbook or another zip file (export CSV instead)", None, ("PK\x03\x04",)),
    (
        "a BioLogic .mpr binary file (export it as text, .mpt, from EC-Lab)",
        None,
        ("BIO-LOGIC MODULAR FILE",),
    ),
    (
        "an Arbin .res file (MITS Pro's Microsoft Access database: export CSV or .xlsx from "
        "MITS Pro, or read it with mdbtools)",
        None,
        ("Standard Jet DB", "Standard ACE DB"),
    ),
    (
        "a Maccor text export",
        "maccor",
        ("Today's Date", "Rec#\tCyc#", "Cyc#\tStep", "Rec\tCycle P\tCycle C", "Cycle C\tStep"),
    ),
    # MITS Pro's names with underscores (Data_Point) and, since MITS Pro 8, with spaces and
    # units in brackets (Data Point, Test Time (s))
    (
        "an Arbin CSV export",
        "arbin",
        ("Data_Point", "Cycle_Index", "Test_Time(s)", "Data Point,", "Test Time (s)"),
    ),
    # Neware BTS 7.x and 8.x record exports (ingest/readers/neware.py), English or Chinese
    (
        "a Neware CSV export",
        "neware",
        (
            "Record ID",
            "Cycle ID",
            "Realtime",
            "Capacitance_Chg",
            "DataPoint",
            "Chg. Cap.(",
            "数据序号",
            "循环号",
            "工步类型",
        ),
    ),
    # EC-Lab/BT-Lab ASCII, with its header block or without (ingest/readers/biologic.py)
    (
        "a BioLogic EC-Lab text export",
        "biologic",
        ("EC-Lab ASCII", "BT-Lab ASCII", "Ewe/V", "Ecell/V", "ox/red", "control/V/mA"),
    ),
    (
        "BDF CSV",
        "bdf",
        ("Test Time / ", "Voltage / ", "test_time_second", "voltage_volt", "voltage_v,"),
    ),
)


def first_lines(path: Path, count: int = 3) -> str:
    """Up to `count` lines of the file's text (empty when it cannot be read)."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            return b"".join(handle.readline(4096) for _ in range(count)).decode("latin-1")
    except (OSError, EOFError):
        return ""


def lines(path: Path) -> Iterator[bytes]:
    """The file's lines, raw (a .gz decompressed)."""
    with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as handle:
        yield from handle


def overlong_line(path: Path, limit: int) -> tuple[int, int, bool] | None:
    """(line, bytes, ends with a line break) of the first line longer than `limit` bytes,
    read in blocks so that memory stays flat however long the line (pyarrow's CSV reader
    refuses a line longer than its block with words of its own: 'straddling object')."""
    number, length = 1, 0
    with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as handle:
        while block := handle.read(1 << 20):
            start = 0
            while (end := block.find(b"\n", start)) != -1:
                length += end - start
                if length > limit:
                    return number, length, True
                number, length, start = number + 1, 0, end + 1
            length += len(block) - start
        return (number, length, False) if length > limit else None


def overlong_message(path: Path, limit: int) -> tuple[str, int | None]:
    """The words for a line longer than the reader's block, and its number."""
    found = overlong_line(path, limit)
    if found is None:  # not found again (the file changed): the size alone
        return f"a line is longer than {limit:,} bytes: no cycler writes such a row", None
    line, length, ends = found
    what = f"the line is {length:,} bytes long" + ("" if ends else " and has no line break")
    return (
        f"{what}, more than a cycler writes in a row: the file is damaged or not a "
        "text export (line breaks lost, a binary file or two files run together?)",
        line,
    )


def first_non_utf8_line(path: Path) -> tuple[int, int, int] | None:
    """(line, byte, column) of the first byte that is not UTF-8 (the slow path, taken only
    once pyarrow has refused the file)."""
    try:
        for number, raw in enumerate(lines(path), start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                column = len(raw[: exc.start].decode("utf-8", errors="replace")) + 1
                return number, raw[exc.start], column
    except (OSError, EOFError):
        return None
    return None


def forms(marker: str) -> tuple[str, ...]:
    """A marker as decoded text, and as its GB18030 or UTF-8 bytes read as Latin-1 (how
    first_lines() and a reader that guessed a Western code page see Chinese text)."""
    if marker.isascii():
        return (marker,)
    return (
        marker,
        marker.encode("gb18030").decode("latin-1"),
        marker.encode("utf-8").decode("latin-1"),
    )


def looks_like(text: str, declared: str) -> str:
    """`; it looks like X: use --format Y` when the text matches another format than
    `declared`, else ''."""
    for what, fmt, markers in SIGNATURES:
        if any(form in text for m in markers for form in forms(m)):
            if fmt == declared:
                return ""
            if fmt is None:
                hint = f"; it looks like {what}, which the loader does not read (docs/loading.md)"
                if "PK\x03\x04" in markers:
                    hint += (
                        ", except a Neware BTSDA .xlsx export is read with --format neware"
                        " and an Arbin MITS Pro .xlsx with --format arbin"
                    )
                return hint
            return f"; it looks like {what}: use --format {fmt}"
    return ""


# the binary files a reader may open itself besides its text (readers.Reader.BINARY_FILES)
WORKBOOK = "workbook"  # an .xlsx (the reader refuses an .xls or an encrypted one itself)
NEWARE_BINARY = "neware_binary"  # a Neware .nda or .ndax


def workbook(path: Path, declared: str, opens: frozenset[str] = frozenset()) -> str | None:
    """Why a workbook (or a Neware .nda/.ndax binary) given with a `--format` that reads text
    is refused (None when the file is not one, or is one of the kinds `opens`, which the
    reader of `declared` opens itself): the text readers would only report its bytes as not
    UTF-8."""
    try:
        with open(path, "rb") as handle:
            magic = handle.read(8)
    except OSError:
        return None
    if magic.startswith(b"NEWARE") or (
        magic.startswith(b"PK\x03\x04") and path.suffix.lower() == ".ndax"
    ):
        if NEWARE_BINARY in opens:
            return None
        kind = "ndax" if magic.startswith(b"PK") else "nda"
        return f"it looks like a Neware .{kind} binary file: use --format neware"
    if WORKBOOK in opens:  # the reader opens a workbook or refuses it itself
        return None
    if magic.startswith(b"PK\x03\x04"):
        what = "an Excel workbook or another zip file (export CSV instead)"
    elif magic == bytes.fromhex("D0CF11E0A1B11AE1"):
        what = "an Excel 97-2003 .xls or an encrypted workbook (export CSV instead)"
    else:
        return None
    return (
        f"it looks like {what}, which the loader does not read with --format {declared}; a "
        "Neware BTSDA .xlsx export is read with --format neware and an Arbin MITS Pro .xlsx "
        "with --format arbin (docs/loading.md)"
    )
