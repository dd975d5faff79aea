"""The export room's test data: four simulated cells (tests/derive/sessions.py's Cell: OCV =
3.0 + 1.2 SOC, CC-CV charges to 4.2 V, full discharges to 3.0 V) fading at different rates,
under two operating conditions (A, B at 25 degC; C, D at 45 degC), and a second session of
cell D at 25 degC (a cell tested under two conditions: a split by condition would put it on
both sides). Loaded with the loader, derived with derive's defaults; the queries and helpers
the tests share."""

from __future__ import annotations

import json
from pathlib import Path

import derive
from ingest.cli import main as ingest_main
from ingest.db import connect
from tests.derive.sessions import SIM_COLUMNS, WINDOW_CELL, Cell, csv_text

START = "2025-02-03T00:00:00Z"
# name -> (serial of its cell, fade per cycle, ambient degC)
SESSIONS = {
    "A": ("cell-A", 0.010, 25.0),
    "B": ("cell-B", 0.015, 25.0),
    "C": ("cell-C", 0.020, 45.0),
    "D": ("cell-D", 0.025, 45.0),
    "D2": ("cell-D", 0.030, 25.0),
}


def simulate(fade: float, cycles: int = 5) -> Cell:
    cell = Cell(1.0, 4.8, dt=30.0)
    for cycle in range(cycles):
        cell.cycle, cell.capacity = cycle, 4.8 * (1 - fade * cycle)
        cell.rest(2)
        cell.discharge(4.8)
        cell.rest(2)
        cell.cccv(2.4, 4.2, 0.24)
    cell.rest(2)
    return cell


def load(url: str, tmp: Path) -> dict[str, int]:
    """Every session loaded and derived; session name -> session_id."""
    ids: dict[str, int] = {}
    cells: dict[str, int] = {}
    for name, (serial, fade, ambient) in SESSIONS.items():
        path = tmp / f"{name}.csv"
        path.write_text(csv_text(simulate(fade).rows, SIM_COLUMNS))
        session = {
            "protocol_name": f"fade {fade}",
            "protocol_type": "cycle_aging",
            "started_at": START,
            "ambient_temperature_celsius": ambient,
            "charge_c_rate": 0.5,
            "discharge_c_rate": 1.0,
        }
        if serial in cells:
            session["cell_id"] = cells[serial]
            sidecar = {"session": session}
        else:
            cell = {**WINDOW_CELL, "nominal_capacity_ah": 4.8, "manufacturer": "acme"}
            sidecar = {"cell": {**cell, "serial_number": serial}, "session": session}
        side = tmp / f"{name}.json"
        side.write_text(json.dumps(sidecar))
        assert ingest_main([str(path), "--db", url, "--sidecar", str(side)]) == 0
        db = connect(url)
        try:
            ids[name], cells[serial] = db.query(
                "SELECT s.session_id, s.cell_id FROM source_file f"
                " JOIN test_session s ON s.session_id = f.session_id WHERE f.uri = %s",
                [str(path)],
            )[0]
        finally:
            db.close()
    derive.run(url)
    return ids


def count(url: str, table: str) -> int:
    db = connect(url)
    try:
        return db.query(f"SELECT COUNT(*) FROM {table}")[0][0]
    finally:
        db.close()
