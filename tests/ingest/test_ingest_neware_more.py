"""Neware BTS exports beyond the English CSV (tests/ingest/test_ingest_neware_biologic.py): the
record layer with Chinese column names and step types, in GB18030 or UTF-8 with a BOM, and BTSDA's
.xlsx workbook, read by `--format neware` (ingest/readers/neware.py).

The files are written here in the layouts real exports have (learnt from public code that
reads them, names only): a Chinese-locale BTS 8.x record header is
`数据序号,循环号,工步号,工步类型,时间,总时间,电流(A),电压(V),容量(Ah),充电容量(Ah),放电容量(Ah),
能量(Wh),充电能量(Wh),放电能量(Wh),绝对时间,功率(W),...` with a trailing comma, in GB18030; a
BTS 8.x workbook has the sheets `unit`, `test`, `cycle`, `step` and `record`; a BTS 7.x one
`Info`, `Cycle_<id>`, `Statis_<id>`, `Detail_<id>` and `DetailTemp_<id>`. Workbooks are made
with openpyxl. Each is loaded into SQLite and PostgreSQL and the stored rows are checked like
the English CSV's (the same samples: tests/ingest/test_ingest_neware_biologic.py BTS8_EXPECTED)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from ingest.readers import neware, text
from ingest.readers.workbook import OLE
from ingest.readers.workbook import cell_text as workbook_cell_text
from ingest.readers.workbook import column_letter as workbook_column_letter
from tests.ingest.loading import ingest, sidecar, write
from tests.ingest.vendor_files import (
    BTS8_EXPECTED,
    BTS8_HEADER,
    BTS8_ROWS,
    CN_HEADER,
    RECORD_HEADER,
    SAMPLES,
    record_cells,
    same,
    source_file,
    stored,
    workbook,
)

openpyxl = pytest.importorskip("openpyxl")

TZ = ["--time-zone", "Asia/Shanghai"]


# ------------------------------------------------------------------ Chinese CSV


def cn_row(sample, amps_scale: float = 1.0) -> str:
    point, cycle, step, kind, step_time, total, amps, volts, chg, dchg, date, t1 = sample
    e_chg, e_dchg = round(chg * 3.6, 6), round(dchg * 3.6, 6)
    return (
        f"{point},{cycle},{step},{kind},{step_time},{total},{amps * amps_scale:g},{volts},"
        f"{chg or dchg},{chg},{dchg},{e_chg or e_dchg},{e_chg},{e_dchg},{date},"
        f"{amps * volts:.4f},{t1},"
    )


CN_ROWS = [cn_row(s) for s in SAMPLES]


def csv_bytes(header: str, rows, encoding: str) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)


CHINESE = {
    # case -> (file name, bytes)
    "GB18030, CRLF, a trailing comma (BTSDA on a Chinese-locale Windows)": (
        "cn_gb18030.csv",
        csv_bytes(CN_HEADER, CN_ROWS, "gb18030"),
    ),
    "UTF-8 with a BOM, full-width parentheses, mA and 温度(℃)": (
        "cn_utf8_bom.csv",
        csv_bytes(
            CN_HEADER.replace("电流(A)", "电流（mA）")
            .replace("(Ah)", "（Ah）")
            .replace("T1(℃)", "温度（℃）"),
            [cn_row(s, 1000) for s in SAMPLES],
            "utf-8-sig",
        ),
    ),
    "GBK with 记录序号 and 相对时间 (older BTSDA names)": (
        "cn_gbk.csv",
        csv_bytes(
            CN_HEADER.replace("数据序号", "记录序号").replace(",时间,", ",相对时间,"),
            CN_ROWS,
            "gbk",
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(CHINESE))
def test_chinese_neware_csv_normalises(target, tmp_path, capsys, case):
    name, content = CHINESE[case]
    path = write(tmp_path, name, content)
    code, err = ingest(
        target,
        [path],
        "--format",
        "neware",
        *TZ,
        "--sidecar",
        str(sidecar(tmp_path)),
        capsys=capsys,
    )
    assert code == 0, err
    got = stored(target, path)
    assert same(got, BTS8_EXPECTED), got
    file_format, software, zone, units, first, last = source_file(target, path)
    assert (file_format, software, zone) == ("neware_csv", "Neware BTS", "Asia/Shanghai")
    assert last - first == 2
    if "mA" in case:
        assert "mA" in str(units), units


def test_a_chinese_and_an_english_export_make_one_session(sqlite_target, tmp_path, capsys):
    """The same cycler's two exports, one from a Chinese-locale PC: one session, the record
    index continued, the same stored values as one English export of the three samples."""
    first = write(tmp_path, "en.csv", csv_bytes(BTS8_HEADER, BTS8_ROWS[:2], "utf-8"))
    second = write(tmp_path, "cn.csv", csv_bytes(CN_HEADER, [cn_row(SAMPLES[2])], "gb18030"))
    code, err = ingest(
        sqlite_target,
        [first, second],
        "--format",
        "neware",
        *TZ,
        "--sidecar",
        str(sidecar(tmp_path)),
        capsys=capsys,
    )
    assert code == 0, err
    got = stored(sqlite_target, first, second)
    assert [r["record_index"] for r in got] == [0, 1, 2]
    assert same(got, BTS8_EXPECTED), got


def test_chinese_step_types_map_as_the_english_ones():
    labels = pa.array(
        [
            "搁置",
            "静置",
            "恒流充电",
            "恒压充电",
            "恒流恒压充电",
            "恒流放电",
            "恒压放电",
            "恒功率放电",
            "脉冲工步",
            "模拟工况",
            "恒流恒压放电",
            " CC_Chg ",
            "CCCV Chg",
            None,
        ]
    )
    assert neware.step_types(labels).to_pylist() == [
        "rest",
        "rest",
        "cc_charge",
        "cv_charge",
        "cccv_charge",
        "cc_discharge",
        "cv_discharge",
        "cp_discharge",
        "pulse",
        "dynamic",
        "other",  # as `CCCV DChg` is: the schema has no cccv_discharge
        "cc_charge",
        "cccv_charge",
        None,
    ]


def test_the_encoding_is_guessed_from_the_bytes():
    assert text.decode_guess(CN_HEADER.encode("gb18030")) == "gb18030"
    assert text.decode_guess(CN_HEADER.encode("gbk")) == "gb18030"
    assert text.decode_guess(CN_HEADER.encode("utf-8-sig")) == "utf-8"
    # EC-Lab's cp1252 `°C` is one GB18030 character too: not Chinese
    assert text.decode_guess("cycle number\tTemperature/°C\tP/W\r\n".encode("cp1252")) == "cp1252"
    assert text.decode_guess("Größe,Wärme (°C),Zeit\r\n".encode("cp1252")) == "cp1252"
    assert text.decode_guess(b"\x81\x8d\x8f\x90\x9d") == "latin-1"


def test_full_width_units_are_read():
    assert neware.parse_name("电流（mA）") == ("电流", "mA")
    assert neware.parse_name("充电容量(Ah)") == ("充电容量", "Ah")
    assert neware.parse_name("温度（℃）") == ("温度", "℃")


# ------------------------------------------------------------------ .xlsx workbooks


WORKBOOKS = {
    # case -> workbook options
    "BTS 8.x, English, times as text": {},
    "BTS 8.x, Chinese headers and step types": {"english": False},
    "BTS 8.x, date and duration cells": {"date_cells": True, "duration_cells": True},
    "BTS 8.x, Chinese, record sheet named 记录": {
        "english": False,
        "record_sheets": ("cycle", "step", "记录"),
    },
    "BTS 7.x sheets (Detail_67_1_3)": {"layout": "bts7"},
}


@pytest.mark.parametrize("case", sorted(WORKBOOKS))
def test_neware_workbook_normalises(target, tmp_path, capsys, case):
    path = workbook(tmp_path / "cell3.xlsx", **WORKBOOKS[case])
    code, err = ingest(
        target,
        [path],
        "--format",
        "neware",
        *TZ,
        "--sidecar",
        str(sidecar(tmp_path)),
        capsys=capsys,
    )
    assert code == 0, err
    got = stored(target, path)
    assert same(got, BTS8_EXPECTED), got
    file_format, software, zone, _, first, last = source_file(target, path)
    assert (software, zone, last - first) == ("Neware BTS", "Asia/Shanghai", 2)
    assert file_format == "neware_xlsx"


@pytest.mark.slow  # a long workbook in small chunks
def test_a_workbook_in_small_chunks_locates_its_rows(sqlite_target, tmp_path, capsys):
    """A 3,000-row record sheet read 1,024 rows a chunk (--block-size): every row loaded, the
    record index continuous, and a bad cell past the first chunk named by its own row."""
    base = dt.datetime(2024, 3, 31, 8, 0, 0)
    rows = []
    for i in range(3000):
        when = (base + dt.timedelta(seconds=i)).isoformat(sep=" ")
        total = f"0:{i // 60:02d}:{i % 60:02d}"
        rows.append(
            [i + 1, 1, 2, "CC Chg", total, total, 2.5, 3.6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
            + [when, 9.0, 0, 0, 0, 1, 25.0]
        )
    path = workbook(tmp_path / "long.xlsx", rows=rows)
    side = str(sidecar(tmp_path))
    options = ["--format", "neware", *TZ, "--block-size", "1000", "--sidecar", side]
    code, err = ingest(sqlite_target, [path], *options, capsys=capsys)
    assert code == 0, err
    got = stored(sqlite_target, path)
    assert [r["record_index"] for r in got] == list(range(3000))
    assert got[-1]["test_time_second"] == 2999.0

    rows[2500][7] = "3.6V"  # row 2502 of the sheet (the header is row 1), column H
    bad = workbook(tmp_path / "long_bad.xlsx", rows=rows)
    before = sqlite_target.counts()
    code, err = ingest(sqlite_target, [bad], *options, capsys=capsys)
    assert code == 1, err
    assert (
        f"error: {bad}:2502: column 'Voltage(V)': value '3.6V' is not a number "
        "(sheet 'record', cell H2502)"
    ) in err, err
    assert sqlite_target.counts() == before


# ------------------------------------------------------------ the bad-input corpus


def _encrypted_stand_in(path: Path) -> Path:
    """What the reader checks of an encrypted .xlsx: an OLE2 compound file (its signature)
    holding a stream named EncryptedPackage (in the directory, UTF-16). Not a whole encrypted
    workbook: no library here writes one."""
    directory = "EncryptionInfo".encode("utf-16-le") + bytes(50)
    directory += "EncryptedPackage".encode("utf-16-le") + bytes(48)
    path.write_bytes(OLE + bytes(504) + directory + bytes(2048))
    return path


def _truncated(path: Path) -> Path:
    data = workbook(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _cn_bad_row(index: int, old: str, new: str) -> list[str]:
    rows = list(CN_ROWS)
    rows[index] = rows[index].replace(old, new, 1)
    return rows


def cn_csv(name: str, header: str = CN_HEADER, rows=CN_ROWS, encoding: str = "gb18030"):
    """A maker of a Chinese-header CSV export in the test's folder."""
    return lambda folder: write(folder, name, csv_bytes(header, rows, encoding))


def book(name: str, **options):
    """A maker of a workbook in the test's folder."""
    return lambda folder: workbook(folder / name, **options)


BAD = {
    # case -> (make(tmp_path) -> path, --format, options, message, also)
    "Chinese CSV without 电压": (
        cn_csv("nv.csv", CN_HEADER.replace("电压", "电位")),
        "neware",
        TZ,
        ":1: not a Neware record export: line 1 lacks the column(s) '电压(V)'",
        "BTS writes e.g. '数据序号', '循环号'",
    ),
    "Chinese CSV, a value that is not a number": (
        cn_csv("nn.csv", rows=_cn_bad_row(1, ",3.6,", ",3.6x,")),
        "neware",
        TZ,
        ":3: column '电压(V)': value '3.6x' is not a number",
        "",
    ),
    "Chinese CSV, unsigned current on a 恒流放电 step": (
        cn_csv("ns.csv", rows=_cn_bad_row(2, ",-2.5,", ",2.5,")),
        "neware",
        TZ,
        ":4: column '电流(A)': the current is positive on a discharge step ('恒流放电')",
        "discharge would load as charge",
    ),
    "Chinese CSV, an unknown unit in full-width parentheses": (
        cn_csv("nu.csv", CN_HEADER.replace("电压(V)", "电压（kV）"), encoding="utf-8-sig"),
        "neware",
        TZ,
        ":1: column '电压（kV）': unknown unit 'kV' for voltage",
        "",
    ),
    "Chinese CSV without --time-zone": (
        cn_csv("nz.csv"),
        "neware",
        [],
        ":1: column '绝对时间': '绝对时间' holds local times without an offset",
        "--time-zone",
    ),
    "Chinese CSV, a byte that is not GB18030 past the first lines": (
        lambda d: write(
            d, "nb.csv", csv_bytes(CN_HEADER, CN_ROWS, "gb18030").replace(b"3.6,", b"3.\xff6,", 1)
        ),
        "neware",
        TZ,
        ":3: the line is not GB18030 text, as the file's first lines are (byte 0xff at column",
        "save the file in one encoding throughout",
    ),
    "Chinese CSV, time stepping backwards": (
        cn_csv("nt.csv", rows=[CN_ROWS[0], "2" + CN_ROWS[2][1:], "3" + CN_ROWS[1][1:]]),
        "neware",
        TZ,
        "refused (1 rule(s) fail); nothing was written",
        "test_time_backwards: column 'test_time_second' 1 row(s) at line(s) 4",
    ),
    "a workbook without a record sheet": (
        book("norecord.xlsx", record_sheets=("cycle", "step")),
        "neware",
        TZ,
        "no record sheet in the workbook (its sheets: 'unit', 'test', 'cycle', 'step')",
        "export the record layer",
    ),
    "a workbook with two record sheets": (
        book("two.xlsx", record_sheets=("cycle", "record", "record_2")),
        "neware",
        TZ,
        "2 record sheets ('record', 'record_2'): the loader reads a workbook with one",
        "",
    ),
    "a damaged workbook (cut in half)": (
        lambda d: _truncated(d / "cut.xlsx"),
        "neware",
        TZ,
        "a damaged .xlsx workbook (its zip archive does not open",
        "",
    ),
    "a password-protected workbook": (
        lambda d: _encrypted_stand_in(d / "locked.xlsx"),
        "neware",
        TZ,
        "a password-protected (encrypted) Excel workbook: not read",
        "without a password",
    ),
    "a workbook's record sheet without a voltage column": (
        book("novolts.xlsx", header=[h.replace("Voltage(V)", "Volt") for h in RECORD_HEADER]),
        "neware",
        TZ,
        ": not a Neware record export: the header row lacks the column(s) 'Voltage(V)'",
        "(sheet 'record', row 1)",
    ),
    "a workbook, a cell that is not a number": (
        lambda d: workbook(
            d / "badcell.xlsx",
            english=False,
            rows=[
                record_cells(SAMPLES[0], False, False, False),
                ["2", 1, 2, "恒流充电", "0:00:10", "0:00:10", "2.5A"],
            ],
        ),
        "neware",
        TZ,
        ":3: column '电流(A)': value '2.5A' is not a number (sheet 'record', cell G3)",
        "",
    ),
    "a workbook, a date cell without --time-zone": (
        book("nozone.xlsx", date_cells=True),
        "neware",
        [],
        ":1: column 'Date': 'Date' holds local times without an offset",
        "(sheet 'record', cell U1)",
    ),
    "a workbook, unsigned current on a discharge step": (
        lambda d: workbook(
            d / "unsigned.xlsx",
            rows=[
                record_cells(SAMPLES[0], True, False, False),
                [*record_cells(SAMPLES[2], True, False, False)[:6], 2.5, 3.55],
            ],
        ),
        "neware",
        TZ,
        ":3: column 'Current(A)': the current is positive on a discharge step ('CC DChg')",
        "(sheet 'record', cell G3)",
    ),
    "a workbook, time stepping backwards": (
        lambda d: workbook(
            d / "back.xlsx",
            rows=[
                [n, *record_cells(s, True, False, False)[1:]]
                for n, s in zip((1, 2, 3), (SAMPLES[0], SAMPLES[2], SAMPLES[1]), strict=True)
            ],
        ),
        "neware",
        TZ,
        "refused (1 rule(s) fail); nothing was written",
        "test_time_backwards: column 'test_time_second' 1 row(s) at line(s) 4",
    ),
    "a workbook given as BDF": (
        book("asbdf.xlsx"),
        "bdf",
        [],
        "it looks like an Excel workbook",
        "a Neware BTSDA .xlsx export is read with --format neware",
    ),
    "a workbook given as Arbin": (
        book("asarbin.xlsx"),
        "arbin",
        TZ,
        "no Arbin channel sheet in the workbook",
        "it looks like a Neware BTSDA workbook (a record sheet), which is read with --format "
        "neware",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_refused_and_located(sqlite_target, tmp_path, capsys, case):
    make, file_format, options, message, also = BAD[case]
    path = make(tmp_path)
    before = sqlite_target.counts()
    code, err = ingest(
        sqlite_target,
        [path],
        "--format",
        file_format,
        *options,
        "--sidecar",
        str(sidecar(tmp_path)),
        capsys=capsys,
    )
    assert code == 1, err
    assert f"error: {path}" in err and message in err and also in err, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 or "refused" in err, err  # one line
    assert sqlite_target.counts() == before


def test_cells_read_as_the_csv_export_writes_them():
    assert workbook_cell_text(3.55) == "3.55"
    assert workbook_cell_text(1e-06) == "1e-06"
    assert workbook_cell_text(7) == "7"
    assert workbook_cell_text("") is None
    assert workbook_cell_text(dt.datetime(2024, 4, 1, 9, 0, 10, 500000)) == (
        "2024-04-01 09:00:10.500000"
    )
    assert workbook_cell_text(dt.timedelta(hours=25, seconds=10.5)) == "25:00:10.500000"
    assert workbook_cell_text(dt.time(1, 0, 0)) == "1:00:00"
    assert [workbook_column_letter(i) for i in (0, 25, 26, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "ZZ",
        "AAA",
    ]
