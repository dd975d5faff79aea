"""The shipped demo data (data/demo/, simulated with PyBaMM by scripts/demo/make_demo_data.py)
and `make demo` (python -m demo): the demo database builds on SQLite, PostgreSQL 15 and
TimescaleDB with the rows the files hold and the facts the simulation put in them (capacity
fades, SOC stays in range, current is positive when it charges); the Maccor export of the
drive cycle, read with --format maccor (ingest/readers/maccor.py), gives the same samples as
its BDF CSV; and a file that is not what --format says is refused whole."""

from __future__ import annotations

import csv
import gzip
import shutil
import sqlite3
import subprocess
import sys

import pytest

import demo
import harness
from ingest.cli import main
from ingest.db import connect
from tests.support.dbkit import ROOT, ddl_text, load_pg_ddl

# slow: the demo database built and derived, its plots drawn
pytestmark = pytest.mark.slow

ENGINES = ["sqlite", "pg_env" if harness.own_dsn_is_set() else "pg15", "timescale"]
DATA = ROOT / "data" / "demo"


def data_rows(name: str) -> int:
    """Samples in a shipped file, counted without the loader: lines after the header(s)."""
    with gzip.open(DATA / name, "rt", encoding="ISO-8859-1") as handle:
        lines = sum(1 for line in handle if line.strip())
    return lines - (2 if name.endswith(".001.gz") else 1)


AGING = data_rows("cell_aging.bdf.csv.gz")
DRIVE = data_rows("drive_cycle.bdf.csv.gz")


def cycles_in_file() -> int:
    with gzip.open(DATA / "cell_aging.bdf.csv.gz", "rt") as handle:
        return len({row["Cycle Count / 1"] for row in csv.DictReader(handle)})


class Demo:
    def __init__(self, url: str):
        self.url = url
        self.built = demo.build(url)
        self.kind = "sqlite" if url.startswith("sqlite") else "postgres"

    def query(self, sql: str, params=()) -> list[tuple]:
        db = connect(self.url)
        try:
            return db.query(sql, params)
        finally:
            db.close()

    def session(self, name: str) -> int:
        return self.built.sessions[name]


@pytest.fixture(scope="module", params=ENGINES)
def built(request, tmp_path_factory):
    if request.param == "sqlite":
        # the file does not exist: build() creates it with the schema, as make demo does
        path = tmp_path_factory.mktemp("demo") / "battery.sqlite"
        yield Demo(f"sqlite:///{path}")
        return
    engine = request.getfixturevalue(request.param)
    with engine.fresh_database("demo") as database:
        if request.param == "timescale":
            # build() would choose this DDL itself (the server offers the extension); loading
            # it here keeps this engine's DDL loading the harness's, as in test_ingest
            with database.connect() as raw:
                load_pg_ddl(raw, ddl_text("timescaledb"))
        # on PostgreSQL 15 build() creates the tables itself (DB=postgresql://... make demo)
        yield Demo(database.conninfo())


def test_every_shipped_sample_is_loaded_and_derived(built):
    counts = built.built.rows
    assert counts["timeseries_point"] == AGING + 2 * DRIVE
    assert counts["test_session"] == 3 and counts["battery_cell"] == 1
    assert counts["source_file"] == 3
    cycles = cycles_in_file()
    assert cycles >= 50
    assert counts["cycle"] == cycles + 2  # the drive cycles are one cycle each
    assert counts["label_soc"] == counts["timeseries_point"]  # one coulomb count per sample
    formats = built.query("SELECT file_format, cycler_software FROM source_file ORDER BY 1")
    assert formats == [("bdf_csv", None), ("bdf_csv", None), ("maccor_txt", "Maccor")]


def test_capacity_fades_and_soh_follows(built):
    aging = built.session("cell_aging")
    soh = [
        row[0]
        for row in built.query(
            "SELECT soh FROM label_soh WHERE session_id = %s AND definition = 'capacity' "
            "ORDER BY cycle_index",
            [aging],
        )
    ]
    assert len(soh) >= 50
    assert soh[0] > 0.9 and soh[-1] < soh[0] - 0.1, soh[:: len(soh) // 8]
    # fade, not noise: every tenth cycle holds less than the one ten cycles before
    assert all(b < a for a, b in zip(soh[::10], soh[10::10], strict=False))


def test_soc_stays_in_range(built):
    for name in ("drive_cycle", "drive_cycle_maccor"):
        low, high, first = built.query(
            "SELECT min(soc), max(soc), (SELECT soc FROM label_soc WHERE session_id = %s "
            "ORDER BY record_index LIMIT 1) FROM label_soc WHERE session_id = %s",
            [built.session(name)] * 2,
        )[0]
        assert first == pytest.approx(0.9)
        assert 0.5 < low < high <= 0.9 + 1e-6, (name, low, high)
    # 80 cycles of coulomb counting without a reset drift with the fade; within the
    # schema's band for a counted SOC (ck_label_soc_soc_range) and full at the start
    low, high = built.query(
        "SELECT min(soc), max(soc) FROM label_soc WHERE session_id = %s",
        [built.session("cell_aging")],
    )[0]
    assert -0.25 <= low < 0.1 and high == pytest.approx(1.0)


def test_current_is_positive_when_it_charges(built):
    rows = built.query(
        "SELECT step_type, min(current_ampere), max(current_ampere) FROM timeseries_point "
        "WHERE session_id = %s GROUP BY step_type ORDER BY step_type",
        [built.session("cell_aging")],
    )
    by_type = {r[0]: (r[1], r[2]) for r in rows}
    assert by_type["cc_charge"][0] > 4.9 and by_type["cv_charge"][0] > 0.2
    assert by_type["cc_discharge"][1] < -4.9
    assert abs(by_type["rest"][0]) < 1e-9 and abs(by_type["rest"][1]) < 1e-9
    # a discharge ends at the low voltage limit, a charge at the high one
    assert built.query(
        "SELECT min(voltage_volt) >= 2.99, max(voltage_volt) <= 4.2001 FROM timeseries_point "
        "WHERE session_id = %s",
        [built.session("cell_aging")],
    )[0] == (True, True)


def test_maccor_export_gives_the_same_samples_as_bdf(built):
    select = (
        "SELECT record_index, {t}, test_time_second, voltage_volt, current_ampere, cycle_count "
        "FROM timeseries_point WHERE session_id = %s ORDER BY record_index"
    ).format(t="recorded_at" if built.kind == "sqlite" else "extract(epoch FROM recorded_at)")
    bdf = built.query(select, [built.session("drive_cycle")])
    maccor = built.query(select, [built.session("drive_cycle_maccor")])
    assert len(bdf) == len(maccor) == DRIVE
    for a, b in zip(bdf, maccor, strict=True):
        assert a[0] == b[0] and a[5] == b[5]
        assert float(a[1]) == pytest.approx(float(b[1]), abs=2e-3)  # Test (Min), 7 decimals
        assert a[2] == pytest.approx(b[2], abs=2e-3)
        assert a[3] == pytest.approx(b[3], abs=1e-9) and a[4] == pytest.approx(b[4], abs=1e-9)
    assert min(r[4] for r in maccor) < -9 and max(r[4] for r in maccor) > 5  # both signs
    soc = (
        "SELECT soc FROM label_soc WHERE session_id = %s AND method = 'coulomb_counting' "
        "ORDER BY record_index"
    )
    a = [r[0] for r in built.query(soc, [built.session("drive_cycle")])]
    b = [r[0] for r in built.query(soc, [built.session("drive_cycle_maccor")])]
    assert a == pytest.approx(b, abs=1e-6)


def test_building_again_is_a_no_op(built):
    again = demo.build(built.url)
    assert again.rows == built.built.rows
    assert again.sessions == built.built.sessions


def db_rows(url: str, sql: str) -> list[tuple]:
    db = connect(url)
    try:
        return [tuple(row) for row in db.query(sql)]
    finally:
        db.close()


@pytest.mark.parametrize("built", ["sqlite"], indirect=True)  # the docs build's engine
def test_plots_are_drawn_from_the_demo_and_are_deterministic(built):
    """The docs page's SVGs (demo/plots.py): the same database gives the same bytes, and
    each plot shows its table's data (axis labels name the columns)."""
    from demo import plots

    first = plots.draw(built.url)
    assert first == plots.draw(built.url)
    assert set(first) == set(plots.PLOTS)
    assert "voltage_volt" in first["cycle-trace.svg"]
    assert "discharge_capacity_ah" in first["capacity-fade.svg"]
    assert "label_soc.soc" in first["soc-label.svg"]
    for svg in first.values():
        assert "<dc:date>" not in svg  # no build time in the metadata
    # the same cycle numbering everywhere: cycle_index, as the page's text names them
    assert "cycle_index 1:" in first["cycle-trace.svg"]
    curves = first["discharge-curves.svg"]
    assert curves.count("(cycle_feature)") == plots.CURVES
    for cycle, capacity in db_rows(
        built.url,
        "SELECT cycle_index, discharge_capacity_ah FROM cycle_feature f JOIN test_session s "
        "ON s.session_id = f.session_id WHERE s.notes = 'demo: cell_aging' "
        "AND cycle_index IN (1, 79)",
    ):
        assert f"cycle_index {cycle}: {capacity:.2f} Ah" in curves
    assert "twinx" not in plots.capacity_fade.__code__.co_names  # SOH is in the caption


@pytest.mark.parametrize("built", ["sqlite"], indirect=True)
def test_the_demo_pages_figures_are_the_databases(built):
    """docs/demo.md states the fade and SOH figures of the demo; they are the database's."""
    page = (ROOT / "docs" / "demo.md").read_text(encoding="utf-8")
    rows = dict(
        db_rows(
            built.url,
            "SELECT cycle_index, discharge_capacity_ah FROM cycle_feature f JOIN test_session s "
            "ON s.session_id = f.session_id WHERE s.notes = 'demo: cell_aging'",
        )
    )
    first, last = min(rows), max(rows)
    assert (
        f"falls from {rows[first]:.2f} Ah at `cycle_index` {first} to {rows[last]:.2f} Ah" in page
    )
    soh = dict(
        db_rows(
            built.url,
            "SELECT cycle_index, soh FROM label_soh l JOIN test_session s "
            "ON s.session_id = l.session_id WHERE s.notes = 'demo: cell_aging' "
            "AND definition = 'capacity'",
        )
    )
    assert f"{soh[min(soh)]:.2f} falling to {soh[max(soh)]:.2f}" in page


# --------------------------------------------------------------- vendor files refused whole


def _maccor_lines() -> list[str]:
    with gzip.open(DATA / "drive_cycle.001.gz", "rt", encoding="ISO-8859-1") as handle:
        return handle.read().splitlines(keepends=True)


def _cut(name: str, size: int = 5000) -> bytes:
    return (DATA / name).read_bytes()[:size]


# case -> (file name, --format, content, message)
BAD_FILES = {
    "a BDF CSV declared as Maccor": (
        "bad.001",
        "maccor",
        # a line more than the demo's BDF file: the same bytes would be 'already loaded'
        lambda: gzip.open(DATA / "drive_cycle.bdf.csv.gz", "rb").read() + b"\n",
        "not a Maccor text export: line 2 lacks the column(s) 'Cyc#'",
    ),
    "0 bytes": ("bad.001", "maccor", lambda: b"", "the file is empty (0 bytes)"),
    "only the preamble": (
        "bad.001",
        "maccor",
        lambda: _maccor_lines()[0].encode(),
        "the file ends before",
    ),
    "header without rows": (
        "bad.001",
        "maccor",
        lambda: "".join(_maccor_lines()[:2]).encode(),
        ":3: the file has column names but no data rows",
    ),
    "truncated in a row": (
        "bad.001",
        "maccor",
        lambda: ("".join(_maccor_lines()[:40]) + "40\t0\t1\t0.65").encode(),
        ":41: column 'Volts': no value (the file looks truncated)",
    ),
    "a Maccor .gz cut short": (
        "bad.001.gz",
        "maccor",
        lambda: _cut("drive_cycle.001.gz"),
        "cannot read the file: its compressed data ends before the end-of-stream marker",
    ),
    "a BDF .csv.gz cut short": (
        "bad.csv.gz",
        "bdf",
        lambda: _cut("drive_cycle.bdf.csv.gz"),
        "cannot read the file: its compressed data ends before the end-of-stream marker",
    ),
    "a .csv.gz that is not gzip": (
        "bad.csv.gz",
        "bdf",
        lambda: b"Test Time / s,Voltage / V\n",
        "cannot read the file: Not a gzipped file",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_file_that_is_not_what_format_says_is_refused_whole(built, tmp_path, capsys, case):
    name, file_format, make, message = BAD_FILES[case]
    path = tmp_path / name
    path.write_bytes(make())
    before = built.query("SELECT count(*) FROM timeseries_point")[0][0]
    sessions = built.query("SELECT count(*) FROM test_session")[0][0]
    sidecar = str(DATA / "drive_cycle.json")
    code = main([str(path), "--format", file_format, "--db", built.url, "--sidecar", sidecar])
    err = capsys.readouterr().err
    assert code == 1, err
    assert f"error: {path}" in err and message in err, err
    assert "Traceback" not in err
    assert built.query("SELECT count(*) FROM timeseries_point")[0][0] == before
    assert built.query("SELECT count(*) FROM test_session")[0][0] == sessions


def test_a_maccor_export_declared_as_bdf_is_refused_with_a_hint(tmp_path, capsys):
    path = tmp_path / "run.001.gz"
    shutil.copy(DATA / "drive_cycle.001.gz", path)
    db = tmp_path / "x.sqlite"
    conn = sqlite3.connect(db)
    conn.executescript(ddl_text("sqlite"))
    conn.close()
    sidecar = str(DATA / "drive_cycle.json")
    code = main([str(path), "--db", str(db), "--sidecar", sidecar, "--format", "bdf"])
    err = capsys.readouterr().err
    assert code == 1 and "missing required column(s)" in err, err
    assert sqlite3.connect(db).execute("SELECT count(*) FROM test_session").fetchone() == (0,)


def test_make_demo_command_line(tmp_path):
    """python -m demo --db PATH: exit 0, the row counts on stdout as JSON."""
    db = tmp_path / "demo.sqlite"
    run = subprocess.run(
        [sys.executable, "-m", "demo", "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert f'"timeseries_point": {AGING + 2 * DRIVE}' in run.stdout
    assert "demo database" in run.stderr


def test_the_ageing_test_gets_its_curves_and_delta_q(built):
    """make demo derives the ageing session's curves (docs/features.md): every cycle with a
    discharge has a Q(V) curve, and cycle 70 its delta-Q(V) against cycle 10."""
    from demo.database import DELTA_Q_CYCLES

    aging = built.session("cell_aging")
    assert built.built.rows["cycle_curve"] > 0
    curves = built.query(
        "SELECT count(DISTINCT cycle_index) FROM cycle_curve WHERE session_id = %s"
        " AND direction = 'discharge' AND grid = 'voltage'",
        [aging],
    )[0][0]
    assert curves >= 50
    reference, compared = DELTA_Q_CYCLES
    row = built.query(
        "SELECT delta_q_reference_cycle_index, delta_q_mean_ah, delta_q_variance_ah2"
        " FROM cycle_curve_feature WHERE session_id = %s AND cycle_index = %s",
        [aging, compared],
    )[0]
    assert row[0] == reference and row[1] < 0 < row[2]  # the capacity faded between them
