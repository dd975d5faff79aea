"""The oracle tests' input (tests/derive/test_oracles.py) and the peers' reference values
(tests/fixtures/oracles/, written by scripts/oracles/make_references.sh): the curve tests'
aging session (tests/derive/curve_sessions.py: 12 cycles of CC-CV charge and CC discharge at
2.5 A, a cell with dQ/dV peaks at 3.45 V and 3.85 V that fades 1 % a cycle), sampled every
30 s, as one BDF CSV text. The references name the SHA-256 of that text: a change of the
session makes the test say so instead of comparing against values of other data."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import derive
from derive.curve_settings import CurveSettings
from derive.curves import DELTA_Q_COLUMNS, PEAK_COLUMNS
from ingest.cli import main as ingest_main
from ingest.db import connect
from tests.derive.curve_sessions import CURVE_CELL, aging_rows
from tests.derive.sessions import MACHINE, START, csv_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "oracles"
# a sample every 30 s (the curve tests' 10 s make 16,000 samples, whose load into the test
# TimescaleDB alone takes a minute): 5,500 samples, 240 to a discharge
SAMPLE_SECONDS = 30.0
# the delta-Q(V) cycles: BEEP's DeltaQFastCharge hard-codes its reference as cycle index 9
# (Severson's cycle 10, counted from 0) and takes final_pred_cycle - 1 as the compared one
BEEP_REFERENCE, BEEP_COMPARED = 9, 11
BEEP_CYCLES = (BEEP_REFERENCE, BEEP_COMPARED)
# a voltage window inside every discharge of the session (3.0 V .. about 4.17 V), where
# BEEP's grid and derive's are the same 1,000 points (docs/features.md: Checked against)
WINDOW = (3.1, 4.1)
GRID_POINTS = 1000
# the half-cycles whose dQ/dV is compared with cellpy's
ICA_CYCLES = (0, 10)


@functools.cache
def session_csv() -> str:
    return csv_text(aging_rows(SAMPLE_SECONDS), MACHINE)


@functools.cache
def session_sha256() -> str:
    return hashlib.sha256(session_csv().encode()).hexdigest()


def reference(peer: str) -> dict:
    return json.loads((FIXTURES / f"{peer}.json").read_text())


def load(url: str, tmp: Path) -> int:
    """The session loaded with the loader, as the curve tests load theirs; its session_id."""
    path = tmp / "oracle-aging.csv"
    path.write_text(session_csv())
    sidecar = tmp / "oracle-aging.json"
    cell = {**CURVE_CELL, "manufacturer": "acme", "serial_number": "ORACLE-1"}
    session = {"protocol_name": "aging", "protocol_type": "cycle_aging", "started_at": START}
    sidecar.write_text(json.dumps({"cell": cell, "session": session}))
    assert ingest_main([str(path), "--db", url, "--sidecar", str(sidecar)]) == 0
    db = connect(url)
    try:
        q = "SELECT session_id FROM source_file WHERE uri = %s"
        return int(db.query(q, [str(path)])[0][0])
    finally:
        db.close()


def derive_curves(url: str) -> None:
    """derive's defaults, then its curves on the oracle window, delta-Q of BEEP's cycles."""
    derive.run(url)
    derive.run(url, what=["curves"], curves=SETTINGS)


SETTINGS = CurveSettings(voltage_window=WINDOW, delta_q_cycles=(BEEP_REFERENCE, BEEP_COMPARED))
FEATURES = (
    "SELECT cycle_index, "
    + ", ".join(DELTA_Q_COLUMNS + PEAK_COLUMNS)
    + " FROM cycle_curve_feature WHERE session_id = %s ORDER BY cycle_index"
)
POINTS = (
    "SELECT cycle_index, direction, point_index, voltage_volt, capacity_ah, dq_dv_ah_per_volt"
    " FROM cycle_curve WHERE session_id = %s AND grid = 'voltage'"
    f" AND cycle_index IN ({', '.join(map(str, sorted({*ICA_CYCLES, *BEEP_CYCLES})))})"
    " ORDER BY cycle_index, direction, point_index"
)


def stored(url: str, session_id: int) -> dict:
    """What derive stored: the feature rows by cycle (column -> value) and the voltage-grid
    curves by (cycle, direction): point indexes, voltages, Q, dQ/dV."""
    db = connect(url)
    try:
        features = db.query(FEATURES, [session_id])
        points = db.query(POINTS, [session_id])
    finally:
        db.close()
    names = ("cycle_index",) + DELTA_Q_COLUMNS + PEAK_COLUMNS
    out: dict = {"features": {}, "curves": {}}
    for row in features:
        out["features"][int(row[0])] = dict(zip(names, row, strict=True))
    for cycle, direction, k, v, q, dqdv in points:
        curve = out["curves"].setdefault(f"{int(cycle)}/{direction}", [[], [], [], []])
        for column, value in zip(curve, (k, v, q, dqdv), strict=True):
            column.append(None if value is None else float(value))
    return out
