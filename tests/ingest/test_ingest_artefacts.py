"""Recording artefacts as findings, not walls (issue 22, item 3): an exact repeat of the line
before is dropped in lenient mode and counted (strict refuses it, naming both lines); a record
index repeated with other values is refused in both modes; samples outside the cell's declared
voltage window, current outside its declared limits and logging gaps are notes with line
numbers that never refuse a file. On SQLite, and PostgreSQL where the engine's part matters."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from ingest import bdf, quality
from ingest.staging import ReadOptions
from tests.ingest.loading import ingest, session_of, sidecar, write

# the sidecar's cell (tests/ingest/loading.py CELL): 2.5 V to 4.2 V, 5 Ah
HEADER = "Record Index / 1,Test Time / s,Voltage / V,Current / A,Cycle Count / 1"


def rows(n: int, **replace: str) -> str:
    """`n` samples a second apart at 3.7 V and 1.5 A; `replace` maps a file line (2 is the
    first sample) to the text written there instead, or to several lines."""
    out = [HEADER]
    for i in range(n):
        out.append(replace.get(str(i + 2), f"{i},{i},3.7,1.5,1"))
    return "\n".join(out) + "\n"


def report_of(path: Path) -> dict:
    (record,) = json.loads(path.read_text())
    return record


def finding(record: dict, rule: str) -> dict:
    found = [f for f in record["findings"] if f["rule"] == rule]
    assert found, record["findings"]
    return found[0]


# ----------------------------------------------------------------------- duplicate lines

REPEATED = rows(6, **{"4": "2,2,3.7,1.5,1\n2,2,3.7,1.5,1"})  # line 5 repeats line 4


def test_an_exact_repeat_is_dropped_in_lenient_mode_and_counted(target, tmp_path, capsys):
    path = write(tmp_path, "repeat.csv", REPEATED)
    report = tmp_path / "report.json"
    code, err = ingest(
        target,
        [path],
        "--sidecar",
        str(sidecar(tmp_path)),
        "--lenient",
        "--report",
        str(report),
        capsys=capsys,
    )
    assert code == 0, err
    assert "1 row(s) at line(s) 5 (repeating line 4)" in err, err
    record = report_of(report)
    assert (record["rows_loaded"], record["rows_rejected"]) == (6, 1)
    repeat = finding(record, "duplicate_line")
    assert (repeat["rows"], repeat["first_lines"], repeat["repeating_lines"]) == (1, [5], [4])
    assert record["rejects"] == [{"line": 5, "rules": ["duplicate_line"]}]
    assert not [f for f in record["findings"] if f["rule"] == "duplicate_record_index"]
    stored = target.query(
        "SELECT record_index FROM timeseries_point WHERE session_id = %s ORDER BY record_index",
        [session_of(target, path)],
    )
    assert [r[0] for r in stored] == [0, 1, 2, 3, 4, 5]


def test_strict_refuses_an_exact_repeat_naming_both_lines(sqlite_target, tmp_path, capsys):
    path = write(tmp_path, "repeat-strict.csv", REPEATED)
    before = sqlite_target.counts()
    code, err = ingest(sqlite_target, [path], "--sidecar", str(sidecar(tmp_path)), capsys=capsys)
    assert code == 1, err
    lines = [line for line in err.splitlines() if "duplicate_line" in line]
    assert len(lines) == 1, err
    assert (
        "[error] duplicate_line: column 'record_index' 1 row(s) at line(s) 5 (repeating line 4)"
        in lines[0]
    )
    assert "nothing was written" in err
    assert sqlite_target.counts() == before


def test_an_exact_repeat_across_a_chunk_boundary_is_seen(sqlite_target, tmp_path, capsys):
    """The repeat is the first row of a chunk, its twin the last of the one before."""
    text = rows(400)
    path = write(tmp_path, "probe.csv", text)
    chunks = [t for _, t in bdf.read(path, ReadOptions(started_at=0, block_size=4096))[1]]
    boundary = int(chunks[1].column("line")[0].as_py())  # the first line of chunk 2
    twin = boundary - 1
    index = twin - 2
    lines = text.splitlines()
    lines.insert(twin, f"{index},{index},3.7,1.5,1")  # written again right after itself
    path = write(tmp_path, "boundary.csv", "\n".join(lines) + "\n")
    again = [t for _, t in bdf.read(path, ReadOptions(started_at=0, block_size=4096))[1]]
    assert int(again[1].column("line")[0].as_py()) == boundary  # the repeat opens chunk 2
    report = tmp_path / "report.json"
    code, err = ingest(
        sqlite_target,
        [path],
        "--sidecar",
        str(sidecar(tmp_path)),
        "--lenient",
        "--block-size",
        "4096",
        "--report",
        str(report),
        capsys=capsys,
    )
    assert code == 0, err
    repeat = finding(report_of(report), "duplicate_line")
    assert (repeat["first_lines"], repeat["repeating_lines"]) == ([boundary], [twin])
    assert report_of(report)["rows_loaded"] == 400


@pytest.mark.parametrize("mode", [[], ["--lenient"]], ids=["strict", "lenient"])
def test_a_record_index_repeated_with_other_values_is_refused(
    sqlite_target, tmp_path, capsys, mode
):
    path = write(tmp_path, "other.csv", rows(6, **{"4": "2,2,3.7,1.5,1\n2,2,3.8,1.5,1"}))
    before = sqlite_target.counts()
    code, err = ingest(
        sqlite_target, [path], "--sidecar", str(sidecar(tmp_path)), *mode, capsys=capsys
    )
    assert code == 1, err
    assert "duplicate_record_index: column 'record_index' 2 row(s) at line(s) 4, 5" in err, err
    assert "duplicate_line" not in err, err
    assert sqlite_target.counts() == before


def test_a_repeat_beside_a_conflicting_duplicate_counts_once_each(sqlite_target, tmp_path, capsys):
    """An exact repeat (line 5) and, elsewhere, an index written with other values (lines 8
    and 9): the file is refused for the second; the first is named as a repeat only."""
    text = rows(8, **{"4": "2,2,3.7,1.5,1\n2,2,3.7,1.5,1", "7": "5,5,3.7,1.5,1\n5,6,3.7,1.5,1"})
    path = write(tmp_path, "both.csv", text)
    code, err = ingest(
        sqlite_target, [path], "--sidecar", str(sidecar(tmp_path)), "--lenient", capsys=capsys
    )
    assert code == 1, err
    assert "duplicate_record_index: column 'record_index' 2 row(s) at line(s) 8, 9" in err, err
    assert "duplicate_line: column 'record_index' 1 row(s) at line(s) 5 (repeating line 4)" in err


def test_without_record_numbers_a_repeat_is_a_note_and_kept(sqlite_target, tmp_path, capsys):
    """No Record Index: the same test time and values as the line before may be a duplicated
    line or a clock coarser than the sampling; named, kept, never refused."""
    text = "Test Time / s,Voltage / V,Current / A\n0,3.7,1\n1,3.7,1\n1,3.7,1\n1,3.8,1\n2,3.7,1\n"
    path = write(tmp_path, "no-records.csv", text)
    report = tmp_path / "report.json"
    code, err = ingest(
        sqlite_target,
        [path],
        "--sidecar",
        str(sidecar(tmp_path)),
        "--report",
        str(report),
        capsys=capsys,
    )
    assert code == 0, err
    same = finding(report_of(report), "repeated_sample")
    assert (same["severity"], same["first_lines"], same["repeating_lines"]) == ("note", [4], [3])
    assert report_of(report)["rows_loaded"] == 5


# ------------------------------------------------------------- the cell's declared window


def test_samples_outside_the_voltage_window_are_notes(target, tmp_path, capsys):
    """A 0 V reading (a lead came off) and 4.35 V above a 4.2 V cut-off: named with their
    lines, stored as recorded, and the file loads in strict mode; 4.205 V is within the
    10 mV tolerance and 2.495 V too."""
    text = rows(
        8,
        **{"3": "1,1,0.0,0,1", "5": "3,3,4.35,1.5,1", "6": "4,4,4.205,1.5,1", "7": "5,5,2.495,0,1"},
    )
    path = write(tmp_path, "window.csv", text)
    report = tmp_path / "report.json"
    code, err = ingest(
        target, [path], "--sidecar", str(sidecar(tmp_path)), "--report", str(report), capsys=capsys
    )
    assert code == 0, err
    assert "[note] voltage_below_cell_minimum: column 'voltage_volt' 1 row(s) at line(s) 3:" in err
    assert "[note] voltage_above_cell_maximum: column 'voltage_volt' 1 row(s) at line(s) 5:" in err
    record = report_of(report)
    low = finding(record, "voltage_below_cell_minimum")
    assert low["severity"] == "note" and "(2.5 V) by more than 0.01 V" in low["description"]
    assert record["rows_loaded"] == 8 and record["rows_rejected"] == 0
    stored = target.query(
        "SELECT voltage_volt FROM timeseries_point WHERE session_id = %s AND record_index = 1",
        [session_of(target, path)],
    )
    assert stored[0][0] == 0.0


def test_a_session_on_an_existing_cell_uses_its_window(sqlite_target, tmp_path, capsys):
    """--session ID: the window is the session's cell's, read from the database."""
    first = write(tmp_path, "first.csv", rows(3))
    code, err = ingest(sqlite_target, [first], "--sidecar", str(sidecar(tmp_path)), capsys=capsys)
    assert code == 0, err
    session = session_of(sqlite_target, first)
    second = write(tmp_path, "second.csv", rows(3, **{"3": "1,1,5.0,1.5,1"}))
    # the same times as the first file: --allow-overlap, the window is what is tested here
    code, err = ingest(
        sqlite_target, [second], "--session", str(session), "--allow-overlap", capsys=capsys
    )
    assert code == 0, err
    assert "voltage_above_cell_maximum: column 'voltage_volt' 1 row(s) at line(s) 3:" in err


def staged(tmp_path: Path, text: str) -> list[pa.Table]:
    path = write(tmp_path, "staged.csv", text)
    return [t for _, t in bdf.read(path, ReadOptions(started_at=0))[1]]


def test_current_outside_declared_limits_is_a_note(tmp_path):
    """Schema version 3 declares no current limits for a cell (quality.CURRENT_LIMITS names
    the columns the rule reads once it does); given limits, the rule names the lines."""
    text = rows(6, **{"3": "1,1,3.7,-12,1", "6": "4,4,3.7,6,1"})
    report = quality.Report("limits.csv")
    checker = quality.Checker(report, "sqlite", lambda: None)
    checker.use_limits(quality.Limits(2.5, 4.2, current_min=-10.0, current_max=5.0))
    for table in staged(tmp_path, text):
        assert checker.passing(table).all()  # a note never leaves a row out
    checker.finish()
    text = report.text()
    assert "[note] current_below_cell_limit: column 'current_ampere' 1 row(s) at line(s) 3:" in text
    assert "[note] current_above_cell_limit: column 'current_ampere' 1 row(s) at line(s) 6:" in text
    assert not report.failed(("error", "refuse", "warning"))


def test_no_declared_limit_no_finding(tmp_path):
    report = quality.Report("none.csv")
    checker = quality.Checker(report, "sqlite", lambda: None)
    checker.use_limits(quality.Limits())
    for table in staged(tmp_path, rows(4, **{"3": "1,1,0.0,-4000,1"})):
        checker.passing(table)
    checker.finish()
    assert report.findings == []


# ------------------------------------------------------------------------ logging gaps


def timed(times: list[float], voltage: float = 3.7) -> str:
    """Samples at `times`; `voltage` makes files of the same times differ (a module's tests
    share one database, where the same bytes twice are one load)."""
    lines = (f"{i},{t},{voltage},1.5,1" for i, t in enumerate(times))
    return "\n".join([HEADER, *lines]) + "\n"


def test_a_ten_minute_gap_is_a_note(target, tmp_path, capsys):
    times = [float(i) for i in range(100)] + [700.0 + i for i in range(50)]  # 601 s at line 102
    path = write(tmp_path, "gap.csv", timed(times))
    report = tmp_path / "report.json"
    code, err = ingest(
        target, [path], "--sidecar", str(sidecar(tmp_path)), "--report", str(report), capsys=capsys
    )
    assert code == 0, err
    gap = finding(report_of(report), "time_gap")
    assert gap["severity"] == "note" and gap["first_lines"] == [102]
    assert "the longest 601 s before line 102" in gap["description"], gap
    assert "10 x the median sampling interval, 1 s, and at least 60 s" in gap["description"]


GAP_CASES = ["under-floor", "floor-lowered", "multiple-raised", "slow-logger", "glitch"]


@pytest.mark.parametrize(
    ("times", "options", "found"),
    [
        # 30 s against a 1 s median: 30 times, but under the 60 s floor
        ([*range(50), *(80 + i for i in range(50))], [], []),
        # the floor lowered: it is a gap
        ([*range(50), *(80 + i for i in range(50))], ["--gap-min-seconds", "20"], [52]),
        # the multiple raised above the gap
        ([*range(50), *(700 + i for i in range(50))], ["--gap-multiple", "1000"], []),
        # a 10 s logger with one 90 s interval: under 10 x 10 s
        ([10.0 * i for i in range(50)] + [580.0 + 10 * i for i in range(50)], [], []),
        # time steps back (a glitch) and recovers: the jump back up is no gap
        ([*range(50), 0, *(50 + i for i in range(50))], [], []),
    ],
    ids=GAP_CASES,
)
def test_gap_options(sqlite_target, tmp_path, capsys, request, times, options, found):
    voltage = 3.0 + 0.1 * GAP_CASES.index(request.node.callspec.id)  # each case's own bytes
    path = write(tmp_path, "gaps.csv", timed([float(t) for t in times], voltage))
    report = tmp_path / "report.json"
    code, err = ingest(
        sqlite_target,
        [path],
        "--sidecar",
        str(sidecar(tmp_path)),
        "--lenient",
        "--report",
        str(report),
        *options,
        capsys=capsys,
    )
    assert code == 0, err
    gaps = [f for f in report_of(report)["findings"] if f["rule"] == "time_gap"]
    assert [g["first_lines"] for g in gaps] == ([found] if found else [])


def test_a_gap_across_chunks_is_measured_against_the_whole_file(sqlite_target, tmp_path, capsys):
    """The median is the file's, not a chunk's: many chunks, one gap far from the start."""
    times = [float(i) for i in range(3000)]
    times[2500:] = [t + 900 for t in times[2500:]]
    path = write(tmp_path, "long.csv", timed(times))
    report = tmp_path / "report.json"
    code, err = ingest(
        sqlite_target,
        [path],
        "--sidecar",
        str(sidecar(tmp_path)),
        "--block-size",
        "4096",
        "--report",
        str(report),
        capsys=capsys,
    )
    assert code == 0, err
    assert finding(report_of(report), "time_gap")["first_lines"] == [2502]
