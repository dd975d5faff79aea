"""The real fixtures' samples as loaded, against the values the field's own libraries give for
the same files: BEEP's parsed frame of its Maccor file (shipped with BEEP, kept beside the
fixture), cellpy's golden frame of its Maccor file (shipped with cellpy, the fixture's rows of
it kept beside the fixture), and battery-data-toolkit run here on its own Maccor and Arbin
example files. Voltage, current with its sign, test time and cycle, row by row."""

from __future__ import annotations

import csv

import pytest

from tests.ingest.corpus import FIXTURES, close, load_once, samples

REFERENCE = FIXTURES / "maccor" / "reference"
COLUMNS = "test_time_second, voltage_volt, current_ampere, cycle_count, step_id"


def _reference(name: str) -> list[dict[str, float]]:
    with open(REFERENCE / name, newline="") as handle:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]


def test_beep_maccor_file_gives_beeps_values(sqlite_target, tmp_path, capsys):
    """BEEP's MaccorDatapath frame of PredictionDiagnostics_000151_paused.052 (its
    BEEPDatapath_maccor_paused_memloaded.csv): BEEP keeps test time as float32 (0.06 s
    steps at 769,267 s) and current as float32; the sign as the file writes it (signed)."""
    name = "maccor/PredictionDiagnostics_000151_paused.052"
    load_once(sqlite_target, name, "maccor", None, tmp_path, capsys)
    got = samples(sqlite_target, name, COLUMNS)
    peer = _reference("PredictionDiagnostics_000151_paused.beep.csv")
    assert len(got) == len(peer) == 332
    for ours, theirs in zip(got, peer, strict=True):
        assert abs(ours[0] - theirs["test_time"]) <= 0.07, (ours, theirs)
        assert close(ours[1], theirs["voltage"], 1e-6), (ours, theirs)
        assert close(ours[2], theirs["current"], 1e-6), (ours, theirs)
        assert ours[3] == theirs["cycle_index"] and ours[4] == theirs["step_index"]


def test_cellpy_maccor_file_gives_cellpys_values(sqlite_target, tmp_path, capsys):
    """cellpy's maccor_txt golden frame (tests/data/goldens/loader_maccor_txt/raw.parquet) for
    the fixture's 300 rows of maccor_001.txt: test time in seconds from the `0d hh:mm:ss`
    durations, discharge current negated from State D, cycle counted from 1 where the file
    counts from 0 (cellpy's set_cycle_number_not_zero; the loader keeps the cycler's)."""
    name = "maccor/maccor_001.txt"
    load_once(sqlite_target, name, "maccor", None, tmp_path, capsys)
    got = samples(sqlite_target, name, COLUMNS)
    peer = _reference("maccor_001.cellpy.csv")
    assert len(got) == len(peer) == 300
    assert any(r[2] < 0 for r in got) and any(r[2] > 0 for r in got)
    for ours, theirs in zip(got, peer, strict=True):
        assert abs(ours[0] - theirs["test_time"]) <= 1e-3, (ours, theirs)
        assert close(ours[1], theirs["voltage"]), (ours, theirs)
        assert close(ours[2], theirs["current"]), (ours, theirs)
        assert ours[3] + 1 == theirs["cycle_index"] and ours[4] == theirs["step_index"]


def test_battery_data_toolkit_maccor_file_gives_its_values(sqlite_target, tmp_path, capsys):
    """battery-data-toolkit's MACCORReader on its own maccor_example.001: test time from the
    file's first sample, signed current, cycle counted from the file's first."""
    maccor = pytest.importorskip("battdat.io.maccor")
    name = "maccor/maccor_example.001"
    load_once(sqlite_target, name, "maccor", None, tmp_path, capsys)
    got = samples(sqlite_target, name, COLUMNS)
    frame = maccor.MACCORReader().read_file(str(FIXTURES / name))
    assert len(got) == len(frame) == 8
    for ours, (_i, theirs) in zip(got, frame.iterrows(), strict=True):
        assert abs(ours[0] - got[0][0] - theirs["test_time"]) <= 1e-6
        assert close(ours[1], theirs["voltage"]) and close(ours[2], theirs["current"])
        assert ours[3] - got[0][3] == theirs["cycle_number"]


def test_battery_data_toolkit_arbin_file_gives_its_values(sqlite_target, tmp_path, capsys):
    """battery-data-toolkit's ArbinReader on the fixture's 300 rows of its arbin_example.csv:
    it drops a row whose voltage and current repeat the row before (79 of 300 here) and counts
    time by DateTime, so each of its rows is matched by DateTime and voltage; current,
    temperature and cycle as it reads them (its cycle counted from the file's first)."""
    arbin = pytest.importorskip("battdat.io.arbin")
    name = "arbin/arbin_example.csv"
    load_once(sqlite_target, name, "arbin", None, tmp_path, capsys)
    got = samples(
        sqlite_target,
        name,
        "recorded_at, voltage_volt, current_ampere, cycle_count, temperature_t1_celsius",
    )
    frame = arbin.ArbinReader().read_file(str(FIXTURES / name))
    assert len(got) == 300 and 200 < len(frame) < 300
    # its test time is DateTime (whole seconds) from the file's first: rows match by it and
    # their voltage
    by_key: dict[tuple, tuple] = {}
    for r in got:  # the first of rows alike, as it keeps
        by_key.setdefault((round(r[0] - got[0][0], 3), round(r[1], 6)), r)
    for _i, theirs in frame.iterrows():
        ours = by_key[(round(float(theirs["test_time"]), 3), round(float(theirs["voltage"]), 6))]
        assert close(ours[2], theirs["current"]) and close(ours[4], theirs["temperature"])
        assert ours[3] - got[0][3] == theirs["cycle_number"]
