"""The derivations' test data, shared by the room: the sessions (BDF CSV files written here,
loaded with the loader), the queries that read the derived rows back, and the cross-engine
tolerance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import derive
from derive.steps import COLUMNS as STEP_COLUMNS
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


# ------------------------------------------------------- sessions for the SOC anchors
# A cell simulated sample by sample (OCV = 3.0 + 1.2 SOC, 10 mOhm, 10 s samples), with the
# SOC it really had: what the anchored labels are checked against. The protocol's limits are
# the cell's declared ones (3.0 V and 4.2 V), so a full discharge measures the capacity.
WINDOW_CELL = {**CELL, "voltage_min_volt": 3.0, "nominal_capacity_ah": 5.0}
SIM_COLUMNS = ["test_time_second", "voltage_volt", "current_ampere", "cycle_count"]


class Cell:
    """One simulated test: `rows` as a BDF file holds them, `soc` the true SOC per row."""

    def __init__(self, soc: float, capacity: float, dt: float = 10.0, r: float = 0.01):
        self.soc, self.capacity, self.dt, self.r = soc, capacity, dt, r
        self.t, self.cycle = 0.0, 0
        self.rows: list[dict] = []
        self.true_soc: list[float] = []
        self.cv_samples: dict[int, int] = {}  # cycle -> samples the simulator held at CV

    def sample(self, current: float, voltage: float) -> None:
        self.rows.append(
            {
                "test_time_second": round(self.t, 3),
                "voltage_volt": round(voltage, 6),
                "current_ampere": round(current, 6),
                "cycle_count": self.cycle,
                # a sensor that warms with the current, and one that lags it
                "surface_temperature_celsius": round(25 + 0.4 * abs(current), 4),
                "temperature_t1_celsius": round(24 + 0.3 * abs(current) + self.t / 36000, 4),
            }
        )
        self.true_soc.append(self.soc)
        self.t += self.dt
        self.soc += current * self.dt / 3600 / self.capacity

    def ocv(self) -> float:
        return 3.0 + 1.2 * self.soc

    def rest(self, n: int = 6) -> None:
        for _ in range(n):
            self.sample(0.0, self.ocv())

    def cccv(self, current: float, top: float, cut: float) -> None:
        while self.ocv() + current * self.r < top:
            self.sample(current, self.ocv() + current * self.r)
        while (i := (top - self.ocv()) / self.r) > cut:
            self.sample(i, top)
            self.cv_samples[self.cycle] = self.cv_samples.get(self.cycle, 0) + 1

    def discharge(self, current: float, bottom: float = 3.0, soc: float = -1.0) -> None:
        while self.ocv() - current * self.r > bottom and self.soc > soc:
            self.sample(-current, self.ocv() - current * self.r)


def half_start() -> Cell:
    """Starts half charged; each cycle is a CC-CV charge (2.5 A, 4.2 V, cut at C/20) then a
    5 A discharge to 3.0 V; 4.8 Ah when new, fading 1 % a cycle."""
    cell = Cell(0.5, 4.8)
    for cycle in range(3):
        cell.cycle, cell.capacity = cycle, 4.8 * (1 - 0.01 * cycle)
        cell.cccv(2.5, 4.2, 0.25)
        cell.rest()
        cell.discharge(5.0)
        cell.rest()
    return cell


def full_start() -> Cell:
    """Starts full at rest; each cycle a discharge first, then the CC-CV charge: coulombic
    efficiency pairs each discharge with the previous cycle's charge. Only the T1 sensor."""
    cell = Cell(1.0, 4.6)
    for cycle in range(3):
        cell.cycle = cycle
        cell.rest()
        cell.discharge(5.0)
        cell.rest()
        cell.cccv(2.5, 4.2, 0.25)
    cell.rest()
    return cell


def never_full() -> Cell:
    """Cycles between about 30 % and 70 % SOC (a CC-CV charge to 3.85 V cut at 2 A, a 2.5 A
    discharge): no charge ever reaches 4.2 V."""
    cell = Cell(0.5, 5.0)
    for cycle in range(3):
        cell.cycle = cycle
        cell.cccv(2.5, 3.85, 2.0)  # stops at the CC phase's end, 3.85 V
        cell.rest()
        cell.discharge(2.5, soc=0.3)
        cell.rest()
    return cell


def wrong_nominal() -> Cell:
    """A 5 Ah cell declared 1 Ah: a full charge (CV cut at 0.05 A, below C/10 of the declared
    1 Ah) then a discharge of half its charge, which coulomb counting against 1 Ah takes far
    below 0: its SOC labels are refused, its cycles and features are not."""
    cell = Cell(0.6, 5.0)
    cell.cccv(2.5, 4.2, 0.05)
    cell.rest()
    cell.discharge(2.5, soc=0.5)
    cell.rest()
    return cell


CELLS = {  # loaded in this order: the refused one before good ones
    "wrong_nominal": wrong_nominal(),
    "half_start": half_start(),
    "full_start": full_start(),
    "never_full": never_full(),
}
SESSION_CELLS = {
    "half_start": WINDOW_CELL,
    "full_start": WINDOW_CELL,
    "never_full": WINDOW_CELL,
    "wrong_nominal": {**WINDOW_CELL, "nominal_capacity_ah": 1.0, "voltage_min_volt": 2.0},
}
TEMPERATURES = {
    "half_start": ["surface_temperature_celsius"],
    "full_start": ["temperature_t1_celsius"],
    "never_full": [],
    "wrong_nominal": [],
}
for _name, _cell in CELLS.items():
    SESSIONS[_name] = ("cycle_aging", csv_text(_cell.rows, SIM_COLUMNS + TEMPERATURES[_name]))


# ------------------------------------------- the definitions, recomputed here with numpy


def arrays(cell: Cell) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """t, V, I, cycle of a simulated session as the CSV file holds them (rounded)."""
    rows = cell.rows
    return tuple(
        np.array([r[c] for r in rows], dtype=float)
        for c in ("test_time_second", "voltage_volt", "current_ampere", "cycle_count")
    )


def net_charge(t: np.ndarray, i: np.ndarray) -> np.ndarray:
    """Ah since the first sample: trapezoid of the signed current, dt >= 0."""
    dt = np.clip(np.diff(t), 0, None)
    return np.concatenate([[0.0], np.cumsum(dt * (i[1:] + i[:-1]) / 2 / 3600)])


def anchored_soc(cell: Cell, nominal: float, full: float, empty: float | None) -> np.ndarray:
    """docs/deriving.md's anchored SOC: 1 at the end of each run of samples charging at the
    upper voltage (10 mV) with at most C/10; counted forwards from each anchor and backwards
    before the first, against the capacity the discharge from that anchor to the lower limit
    (50 mV) measured, else the nearest such anchor's, else the nominal one."""
    t, v, i, _ = arrays(cell)
    q = net_charge(t, i)
    top = (i > 0) & (i <= 0.1 * nominal) & (v >= full - 0.01)
    anchor = top & ~np.append(top[1:], False)
    marks = np.flatnonzero(anchor)
    assert len(marks), "no anchor"
    seg = np.cumsum(anchor)
    measured = []
    for k, a in enumerate(marks, start=1):
        inside = seg == k
        emptied = empty is not None and bool(np.any(inside & (i < 0) & (v <= empty + 0.05)))
        depth = q[a] - q[inside].min()
        measured.append(depth if emptied and depth > 0 else None)
    have = [k for k, m in enumerate(measured) if m is not None]
    capacity = []
    for k in range(len(marks)):
        if not have:
            capacity.append(nominal)
            continue
        nearest = min(have, key=lambda h: (abs(h - k), h))  # a tie goes to the earlier
        capacity.append(measured[nearest])
    which = np.maximum(seg, 1) - 1
    return 1 + (q - q[marks][which]) / np.array(capacity)[which]


def cv_time(cell: Cell, cycle: int) -> float:
    """CV time without step labels: intervals inside the cycle whose two ends charge within
    2 mV of the cycle's highest charging voltage and whose starting current is at most 99.5 %
    of the cycle's highest charging current."""
    t, v, i, c = arrays(cell)
    inside = np.flatnonzero(c == cycle)
    top_v = v[inside][i[inside] > 0].max()
    top_i = i[inside][i[inside] > 0].max()
    total = 0.0
    for a, b in zip(inside[:-1], inside[1:], strict=True):
        if i[a] > 0 and i[b] > 0 and min(v[a], v[b]) >= top_v - 0.002 and i[a] <= 0.995 * top_i:
            total += max(t[b] - t[a], 0.0)
    return total


def paired_ce(cell: Cell) -> dict[int, float | None]:
    """Coulombic efficiency per cycle: its discharge over the charge before it (the cycle's
    own when the cycle charges first, the previous cycle's when it discharges first)."""
    t, _, i, c = arrays(cell)
    dt = np.clip(np.diff(t), 0, None)
    charge = dt * (np.clip(i[1:], 0, None) + np.clip(i[:-1], 0, None)) / 2 / 3600
    discharge = dt * (np.clip(-i[1:], 0, None) + np.clip(-i[:-1], 0, None)) / 2 / 3600
    owner = c[1:]  # an interval belongs to the cycle of the sample that ends it
    out: dict[int, float | None] = {}
    before = None
    for cycle in sorted(set(c.astype(int))):
        own = owner == cycle
        qc, qd = charge[own].sum(), discharge[own].sum()
        mid_dis = (discharge[own] * t[1:][own]).sum() / qd if qd > 0 else None
        mid_chg = (charge[own] * t[1:][own]).sum() / qc if qc > 0 else None
        first_dis = mid_dis is not None and (mid_chg is None or mid_dis < mid_chg)
        paired = before if first_dis else qc
        out[cycle] = qd / paired if qd > 0 and paired else None
        before = qc
    return out


def time_weighted_mean(cell: Cell, cycle: int, column: str) -> float:
    """The time-weighted (trapezoid) mean of a column over the intervals inside a cycle."""
    t, _, _, c = arrays(cell)
    x = np.array([r[column] for r in cell.rows], dtype=float)
    inside = (c[1:] == cycle) & (c[:-1] == cycle)
    dt = np.clip(np.diff(t), 0, None)[inside]
    return float((dt * (x[1:] + x[:-1])[inside] / 2).sum() / dt.sum())


def load_sessions(url: str, tmp_path: Path) -> dict[str, int]:
    ids = {}
    for n, (name, (protocol, text)) in enumerate(SESSIONS.items()):
        path = tmp_path / f"{name}.csv"
        path.write_text(text)
        sidecar = tmp_path / f"{name}.json"
        cell = {**SESSION_CELLS.get(name, CELL), "manufacturer": "acme", "serial_number": f"D-{n}"}
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


# ------------------------------------------------------------------ step features (issue 23)
# A cell with a known equivalent circuit for derive/steps.py, reference.py, life.py and ocv.py:
# OCV(SOC) = 3.3 + 0.7 SOC + 0.2 SOC^2, ohmic R0 and one RC element (R1, TAU1), 5 Ah. Each
# step's samples come 0.1 s apart for its first 20 s, then 10 s apart, and its last sample is
# at its end (at the old current): the first sample after a change is 0.1 s after the last
# one before it, and 1 s, 10 s, 300 s after it are sample times. Per cycle: discharge at
# -I for 1200 s, at -I/2 for 600 s (a change between load levels), rest (900 s; 100 s in
# cycle 1: a rest too short for 300 s), charge at +I/2 for 2400 s, rest 900 s; I = 5 A,
# except cycle 3, a slow cycle at I = 1 A (a reference cycle found by its C-rate). Cycle 0
# starts with a 400 s rest (too short for an OCV point: 600 s).
STEP_R0, STEP_R1, STEP_TAU1, STEP_CAPACITY = 0.015, 0.010, 5.0, 5.0
STEP_CYCLES, STEP_SLOW_CYCLE, STEP_SHORT_REST_CYCLE = 5, 3, 1


def step_ocv(soc):
    return 3.3 + 0.7 * soc + 0.2 * soc**2


def step_schedule() -> list[tuple[int, float, float]]:
    """(cycle, current, duration) of every step, in order."""
    steps = [(0, 0.0, 400.0)]
    for c in range(STEP_CYCLES):
        big = 1.0 if c == STEP_SLOW_CYCLE else 5.0
        rest = 100.0 if c == STEP_SHORT_REST_CYCLE else 900.0
        steps += [
            (c, -big, 1200.0),
            (c, -big / 2, 600.0),
            (c, 0.0, rest),
            (c, big / 2, 2400.0),
            (c, 0.0, 900.0),
        ]
    return steps


class StepCell:
    """The equivalent circuit, stepped exactly (the current is constant within a step)."""

    def __init__(self, soc: float = 0.9):
        self.soc, self.u1, self.t = soc, 0.0, 0.0

    def voltage(self, current: float) -> float:
        return step_ocv(self.soc) + STEP_R0 * current + self.u1

    def advance(self, current: float, dt: float) -> None:
        decay = np.exp(-dt / STEP_TAU1)
        self.u1 = self.u1 * decay + STEP_R1 * current * (1 - decay)
        self.soc += current * dt / 3600 / STEP_CAPACITY
        self.t += dt


def step_offsets(duration: float) -> list[float]:
    dense = [round(0.1 * k, 1) for k in range(1, 201) if 0.1 * k <= duration + 1e-9]
    sparse = [float(x) for x in range(30, int(duration) + 1, 10)]
    out = sorted(set(dense + sparse + [duration]))
    return [x for x in out if x <= duration]


def step_session(schedule=None, soc: float = 0.9) -> tuple[list[dict], dict]:
    """The samples, and what the model says at every step change: for each change
    (cycle, |dI|, V before, V at the first sample, V 1 s and 10 s after), for each rest its
    voltages at 0.1 s, 10 s, 300 s and its end, and the model's SOC at each rest's end."""
    cell, rows, truth = StepCell(soc), [], {"changes": [], "rests": [], "rest_soc": []}

    def sample(cycle: int, current: float) -> None:
        rows.append(
            {
                "test_time_second": round(cell.t, 4),
                "voltage_volt": round(cell.voltage(current), 8),
                "current_ampere": current,
                "cycle_count": cycle,
            }
        )

    sample(0, 0.0)
    previous = 0.0
    for cycle, current, duration in schedule or step_schedule():
        v_before = rows[-1]["voltage_volt"]
        at: dict[float, float] = {}
        done = 0.0
        for off in step_offsets(duration):
            cell.advance(current, off - done)
            done = off
            sample(cycle, current)
            at[off] = rows[-1]["voltage_volt"]
        if abs(current - previous) > 0.1 * STEP_CAPACITY:
            truth["changes"].append(
                {
                    "cycle": cycle,
                    "di": abs(current - previous),
                    "v0": v_before,
                    "first": at[0.1],
                    1.0: at.get(1.0),
                    10.0: at.get(10.0),
                }
            )
        if current == 0.0 and previous != 0.0:
            truth["rests"].append(
                {
                    "cycle": cycle,
                    "after": "charge" if previous > 0 else "discharge",
                    "start": at[0.1],
                    10.0: at.get(10.0),
                    300.0: at.get(300.0),
                    "end": at[duration],
                    "duration": duration,
                }
            )
        if current == 0.0 and duration >= 600.0:
            truth["rest_soc"].append((len(rows) - 1, cell.soc))
        previous = current
    return rows, truth


STEP_ROWS, STEP_TRUTH = step_session()
# The same cell from empty: cycle 0 a C/20 charge to full and discharge to empty with 1 h rests
# (the pseudo-OCV table of --ocv-from-cycle 0), cycle 1 three 2.5 A charges with 30 min rests.
SLOW_SCHEDULE = [
    (0, 0.0, 600.0),
    (0, 0.25, 72000.0),
    (0, 0.0, 3600.0),
    (0, -0.25, 72000.0),
    (0, 0.0, 3600.0),
] + [(1, 2.5, 1000.0), (1, 0.0, 1800.0)] * 3
SLOW_ROWS, SLOW_TRUTH = step_session(SLOW_SCHEDULE, soc=0.0)


# The CC-CV cell with the cycler's own resistance readings (BDF internal_resistance_ohm), as
# cyclers write them: cycle 0 a reading on every sample, cycle 1 only 0 (Arbin's and Maccor's
# "no measurement"), cycle 2 a reading on every other sample (0.020 and 0.022 in turn, 0 and
# empty between), cycle 3 none (the field empty).
def _cycler_reading(n: int, row: dict) -> float | None:
    cycle = row["cycle_count"]
    if cycle == 0:
        return 0.02
    if cycle == 1:
        return 0.0
    if cycle == 2:
        return (0.02 if n % 4 == 0 else 0.022) if n % 2 == 0 else (0.0 if n % 3 else None)
    return None


CYCLER_IR = [{**r, "internal_resistance_ohm": _cycler_reading(n, r)} for n, r in enumerate(CCCV)]
# cycle -> the mean of its readings above 0 (None: none)
CYCLER_IR_MEANS = {
    c: (
        float(np.mean(v))
        if (
            v := [
                r["internal_resistance_ohm"]
                for r in CYCLER_IR
                if r["cycle_count"] == c and (r["internal_resistance_ohm"] or 0) > 0
            ]
        )
        else None
    )
    for c in sorted({r["cycle_count"] for r in CYCLER_IR})
}
STEP_SESSIONS: dict[str, tuple[str, str]] = {
    "rc_steps": ("cycle_aging", csv_text(STEP_ROWS, MACHINE[:4])),
    "slow_ocv": ("rpt", csv_text(SLOW_ROWS, MACHINE[:4])),
    "constant_current": SESSIONS["constant_current"],
    "cccv": SESSIONS["cccv"],
    "cycler_ir": ("cycle_aging", csv_text(CYCLER_IR, [*MACHINE[:4], "internal_resistance_ohm"])),
}


def step_ocv_table(path: Path) -> Path:
    """The cell's OCV as a supplied table: 21 points, SOC 0 to 1."""
    lines = ["soc,voltage_volt"] + [f"{s:.2f},{step_ocv(s):.8f}" for s in np.linspace(0.0, 1.0, 21)]
    path.write_text("\n".join(lines) + "\n")
    return path


def load_step_sessions(url: str, tmp_path: Path, names=None) -> dict[str, int]:
    """Load the STEP_SESSIONS (those of `names` only, when given); name -> session_id."""
    ids = {}
    for n, (name, (protocol, text)) in enumerate(STEP_SESSIONS.items()):
        if names is not None and name not in names:
            continue
        path = tmp_path / f"step_{name}.csv"
        path.write_text(text)
        sidecar = tmp_path / f"step_{name}.json"
        cell = {**CELL, "manufacturer": "acme", "serial_number": f"S-{n}"}
        session = {"protocol_name": name, "protocol_type": protocol, "started_at": START}
        sidecar.write_text(json.dumps({"cell": cell, "session": session}))
        assert ingest_main([str(path), "--db", url, "--sidecar", str(sidecar)]) == 0
        db = connect(url)
        try:
            ids[name] = db.query("SELECT session_id FROM source_file WHERE uri = %s", [str(path)])[
                0
            ][0]
        finally:
            db.close()
    return ids


STEP_QUERIES = {
    "cycle": "SELECT session_id, cycle_index, cycle_type, cycle_type_source FROM cycle"
    " ORDER BY session_id, cycle_index",
    "cycle_feature": "SELECT session_id, cycle_index, feature_version, "
    + ", ".join(c for c in STEP_COLUMNS if c != "null_reasons")
    + ", null_reasons FROM cycle_feature ORDER BY session_id, cycle_index, feature_version",
    "label_soh": "SELECT session_id, cycle_index, label_version, soh, eol_threshold_soh,"
    " eol_cycle_index, rul_cycles, rul_censored FROM label_soh"
    " ORDER BY session_id, cycle_index, label_version",
    "label_soc": "SELECT session_id, record_index, method, label_version, soc, ocv_table"
    " FROM label_soc WHERE method = 'ocv_lookup' ORDER BY session_id, record_index",
}


def derive_step_sessions(url: str, ids: dict[str, int], ocv_table: str) -> None:
    """The runs of tests/derive/test_derive_steps.py, the same on every engine: the defaults,
    SOH with an EOL threshold of 0.9 (label eol90), SOC by OCV lookup, and a rerun."""
    derive.run(url)
    derive.run(
        url, [ids["cccv"]], what=["soh", "life"], label_version="eol90", eol_threshold_soh=0.9
    )
    derive.run(url, [ids["rc_steps"]], what=["ocv"], ocv_table=ocv_table)
    derive.run(url, [ids["slow_ocv"]], what=["ocv"], ocv_cycle=0, label_version="ocv-data")
    derive.run(url)  # a rerun changes nothing
