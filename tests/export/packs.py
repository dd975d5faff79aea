"""Pack sessions through the export, the same on every engine (test_packs.py; ClickHouse runs
it in a child process): one cell session and two pack sessions (packs 51 and 52), derived with
derive's defaults; then a set of cells (the packs left out with a warning, refused when the
filters select packs alone), a set of packs (--asset pack: keyed by pack, the pack's
chemistry, split by whole packs, the cell left out with a warning), predictions imported for
the pack set and evaluated per pack. Returns what the tests check, as JSON-able values."""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path

import pyarrow.parquet as pq

import derive
import export
import predictions
from export.cli import main as export_main
from ingest.cli import main as ingest_main
from ingest.db import connect
from tests.derive.sessions import SIM_COLUMNS, WINDOW_CELL, csv_text
from tests.export.cells import START, simulate

PACKS = (51, 52)
PACK = {
    "chemistry": "LFP",  # the cell's is NMC (WINDOW_CELL): the set's chemistry is the pack's
    "series_count": 1,
    "parallel_count": 1,
    "nominal_capacity_ah": 4.8,
    "nominal_voltage_volt": 3.6,
    "voltage_min_volt": WINDOW_CELL["voltage_min_volt"],
    "voltage_max_volt": WINDOW_CELL["voltage_max_volt"],
}


def load(url: str, tmp: Path) -> dict[str, int]:
    """The cell session and the two pack sessions, derived; name -> session_id."""
    db = connect(url)
    try:
        columns = ", ".join(["pack_id", *PACK])
        marks = ", ".join(["%s"] * (len(PACK) + 1))
        db.begin()
        for pack in PACKS:
            db.execute(
                f"INSERT INTO battery_pack ({columns}) VALUES ({marks})",
                [pack, *PACK.values()],
            )
        db.commit()
    finally:
        db.close()
    session = {
        "protocol_type": "cycle_aging",
        "started_at": START,
        "ambient_temperature_celsius": 25.0,
        "charge_c_rate": 0.5,
        "discharge_c_rate": 1.0,
    }
    cell = {**WINDOW_CELL, "nominal_capacity_ah": 4.8, "serial_number": "cell-P"}
    sidecars = {
        "cell": {"cell": cell, "session": {**session, "protocol_name": "cell test"}},
        "pack51": {"session": {**session, "protocol_name": "pack test", "pack_id": PACKS[0]}},
        "pack52": {"session": {**session, "protocol_name": "pack test", "pack_id": PACKS[1]}},
    }
    ids = {}
    for fade, (name, sidecar) in zip((0.02, 0.03, 0.04), sidecars.items(), strict=True):
        path, side = tmp / f"{name}.csv", tmp / f"{name}.json"  # own files: own hashes
        path.write_text(csv_text(simulate(fade, cycles=3).rows, SIM_COLUMNS))
        side.write_text(json.dumps(sidecar))
        assert ingest_main([str(path), "--db", url, "--sidecar", str(side)]) == 0
        db = connect(url)
        try:
            ids[name] = int(
                db.query("SELECT session_id FROM source_file WHERE uri = %s", [str(path)])[0][0]
            )
        finally:
            db.close()
    derive.run(url)
    return ids


def _cli(args: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = export_main(args)
    return code, err.getvalue()


def _left_out(fn) -> tuple[object, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = fn()
    return value, [str(w.message) for w in caught if issubclass(w.category, export.LeftOutWarning)]


def run(url: str, tmp: Path) -> dict:
    ids = load(url, tmp)
    out: dict = {"ids": ids}
    # a set of cells: the packs' sessions alone refused, beside the cell's left out
    refused = tmp / "refused"
    refused.mkdir()
    for task in ("soh", "soc"):
        args = ["training-set", "--db", url, "--out", str(refused / "set.parquet")]
        code, err = _cli([*args, "--task", task, "--session", str(ids["pack51"])])
        out[f"refused_{task}"] = [code, err.strip().splitlines()]
    out["refused_files"] = sorted(p.name for p in refused.iterdir())
    cells, said = _left_out(lambda: export.training_set(url, "soc", as_="arrow", split="none"))
    out["cells_sessions"] = sorted(set(cells.column("session_id").to_pylist()))
    out["cells_left_out"] = said
    # a set of packs
    code, err = _cli(["training-set", "--db", url, "--out", str(tmp / "x.parquet"),
                      "--asset", "pack", "--cell", "1"])  # fmt: skip
    out["pack_with_cell"] = [code, err.strip()]
    soh = export.write_training_set(
        url, tmp / "packs.parquet", "soh", asset="pack", seed=3, test_fraction=0.5
    )
    table = pq.read_table(tmp / "packs.parquet")
    out["pack_columns"] = table.column_names[:5]
    out["pack_id_field"] = {
        k.decode(): v.decode() for k, v in (table.schema.field("pack_id").metadata or {}).items()
    }
    rows = table.to_pylist()
    out["pack_rows"] = sorted(
        [r["pack_id"], r["session_id"], r["cycle_index"], r["chemistry"], r["split"], r["soh"]]
        for r in rows
    )
    out["pack_split"] = soh.plan.split.spec()
    out["pack_warnings"] = soh.warnings
    out["pack_description"] = soh.plan.description()
    soc, said = _left_out(
        lambda: export.training_set(url, "soc", as_="arrow", asset="pack", split="none")
    )
    out["pack_soc"] = [soc.num_rows, sorted(set(soc.column("pack_id").to_pylist()))]
    out["pack_soc_left_out"] = said
    # predictions for the pack set: the label plus 0.01, imported and evaluated per pack
    pred = tmp / "pred.csv"
    lines = ["session_id,cycle_index,predicted_value"]
    lines += [f"{r['session_id']},{r['cycle_index']},{r['soh'] + 0.01}" for r in rows]
    pred.write_text("\n".join(lines) + "\n")
    done = predictions.import_predictions(
        url, pred, tmp / "packs.parquet", predictions.Run("fake", "1", "abc", {})
    )
    out["pack_metrics"] = done.metrics
    out["pack_scores"] = [
        s.__dict__ for s in predictions.evaluate(url, [done.run_id], per_cell=True)
    ]
    return out
