"""One run of the whole loop on a database, the same on every engine (the ClickHouse test runs
it in a child process): load and derive the cells (cells.py), export the per-cycle and the
per-sample training sets, import predictions for the per-cycle set (the label plus a known
error per cycle), evaluate, and write session A as a BDF file and load it back as a new
session. Returns what the tests compare, as JSON-able values."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

import export
import export.bdf
import predictions
from ingest.cli import main as ingest_main
from ingest.db import connect
from tests.export.cells import load

SAMPLE_COLUMNS = (
    "recorded_at, test_time_second, step_time_second, charging_capacity_ah,"
    " discharging_capacity_ah, record_index, cycle_count, step_count, voltage_volt,"
    " current_ampere, surface_temperature_celsius, step_id, step_type"
)


def error_of(cycle_index: int) -> float:
    """The known error of the fake model's prediction for a cycle."""
    return 0.01 * ((cycle_index % 3) - 1) + 0.002


def run(url: str, tmp: Path) -> dict:
    ids = load(url, tmp)
    out: dict = {"ids": ids}
    soh = export.write_training_set(url, tmp / "soh.parquet", "soh", seed=7, test_fraction=0.25)
    out["soh_warnings"] = soh.warnings
    table = pq.read_table(tmp / "soh.parquet")
    out["soh_columns"] = table.column_names
    out["soh_units"] = {f.name: (f.metadata or {}).get(b"unit", b"").decode() for f in table.schema}
    rows = table.to_pylist()
    out["soh_rows"] = [
        [r["session_id"], r["cycle_index"], r["split"], r["soh"], r["discharge_capacity_ah"]]
        for r in rows
    ]
    out["split"] = soh.plan.split.spec()
    soc = export.write_training_set(
        url, tmp / "soc.csv", "soc", split="none", window_seconds=600, sessions=[ids["A"]]
    )
    soc_rows = pacsv.read_csv(tmp / "soc.csv").to_pylist()
    out["soc_rows"] = [
        [r["session_id"], r["record_index"], r["window_index"], r["soc"], r["voltage_volt"]]
        for r in soc_rows[::50]
    ]
    out["soc_count"] = soc.rows
    pred = tmp / "pred.csv"
    lines = ["session_id,cycle_index,predicted_value,uncertainty"]
    for r in rows:
        lines.append(
            f"{r['session_id']},{r['cycle_index']},{r['soh'] + error_of(r['cycle_index'])},0.01"
        )
    pred.write_text("\n".join(lines) + "\n")
    run_ = predictions.Run("fake", "1", "abc123", {"alpha": 1})
    done = predictions.import_predictions(url, pred, tmp / "soh.parquet", run_)
    out["run_id"] = done.run_id
    out["metrics"] = done.metrics
    # SOC: every 10th sample of session A predicted 0.005 high, the split given in the file
    # (the per-sample set was exported without one)
    pred_soc = tmp / "pred_soc.csv"
    lines = ["session_id,record_index,predicted_value,split"]
    lines += [
        f"{r['session_id']},{r['record_index']},{r['soc'] + 0.005},test" for r in soc_rows[::10]
    ]
    pred_soc.write_text("\n".join(lines) + "\n")
    soc_run = predictions.import_predictions(url, pred_soc, tmp / "soc.csv", run_)
    out["soc_run"] = [soc_run.rows, soc_run.metrics]
    out["soc_recorded_at"] = _query(
        url,
        "SELECT COUNT(*) FROM prediction p JOIN timeseries_point t ON t.session_id = p.session_id"
        " AND t.record_index = p.record_index AND t.recorded_at = p.recorded_at"
        " WHERE p.run_id = %s",
        [soc_run.run_id],
    )[0][0]
    out["scores"] = [s.__dict__ for s in predictions.evaluate(url, [done.run_id])]
    out["soc_scores"] = [s.__dict__ for s in predictions.evaluate(url, [soc_run.run_id])]
    out["cell_scores"] = [
        s.__dict__ for s in predictions.evaluate(url, [done.run_id], per_cell=True)
    ]
    out["run_split"] = _json(
        _query(url, "SELECT split_spec FROM model_run WHERE run_id = %s", [done.run_id])[0][0]
    )
    # the BDF round trip: session A out, loaded back as a new session of cell A (one
    # connection at a time: PGlite serves one)
    bdf = tmp / "A.bdf.csv"
    out["bdf_rows"] = export.bdf.write_session(url, ids["A"], bdf)
    out["bdf_header"] = bdf.read_text().splitlines()[0]
    (cell,) = _query(url, "SELECT cell_id FROM test_session WHERE session_id = %s", [ids["A"]])[0]
    side = tmp / "again.json"
    again = {"protocol_name": "again", "protocol_type": "cycle_aging"}
    again["started_at"] = "2025-02-03T00:00:00Z"
    side.write_text(json.dumps({"session": {**again, "cell_id": cell}}))
    assert ingest_main([str(bdf), "--db", url, "--sidecar", str(side)]) == 0
    (new,) = _query(url, "SELECT MAX(session_id) FROM test_session")[0]
    q = f"SELECT {SAMPLE_COLUMNS} FROM timeseries_point WHERE session_id = %s"
    q += " ORDER BY record_index"
    first, second = _query(url, q, [ids["A"]]), _query(url, q, [new])
    out["bdf_same"] = [list(map(str, r)) for r in first] == [list(map(str, r)) for r in second]
    out["bdf_samples"] = len(second)
    return out


def _json(value):
    return value if isinstance(value, dict) else json.loads(value)


def _query(url: str, sql: str, params=()) -> list[tuple]:
    db = connect(url)
    try:
        return db.query(sql, params)
    finally:
        db.close()
