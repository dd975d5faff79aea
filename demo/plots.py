"""The demo page's pictures (docs/demo.md), drawn from a demo database with matplotlib at docs
build time (docs_hooks.py): the discharge curves of several cycles of the first aging cell
overlaid (voltage against the charge taken out), the voltage and current of one cycle, the
capacity fade of every aging cell on one axis (coloured by ambient temperature, the line by
C-rate), the SOC label of the drive cycle against time, and the SOC tests (the C/20 pseudo-OCV
curve, the HPPC); docs/modelling.md's baseline model (MODEL_PLOTS); and docs/features.md's
derived features (FEATURE_PLOTS: the Q(V) curves, dQ/dV, delta-Q(V) and step resistance as
derive stored them). Cycles are named by cycle_index (the
cycler's cycle counter, from 0), in the titles and on the page alike.

Deterministic SVG: the same database gives the same bytes (fixed hash salt, no date or
creator in the metadata, text kept as text in DejaVu Sans, which matplotlib ships).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import NamedTuple

from ingest.db import Database, connect

STYLE = {
    "svg.hashsalt": "liam-erd-schema-demo",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.figsize": (7.5, 3.6),
    "figure.dpi": 100,
    "path.simplify": True,
}
VOLTAGE, CURRENT, SOH = "#3949ab", "#e65100", "#2e7d32"
CYCLE = 1  # cycle_index 1, the second cycle: cycle 0 starts from the simulation's initial state
CURVES = 6  # discharge curves overlaid, spread evenly from cycle_index 1 to the last cycle


def _session(db: Database, name: str) -> int:
    rows = db.query(
        "SELECT session_id FROM test_session WHERE notes = %s ORDER BY session_id",
        [f"demo: {name}"],
    )
    if not rows:
        raise LookupError(f"the database has no demo session {name!r}: run make demo")
    return int(rows[0][0])


def cycle_trace(db: Database, plt) -> object:
    session = _session(db, "cell_aging")
    rows = db.query(
        "SELECT test_time_second, voltage_volt, current_ampere FROM timeseries_point "
        "WHERE session_id = %s AND cycle_count = %s ORDER BY record_index",
        [session, CYCLE],
    )
    t0 = rows[0][0]
    hours = [(r[0] - t0) / 3600 for r in rows]
    figure, volts = plt.subplots()
    volts.plot(hours, [r[1] for r in rows], color=VOLTAGE, label="voltage")
    volts.set_xlabel("time in the cycle / h")
    volts.set_ylabel("voltage_volt / V", color=VOLTAGE)
    amps = volts.twinx()
    amps.plot(hours, [r[2] for r in rows], color=CURRENT, label="current", drawstyle="steps-post")
    amps.set_ylabel("current_ampere / A (charge > 0)", color=CURRENT)
    amps.grid(False)
    volts.set_title(
        f"cycle_index {CYCLE}: CC discharge, rest, CC charge, CV hold, rest (timeseries_point)"
    )
    return figure


def discharge_curves(db: Database, plt) -> object:
    """Voltage against the charge taken out since the start of each cycle's discharge, for
    CURVES cycles: the curve a cell researcher looks at first, and how it shortens with age."""
    import numpy as np
    from matplotlib import colormaps

    session = _session(db, "cell_aging")
    last = int(
        db.query("SELECT MAX(cycle_index) FROM cycle WHERE session_id = %s", [session])[0][0]
    )
    chosen = sorted({int(round(c)) for c in np.linspace(CYCLE, last, CURVES)})
    capacity = dict(
        db.query(
            "SELECT cycle_index, discharge_capacity_ah FROM cycle_feature WHERE session_id = %s",
            [session],
        )
    )
    figure, axes = plt.subplots()
    colours = colormaps["viridis"](np.linspace(0, 0.9, len(chosen)))
    for colour, cycle in zip(colours, chosen, strict=True):
        rows = db.query(
            "SELECT test_time_second, voltage_volt, current_ampere FROM timeseries_point "
            "WHERE session_id = %s AND cycle_count = %s ORDER BY record_index",
            [session, cycle],
        )
        t, volts, amps = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
        # the charge out as derive counts it (cycle_feature.discharge_capacity_ah): the
        # trapezoid rule on the discharging part of the current, A s -> Ah; the curve runs
        # through the discharging samples, so it stops short of the feature by the intervals
        # into and out of the discharge (half a sample interval at full current each)
        out_amps = np.clip(-amps, 0, None)
        step = (out_amps[1:] + out_amps[:-1]) / 2 * np.diff(t) / 3600
        out = np.concatenate(([0.0], np.cumsum(step)))
        discharging = amps < 0
        out, volts = out[discharging], volts[discharging]
        label = f"cycle_index {cycle}: {capacity[cycle]:.2f} Ah (cycle_feature)"
        axes.plot(out, volts, color=colour, label=label)
    axes.set_xlabel("charge discharged / Ah")
    axes.set_ylabel("voltage_volt / V")
    axes.set_title("Discharge curves of the aging cycles (timeseries_point, current < 0)")
    axes.legend(loc="lower left", fontsize=8, frameon=False)
    return figure


def aging_cells(db: Database) -> list[tuple[int, int, float, float]]:
    """(session_id, cell_id, ambient degC, C-rate) of the demo's aging sessions, coldest and
    slowest first: the conditions as the database holds them (test_session, from the sidecars)."""
    rows = db.query(
        "SELECT session_id, cell_id, ambient_temperature_celsius, discharge_c_rate "
        "FROM test_session WHERE protocol_type = 'cycle_aging' AND notes LIKE %s "
        "ORDER BY ambient_temperature_celsius, discharge_c_rate, session_id",
        ["demo: %"],
    )
    return [(int(r[0]), int(r[1]), float(r[2]), float(r[3])) for r in rows]


TEMPERATURE_COLOURS = {15.0: "#1e88e5", 25.0: "#43a047", 40.0: "#e53935"}
RATE_LINES = {0.5: ":", 1.0: "-", 2.0: "--"}


def capacity_fade(db: Database, plt) -> object:
    """The discharge capacity of every aging cell against cycle_index on one axis: the colour
    is the ambient temperature, the line the C-rate (both from test_session)."""
    figure, capacity = plt.subplots(figsize=(7.5, 4.2))
    for session, cell, celsius, rate in aging_cells(db):
        features = db.query(
            "SELECT cycle_index, discharge_capacity_ah FROM cycle_feature "
            "WHERE session_id = %s AND discharge_capacity_ah IS NOT NULL ORDER BY cycle_index",
            [session],
        )
        capacity.plot(
            [r[0] for r in features],
            [r[1] for r in features],
            RATE_LINES.get(rate, "-."),
            color=TEMPERATURE_COLOURS.get(celsius, "#757575"),
            label=f"{celsius:g} degC, {rate:g}C (cell_id {cell})",
        )
    capacity.set_xlabel("cycle_index")
    capacity.set_ylabel("discharge_capacity_ah / Ah")
    capacity.set_title(
        "Capacity fade of the aging cells: discharge capacity per cycle (cycle_feature)"
    )
    capacity.legend(loc="lower left", fontsize=8, frameon=False, ncol=2)
    return figure


def soc_tests(db: Database, plt) -> object:
    """The SOC tests of the fresh cell: the C/20 discharge and charge as voltage against the
    SOC label (the pseudo-OCV curve, with its hysteresis), and the HPPC's voltage in time."""
    ocv = db.query(
        "SELECT l.soc, p.voltage_volt, p.current_ampere FROM label_soc l "
        "JOIN timeseries_point p ON p.session_id = l.session_id "
        "AND p.record_index = l.record_index "
        "WHERE l.session_id = %s AND p.current_ampere <> 0 ORDER BY l.record_index",
        [_session(db, "ocv_c20")],
    )
    hppc = db.query(
        "SELECT test_time_second, voltage_volt FROM timeseries_point "
        "WHERE session_id = %s ORDER BY record_index",
        [_session(db, "hppc")],
    )
    figure, (curve, pulses) = plt.subplots(1, 2, width_ratios=(1, 1.4))
    for sign, label, colour in ((-1, "C/20 discharge", VOLTAGE), (1, "C/20 charge", CURRENT)):
        part = [r for r in ocv if r[2] * sign > 0]
        curve.plot([r[0] for r in part], [r[1] for r in part], color=colour, label=label)
    curve.set_xlabel("label_soc.soc")
    curve.set_ylabel("voltage_volt / V")
    curve.set_title("ocv_c20: pseudo-OCV", fontsize=10)
    curve.legend(loc="lower right", fontsize=8, frameon=False)
    pulses.plot([r[0] / 3600 for r in hppc], [r[1] for r in hppc], color=VOLTAGE, linewidth=0.8)
    pulses.set_xlabel("test time / h")
    pulses.set_title("hppc: 10 % steps, rests and pulses", fontsize=10)
    return figure


def soc_label(db: Database, plt) -> object:
    session = _session(db, "drive_cycle")
    rows = db.query(
        "SELECT p.test_time_second, l.soc, p.current_ampere FROM label_soc l "
        "JOIN timeseries_point p ON p.session_id = l.session_id "
        "AND p.record_index = l.record_index "
        "WHERE l.session_id = %s AND l.method = 'coulomb_counting' ORDER BY l.record_index",
        [session],
    )
    minutes = [r[0] / 60 for r in rows]
    figure, (soc, amps) = plt.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    soc.plot(minutes, [r[1] for r in rows], color=SOH)
    soc.set_ylabel("label_soc.soc")
    soc.set_title("Drive cycle: SOC by coulomb counting (label_soc) and the current")
    amps.plot(minutes, [r[2] for r in rows], color=CURRENT, linewidth=0.8)
    amps.set_ylabel("current / A")
    amps.set_xlabel("test time / min")
    return figure


def model_run(db: Database) -> int:
    """The run of the demo's baseline SOH model (demo/model.py), the latest if several."""
    from .model import MODEL_NAME

    rows = db.query(
        "SELECT max(run_id) FROM model_run WHERE model_name = %s AND task = 'soh'", [MODEL_NAME]
    )
    if not rows or rows[0][0] is None:
        raise LookupError(f"the database has no {MODEL_NAME} run: run make demo")
    return int(rows[0][0])


def soh_predicted(db: Database, plt) -> object:
    """The baseline model's predicted SOH against the label for the held-out (test) cells, one
    colour per cell, with the line where they are equal (prediction.predicted_value and
    true_value of the run's test split)."""
    run = model_run(db)
    rows = db.query(
        "SELECT s.cell_id, p.true_value, p.predicted_value FROM prediction p "
        "JOIN test_session s ON s.session_id = p.session_id "
        "WHERE p.run_id = %s AND p.split = 'test' ORDER BY s.cell_id, p.cycle_index",
        [run],
    )
    conditions = {cell: (celsius, rate) for _, cell, celsius, rate in aging_cells(db)}
    figure, axis = plt.subplots(figsize=(5.6, 4.6))
    values = [r[1] for r in rows] + [r[2] for r in rows]
    low, high = min(values) - 0.01, max(values) + 0.01
    axis.plot([low, high], [low, high], color="#757575", linewidth=0.8, label="predicted = true")
    for cell in sorted({r[0] for r in rows}):
        part = [r for r in rows if r[0] == cell]
        celsius, rate = conditions[cell]
        axis.plot(
            [r[1] for r in part],
            [r[2] for r in part],
            "o",
            markersize=3.5,
            color=TEMPERATURE_COLOURS.get(celsius, "#757575"),
            markerfacecolor="none" if rate >= 2 else None,
            label=f"cell_id {cell} ({celsius:g} degC, {rate:g}C)",
        )
    axis.set_xlim(low, high)
    axis.set_ylim(low, high)
    axis.set_aspect("equal")
    axis.set_xlabel("prediction.true_value (label_soh.soh)")
    axis.set_ylabel("prediction.predicted_value")
    axis.set_title(f"model_run {run}: the held-out cells", fontsize=10)
    axis.legend(loc="upper left", fontsize=8, frameon=False)
    return figure


class Bar(NamedTuple):
    split: str
    cell_id: int
    mae: float


def soh_error(db: Database, plt) -> object:
    """The baseline model's mean absolute error per cell (the evaluation query's, per cell),
    train and test cells side by side, each bar labelled with its MAE."""
    from predictions.evaluate import query

    run = model_run(db)
    # run, split, cell, pack (NULL: a run on cells), count, MAE, ...
    rows = db.query(query(db.kind, per_cell=True, runs=1), [run])
    scores = sorted(
        (Bar(split, int(cell), float(mae)) for _, split, cell, _, _, mae, *_ in rows),
        key=lambda s: (s.split != "test", s.cell_id),
    )
    figure, axis = plt.subplots(figsize=(7.5, 3.6))
    colours = {"test": CURRENT, "train": VOLTAGE, "validation": SOH}
    for i, s in enumerate(scores):
        axis.bar(i, s.mae, color=colours.get(s.split, "#757575"), label=s.split)
        axis.annotate(
            f"{s.mae:.4f}",
            (i, s.mae),
            ha="center",
            va="bottom",
            fontsize=8,
            xytext=(0, 2),
            textcoords="offset points",
        )
    axis.set_xticks(range(len(scores)), [f"cell_id {s.cell_id}" for s in scores], fontsize=8)
    handles, labels = axis.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    axis.legend(unique.values(), unique.keys(), loc="upper left", fontsize=8, frameon=False)
    axis.set_ylabel("MAE of SOH (fraction)")
    axis.set_title(f"model_run {run}: mean absolute error per cell (predictions evaluate)")
    axis.margins(y=0.15)
    return figure


# ------------------------------------------------- docs/features.md: the derived features
# Drawn from the rows derive wrote (cycle_curve, cycle_curve_feature, cycle_feature), nothing
# recomputed here but the point-by-point difference the delta-Q(V) features summarise.


def curve_version(db: Database, session: int) -> str:
    """The curve version of the session's delta-Q(V) row (the demo derives one: curves-1)."""
    rows = db.query(
        "SELECT min(curve_version) FROM cycle_curve_feature WHERE session_id = %s "
        "AND delta_q_reference_cycle_index IS NOT NULL",
        [session],
    )
    if not rows or rows[0][0] is None:
        raise LookupError("the demo database has no curves: run make demo (with the models)")
    return str(rows[0][0])


def curve(db: Database, session: int, cycle: int, column: str) -> list[tuple]:
    """(point_index, voltage_volt, `column`) of a cycle's discharge curve on the voltage grid
    (cycle_curve), rows where `column` is not NULL, by voltage."""
    return db.query(
        f"SELECT point_index, voltage_volt, {column} FROM cycle_curve WHERE session_id = %s "
        "AND cycle_index = %s AND curve_version = %s AND direction = 'discharge' "
        f"AND grid = 'voltage' AND {column} IS NOT NULL ORDER BY point_index",
        [session, cycle, curve_version(db, session)],
    )


def late_cycle(db: Database, session: int) -> int:
    """The session's last cycle with a discharge curve: the late cycle of the dQ/dV plot."""
    return int(
        db.query(
            "SELECT max(cycle_index) FROM cycle_curve WHERE session_id = %s "
            "AND direction = 'discharge' AND grid = 'voltage'",
            [session],
        )[0][0]
    )


def feature_curves(db: Database, plt) -> object:
    """Q(V) of CURVES discharge cycles of the first aging cell on the voltage grid, as derive
    stores them (cycle_curve.capacity_ah at each voltage_volt), from cycle_index CYCLE to the
    last; each labelled with its curve's end, the charge out when the grid's lowest voltage is
    reached."""
    import numpy as np
    from matplotlib import colormaps

    session = _session(db, "cell_aging")
    chosen = sorted({int(round(c)) for c in np.linspace(CYCLE, late_cycle(db, session), CURVES)})
    figure, axes = plt.subplots()
    colours = colormaps["viridis"](np.linspace(0, 0.9, len(chosen)))
    for colour, cycle in zip(colours, chosen, strict=True):
        rows = curve(db, session, cycle, "capacity_ah")
        end = max(r[2] for r in rows)
        axes.plot(
            [r[2] for r in rows],
            [r[1] for r in rows],
            color=colour,
            label=f"cycle_index {cycle}: Q = {end:.3f} Ah at {rows[0][1]:.2f} V",
        )
    axes.set_xlabel("cycle_curve.capacity_ah / Ah (charge out of the discharge)")
    axes.set_ylabel("cycle_curve.voltage_volt / V")
    axes.set_title("Q(V) discharge curves on the voltage grid (cycle_curve, grid = 'voltage')")
    axes.legend(loc="lower left", fontsize=8, frameon=False)
    return figure


def feature_dqdv(db: Database, plt) -> object:
    """Incremental capacity dQ/dV of the discharge of an early (CYCLE) and the last cycle of the
    first aging cell (cycle_curve.dq_dv_ah_per_volt, Savitzky-Golay), with the two peaks
    derive found in each (cycle_curve_feature) marked and named."""
    session = _session(db, "cell_aging")
    version = curve_version(db, session)
    figure, axes = plt.subplots()
    for cycle, colour in ((CYCLE, VOLTAGE), (late_cycle(db, session), CURRENT)):
        rows = curve(db, session, cycle, "dq_dv_ah_per_volt")
        axes.plot(
            [r[1] for r in rows], [r[2] for r in rows], color=colour, label=f"cycle_index {cycle}"
        )
        peaks = db.query(
            "SELECT dqdv_discharge_peak1_voltage_volt, dqdv_discharge_peak1_height_ah_per_volt, "
            "dqdv_discharge_peak2_voltage_volt, dqdv_discharge_peak2_height_ah_per_volt "
            "FROM cycle_curve_feature WHERE session_id = %s AND cycle_index = %s "
            "AND curve_version = %s",
            [session, cycle, version],
        )[0]
        for n, (volts, height) in enumerate((peaks[:2], peaks[2:]), start=1):
            if volts is None:
                continue
            axes.plot(
                [volts],
                [height],
                "v",
                color=colour,
                markersize=7,
                label=f"cycle_index {cycle} peak{n}: {volts:.3f} V, {height:.2f} Ah/V",
            )
    axes.set_xlabel("cycle_curve.voltage_volt / V")
    axes.set_ylabel("dq_dv_ah_per_volt / (Ah/V)")
    axes.set_title("dQ/dV of the discharge, early and late (cycle_curve, cycle_curve_feature)")
    axes.legend(loc="upper left", fontsize=8, frameon=False)
    return figure


def delta_q(db: Database, session: int) -> tuple[int, int, list[tuple], tuple]:
    """(reference, compared, [(voltage, delta-Q)], the stored features) of the session's
    delta-Q(V) row: the difference of the two stored discharge curves at the grid points both
    cover (cycle_curve, by point_index), and min, mean, variance, log10 |variance| and
    delta_q_grid_points as derive wrote them (cycle_curve_feature)."""
    version = curve_version(db, session)
    row = db.query(
        "SELECT cycle_index, delta_q_reference_cycle_index, delta_q_min_ah, delta_q_mean_ah, "
        "delta_q_variance_ah2, delta_q_log10_abs_variance, delta_q_grid_points "
        "FROM cycle_curve_feature WHERE session_id = %s AND curve_version = %s "
        "AND delta_q_reference_cycle_index IS NOT NULL ORDER BY cycle_index",
        [session, version],
    )[0]
    compared, reference = int(row[0]), int(row[1])
    ref = {r[0]: r[2] for r in curve(db, session, reference, "capacity_ah")}
    points = [
        (r[1], r[2] - ref[r[0]]) for r in curve(db, session, compared, "capacity_ah") if r[0] in ref
    ]
    return reference, compared, points, tuple(row[2:])


def feature_delta_q(db: Database, plt) -> object:
    """delta-Q(V) = Q_compared(V) - Q_reference(V) of the first aging cell's discharge curves
    against the voltage, with its mean and minimum as derive stored them (cycle_curve_feature)."""
    session = _session(db, "cell_aging")
    reference, compared, points, (low, mean, variance, log10, n) = delta_q(db, session)
    figure, axes = plt.subplots()
    axes.plot(
        [p[0] for p in points],
        [p[1] for p in points],
        color=VOLTAGE,
        label=f"Q{compared}(V) - Q{reference}(V) at {n} grid points",
    )
    axes.axhline(
        mean, color=CURRENT, linestyle="--", linewidth=1, label=f"delta_q_mean_ah {mean:.4f} Ah"
    )
    axes.axhline(low, color=SOH, linestyle=":", linewidth=1, label=f"delta_q_min_ah {low:.4f} Ah")
    axes.set_xlabel("cycle_curve.voltage_volt / V")
    axes.set_ylabel("delta-Q / Ah")
    axes.set_title(
        f"delta-Q(V) of cycle_index {compared} against {reference}: variance {variance:.4g} Ah², "
        f"log10 {log10:.3f}",
        fontsize=10,
    )
    axes.legend(loc="lower right", fontsize=8, frameon=False)
    return figure


def feature_resistance(db: Database, plt) -> object:
    """step_resistance_first_sample_ohm of every aging cell against cycle_index (cycle_feature:
    the median |dV/dI| over the cycle's step changes of current at the first sample after each,
    a minute later in the demo's files), coloured and lined as the capacity fade."""
    figure, axes = plt.subplots(figsize=(7.5, 4.2))
    for session, cell, celsius, rate in aging_cells(db):
        rows = db.query(
            "SELECT cycle_index, step_resistance_first_sample_ohm FROM cycle_feature "
            "WHERE session_id = %s AND step_resistance_first_sample_ohm IS NOT NULL "
            "ORDER BY cycle_index",
            [session],
        )
        axes.plot(
            [r[0] for r in rows],
            [r[1] * 1000 for r in rows],
            RATE_LINES.get(rate, "-."),
            color=TEMPERATURE_COLOURS.get(celsius, "#757575"),
            label=f"{celsius:g} degC, {rate:g}C (cell_id {cell})",
        )
    axes.set_xlabel("cycle_index")
    axes.set_ylabel("step_resistance_first_sample_ohm / mOhm")
    axes.set_title("Resistance from the step changes of ordinary cycling (cycle_feature)")
    axes.legend(loc="upper left", fontsize=8, frameon=False, ncol=2)
    return figure


PLOTS: dict[str, Callable] = {
    "discharge-curves.svg": discharge_curves,
    "cycle-trace.svg": cycle_trace,
    "capacity-fade.svg": capacity_fade,
    "soc-label.svg": soc_label,
    "soc-tests.svg": soc_tests,
}
# docs/modelling.md's pictures: the baseline model's predictions (demo/model.py)
MODEL_PLOTS: dict[str, Callable] = {
    "soh-predicted.svg": soh_predicted,
    "soh-error.svg": soh_error,
}
# docs/features.md's pictures: the curves, dQ/dV, delta-Q(V) and resistance derive stored
FEATURE_PLOTS: dict[str, Callable] = {
    "feature-curves.svg": feature_curves,
    "feature-dqdv.svg": feature_dqdv,
    "feature-delta-q.svg": feature_delta_q,
    "feature-resistance.svg": feature_resistance,
}


def draw(url: str, plots: dict[str, Callable] = PLOTS) -> dict[str, str]:
    """Every plot of `plots` (the demo page's, PLOTS, by default) as SVG text, from the demo
    database at `url`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, str] = {}
    db = connect(url)
    try:
        with matplotlib.rc_context(STYLE):
            for name, plot in plots.items():
                figure = plot(db, plt)
                figure.tight_layout()
                buffer = io.StringIO()
                figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
                plt.close(figure)
                out[name] = buffer.getvalue()
    finally:
        db.close()
    return out
