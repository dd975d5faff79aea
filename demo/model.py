"""The demo's baseline SOH model (`make demo` runs it after the derivations): the loop the
schema was designed for, closed on the demo database with the export and predictions rooms.

1. A per-cycle training set of the aging cells through the export's Python API
   (`export.write_training_set`), split by cell with a fixed seed (SEED), the discharge
   capacity left out (capacity-based SOH is discharge capacity / nominal: the export warns);
2. one feature of each cell from derive --what curves: log10 |var delta-Q(V)| of cycle 35
   against cycle 10 (demo.DELTA_Q_CYCLES, cycle_curve_feature), the single feature of Severson
   et al.: where it is larger the cell fades faster;
3. a linear model fitted by least squares (numpy) on the training cells only:
   SOH = b0 + b1 * Ah + b2 * Ah * dq, Ah the cell's charge throughput up to the cycle
   (cycle_feature.charge_throughput_ah) and dq the cell's delta-Q feature, so the fade per Ah
   is a linear function of dq;
4. every exported cycle predicted (the test cells were never seen), the predictions imported
   through the predictions room as one model_run (name, version, code revision: a hash of this
   file, hyperparameters, the export's split) and its prediction rows.

The delta-Q feature compares cycle 35 with cycle 10, so for the cycles before 35 it is read
from the cell's future: the model estimates a cell's fade from its early life, as Severson
et al.'s does, and is not an on-line SOH estimator (docs/modelling.md says so).

A second build finds the run (same name, version and code revision) and leaves it alone.
"""

from __future__ import annotations

import csv
import hashlib
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MODEL_NAME = "demo-linear-delta-q"
MODEL_VERSION = "1"
SEED = 7  # the export's split by cell: which cells are held out
DROP = ("discharge_capacity_ah",)  # restates the label (the export's leakage warning)
THROUGHPUT = "charge_throughput_ah"
DELTA_Q = "delta_q_log10_abs_variance"
TERMS = ("intercept", THROUGHPUT, f"{THROUGHPUT} * {DELTA_Q}")


@dataclass
class Baseline:
    run_id: int
    rows: int  # predictions
    imported: bool  # False: an earlier build's run was found
    coefficients: dict[str, float] = field(default_factory=dict)
    split: dict = field(default_factory=dict)
    seconds: float = 0.0


def code_revision() -> str:
    """This file's content hash: the run names the code that trained it, checkout or not."""
    return "demo/model.py sha256:" + hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def _query(url: str, sql: str, params=()) -> list[tuple]:
    from export.read import open_source

    with open_source(url) as source:
        return source.query(sql, list(params))


def _existing(url: str) -> int | None:
    rows = _query(
        url,
        "SELECT run_id FROM model_run WHERE model_name = %s AND model_version = %s "
        "AND code_revision = %s ORDER BY run_id",
        (MODEL_NAME, MODEL_VERSION, code_revision()),
    )
    return int(rows[0][0]) if rows else None


def delta_q(url: str, cycles: tuple[int, int]) -> dict[int, float]:
    """session_id -> log10 |var delta-Q(V)| of cycle cycles[1] against cycle cycles[0]."""
    rows = _query(
        url,
        f"SELECT session_id, {DELTA_Q} FROM cycle_curve_feature "
        "WHERE delta_q_reference_cycle_index = %s AND cycle_index = %s "
        f"AND {DELTA_Q} IS NOT NULL",
        cycles,
    )
    return {int(r[0]): float(r[1]) for r in rows}


def design(throughput: np.ndarray, dq: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones_like(throughput), throughput, throughput * dq])


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    coefficients, *_ = np.linalg.lstsq(x, y, rcond=None)
    return coefficients


def run(url: str, sessions: list[int], cycles: tuple[int, int]) -> Baseline:
    """Export, fit, predict, import (or find the earlier build's run)."""
    import pyarrow.parquet as pq

    import export
    from predictions import Run, import_predictions

    started = time.monotonic()
    found = _existing(url)
    if found is not None:
        count = _query(url, "SELECT count(*) FROM prediction WHERE run_id = %s", (found,))
        return Baseline(found, int(count[0][0]), False, seconds=time.monotonic() - started)
    with tempfile.TemporaryDirectory(prefix="demo-model-") as tmp:
        path = Path(tmp) / "soh.parquet"
        with warnings.catch_warnings():
            warnings.simplefilter("error", export.LeakageWarning)  # none left once dropped
            written = export.write_training_set(
                url, path, "soh", sessions=sessions, seed=SEED, drop=DROP
            )
        if written.warnings:  # a feature that restates the label: the demo is wrong
            raise RuntimeError("; ".join(written.warnings))
        table = pq.read_table(
            path, columns=["session_id", "cycle_index", THROUGHPUT, "soh", "split"]
        )
        data = table.to_pydict()
        per_cell = delta_q(url, cycles)
        missing = sorted(set(data["session_id"]) - set(per_cell))
        if missing:
            raise RuntimeError(f"no delta-Q(V) feature for session(s) {missing}: derive curves")
        throughput = np.asarray(data[THROUGHPUT], dtype=float)
        dq = np.asarray([per_cell[s] for s in data["session_id"]], dtype=float)
        soh = np.asarray(data["soh"], dtype=float)
        train = np.asarray([s == "train" for s in data["split"]])
        x = design(throughput, dq)
        coefficients = fit(x[train], soh[train])
        predicted = x @ coefficients
        out = Path(tmp) / "predicted.csv"
        with out.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["session_id", "cycle_index", "predicted_value", "split"])
            for row in zip(
                data["session_id"], data["cycle_index"], predicted, data["split"], strict=True
            ):
                writer.writerow([row[0], row[1], repr(float(row[2])), row[3]])
        described = written.plan.description()
        hyper = {
            "model": "ordinary least squares (numpy.linalg.lstsq)",
            "terms": list(TERMS),
            "delta_q_cycles": list(cycles),
            "dropped": list(DROP),
            "coefficients": dict(zip(TERMS, map(float, coefficients), strict=True)),
        }
        done = import_predictions(
            url,
            out,
            described,
            Run(MODEL_NAME, MODEL_VERSION, code_revision(), hyper, random_seed=SEED),
        )
    return Baseline(
        done.run_id,
        done.rows,
        True,
        dict(zip(TERMS, map(float, coefficients), strict=True)),
        described["split"],
        time.monotonic() - started,
    )
