"""The demo page's pictures (docs/demo.md), drawn from a demo database with matplotlib at docs
build time (docs_hooks.py): the voltage and current of one aging cycle, capacity fade and SOH
over the cycles, and the SOC label of the drive cycle against time.

Deterministic SVG: the same database gives the same bytes (fixed hash salt, no date or
creator in the metadata, text kept as text in DejaVu Sans, which matplotlib ships).
"""

from __future__ import annotations

import io
from collections.abc import Callable

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
CYCLE = 1  # the second cycle: the first starts from the simulation's initial state


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
        f"Cycle {CYCLE}: CC discharge, rest, CC charge, CV hold, rest (timeseries_point)"
    )
    return figure


def capacity_fade(db: Database, plt) -> object:
    session = _session(db, "cell_aging")
    features = db.query(
        "SELECT cycle_index, discharge_capacity_ah FROM cycle_feature "
        "WHERE session_id = %s AND discharge_capacity_ah IS NOT NULL ORDER BY cycle_index",
        [session],
    )
    labels = db.query(
        "SELECT cycle_index, soh FROM label_soh WHERE session_id = %s "
        "AND definition = 'capacity' ORDER BY cycle_index",
        [session],
    )
    figure, capacity = plt.subplots()
    capacity.plot([r[0] for r in features], [r[1] for r in features], "o", ms=3, color=VOLTAGE)
    capacity.set_xlabel("cycle_index")
    capacity.set_ylabel("discharge_capacity_ah / Ah", color=VOLTAGE)
    soh = capacity.twinx()
    soh.plot([r[0] for r in labels], [r[1] for r in labels], color=SOH)
    soh.set_ylabel("label_soh.soh (capacity-based)", color=SOH)
    soh.grid(False)
    capacity.set_title("Capacity fade (cycle_feature) and SOH (label_soh) over the cycles")
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


PLOTS: dict[str, Callable] = {
    "cycle-trace.svg": cycle_trace,
    "capacity-fade.svg": capacity_fade,
    "soc-label.svg": soc_label,
}


def draw(url: str) -> dict[str, str]:
    """Every plot of PLOTS as SVG text, from the demo database at `url`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, str] = {}
    db = connect(url)
    try:
        with matplotlib.rc_context(STYLE):
            for name, plot in PLOTS.items():
                figure = plot(db, plt)
                figure.tight_layout()
                buffer = io.StringIO()
                figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
                plt.close(figure)
                out[name] = buffer.getvalue()
    finally:
        db.close()
    return out
