"""The shipped demo data (data/demo/, simulated with PyBaMM by scripts/demo/make_demo_data.py)
and `make demo` (python -m demo): the demo database builds on SQLite, PostgreSQL 15 and
TimescaleDB with the rows the files hold and the facts the simulation put in them (nine cells,
eight aging under the conditions their sidecars state, capacity fading faster where it is
warmer and where the cycles are slower, SOC in range, current positive when it charges, the
cells warming under load); the Maccor export of the drive cycle, read with --format maccor
(ingest/readers/maccor.py), gives the same samples as its BDF CSV; and a file that is not what
--format says is refused whole."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import sqlite3
import subprocess
import sys

import pytest

import demo
from ingest.cli import main
from ingest.db import connect
from tests.support.dbkit import ROOT, sqlite_db

# slow: the demo database built and derived, its plots drawn
pytestmark = pytest.mark.slow

# the session fixtures (tests/conftest.py) that hold the demo on each engine
ENGINES = ["sqlite_demo", "pg_demo", "timescale_demo"]
# The curves and the baseline models are built and checked on SQLite only: their 760,000 curve
# rows take minutes on the test servers (PostgreSQL and the test TimescaleDB get them by
# multi-row INSERT), and their engine parity is tested where it is built, on smaller sessions
# (tests/derive/test_curves.py, tests/export/test_export.py).
DATA = ROOT / "data" / "demo"


def data_rows(name: str) -> int:
    """Samples in a shipped file, counted without the loader: lines after the header(s)."""
    with gzip.open(DATA / name, "rt", encoding="ISO-8859-1") as handle:
        lines = sum(1 for line in handle if line.strip())
    return lines - (2 if name.endswith(".001.gz") else 1)


BDF = [s.files[0] for s in demo.SESSIONS if not s.vendor]
SAMPLES = sum(data_rows(name) for name in BDF) + data_rows("drive_cycle.001.gz")
DRIVE = data_rows("drive_cycle.bdf.csv.gz")


def cycles_in_file(name: str) -> int:
    with gzip.open(DATA / name, "rt") as handle:
        return len({row["Cycle Count / 1"] for row in csv.DictReader(handle)})


def sidecar(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


class Demo:
    def __init__(self, url: str, models: bool = True):
        self.url = url
        self.models = models  # the curves and the baseline models built too (SQLite's)
        self.built = demo.build(url, models=models)
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
def built(request):
    """The demo built once per test session on each engine (tests/conftest.py), shared with the
    cookbook's tests: Demo() builds again, which finds every file loaded
    (test_building_again_is_a_no_op)."""
    url = request.getfixturevalue(request.param)
    # the curves and baseline models are SQLite's only
    yield Demo(url, models=request.param == "sqlite_demo")


def test_every_shipped_sample_is_loaded_and_derived(built):
    counts = built.built.rows
    assert counts["timeseries_point"] == SAMPLES
    assert len(demo.AGING) == 8
    assert counts["test_session"] == len(demo.SESSIONS) == 12
    assert counts["battery_cell"] == 9  # eight aging cells, one for the SOC tests
    assert counts["source_file"] == 12
    cycles = {name: cycles_in_file(name) for name in BDF}
    assert all(cycles[f"{name}.bdf.csv.gz"] == 40 for name in demo.AGING), cycles
    assert cycles["hppc.bdf.csv.gz"] == 9  # a cycle per SOC level
    assert counts["cycle"] == sum(cycles.values()) + 1  # + the Maccor drive cycle's one
    assert counts["label_soc"] == counts["timeseries_point"]  # one SOC label per sample
    # every full aging cycle after the first has its SOH label; the SOC tests have none
    assert counts["label_soh"] == sum(cycles[f"{n}.bdf.csv.gz"] - 1 for n in demo.AGING)
    formats = built.query("SELECT file_format, cycler_software FROM source_file ORDER BY 1")
    assert formats == [("bdf_csv", None)] * 11 + [("maccor_txt", "Maccor")]


def test_each_aging_cell_is_its_own_cell_under_the_conditions_its_sidecar_states(built):
    """A split by cell needs cells: one battery_cell per serial number, each aging session on
    its own, the SOC tests on one fresh cell; the conditions are the sidecars'."""
    rows = built.query(
        "SELECT s.session_id, s.cell_id, c.serial_number, s.protocol_type, "
        "s.ambient_temperature_celsius, s.charge_c_rate, s.discharge_c_rate "
        "FROM test_session s JOIN battery_cell c ON c.cell_id = s.cell_id"
    )
    by_session = {r[0]: r[1:] for r in rows}
    conditions = set()
    for name in demo.AGING:
        cell_id, serial, kind, celsius, charge, discharge = by_session[built.session(name)]
        stated = sidecar(name)
        assert serial == stated["cell"]["serial_number"] and kind == "cycle_aging"
        assert celsius == stated["session"]["ambient_temperature_celsius"]
        assert charge == discharge == stated["session"]["discharge_c_rate"]
        conditions.add((celsius, charge))
    assert len(conditions) == 8
    assert {c for c, _ in conditions} == {15.0, 25.0, 40.0}
    assert {r for _, r in conditions} == {0.5, 1.0, 2.0}
    aging_cells = [by_session[built.session(n)][0] for n in demo.AGING]
    assert len(set(aging_cells)) == 8
    soc_cells = {
        by_session[built.session(n)][0]
        for n in ("drive_cycle", "drive_cycle_maccor", "ocv_c20", "hppc")
    }
    assert len(soc_cells) == 1 and not soc_cells & set(aging_cells)
    assert built.query("SELECT count(DISTINCT serial_number) FROM battery_cell")[0][0] == 9


def _soh(built, name: str) -> list[float]:
    return [
        row[0]
        for row in built.query(
            "SELECT soh FROM label_soh WHERE session_id = %s AND definition = 'capacity' "
            "ORDER BY cycle_index",
            [built.session(name)],
        )
    ]


def test_capacity_fades_and_soh_follows(built):
    last = {}
    for name in demo.AGING:
        soh = _soh(built, name)
        assert len(soh) == 39, name
        assert soh[0] > 0.88 and soh[-1] < soh[0] - 0.05, (name, soh[:: len(soh) // 8])
        # fade, not noise: every tenth cycle holds less than the one ten cycles before
        assert all(b < a for a, b in zip(soh[::10], soh[10::10], strict=False)), name
        last[name] = soh[-1]
    # what the conditions do: SEI grows faster where it is warm (Arrhenius) and with the
    # time spent, so at one C-rate the warmer cell ends lower, and at one temperature the
    # slower cycles (more hours per cycle) end lower
    assert last["aging_40degC_1C"] < last["cell_aging"] < last["aging_15degC_1C"], last
    assert last["aging_40degC_2C"] < last["aging_25degC_2C"], last
    assert last["aging_40degC_0p5C"] < last["aging_40degC_1C"] < last["aging_40degC_2C"], last
    assert last["aging_25degC_0p5C"] < last["cell_aging"] < last["aging_25degC_2C"], last
    assert min(last.values()) < 0.7 < 0.8 < max(last.values())  # a spread worth modelling


def test_soc_stays_in_range(built):
    for name in ("drive_cycle", "drive_cycle_maccor"):
        low, high, first = built.query(
            "SELECT min(soc), max(soc), (SELECT soc FROM label_soc WHERE session_id = %s "
            "ORDER BY record_index LIMIT 1) FROM label_soc WHERE session_id = %s",
            [built.session(name)] * 2,
        )[0]
        assert first == pytest.approx(0.9)
        assert 0.5 < low < high <= 0.9 + 1e-6, (name, low, high)
    # the aging cells and the C/20 test charge full (4.2 V, the current tapered): derive
    # anchors their SOC there against the capacity it measures, so every full discharge reads
    # from 1 to about 0, however far the cell has faded (a count at the nominal capacity from
    # a stated initial SOC would drift below zero within the 40 cycles)
    for name in (*demo.AGING, "ocv_c20"):
        low, high = built.query(
            "SELECT min(soc), max(soc) FROM label_soc WHERE session_id = %s",
            [built.session(name)],
        )[0]
        assert -0.05 < low < 0.05 and 0.99 < high < 1.1, (name, low, high)
    # the HPPC never charges full: counted from 1.0 at its start, nine tenths out
    low, high = built.query(
        "SELECT min(soc), max(soc) FROM label_soc WHERE session_id = %s",
        [built.session("hppc")],
    )[0]
    assert high == pytest.approx(1.0) and 0.0 < low < 0.1, (low, high)


def test_current_is_positive_when_it_charges(built):
    for name in demo.AGING:
        session = built.session(name)
        amps = 5.0 * sidecar(name)["session"]["charge_c_rate"]  # nominal 5 Ah
        rows = built.query(
            "SELECT step_type, min(current_ampere), max(current_ampere) FROM timeseries_point "
            "WHERE session_id = %s GROUP BY step_type ORDER BY step_type",
            [session],
        )
        by_type = {r[0]: (r[1], r[2]) for r in rows}
        assert by_type["cc_charge"][0] > 0.98 * amps and by_type["cv_charge"][0] > 0.2, name
        assert by_type["cc_discharge"][1] < -0.98 * amps, name
        assert abs(by_type["rest"][0]) < 1e-9 and abs(by_type["rest"][1]) < 1e-9
        # a discharge ends at the low voltage limit, a charge at the high one
        assert built.query(
            "SELECT min(voltage_volt) >= 2.99, max(voltage_volt) <= 4.2001 FROM timeseries_point "
            "WHERE session_id = %s",
            [session],
        )[0] == (True, True), name
    # the HPPC's pulses: 10 A out (2C) and 7.5 A in (1.5C), ten seconds each, nine times
    pulses = built.query(
        "SELECT current_ampere, count(*) FROM timeseries_point "
        "WHERE session_id = %s AND step_type = 'pulse' GROUP BY current_ampere ORDER BY 1",
        [built.session("hppc")],
    )
    assert [(round(a, 3), n) for a, n in pulses] == [(-10.0, 90), (7.5, 90)]


def test_the_cells_warm_under_load(built):
    """The lumped thermal model's temperature (surface_temperature_celsius): from the ambient
    temperature, above it under load, more at 2C than at 0.5C (and a little below it while
    charging, the reversible heat of the electrodes' entropy change)."""
    rise = {}
    for name in demo.AGING:
        celsius = sidecar(name)["session"]["ambient_temperature_celsius"]
        low, high = built.query(
            "SELECT min(surface_temperature_celsius), max(surface_temperature_celsius) "
            "FROM timeseries_point WHERE session_id = %s",
            [built.session(name)],
        )[0]
        assert celsius - 2.5 < low < celsius and high > celsius + 1, (name, low, high)
        rise[name] = high - celsius
    assert rise["aging_40degC_2C"] > rise["aging_40degC_1C"] > rise["aging_40degC_0p5C"]
    assert rise["aging_25degC_2C"] > rise["cell_aging"] > rise["aging_25degC_0p5C"]


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
    again = demo.build(built.url, models=built.models)
    assert again.rows == built.built.rows
    assert again.sessions == built.built.sessions
    if not built.models:
        return
    for first, second in (
        (built.built.model, again.model),
        (built.built.soc_model, again.soc_model),
    ):
        assert second.run_id == first.run_id and not second.imported  # the runs found, not made


def db_rows(url: str, sql: str) -> list[tuple]:
    db = connect(url)
    try:
        return [tuple(row) for row in db.query(sql)]
    finally:
        db.close()


@pytest.mark.parametrize("built", ["sqlite_demo"], indirect=True)  # the docs build's engine
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
    ends = db_rows(
        built.url,
        "SELECT cycle_index, discharge_capacity_ah FROM cycle_feature f JOIN test_session s "
        "ON s.session_id = f.session_id WHERE s.notes = 'demo: cell_aging' "
        "AND cycle_index IN (1, 39) ORDER BY cycle_index",
    )
    assert [cycle for cycle, _ in ends] == [1, 39]  # the first curve and the last
    for cycle, capacity in ends:
        assert f"cycle_index {cycle}: {capacity:.2f} Ah" in curves
    assert "twinx" not in plots.capacity_fade.__code__.co_names  # SOH is in the caption
    # every aging cell on the fade's one axis, named by the conditions the database holds
    fade = first["capacity-fade.svg"]
    conditions = db_rows(
        built.url,
        "SELECT cell_id, ambient_temperature_celsius, discharge_c_rate FROM test_session "
        "WHERE protocol_type = 'cycle_aging'",
    )
    assert len(conditions) == 8
    for cell, celsius, rate in conditions:
        assert f"{celsius:g} degC, {rate:g}C (cell_id {cell})" in fade
    assert fade.count("degC, ") == 8
    tests = first["soc-tests.svg"]
    assert "label_soc.soc" in tests and "ocv_c20" in tests and "hppc" in tests


@pytest.mark.parametrize("built", ["sqlite_demo"], indirect=True)
def test_the_demo_pages_figures_are_the_databases(built):
    """docs/demo.md states the fade and SOH figures of the demo; they are the database's."""
    # the text as read, not as wrapped: one space for every run of spaces and line breaks
    page = " ".join((ROOT / "docs" / "demo.md").read_text(encoding="utf-8").split())
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
    # the table of the cells: each aging cell's conditions and its first and last SOH
    for name, cell, celsius, rate, first_soh, last_soh in db_rows(
        built.url,
        "SELECT s.notes, s.cell_id, s.ambient_temperature_celsius, s.discharge_c_rate, "
        "(SELECT soh FROM label_soh l WHERE l.session_id = s.session_id "
        "AND definition = 'capacity' ORDER BY cycle_index LIMIT 1), "
        "(SELECT soh FROM label_soh l WHERE l.session_id = s.session_id "
        "AND definition = 'capacity' ORDER BY cycle_index DESC LIMIT 1) "
        "FROM test_session s WHERE protocol_type = 'cycle_aging'",
    ):
        row = (
            f"| `{name.removeprefix('demo: ')}` | {cell} | {celsius:g} degC | {rate:g}C | "
            f"{first_soh:.2f} | {last_soh:.2f} |"
        )
        assert row in page, row
    # the first cycle below the end-of-life threshold of 0.8, of the cells that pass it
    below = dict(
        db_rows(
            built.url,
            "SELECT s.notes, min(cycle_index) FROM label_soh l JOIN test_session s "
            "ON s.session_id = l.session_id WHERE definition = 'capacity' AND soh < 0.8 "
            "GROUP BY s.notes",
        )
    )
    assert set(below) == {
        f"demo: {n}"
        for n in ("aging_25degC_0p5C", "aging_40degC_0p5C", "aging_40degC_1C", "aging_40degC_2C")
    }
    earliest, latest = below["demo: aging_40degC_0p5C"], below["demo: aging_25degC_0p5C"]
    assert earliest == min(below.values()) and latest == max(below.values())
    assert (
        f"from `cycle_index` {earliest} at 40 degC and 0.5C to {latest} at 25 degC and 0.5C" in page
    )


# --------------------------------------------------------------- the baseline model (demo/model.py)


def _json(value):
    """A JSON column as Python: SQLite gives the text, PostgreSQL's jsonb the object."""
    return value if isinstance(value, dict | list) else json.loads(value)


def _baseline_run(built) -> tuple:
    from demo import model

    rows = built.query(
        "SELECT run_id, task, model_version, code_revision, random_seed, split_spec, "
        "hyperparameters, mae, rmse, max_error FROM model_run WHERE model_name = %s",
        [model.MODEL_NAME],
    )
    assert len(rows) == 1, rows  # one run, however many builds (test_building_again_is_a_no_op)
    return rows[0]


@pytest.mark.parametrize("built", ["sqlite_demo"], indirect=True)  # curves, models: SQLite
def test_the_baseline_model_run_and_its_predictions_exist(built):
    """make demo leaves one model_run of the baseline SOH model and one prediction per labelled
    cycle of the aging cells after the delta-Q reference cycle (before it the feature does not
    exist yet), each linked to its label and carrying its value."""
    from demo import model

    run_id, task, version, code, seed, spec, hyper, *_ = _baseline_run(built)
    assert built.built.model is not None and built.built.model.run_id == run_id
    assert (task, version, code, seed) == ("soh", model.MODEL_VERSION, model.code_revision(), 7)
    hyper = _json(hyper)
    assert hyper["terms"] == list(model.TERMS) and hyper["dropped"] == ["discharge_capacity_ah"]
    reference = hyper["delta_q_reference_cycle"]
    labels = built.query(
        "SELECT count(*) FROM label_soh WHERE definition = 'capacity' AND cycle_index > %s",
        [reference],
    )[0][0]
    rows = built.query(
        "SELECT count(*), count(p.label_soh_id), sum(CASE WHEN abs(p.true_value - l.soh) < 1e-6 "
        "THEN 1 ELSE 0 END), min(p.cycle_index) FROM prediction p "
        "JOIN label_soh l ON l.label_soh_id = p.label_soh_id WHERE p.run_id = %s",
        [run_id],
    )
    assert tuple(rows[0]) == (labels, labels, labels, reference + 1) == (232, 232, 232, 11)
    aging = {built.session(name) for name in demo.AGING}
    predicted = built.query(
        "SELECT DISTINCT session_id FROM prediction WHERE run_id = %s", [run_id]
    )
    assert {r[0] for r in predicted} == aging


@pytest.mark.parametrize("built", ["sqlite_demo"], indirect=True)  # curves, models: SQLite
def test_the_baseline_model_predicts_held_out_cells_it_never_trained_on(built):
    """The split is by cell: every cell's predictions are on one side, the test cells are the
    export's, and the coefficients are a fit of the training cells' rows alone (a refit here of
    the same rows gives them; with the test cells in, it would not)."""
    import numpy as np

    from demo import model

    run_id, *_, spec, hyper, _, _, _ = _baseline_run(built)
    spec, hyper = _json(spec), _json(hyper)
    sides = built.query(
        "SELECT s.cell_id, count(DISTINCT p.split), min(p.split) FROM prediction p "
        "JOIN test_session s ON s.session_id = p.session_id WHERE p.run_id = %s "
        "GROUP BY s.cell_id",
        [run_id],
    )
    assert all(n == 1 for _, n, _ in sides), sides  # no cell on both sides
    by_side = {side: sorted(c for c, _, s in sides if s == side) for side in ("train", "test")}
    assert by_side == {"train": spec["train"], "test": spec["test"]}
    assert by_side["test"] and not set(by_side["train"]) & set(by_side["test"])
    assert spec["by"] == "cell" and spec["seed"] == model.SEED
    rows = built.query(
        "SELECT p.split, f.charge_throughput_ah, p.session_id, p.cycle_index, l.soh "
        "FROM prediction p JOIN label_soh l ON l.label_soh_id = p.label_soh_id "
        "JOIN cycle_feature f ON f.session_id = p.session_id AND f.cycle_index = p.cycle_index "
        "AND f.feature_version = l.label_version WHERE p.run_id = %s",
        [run_id],
    )
    reference = hyper["delta_q_reference_cycle"]
    assert reference == demo.database.DELTA_Q_CYCLES[0]
    assert len(rows) == 232
    curves = model.discharge_curves(built.url, sorted({r[2] for r in rows}), "curves-1")
    dq = model.delta_q_per_cycle(curves, reference)
    split = np.array([r[0] for r in rows])
    x = model.design(
        np.array([r[1] for r in rows], dtype=float), np.array([dq[r[2], r[3]] for r in rows])
    )
    y = np.array([r[4] for r in rows], dtype=float)
    stated = np.array([hyper["coefficients"][t] for t in model.TERMS])
    assert model.fit(x[split == "train"], y[split == "train"]) == pytest.approx(stated, rel=1e-3)
    assert model.fit(x, y) != pytest.approx(stated, rel=1e-3)


@pytest.mark.parametrize("built", ["sqlite_demo"], indirect=True)  # curves, models: SQLite
def test_the_baseline_models_feature_of_a_cycle_reads_no_later_cycle(built):
    """The per-cycle delta-Q(V) of cycle n is known at cycle n: computed from the curves of
    cycles up to n alone it is the same; at cycle 35 it is the one derive stores (delta-Q of
    cycle 35 against cycle 10, cycle_curve_feature)."""
    from demo import model

    reference, compared = demo.database.DELTA_Q_CYCLES
    aging = [built.session(name) for name in demo.AGING]
    curves = model.discharge_curves(built.url, aging, "curves-1")
    whole = model.delta_q_per_cycle(curves, reference)
    assert min(c for _, c in whole) == reference + 1
    for n in (reference + 1, 20, compared):
        past = model.delta_q_per_cycle({k: v for k, v in curves.items() if k[1] <= n}, reference)
        assert {k: v for k, v in whole.items() if k[1] == n} == {
            k: v for k, v in past.items() if k[1] == n
        }
    stored = built.query(
        f"SELECT session_id, {model.DELTA_Q} FROM cycle_curve_feature "
        "WHERE delta_q_reference_cycle_index = %s AND cycle_index = %s",
        [reference, compared],
    )
    assert len(stored) == len(aging)
    for session, value in stored:
        assert whole[session, compared] == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("built", ["sqlite_demo"], indirect=True)  # curves, models: SQLite
def test_the_baseline_models_evaluation_is_the_runs(built):
    """The test split's numbers model_run stores are the evaluation query's (every engine)."""
    from predictions import evaluate

    run_id, *_, mae, rmse, worst = _baseline_run(built)
    (test,) = [s for s in evaluate(built.url, [run_id]) if s.split == "test"]
    assert (test.mae, test.rmse, test.max_error) == pytest.approx((mae, rmse, worst), rel=1e-5)
    assert test.count == 58 and 0 < test.mae < 0.02


def _soc_run(built) -> tuple:
    from demo import model

    rows = built.query(
        "SELECT run_id, task, code_revision, split_spec, hyperparameters, mae, rmse, max_error "
        "FROM model_run WHERE model_name = %s",
        [model.SOC_MODEL_NAME],
    )
    assert len(rows) == 1, rows
    return rows[0]


@pytest.mark.parametrize("built", ["sqlite_demo"], indirect=True)  # curves, models: SQLite
def test_the_soc_baseline_counts_the_drive_cycle_from_the_ocv_of_its_first_sample(built):
    """The second model_run: every drive-cycle sample predicted (test), the OCV table and the
    capacity from the C/20 test; started from the OCV lookup of the resting first sample, it
    finds the drive cycle's stated initial SOC (0.9, its sidecar's) to within 0.01."""
    from demo import model
    from predictions import evaluate

    run_id, task, code, spec, hyper, mae, rmse, worst = _soc_run(built)
    assert built.built.soc_model is not None and built.built.soc_model.run_id == run_id
    assert (task, code) == ("soc", model.code_revision())
    hyper = _json(hyper)
    assert hyper["ocv_session"] == built.session("ocv_c20")
    assert hyper["initial_soc"] == pytest.approx(0.9, abs=0.01)
    assert hyper["capacity_ah"] == pytest.approx(5.0, rel=0.03)  # the C/20 discharge, nominal 5
    drive = built.session("drive_cycle")
    labels = built.query("SELECT count(*) FROM label_soc WHERE session_id = %s", [drive])[0][0]
    rows = built.query(
        "SELECT count(*), count(label_soc_id), min(split), max(split), min(session_id), "
        "max(session_id) FROM prediction WHERE run_id = %s",
        [run_id],
    )
    assert tuple(rows[0]) == (labels, labels, "test", "test", drive, drive)
    (test,) = evaluate(built.url, [run_id])
    assert (test.mae, test.rmse, test.max_error) == pytest.approx((mae, rmse, worst), rel=1e-5)
    assert test.count == labels and test.mae < 0.01


@pytest.mark.parametrize("built", ["sqlite_demo"], indirect=True)  # the docs build's engine
def test_the_modelling_pages_figures_are_the_databases(built):
    """docs/modelling.md's baseline-model section states the split, the coefficients and the
    evaluation of the demo's run: each is the database's (an edited number fails here)."""
    from demo import model
    from predictions import evaluate

    page = " ".join((ROOT / "docs" / "modelling.md").read_text(encoding="utf-8").split())
    run_id, *_, spec, hyper, _, _, _ = _baseline_run(built)
    spec, hyper = _json(spec), _json(hyper)
    train, test = spec["train"], spec["test"]
    said = ", ".join(map(str, train[:-1])) + f" and {train[-1]} train, cells "
    assert said + " and ".join(map(str, test)) + " (40 degC at 1C and 2C) test" in page
    conditions = built.query(
        "SELECT ambient_temperature_celsius, discharge_c_rate FROM test_session "
        f"WHERE cell_id IN ({', '.join(map(str, test))}) ORDER BY cell_id"
    )
    assert [tuple(c) for c in conditions] == [(40.0, 1.0), (40.0, 2.0)]
    b0, b1, b2 = (hyper["coefficients"][t] for t in model.TERMS)
    assert f"b0 = {b0:.4f}, b1 = {b1:.6f} per Ah and b2 = {b2:.6f} per Ah" in page
    assert f"`python -m predictions evaluate --run {run_id} --per-cell`" in page
    scores = {(s.split, s.cell_id): s for s in evaluate(built.url, [run_id], per_cell=True)}
    whole = {s.split: s for s in evaluate(built.url, [run_id])}
    t, tr = whole["test"], whole["train"]
    assert (
        f"MAE {t.mae:.4f}, RMSE {t.rmse:.4f} and largest error {t.max_error:.4f} over "
        f"{t.count} cycles" in page
    )
    assert f"on the training cells MAE {tr.mae:.4f} over {tr.count}" in page
    worst = sorted((s for s in scores.values() if s.split == "train"), key=lambda s: -s.mae)[:2]
    worst.sort(key=lambda s: s.cell_id)
    assert (
        f"the training cells {worst[0].cell_id} and {worst[1].cell_id} are at "
        f"{worst[0].mae:.3f} and {worst[1].mae:.3f}" in page
    )
    assert max(s.mae for s in scores.values() if s.split == "test") < worst[0].mae
    rows = built.query("SELECT count(*) FROM prediction WHERE run_id = %s", [run_id])[0][0]
    assert f"`random_seed` 7, the export's split in `split_spec`) and {rows} `prediction`" in page
    aging = ", ".join(str(built.session(name)) for name in demo.AGING)
    exported = built.query(f"SELECT count(*) FROM label_soh WHERE session_id IN ({aging})")[0][0]
    assert f"one row per labelled cycle ({exported})" in page and rows < exported
    for name in ("soh-predicted.svg", "soh-error.svg"):
        assert f"](demo-plots/{name})" in page, name
    # the SOC baseline's paragraph
    soc_id, *_, soc_hyper, _, _, _ = _soc_run(built)
    soc_hyper = _json(soc_hyper)
    (soc,) = evaluate(built.url, [soc_id])
    assert f"`model_run` {soc_id}" in page and f"{soc.count} samples" in page
    assert f"{soc_hyper['capacity_ah']:.2f} Ah" in page
    assert f"SOC {soc_hyper['initial_soc']:.4f}, against the 0.9" in page
    stated = built.query(
        "SELECT DISTINCT reference_capacity_ah, initial_soc FROM label_soc WHERE session_id = %s",
        [built.session("drive_cycle")],
    )
    assert [tuple(r) for r in stated] == [(5.0, 0.9)]  # "from the stated 0.9, nominal 5 Ah"
    assert f"MAE {soc.mae:.4f}, RMSE {soc.rmse:.4f} and largest error {soc.max_error:.4f}" in page


@pytest.mark.parametrize("built", ["sqlite_demo"], indirect=True)
def test_the_model_plots_are_the_runs_predictions_and_evaluation(built):
    """docs/modelling.md's pictures (demo/plots.py MODEL_PLOTS): deterministic; the scatter
    shows the test cells only, named with their conditions; each bar of the error plot is
    labelled with its cell's MAE from the evaluation query."""
    from demo import plots
    from predictions import evaluate

    first = plots.draw(built.url, plots.MODEL_PLOTS)
    assert first == plots.draw(built.url, plots.MODEL_PLOTS)
    assert set(first) == {"soh-predicted.svg", "soh-error.svg"}
    run_id, *_, spec, _, _, _, _ = _baseline_run(built)
    spec = _json(spec)
    scatter = first["soh-predicted.svg"]
    for cell in spec["test"]:
        assert f"cell_id {cell} (40 degC, " in scatter
    for cell in spec["train"]:
        assert f"cell_id {cell} (" not in scatter
    assert "prediction.predicted_value" in scatter and f"model_run {run_id}" in scatter
    bars = first["soh-error.svg"]
    for s in evaluate(built.url, [run_id], per_cell=True):
        assert f"cell_id {s.cell_id}" in bars and f">{s.mae:.4f}<" in bars, s


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
    sqlite_db(db)
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
    assert f'"timeseries_point": {SAMPLES}' in run.stdout
    assert "demo database" in run.stderr


@pytest.mark.parametrize("built", ["sqlite_demo"], indirect=True)  # curves, models: SQLite
def test_the_ageing_tests_get_their_curves_and_delta_q(built):
    """make demo derives every ageing cell's curves (docs/features.md): each cycle with a
    discharge has a Q(V) curve, and cycle 35 its delta-Q(V) against cycle 10, negative in
    mean where the capacity faded."""
    from demo.database import AGING, DELTA_Q_CYCLES

    assert built.built.rows["cycle_curve"] > 0
    reference, compared = DELTA_Q_CYCLES
    for name in AGING:
        session = built.session(name)
        curves = built.query(
            "SELECT count(DISTINCT cycle_index) FROM cycle_curve WHERE session_id = %s"
            " AND direction = 'discharge' AND grid = 'voltage'",
            [session],
        )[0][0]
        assert curves >= 35, (name, curves)
        row = built.query(
            "SELECT delta_q_reference_cycle_index, delta_q_mean_ah, delta_q_variance_ah2"
            " FROM cycle_curve_feature WHERE session_id = %s AND cycle_index = %s",
            [session, compared],
        )[0]
        assert row[0] == reference and row[1] < 0 < row[2], (name, row)
