"""The demo's baseline SOH model (`make demo` runs it after the derivations): the loop the
schema was designed for, closed on the demo database with the export and predictions rooms.

1. A per-cycle training set of the aging cells through the export's Python API
   (`export.write_training_set`), split by cell with a fixed seed (SEED), the discharge
   capacity left out (capacity-based SOH is discharge capacity / nominal: the export warns);
2. one feature per cycle, known at that cycle: log10 |var delta-Q(V)| of the cycle's own
   discharge curve against that of the reference cycle 10 (demo.DELTA_Q_CYCLES[0]), the
   feature of Severson et al. taken at every cycle instead of at one fixed later cycle; from
   the discharge Q(V) curves derive --what curves stores (cycle_curve), with derive's own
   delta-Q statistics (derive.curves.delta_q: at cycle 35 it is cycle_curve_feature's value);
3. a linear model fitted by least squares (numpy) on the training cells only:
   SOH = b0 + b1 * Ah + b2 * Ah * dq, Ah the cell's charge throughput up to the cycle
   (cycle_feature.charge_throughput_ah) and dq the cycle's delta-Q feature, so the fade per
   Ah is a linear function of dq;
4. every exported cycle after the reference cycle predicted (the test cells were never seen;
   up to the reference cycle the feature does not exist yet, and the model says nothing), the
   predictions imported through the predictions room as one model_run (name, version, code
   revision: a hash of this file, hyperparameters, the export's split) and its prediction rows.

No prediction reads a later cycle than its own: the feature of cycle n uses the curves of
cycles 10 and n alone, the charge throughput is counted up to cycle n.

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
MODEL_VERSION = "2"  # 1 read delta-Q of cycle 35 for every cycle, its future for the first 34
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
    fitted: dict = field(default_factory=dict)  # coefficients (SOH), the OCV fit (SOC)
    split: dict = field(default_factory=dict)
    seconds: float = 0.0


def code_revision() -> str:
    """This file's content hash: the run names the code that trained it, checkout or not."""
    return "demo/model.py sha256:" + hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def _query(url: str, sql: str, params=()) -> list[tuple]:
    from export.read import open_source

    with open_source(url) as source:
        return source.query(sql, list(params))


def _existing(url: str, name: str = MODEL_NAME, version: str = MODEL_VERSION) -> int | None:
    rows = _query(
        url,
        "SELECT run_id FROM model_run WHERE model_name = %s AND model_version = %s "
        "AND code_revision = %s ORDER BY run_id",
        (name, version, code_revision()),
    )
    return int(rows[0][0]) if rows else None


def discharge_curves(url: str, sessions: list[int], curve_version: str) -> dict:
    """(session_id, cycle_index) -> the cycle's discharge Q(V) curve on the voltage grid as
    derive stored it (cycle_curve: point_index, capacity_ah), as derive.curves.delta_q takes
    it (v_index, q_v)."""
    from types import SimpleNamespace

    import pyarrow as pa
    import pyarrow.compute as pc

    from export.read import open_source

    # the version compared here, not in SQL: on SQLite a curve_version condition takes the
    # version's index and then looks every row up by its key (five times slower than reading
    # the sessions' rows in key order)
    with open_source(url) as source:
        batches = list(
            source.batches(
                "SELECT session_id, cycle_index, point_index, capacity_ah, curve_version "
                "FROM cycle_curve WHERE direction = 'discharge' AND grid = 'voltage' "
                f"AND session_id IN ({', '.join(str(int(s)) for s in sessions)})"
            )
        )
    table = pa.Table.from_batches([b for b in batches if b.num_rows])
    if not table.num_rows:
        return {}
    table = table.filter(pc.equal(table.column("curve_version"), curve_version))
    col = {n: table.column(n).to_numpy().astype(float) for n in table.column_names[:4]}
    order = np.lexsort((col["point_index"], col["cycle_index"], col["session_id"]))
    col = {n: v[order] for n, v in col.items()}
    key = col["session_id"] * 1e6 + col["cycle_index"]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], len(key)]
    return {
        (int(col["session_id"][a]), int(col["cycle_index"][a])): SimpleNamespace(
            v_index=col["point_index"][a:b].astype(int), q_v=col["capacity_ah"][a:b]
        )
        for a, b in zip(starts, ends, strict=True)
    }


def delta_q_per_cycle(curves: dict, reference: int) -> dict[tuple[int, int], float]:
    """(session_id, cycle_index) -> log10 |var delta-Q(V)| of the cycle's discharge curve
    against the reference cycle's, for every cycle after the reference: what is known at
    that cycle (its own curve and the reference's, nothing later)."""
    from derive.curves import delta_q

    out = {}
    for (session, cycle), curve in curves.items():
        ref = curves.get((session, reference))
        if cycle <= reference or ref is None:
            continue
        got = delta_q(curve, ref, None)
        if isinstance(got, dict) and got[DELTA_Q] is not None:
            out[(session, cycle)] = float(got[DELTA_Q])
    return out


def design(throughput: np.ndarray, dq: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones_like(throughput), throughput, throughput * dq])


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    coefficients, *_ = np.linalg.lstsq(x, y, rcond=None)
    return coefficients


def run(url: str, sessions: list[int], reference: int, curve_version: str) -> Baseline:
    """Export, fit, predict, import (or find the earlier build's run); the delta-Q feature
    of each cycle against cycle `reference`, from the curves of `curve_version`."""
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
        per_cycle = delta_q_per_cycle(discharge_curves(url, sessions, curve_version), reference)
        missing = sorted(set(data["session_id"]) - {s for s, _ in per_cycle})
        if missing:
            raise RuntimeError(f"no delta-Q(V) feature for session(s) {missing}: derive curves")
        keys = list(zip(data["session_id"], data["cycle_index"], strict=True))
        known = [k in per_cycle for k in keys]  # the cycles after the reference
        data = {name: [v for v, ok in zip(values, known, strict=True) if ok]
                for name, values in data.items()}  # fmt: skip
        throughput = np.asarray(data[THROUGHPUT], dtype=float)
        dq = np.asarray([per_cycle[k] for k, ok in zip(keys, known, strict=True) if ok])
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
            "delta_q": f"per cycle: {DELTA_Q} of the cycle's discharge Q(V) against cycle "
            f"{reference}'s (cycle_curve, {curve_version}); cycles up to {reference} not predicted",
            "delta_q_reference_cycle": reference,
            "curve_version": curve_version,
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


# ------------------------------------------------------------------ SOC: OCV + coulomb counting

SOC_MODEL_NAME = "demo-ocv-coulomb-counting"
SOC_MODEL_VERSION = "1"
OCV_GRID = 101  # SOC points of the OCV table, 0 to 1


def ocv_table(soc: np.ndarray, volt: np.ndarray, amp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(voltages, SOCs) of the pseudo-OCV curve of a C/20 test: its discharge and its charge
    branch (voltage against the SOC label) each interpolated on OCV_GRID SOCs and averaged
    (the mean of the two halves the hysteresis), made non-decreasing so it can be inverted."""
    grid = np.linspace(0.0, 1.0, OCV_GRID)
    branches = []
    for sign in (-1, 1):
        part = amp * sign > 0
        order = np.argsort(soc[part])
        branches.append(np.interp(grid, soc[part][order], volt[part][order]))
    return np.maximum.accumulate((branches[0] + branches[1]) / 2), grid


def charge_ah(time_s: np.ndarray, amp: np.ndarray) -> np.ndarray:
    """The charge passed since the first sample, in Ah (positive charges), each interval at
    the current of its first sample, as the cycler holds it."""
    return np.concatenate([[0.0], np.cumsum(amp[:-1] * np.diff(time_s))]) / 3600.0


def soc_run(url: str, ocv_session: int, drive_session: int) -> Baseline:
    """The OCV + coulomb-counting SOC baseline: the OCV table and the capacity from the C/20
    test (`ocv_session`), the drive cycle's SOC started from the OCV of its first sample (the
    cell at rest) and counted from there; its samples predicted and imported as a model_run.
    Both sessions are of one cell (the demo's SOC tests): the split is none, the drive cycle's
    rows are marked test in the prediction file."""
    import pyarrow.parquet as pq

    import export
    from predictions import Run, import_predictions

    started = time.monotonic()
    found = _existing(url, SOC_MODEL_NAME, SOC_MODEL_VERSION)
    if found is not None:
        count = _query(url, "SELECT count(*) FROM prediction WHERE run_id = %s", (found,))
        return Baseline(found, int(count[0][0]), False, seconds=time.monotonic() - started)
    columns = ["session_id", "record_index", "test_time_second", "voltage_volt"]
    columns += ["current_ampere", "soc"]
    with tempfile.TemporaryDirectory(prefix="demo-model-") as tmp:
        path = Path(tmp) / "soc.parquet"
        written = export.write_training_set(
            url, path, "soc", sessions=[ocv_session, drive_session], split="none"
        )
        data = {
            k: np.asarray(v) for k, v in pq.read_table(path, columns=columns).to_pydict().items()
        }
        session = data["session_id"]
        ocv = {k: v[session == ocv_session] for k, v in data.items()}
        drive = {k: v[session == drive_session] for k, v in data.items()}
        order = np.argsort(drive["record_index"])
        drive = {k: v[order] for k, v in drive.items()}
        volts, socs = ocv_table(
            ocv["soc"].astype(float),
            ocv["voltage_volt"].astype(float),
            ocv["current_ampere"].astype(float),
        )
        discharged = ocv["current_ampere"] < 0
        order = np.argsort(ocv["record_index"])
        passed = charge_ah(
            ocv["test_time_second"][order].astype(float),
            (ocv["current_ampere"][order] * discharged[order]).astype(float),
        )
        capacity = float(-passed[-1])  # the C/20 discharge's charge, Ah
        initial = float(np.interp(drive["voltage_volt"][0], volts, socs))
        predicted = (
            initial
            + charge_ah(
                drive["test_time_second"].astype(float), drive["current_ampere"].astype(float)
            )
            / capacity
        )
        out = Path(tmp) / "predicted.csv"
        with out.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["session_id", "record_index", "predicted_value", "split"])
            for record, value in zip(drive["record_index"], predicted, strict=True):
                writer.writerow([drive_session, int(record), repr(float(value)), "test"])
        hyper = {
            "model": "OCV lookup of the first sample, then coulomb counting",
            "ocv_session": ocv_session,
            "ocv_grid_points": OCV_GRID,
            "capacity_ah": capacity,
            "initial_soc": initial,
        }
        done = import_predictions(
            url,
            out,
            written.plan.description(),
            Run(SOC_MODEL_NAME, SOC_MODEL_VERSION, code_revision(), hyper),
        )
    return Baseline(done.run_id, done.rows, True, hyper, {"by": "none"}, time.monotonic() - started)
