"""A sidecar without `started_at` (issue 22, item 6): the session's start is taken from the
first file's first absolute time (recorded_at - test_time_second of its first sample that has
both); a file without absolute time then refuses, naming what to give, and writes nothing."""

from __future__ import annotations

import json

from tests.ingest import clock_files
from tests.ingest.loading import CELL, SESSION, ingest, session_of, write


def _sidecar(tmp_path):
    path = tmp_path / "nostart.json"
    path.write_text(json.dumps({"cell": CELL, "session": SESSION}))
    return path


def _started(target, path) -> float:
    rows = target.query(
        f"SELECT {target.epoch('started_at')} FROM test_session WHERE session_id = %s",
        [session_of(target, path)],
    )
    return float(rows[0][0])


def test_the_start_comes_from_the_files_unix_time(target, tmp_path, capsys):
    text = (
        "Test Time / s,Unix Time / s,Voltage / V,Current / A,Cycle Count / 1\n"
        "10,1711843210,3.66,1,0\n20,1711843220,3.67,1,0\n"
    )
    path = write(tmp_path, "unix.csv", text)
    code, err = ingest(target, [path], "--sidecar", str(_sidecar(tmp_path)), capsys=capsys)
    assert code == 0, err
    assert _started(target, path) == 1711843200.0  # 1711843210 at test time 10 s


def test_the_start_comes_from_local_date_times(sqlite_target, tmp_path, capsys):
    rows = clock_files.samples(clock_files.CROSSINGS["newyork-autumn"], 20)
    path = clock_files.write(tmp_path, "local.csv", "bdf", rows, volts=3.68)
    options = ("--sidecar", str(_sidecar(tmp_path)), "--time-zone", "America/New_York")
    code, err = ingest(sqlite_target, [path], *options, capsys=capsys)
    assert code == 0, err
    assert abs(_started(sqlite_target, path) - rows[0].instant) < 1e-3  # test time 0


def test_no_absolute_time_and_no_start_is_refused(sqlite_target, tmp_path, capsys):
    path = write(
        tmp_path,
        "relative.csv",
        "Test Time / s,Voltage / V,Current / A,Cycle Count / 1\n0,3.69,1,0\n",
    )
    before = sqlite_target.counts()
    code, err = ingest(sqlite_target, [path], "--sidecar", str(_sidecar(tmp_path)), capsys=capsys)
    assert code == 1
    assert err.splitlines() == [
        f"error: {path}: no absolute time (Unix Time / s or Date Time) and the session has no "
        "start time: give the session's started_at (in the sidecar, ISO 8601 with an offset)"
    ]
    assert sqlite_target.counts() == before
