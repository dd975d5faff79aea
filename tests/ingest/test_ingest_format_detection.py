"""What a user expects of a loader (issue 22, item 6): the format recognised from the file's
content when --format is not given (the signatures that name the right format in error
messages, ingest/sniff.py), a file that looks like two formats refused naming both."""

from __future__ import annotations

import pytest

from ingest.cli import detect_format
from ingest.errors import IngestError
from tests.ingest.loading import ingest, sidecar, write
from tests.ingest.vendor_files import ARBIN_HEADER, ARBIN_ROWS, mpt

MACCOR = (
    "Today's Date 04/04/2024  Date of Test:\t03/30/2024\t Filename:\tC:\\Data\\cell9.001"
    " Procedure:\tRPT.000\tComment/Barcode:\tcell 9\r\n"
    "Rec#\tCyc#\tStep\tTest (Min)\tStep (Min)\tAmp-hr\tWatt-hr\tAmps\tVolts\tState\tES\t"
    "DPt Time\r\n"
    "1\t1\t1\t0.0000\t0.0000\t0.0000000000\t0.0000000000\t0.0000000000\t3.50000000\tR\t0\t"
    "03/31/2024 01:59:00\r\n"
    "2\t1\t2\t0.5000\t0.0000\t0.0000000000\t0.0000000000\t2.0000000000\t3.60000000\tC\t0\t"
    "03/31/2024 01:59:30\r\n"
)

# case -> (file name, content, the source_file.file_format it loads as)
FILES = {
    "BDF CSV": (
        "b.csv",
        b"Test Time / s,Voltage / V,Current / A,Cycle Count / 1\n0,3.71,1,0\n1,3.72,1,0\n",
        "bdf_csv",
    ),
    "Arbin CSV": ("a.csv", (ARBIN_HEADER + ARBIN_ROWS).encode(), "arbin_csv"),
    "Maccor text": ("m.001", MACCOR.encode("latin-1"), "maccor_txt"),
    "BioLogic text": ("b.mpt", mpt(), "biologic_mpt"),
}


@pytest.mark.parametrize("case", sorted(FILES))
def test_the_format_is_recognised_from_the_content(sqlite_target, tmp_path, capsys, case):
    name, content, file_format = FILES[case]
    path = write(tmp_path, name, content)
    options = ("--sidecar", str(sidecar(tmp_path)), "--time-zone", "Europe/Berlin")
    code, err = ingest(sqlite_target, [path], *options, capsys=capsys)
    assert code == 0, err
    assert sqlite_target.query(
        "SELECT file_format FROM source_file WHERE uri = %s", [str(path)]
    ) == [(file_format,)]


def test_content_of_two_formats_is_refused_naming_both(sqlite_target, tmp_path, capsys):
    path = write(tmp_path, "both.csv", "Data_Point,Record ID,Test_Time(s),Voltage(V)\n1,1,0,3.6\n")
    before = sqlite_target.counts()
    code, err = ingest(sqlite_target, [path], "--sidecar", str(sidecar(tmp_path)), capsys=capsys)
    assert code == 1
    assert err.splitlines() == [
        f"error: {path}: the format is ambiguous: it looks like an Arbin CSV export (--format "
        "arbin) and a Neware CSV export (--format neware); say which with --format"
    ]
    assert sqlite_target.counts() == before


def _workbook(path, sheets: list[str]):
    """A real .xlsx (openpyxl) with these sheets, empty."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = sheets[0]
    for name in sheets[1:]:
        book.create_sheet(name)
    book.save(path)
    return path


def test_a_workbook_is_recognised_by_its_sheets(tmp_path):
    assert detect_format(_workbook(tmp_path / "a.xlsx", ["Global_Info", "Channel_1-008"])) == (
        "arbin"
    )
    assert detect_format(_workbook(tmp_path / "n.xlsx", ["Info", "record"])) == "neware"
    with pytest.raises(IngestError, match="ambiguous: it looks like an Arbin MITS Pro workbook"):
        detect_format(_workbook(tmp_path / "x.xlsx", ["Channel_1", "record"]))
    # a workbook of neither: read as the default, whose refusal names it
    assert detect_format(_workbook(tmp_path / "o.xlsx", ["Sheet1"])) == "bdf"
    binary = tmp_path / "run.nda"
    binary.write_bytes(b"NEWARE" + bytes(64))
    assert detect_format(binary) == "neware"
