"""Two edges of real lab files (issue 22), loaded into SQLite:

- a BDF file whose current counts discharge as positive, against BDF's sign (BattMo's export,
  cellpy's testdata/data/batmo_bdf.csv): checked against its own step types over the whole
  file, refused in both modes with one located line naming --discharge-positive; a file
  signed right, a few rows against their step, or no step column: loaded as before;
- a blank or `NA` Date Time in an Arbin or Neware CSV read in a zone other than UTC: the row
  kept without a time for the not-null rule, as with UTC (it crashed in pyarrow before)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.ingest.loading import ingest, sidecar, write
from tests.ingest.vendor_files import ARBIN_HEADER, ARBIN_ROWS, BTS8_HEADER, BTS8_ROWS

# a rest, a charge, a discharge, a rest, a charge: BattMo's words, BDF's sign
STEPS = [
    ("rest", 0.0, 3.50),
    ("charge", 0.5, 3.60),
    ("charge", 0.5, 3.80),
    ("charge", 0.5, 4.00),
    ("discharge", -0.5, 3.90),
    ("discharge", -0.5, 3.70),
    ("discharge", -0.5, 3.50),
    ("rest", 0.0, 3.55),
    ("charge", 0.5, 3.70),
]
HEADER = "Test Time / s,Current / A,Voltage / V,Cycle Count / 1,Step Type / 1\n"


def bdf(cycle: int, steps=STEPS, flip: bool = False, step_column: bool = True) -> str:
    """The steps as a BDF CSV; `cycle` makes each test's file its own (one database)."""
    header = HEADER if step_column else HEADER.replace(",Step Type / 1", "")
    lines = []
    for i, (kind, amps, volts) in enumerate(steps):
        amps = -amps if flip else amps
        cells = [f"{10 * i}", f"{amps}", f"{volts}", f"{cycle}"] + ([kind] if step_column else [])
        lines.append(",".join(cells))
    return header + "\n".join(lines) + "\n"


def currents(target, path) -> list[float]:
    return [
        r[0]
        for r in target.query(
            "SELECT current_ampere FROM timeseries_point t JOIN source_file f"
            " ON f.session_id = t.session_id WHERE f.uri = %s ORDER BY record_index",
            [str(path)],
        )
    ]


def loaded(target, path) -> int:
    return target.query("SELECT count(*) FROM source_file WHERE uri = %s", [str(path)])[0][0]


OPPOSITE = "the current's sign is the opposite of BDF's (positive charges the cell)"


@pytest.mark.parametrize("mode", ["--strict", "--lenient"])
def test_a_bdf_file_counting_discharge_positive_is_refused(sqlite_target, tmp_path, capsys, mode):
    path = write(tmp_path, f"battmo{mode}.csv", bdf(1 if mode == "--strict" else 2, flip=True))
    points = sqlite_target.counts()["timeseries_point"]
    code, err = ingest(
        sqlite_target, [path], mode, "--sidecar", str(sidecar(tmp_path)), capsys=capsys
    )
    assert code != 0, err
    # one located line: the first discharge row with a positive current, the current's column
    line = next(m for m in err.splitlines() if OPPOSITE in m)
    assert line.startswith(f"error: {path}:6: column 'Current / A': "), line
    assert "3 of 3 discharge rows are positive and 4 of 4 charge rows are negative" in line
    assert line.endswith("load it with --discharge-positive"), line
    assert not loaded(sqlite_target, path)
    assert sqlite_target.counts()["timeseries_point"] == points  # nothing half-written


def test_discharge_positive_loads_it_with_bdf_sign(sqlite_target, tmp_path, capsys):
    path = write(tmp_path, "battmo_flag.csv", bdf(3, flip=True))
    side = str(sidecar(tmp_path))
    code, err = ingest(
        sqlite_target, [path], "--strict", "--discharge-positive", "--sidecar", side, capsys=capsys
    )
    assert code == 0, err
    assert currents(sqlite_target, path) == [a for _, a, _ in STEPS]


def test_a_file_signed_as_bdf_says_loads_unchanged(sqlite_target, tmp_path, capsys):
    path = write(tmp_path, "right.csv", bdf(4))
    code, err = ingest(
        sqlite_target, [path], "--strict", "--sidecar", str(sidecar(tmp_path)), capsys=capsys
    )
    assert code == 0, err
    assert OPPOSITE not in err
    assert currents(sqlite_target, path) == [a for _, a, _ in STEPS]


def test_the_flag_on_a_file_signed_right_is_refused(sqlite_target, tmp_path, capsys):
    path = write(tmp_path, "right_flag.csv", bdf(5))
    side = str(sidecar(tmp_path))
    code, err = ingest(
        sqlite_target, [path], "--strict", "--discharge-positive", "--sidecar", side, capsys=capsys
    )
    assert code != 0, err
    assert OPPOSITE in err and "load it without the flag" in err, err
    assert not loaded(sqlite_target, path)


def test_a_few_rows_against_their_step_are_not_the_files_sign(sqlite_target, tmp_path, capsys):
    """One discharge row positive of three and one charge row negative of four: the file's
    sign is BDF's, it loads as written."""
    steps = list(STEPS)
    steps[4] = ("discharge", 0.5, 3.9)
    steps[1] = ("charge", -0.5, 3.6)
    path = write(tmp_path, "few.csv", bdf(6, steps))
    code, err = ingest(
        sqlite_target, [path], "--strict", "--sidecar", str(sidecar(tmp_path)), capsys=capsys
    )
    assert code == 0, err
    assert OPPOSITE not in err
    assert currents(sqlite_target, path) == [a for _, a, _ in steps]


def test_without_step_types_nothing_new_is_said(sqlite_target, tmp_path, capsys):
    path = write(tmp_path, "no_steps.csv", bdf(7, flip=True, step_column=False))
    code, err = ingest(
        sqlite_target, [path], "--strict", "--sidecar", str(sidecar(tmp_path)), capsys=capsys
    )
    assert code == 0, err
    assert OPPOSITE not in err and "discharge-positive" not in err, err
    assert currents(sqlite_target, path) == [-a for _, a, _ in STEPS]


def test_a_bdf_parquet_file_is_checked_too(sqlite_target, tmp_path, capsys):
    path = tmp_path / "battmo.parquet"
    pq.write_table(
        pa.table(
            {
                "test_time_second": [10.0 * i for i in range(len(STEPS))],
                "current_ampere": [-a for _, a, _ in STEPS],
                "voltage_volt": [v for _, _, v in STEPS],
                "cycle_count": [1] * len(STEPS),
                "step_type": [k for k, _, _ in STEPS],
            }
        ),
        path,
    )
    code, err = ingest(
        sqlite_target, [path], "--strict", "--sidecar", str(sidecar(tmp_path)), capsys=capsys
    )
    assert code != 0, err
    assert f"{path}:6: column 'current_ampere': {OPPOSITE}" in err, err


# ------------------------------------------------------------ blank or NA Date Time

REQUIRED = "nn_timeseries_point_recorded_at: column 'recorded_at' 1 row(s) at line(s) 3"


def _own(row: str, tag: int) -> str:
    """The row with its temperature (the last cell) made the file's own: one database holds
    every test's file, and a file's second copy is a duplicate."""
    cells = row.split(",")
    cells[-1] = f"2{tag}.8"
    return ",".join(cells)


def arbin(blank: str, tag: int) -> str:
    rows = ARBIN_ROWS.split("\r\n")
    rows[0] = _own(rows[0], tag)
    cells = rows[1].split(",")
    cells[1] = blank
    rows[1] = ",".join(cells)
    return ARBIN_HEADER + "\r\n".join(rows)


def neware(blank: str, tag: int) -> str:
    rows = list(BTS8_ROWS)
    rows[0] = _own(rows[0], tag)
    cells = rows[1].split(",")
    cells[BTS8_HEADER.split(",").index("Date")] = blank
    rows[1] = ",".join(cells)
    return "\r\n".join([BTS8_HEADER, *rows]) + "\r\n"


# (format, file text, zone, the kept rows' recorded_at in Unix seconds)
DATED = [
    ("arbin", arbin, "UTC", [1711850399.5, 1711854010.5]),
    # 01:59:59.5 CET and, past the spring change, 03:00:10.5 CEST
    ("arbin", arbin, "Europe/Berlin", [1711846799.5, 1711846810.5]),
    ("neware", neware, "UTC", [1711872000.0, 1711962010.5]),
    ("neware", neware, "Asia/Shanghai", [1711843200.0, 1711933210.5]),
]


@pytest.mark.parametrize("blank", ["", "NA"])
@pytest.mark.parametrize("kind, text, zone, kept", DATED, ids=[f"{d[0]}-{d[2]}" for d in DATED])
def test_a_blank_date_time_is_a_row_without_time_in_any_zone(
    sqlite_target, tmp_path, capsys, kind, text, zone, kept, blank
):
    path = write(
        tmp_path,
        f"{kind}_{blank or 'blank'}_{zone.replace('/', '_')}.csv",
        text(blank, DATED.index((kind, text, zone, kept)) * 2 + (blank == "NA")),
    )
    side = str(sidecar(tmp_path))
    common = ["--format", kind, "--time-zone", zone, "--sidecar", side]
    code, err = ingest(sqlite_target, [path], "--strict", *common, capsys=capsys)
    assert code != 0, err
    assert REQUIRED in err and "Traceback" not in err, err
    assert not loaded(sqlite_target, path)
    code, err = ingest(sqlite_target, [path], "--lenient", *common, capsys=capsys)
    assert code == 0, err
    got = sqlite_target.query(
        "SELECT record_index, recorded_at FROM timeseries_point t JOIN source_file f"
        " ON f.session_id = t.session_id WHERE f.uri = %s ORDER BY record_index",
        [str(path)],
    )
    assert [r[1] for r in got] == pytest.approx(kept), got
