"""The derivations' test data, shared by the room: the sessions (BDF CSV files written here,
loaded with the loader), the queries that read the derived rows back, and the cross-engine
tolerance."""

from __future__ import annotations

import json
from pathlib import Path

import derive
from ingest.cli import main as ingest_main
from ingest.db import connect

REL, ABS = 1e-5, 1e-6  # cross-engine tolerance (float4 rounding of stored reals)
CELL = {
    "chemistry": "NMC",
    "form_factor": "cylindrical",
    "nominal_capacity_ah": 5.0,
    "nominal_voltage_volt": 3.6,
    "voltage_min_volt": 2.5,
    "voltage_max_volt": 4.2,
}
START = "2025-01-06T00:00:00Z"
MACHINE = [
    "test_time_second",
    "voltage_volt",
    "current_ampere",
    "cycle_count",
    "step_type",
    "surface_temperature_celsius",
    "charging_capacity_ah",
    "discharging_capacity_ah",
    "charging_energy_wh",
    "discharging_energy_wh",
]


def cccv_rows(cycles: int = 4, dt: float = 10.0) -> list[dict]:
    """A 5 Ah cell (OCV = 3.0 + 1.2 SOC, 20 mOhm) cycled CC-CV: 2.5 A to 4.2 V, CV at 4.2 V to
    0.25 A, 60 s rest, 5 A discharge to 3.0 V; its capacity fades 2 % a cycle. The cycler's
    cumulative counters (since the test started) and step labels, as a BDF file holds them.
    Cycle 0 starts with a partial discharge from half charge (a file that starts mid-test)."""
    rows: list[dict] = []
    t, soc, r = 0.0, 0.5, 0.02
    counters = {"qc": 0.0, "qd": 0.0, "ec": 0.0, "ed": 0.0}

    def sample(cycle: int, current: float, kind: str, voltage: float) -> None:
        rows.append(
            {
                "test_time_second": round(t, 3),
                "voltage_volt": round(voltage, 5),
                "current_ampere": round(current, 5),
                "cycle_count": cycle,
                "step_type": kind,
                "surface_temperature_celsius": round(25 + 2 * abs(current) / 5, 3),
                "charging_capacity_ah": round(counters["qc"], 9),
                "discharging_capacity_ah": round(counters["qd"], 9),
                "charging_energy_wh": round(counters["ec"], 9),
                "discharging_energy_wh": round(counters["ed"], 9),
            }
        )

    def advance(current: float, voltage: float, capacity: float) -> None:
        nonlocal t, soc
        t += dt
        soc += current * dt / 3600 / capacity
        q, e = abs(current) * dt / 3600, abs(current * voltage) * dt / 3600
        counters["qc" if current > 0 else "qd"] += q
        counters["ec" if current > 0 else "ed"] += e

    for cycle in range(cycles):
        capacity = 5.0 * (1 - 0.02 * cycle)
        soc = min(soc, 1.0)
        # discharge 5 A to 3.0 V
        while 3.0 + 1.2 * soc - 5 * r > 3.0:
            voltage = 3.0 + 1.2 * soc - 5 * r
            sample(cycle, -5.0, "cc_discharge", voltage)
            advance(-5.0, voltage, capacity)
        for _ in range(6):  # rest
            sample(cycle, 0.0, "rest", 3.0 + 1.2 * soc)
            t += dt
        # CC charge 2.5 A to 4.2 V
        while 3.0 + 1.2 * soc + 2.5 * r < 4.2:
            voltage = 3.0 + 1.2 * soc + 2.5 * r
            sample(cycle, 2.5, "cc_charge", voltage)
            advance(2.5, voltage, capacity)
        # CV at 4.2 V until the current falls to 0.25 A
        while (current := (4.2 - 3.0 - 1.2 * soc) / r) > 0.25:
            sample(cycle, current, "cv_charge", 4.2)
            advance(current, 4.2, capacity)
        for _ in range(6):
            sample(cycle, 0.0, "rest", 3.0 + 1.2 * soc)
            t += dt
    return rows


def csv_text(rows: list[dict], columns: list[str]) -> str:
    lines = [",".join(columns)]
    for row in rows:
        lines.append(",".join("" if row.get(c) is None else str(row[c]) for c in columns))
    return "\n".join(lines) + "\n"


def plain(rows: list[tuple], cycle: int = 0) -> list[dict]:
    return [
        {"test_time_second": t, "voltage_volt": v, "current_ampere": i, "cycle_count": cycle}
        for t, v, i in rows
    ]


# name -> (protocol_type, csv text): one session each
SESSIONS: dict[str, tuple[str, str]] = {}
CCCV = cccv_rows()
SESSIONS["cccv"] = ("cycle_aging", csv_text(CCCV, MACHINE))
# the same samples without step labels and counters: integration and the voltage band
SESSIONS["cccv_bare"] = ("cycle_aging", csv_text(CCCV, MACHINE[:4] + MACHINE[5:6]))
# 2 A for one hour, V rising linearly 3.5 -> 4.1 V: 2 Ah, 7.6 Wh, time-weighted mean 3.8 V
SESSIONS["constant_current"] = (
    "rpt",
    csv_text(plain([(60.0 * n, 3.5 + 0.01 * n, 2.0) for n in range(61)]), MACHINE[:4]),
)
# -3 A; time steps back from 1200 s to 900 s: that interval adds nothing, the others 600 s each
SESSIONS["backwards"] = (
    "rpt",
    csv_text(
        plain(
            [
                (0.0, 3.6, -3.0),
                (600.0, 3.5, -3.0),
                (1200.0, 3.4, -3.0),
                (900.0, 3.4, -3.0),
                (1500.0, 3.3, -3.0),
            ]
        ),
        MACHINE[:4],
    ),
)
# cycle 0 with counters that disagree with the current (the cycler's word wins), cycle 1 with
# none (integrated): 1 A for 3600 s in each
_mixed = [
    {**r, "charging_capacity_ah": 10.0 + 0.5 * n / 6, "discharging_capacity_ah": 0.0}
    for n, r in enumerate(plain([(600.0 * n, 3.7, 1.0) for n in range(7)]))
] + plain([(3600.0 + 600.0 * n, 3.8, 1.0) for n in range(1, 7)], cycle=1)
SESSIONS["mixed_counters"] = ("cycle_aging", csv_text(_mixed, MACHINE[:4] + MACHINE[6:8]))
# counters that restart at every cycle (as some cyclers write them): 0.1 Ah per 600 s sample
_reset = [
    {**r, "charging_capacity_ah": round(0.1 * (n % 6 + (n >= 6)), 6)}
    for n, r in enumerate(
        plain([(600.0 * n, 3.7, 1.0) for n in range(6)])
        + plain([(600.0 * n, 3.8, 1.0) for n in range(6, 12)], cycle=1)
    )
]
SESSIONS["reset_counters"] = ("cycle_aging", csv_text(_reset, MACHINE[:4] + MACHINE[6:7]))


def load_sessions(url: str, tmp_path: Path) -> dict[str, int]:
    ids = {}
    for n, (name, (protocol, text)) in enumerate(SESSIONS.items()):
        path = tmp_path / f"{name}.csv"
        path.write_text(text)
        sidecar = tmp_path / f"{name}.json"
        cell = {**CELL, "manufacturer": "acme", "serial_number": f"D-{n}"}
        session = {"protocol_name": name, "protocol_type": protocol, "started_at": START}
        sidecar.write_text(json.dumps({"cell": cell, "session": session}))
        # the loader refuses time stepping backwards in strict mode; lenient keeps the row
        mode = ["--lenient"] if name == "backwards" else []
        assert ingest_main([str(path), "--db", url, "--sidecar", str(sidecar), *mode]) == 0
        db = connect(url)
        try:
            ids[name] = db.query("SELECT session_id FROM source_file WHERE uri = %s", [str(path)])[
                0
            ][0]
        finally:
            db.close()
    return ids


QUERIES = {
    "cycle": "SELECT session_id, cycle_index, record_index_first, record_index_last,"
    " test_time_start_second, test_time_end_second, cycle_type FROM cycle"
    " ORDER BY session_id, cycle_index",
    "cycle_feature": "SELECT session_id, cycle_index, feature_version, "
    + ", ".join(derive.sql.FEATURE_COLUMNS)
    + " FROM cycle_feature ORDER BY session_id, cycle_index, feature_version",
    "label_soc": "SELECT session_id, record_index, method, label_version, soc,"
    " reference_capacity_ah, initial_soc FROM label_soc"
    " ORDER BY session_id, record_index, label_version",
    "label_soh": "SELECT session_id, cycle_index, definition, reference_basis, label_version,"
    " soh, reference_capacity_ah FROM label_soh"
    " ORDER BY session_id, cycle_index, label_version",
}


def close(a, b) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(a - b) <= ABS + REL * abs(b)
    return a == b
