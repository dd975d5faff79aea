"""The real-file corpus: a small real export of every Maccor and Arbin text layout the field's
readers know (tests/fixtures/maccor, tests/fixtures/arbin: copied from BEEP, cellpy,
battery-data-toolkit and PyProBE, origin and licence in each folder's README), each loaded in
strict mode with its values as the file writes them (sign, SI units, the cycler's counters,
every temperature channel); and the manifest of the field's public example files
(tests/fixtures/corpus/MANIFEST.tsv), which says for every file the loader does not load why.

SQLite for every fixture (seconds); PostgreSQL for one of them through the `target` fixture."""

from __future__ import annotations

import csv
import itertools
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ingest.corpus import FIXTURES, close, load_once, samples, sidecar
from tests.ingest.loading import Target

MANIFEST = FIXTURES / "corpus" / "MANIFEST.tsv"
ROOT = Path(__file__).resolve().parents[2]

# file -> (--format, --time-zone, rows loaded, {position: expected}), each expected a tuple
# (test_time_second, voltage_volt, current_ampere, cycle_count, step_id, temperature_t1),
# None where the file has no such value; positions count the loaded rows in record order
CASES: dict[str, tuple[str, str | None, int, dict[int, tuple]]] = {
    # BEEP: one-line MIMS preamble, Test (Sec), Amps signed already (State D rows negative)
    "maccor/PredictionDiagnostics_000151_paused.052": (
        "maccor",
        None,
        332,
        {
            0: (769267.24, 3.86823835, -4.8400091554, 37, 44, None),
            331: (769270.57, 3.86251621, -4.8402380407, 37, 44, None),
        },
    ),
    # BEEP: MIMS TestTime/StepTime durations `0d 00:00:00.0000`; an impedance sweep's State
    # FRA rows (one record number, the test clock stopped) left out; end-of-test records kept
    "maccor/maccor_test_file_4267-66-6519.041": (
        "maccor",
        None,
        13,
        {
            0: (0.0, 3.90806439, 0.0, 0, 1, None),
            12: (10.0, 3.91172656, 0.0, 0, 3, None),
        },
    ),
    # battery-data-toolkit: Test (Min)
    "maccor/maccor_example.001": (
        "maccor",
        "America/Chicago",
        8,
        {0: (0.0, 3.30678264, 0.0, 0, 1, None), 7: (70.002, 3.30617227, 0.0, 0, 1, None)},
    ),
    # cellpy maccor_txt_one: three preamble lines, TestTime durations with one-digit seconds,
    # unsigned Amps (D negated), Aux #1..#16 with ` Units` C at about -2500 (no sensor: NULL)
    "maccor/maccor_001.txt": (
        "maccor",
        None,
        300,
        {
            0: (29572.44, 4.19989, 0.05245, 0, 5, None),
            247: (36903.78, 4.12467, -0.50225, 0, 7, None),
        },
    ),
    # cellpy maccor_txt_three: blank lines in the preamble, milli units (mAmps signed,
    # mAmp-hr, and Volts in millivolts)
    "maccor/maccor_three.txt": (
        "maccor",
        None,
        300,
        {
            0: (31131.97, 3.1749447, 0.1791409, 0, 4, None),
            78: (39916.61, 3.7100786, -0.8959335, 0, 6, None),
            299: (58294.65, 3.3540856, 0.1792935, 1, 4, None),
        },
    ),
    # cellpy maccor_txt_two (the newer export): a dozen preamble lines, a blank line after the
    # header, Rec / Cycle P / Cycle C / TestTime in minutes / Current [A] unsigned with Md
    "maccor/maccor_002.txt": (
        "maccor",
        "Europe/Oslo",
        300,
        {
            0: (71986.54998, 3.3748, 0.00016052, 1, 4, None),
            149: (76404.70998, 3.7816, -0.00016190, 1, 5, None),
            299: (80817.52998, 3.2787, -0.00016030, 1, 5, None),
        },
    ),
    # the same layout from a European PC: decimal commas
    "maccor/maccor_two.txt": (
        "maccor",
        None,
        200,
        {0: (0.0, 0.1377, 0.0, 1, 1, None), 199: (11940.0, 0.1499, 0.0, 1, 1, None)},
    ),
    # PyProBE: comma-separated, two preamble lines, Test Time (sec), signed Current without a
    # state column, Temp 1
    "maccor/sample_data_maccor.csv": (
        "maccor",
        None,
        15,
        {
            0: (0.0, 3.668, 0.0, 1, 1, 22.2591),
            14: (13.06, 3.716, 28.798, 1, 2, 22.2591),
        },
    ),
    # BEEP: Arbin's database columns without units (Test_Time, Current, DateTime in Unix
    # seconds, Temperature), integer counters written `0.0`
    "arbin/FastCharge_000025_CH8.csv": (
        "arbin",
        None,
        248,
        {
            0: (10.0024, 3.3011441, 0.0, 0, 0, 30.109268),
            247: (1800.0104, 3.3009677, 0.0, 0, 0, 28.995434),
        },
    ),
    # battery-data-toolkit: the same layout, counters written as integers
    "arbin/arbin_example.csv": (
        "arbin",
        None,
        300,
        {
            0: (0.0, 3.2796359, -9.63e-05, 1, 10, 29.18314),
            299: (1100.0344, 3.6000009, 0.059045792, 1, 11, 28.9165),
        },
    ),
    # PyProBE: MITS Pro's CSV with spaced names and units (`Test Time (s)`,
    # `Aux_Temperature_1 (C)`), a tab inside the Date Time field, a byte-order mark
    "arbin/sample_data_arbin.csv": (
        "arbin",
        "Europe/London",
        13,
        {
            0: (30.0005, 3.534595, 0.0, 1, 1, 24.66422),
            12: (301.214, 3.599601, 2.650138, 1, 3, 24.68785),
        },
    ),
}
# file -> (position, recorded_at as Unix seconds): the local date-time in the zone given
RECORDED_AT = {
    "maccor/maccor_example.001": (0, 1459458331.0),  # 03/31/2016 16:05:31 CDT
    "maccor/maccor_002.txt": (149, 1620816828.0),  # 5/12/2021 12:53:48 PM CEST
    "arbin/sample_data_arbin.csv": (0, 1726817554.558),  # 09/20/2024 08:32:34.558 BST
    "arbin/FastCharge_000025_CH8.csv": (0, 1494645243.4715),  # DateTime, Unix seconds
}
COLUMNS = (
    "{epoch}, test_time_second, voltage_volt, current_ampere, cycle_count, step_id,"
    " temperature_t1_celsius"
)


def _load(target: Target, name: str, tmp_path: Path, capsys) -> list[tuple]:
    """The fixture loaded (once per module database) and checked against CASES."""
    file_format, zone, count, expected = CASES[name]
    err = load_once(target, name, file_format, zone, tmp_path, capsys)
    assert not err or f"{count} rows loaded" in err, err
    got = samples(target, name, COLUMNS.format(epoch=target.epoch("recorded_at")))
    assert len(got) == count
    for position, values in expected.items():
        row = got[position][1:]
        assert all(map(close, row, values)), (position, row, values)
    if name in RECORDED_AT:
        position, stamp = RECORDED_AT[name]
        assert abs(got[position][0] - stamp) < 1e-3, (got[position][0], stamp)
    return got


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_layout_loads_strict_with_the_files_values(sqlite_target, tmp_path, capsys, name):
    got = _load(sqlite_target, name, tmp_path, capsys)
    times = [r[1] for r in got]
    assert times == sorted(times)  # in record order, test time runs forward


def test_a_real_layout_loads_the_same_on_each_engine(target, tmp_path, capsys):
    """The newer Maccor layout (decimal point, unsigned current, local time) on SQLite and
    PostgreSQL: the same values."""
    _load(target, "maccor/maccor_002.txt", tmp_path, capsys)


def test_cumulative_counters_of_a_maccor_export_never_fall(sqlite_target, tmp_path, capsys):
    """Amp-hr restarts at each step; the stored counters are cumulative: they never fall, and
    the discharge counter grows by the discharge step's last Amp-hr (cellpy's maccor_001,
    step 7: 0.20134 Ah at its last line)."""
    name = "maccor/maccor_001.txt"
    _load(sqlite_target, name, tmp_path, capsys)
    rows = samples(
        sqlite_target, name, "charging_capacity_ah, discharging_capacity_ah, charging_energy_wh"
    )
    for column in range(3):
        values = [r[column] for r in rows]
        assert all(b >= a for a, b in zip(values, values[1:], strict=False)), column
    assert close(rows[-1][1], 0.20134)
    assert close(rows[0][0], 1.15201)  # the file's first sample: step 5's charge so far


# ------------------------------------------------------------------ the corpus manifest

OUTCOMES = {"loads", "refused"}
# why a file of the field's corpus is not loaded: the only reasons a refusal is kept for
REASONS = {
    "not an export": "a statistics-by-cycle or metadata sheet, a GlobalInfo sheet, a parsed "
    "frame re-saved by a library, a spreadsheet of another tool",
    "impedance": "an impedance (EIS/FRA) sweep, not a time series",
    "broken": "the file is truncated or damaged",
    "format not read": "a format the loader does not claim (binary .res/.mpr/.h5/.pkl, "
    "BaSyTec, Novonix, PEC, Landt raw)",
    "out of range": "values the schema's CHECKs refuse because no battery test writes them "
    "(an electrochemistry test's -8.6 V, a scrubbed file's placeholder temperature)",
    "no current": "an export without a current column whose header does not name the Open "
    "Circuit Voltage technique (whose current is 0 A by definition)",
    "sign": "a BDF file whose current counts discharge as positive by its own step types "
    "(loads with --discharge-positive)",
}


def _manifest() -> list[dict[str, str]]:
    with open(MANIFEST, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_the_manifest_states_a_reason_for_every_file_not_loaded():
    rows = _manifest()
    assert rows, MANIFEST
    for row in rows:
        assert row["outcome"] in OUTCOMES, row
        if row["outcome"] == "refused":
            assert row["reason"] in REASONS and row["detail"].strip(), row
        else:
            assert not row["reason"], row
    # every fixture above is named in its folder's README, and is (a cut of) a corpus file
    # that loads whole, but maccor_two.txt, whose original's last line is cut mid-row
    loaded = {Path(r["path"]).name for r in rows if r["outcome"] == "loads"}
    for name in CASES:
        readme = (FIXTURES / name).parent / "README.md"
        assert f"`{Path(name).name}`" in readme.read_text(), name
    assert {Path(n).name for n in CASES} - loaded == {"maccor_two.txt"}


def _corpus_root() -> Path | None:
    root = Path(os.environ.get("CORPUS_DIR", "/work/corpus/files"))
    return root if root.is_dir() else None


# the corpus run's time box (seconds; CORPUS_SECONDS): files in order of size, smallest
# first, until it is spent; a bounded run, as the fuzzers' (the whole corpus takes minutes)
CORPUS_SECONDS = float(os.environ.get("CORPUS_SECONDS", "20"))
CLAIMED = ("bdf", "maccor", "arbin", "neware", "biologic")


def _present(root: Path) -> list[tuple[dict[str, str], Path]]:
    """The manifest's files on this machine: each format's in order of size, the formats
    taking turns (so a time box reaches every format's smallest files first)."""
    by_format: dict[str, list] = {}
    for row in _manifest():
        path = root / row["local_path"]
        if path.is_file():
            by_format.setdefault(row["format"], []).append((row, path))
    queues = [sorted(q, key=lambda rp: rp[1].stat().st_size) for _, q in sorted(by_format.items())]
    return [rp for turn in itertools.zip_longest(*queues) for rp in turn if rp is not None]


@pytest.mark.skipif(_corpus_root() is None, reason="the corpus is not on this machine (CORPUS_DIR)")
def test_every_export_the_manifest_loads_is_recognised_without_format():
    """Without --format the loader recognises each file the manifest says loads as the format
    the manifest names (ingest/sniff.py SIGNATURES, a workbook's sheets, a binary's bytes)."""
    from ingest.cli import detect_format

    checked = 0
    for row, path in _present(_corpus_root()):
        if row["outcome"] == "loads":
            assert detect_format(path) == row["format"], row["local_path"]
            checked += 1
    assert checked >= 40, checked


@pytest.mark.slow
@pytest.mark.skipif(_corpus_root() is None, reason="the corpus is not on this machine (CORPUS_DIR)")
def test_the_corpus_gives_the_outcomes_the_manifest_states(tmp_path):
    """Each export of the manifest, loaded in strict mode into a fresh SQLite database, loads
    or is refused as the manifest says (the refusal's words included): the formats take
    turn, smallest first, until CORPUS_SECONDS are spent."""
    root = _corpus_root()
    schema = (ROOT / "sql" / "sqlite" / "schema.sql").read_text()
    side = sidecar(tmp_path, "corpus")
    checked: dict[str, int] = {}
    deadline = time.monotonic() + CORPUS_SECONDS
    for row, path in _present(root):
        if row["format"] not in CLAIMED or time.monotonic() > deadline:
            continue
        db = tmp_path / f"{sum(checked.values())}.sqlite"
        with sqlite3.connect(db) as conn:
            conn.executescript(schema)
        command = [sys.executable, "-m", "ingest", str(path), "--db", str(db), "--strict"]
        command += ["--format", row["format"], "--sidecar", str(side)]
        if row["time_zone"]:
            command += ["--time-zone", row["time_zone"]]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
        if row["outcome"] == "loads":
            assert done.returncode == 0, (row["local_path"], done.stderr)
        else:
            assert done.returncode != 0, row["local_path"]
            assert row["message"] in done.stderr, (row["local_path"], done.stderr)
        checked[row["format"]] = checked.get(row["format"], 0) + 1
    print(f"corpus: {checked} files checked in {CORPUS_SECONDS:.0f} s at most")
    assert set(checked) == set(CLAIMED), checked  # the smallest of each format at least
