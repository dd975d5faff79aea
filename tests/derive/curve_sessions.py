"""The curves' test data: a cell whose OCV has two plateaus, so dQ/dV has two peaks at
known voltages, cycled CC-CV / CC with its capacity fading a little every cycle; loaded with
the loader like the room's other sessions (tests/derive/sessions.py). Also a session whose
second cycle is too short for a curve."""

from __future__ import annotations

import functools
import json
from math import erf, sqrt
from pathlib import Path

import numpy as np

from ingest.cli import main as ingest_main
from ingest.db import connect
from tests.derive.sessions import CELL, MACHINE, START, csv_text

# dQ/dV of the OCV in Ah/V per Ah of capacity: two Gaussian peaks on a flat floor
PEAKS = ((3.45, 0.05, 0.35), (3.85, 0.04, 0.25))  # (voltage, width, share of the capacity)
FLOOR = 1 - sum(p[2] for p in PEAKS)
LOW, HIGH = 3.0, 4.2
R = 0.01  # ohm
CYCLES = 12
REFERENCE, COMPARED = 2, 10


def soc_of_ocv(v: np.ndarray | float) -> np.ndarray:
    """SOC at open-circuit voltage v: the floor's share linear in v, each peak's share an
    error function around its voltage (normalised to 0 at LOW and 1 at HIGH)."""
    v = np.asarray(v, dtype=float)
    cdf = np.vectorize(lambda x, m, s: 0.5 * (1 + erf((x - m) / (s * sqrt(2)))))
    out = FLOOR * (v - LOW) / (HIGH - LOW)
    for m, s, w in PEAKS:
        out = out + w * (cdf(v, m, s) - cdf(LOW, m, s)) / (cdf(HIGH, m, s) - cdf(LOW, m, s))
    return out


_V = np.linspace(LOW, HIGH, 20001)
_S = soc_of_ocv(_V)


def ocv(soc: float) -> float:
    return float(np.interp(soc, _S, _V))


@functools.cache
def aging_rows(dt: float = 10.0) -> list[dict]:
    """CC charge 2.5 A to 4.2 V, CV to 0.25 A, rest, CC discharge 2.5 A to 3.0 V, rest; the
    capacity fades 1 % a cycle; the cycler's counters as a BDF file holds them."""
    rows: list[dict] = []
    t, soc = 0.0, 0.0
    qc = qd = ec = ed = 0.0
    state = {}

    def sample(current: float, voltage: float, kind: str) -> None:
        cycle = state["cycle"]
        rows.append(
            {
                "test_time_second": round(t, 3),
                "voltage_volt": round(voltage, 6),
                "current_ampere": round(current, 6),
                "cycle_count": cycle,
                "step_type": kind,
                "surface_temperature_celsius": 25.0,
                "charging_capacity_ah": round(qc, 9),
                "discharging_capacity_ah": round(qd, 9),
                "charging_energy_wh": round(ec, 9),
                "discharging_energy_wh": round(ed, 9),
            }
        )

    def step(current: float, voltage: float) -> None:
        capacity = state["capacity"]
        nonlocal t, soc, qc, qd, ec, ed
        t += dt
        q = abs(current) * dt / 3600
        soc += current * dt / 3600 / capacity
        if current > 0:
            qc, ec = qc + q, ec + q * voltage
        else:
            qd, ed = qd + q, ed + q * voltage

    for cycle in range(CYCLES):
        state.update(cycle=cycle, capacity=5.0 * (1 - 0.01 * cycle))
        for _ in range(3):
            sample(0.0, ocv(soc), "rest")
            t += dt
        while (v := ocv(soc) + 2.5 * R) < HIGH:
            sample(2.5, v, "cc_charge")
            step(2.5, v)
        while (i := (HIGH - ocv(soc)) / R) > 0.25:
            sample(i, HIGH, "cv_charge")
            step(i, HIGH)
        for _ in range(3):
            sample(0.0, ocv(soc), "rest")
            t += dt
        while (v := ocv(soc) - 2.5 * R) > LOW and soc > 0:
            sample(-2.5, v, "cc_discharge")
            step(-2.5, v)
    return rows


CURVE_CELL = {**CELL, "voltage_min_volt": LOW, "voltage_max_volt": HIGH}


@functools.cache
def sessions() -> dict[str, list[dict]]:
    """aging, and short: its cycle 0, then a cycle 1 of three discharge samples (too short
    for any curve)."""
    aging = aging_rows()
    first = [r for r in aging if r["cycle_count"] == 0]
    end = first[-1]["test_time_second"]
    short = first + [
        {**r, "cycle_count": 1, "current_ampere": -2.5, "test_time_second": end + 10.0 * (k + 1)}
        for k, r in enumerate(aging[:3])
    ]
    return {"aging": aging, "short": short}


def load(url: str, tmp: Path) -> dict[str, int]:
    ids = {}
    for n, (name, rows) in enumerate(sessions().items()):
        path = tmp / f"curves-{name}.csv"
        path.write_text(csv_text(rows, MACHINE))
        sidecar = tmp / f"curves-{name}.json"
        cell = {**CURVE_CELL, "manufacturer": "acme", "serial_number": f"C-{n}"}
        session = {"protocol_name": name, "protocol_type": "cycle_aging", "started_at": START}
        sidecar.write_text(json.dumps({"cell": cell, "session": session}))
        assert ingest_main([str(path), "--db", url, "--sidecar", str(sidecar)]) == 0
        db = connect(url)
        try:
            q = "SELECT session_id FROM source_file WHERE uri = %s"
            ids[name] = int(db.query(q, [str(path)])[0][0])
        finally:
            db.close()
    return ids


FEATURES = (
    "SELECT session_id, cycle_index, curve_version, "
    + ", ".join(
        [
            "dqdv_charge_peak1_voltage_volt",
            "dqdv_charge_peak1_height_ah_per_volt",
            "dqdv_charge_peak2_voltage_volt",
            "dqdv_discharge_peak1_voltage_volt",
            "dqdv_discharge_peak1_height_ah_per_volt",
            "dqdv_discharge_peak2_voltage_volt",
            "dvdq_discharge_peak1_capacity_ah",
            "delta_q_reference_cycle_index",
            "delta_q_min_ah",
            "delta_q_mean_ah",
            "delta_q_variance_ah2",
            "delta_q_log10_abs_variance",
            "delta_q_skewness",
            "delta_q_kurtosis",
            "delta_q_at_min_voltage_ah",
            "delta_q_grid_points",
            "null_reasons",
        ]
    )  # fmt: skip
    + " FROM cycle_curve_feature ORDER BY session_id, cycle_index, curve_version"
)
CURVES = (
    "SELECT session_id, cycle_index, direction, grid, count(*), sum(voltage_volt),"
    " sum(capacity_ah), sum(energy_wh), sum(normalised_capacity), sum(dq_dv_ah_per_volt),"
    " sum(dv_dq_volt_per_ah) FROM cycle_curve"
    " GROUP BY session_id, cycle_index, direction, grid"
    " ORDER BY session_id, cycle_index, direction, grid"
)
POINTS = (
    "SELECT point_index, voltage_volt, capacity_ah, dq_dv_ah_per_volt FROM cycle_curve"
    " WHERE session_id = %s AND cycle_index = %s AND direction = %s AND grid = 'voltage'"
    " ORDER BY point_index"
)
