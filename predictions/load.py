"""Predictions in: a CSV or Parquet file of predicted values (the cycle or sample key, the
value, optionally its uncertainty and split) becomes one model_run and its prediction rows,
each linked to the label it predicts and carrying that label's value, whole or not at all.

Everything is checked before anything is written, and the first problem is one line naming
the file, the row (the CSV line; the Parquet row, 1-based) and the column, with a hint:
a missing column, a file keyed for the other task, an empty, NaN or duplicated key or value, a
value outside the label column's range (from schema.yaml), a key without a label of the
export's definition, a cell in no part of the export's split, a split column that disagrees
with it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from connection import schema
from export.errors import BAD_FILE, LEAK, USAGE, ExportError
from export.training import TASK

from .write import open_writer

SPLITS = ("train", "validation", "test")


@dataclass
class Run:
    """What the command line says of the run (model_run's columns that are not the data's)."""

    model_name: str
    model_version: str
    code_revision: str
    hyperparameters: dict = field(default_factory=dict)
    dataset_version: str | None = None  # default: a hash of the export's description
    random_seed: int | None = None
    training_started_at: dt.datetime | None = None
    training_finished_at: dt.datetime | None = None


@dataclass
class Imported:
    run_id: int
    rows: int
    task: str
    metrics: dict[str, dict[str, float]]  # split -> count, mae, rmse, max_error


def _read(path: Path) -> tuple[pa.Table, str]:
    """The file as a table, and how its rows are named in messages (CSV line / Parquet row)."""
    try:
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path), "row"
        import pyarrow.csv as pacsv

        return pacsv.read_csv(path), "line"
    except FileNotFoundError:
        raise ExportError(f"{path}: no such file", USAGE) from None
    except (OSError, pa.ArrowInvalid) as exc:
        raise ExportError(
            f"{path}: cannot be read as {path.suffix or 'CSV'}: {exc}", BAD_FILE
        ) from None


def _where(path: Path, how: str, i: int, column: str) -> str:
    """file:line N: column C (CSV: the header is line 1) or file: row N: column C."""
    if how == "line":
        return f"{path}:{i + 2}: column {column}"
    return f"{path}: row {i + 1}: column {column}"


def import_predictions(
    db: str, path: str | Path, export: str | Path | dict, run: Run, task: str | None = None
) -> Imported:
    """Check `path` against the database and the export it predicts (`export`: the export's
    file, its `.export.json`, or the description itself), then write one model_run and its
    predictions. ExportError (code BAD_FILE for the file, LEAK for the split) otherwise."""
    from export import read_description

    path = Path(path)
    described = export if isinstance(export, dict) else read_description(export)
    task = task or described["task"]
    if task != described["task"]:
        raise ExportError(f"--task {task}: the export is a {described['task']} training set", USAGE)
    spec = described["split"]
    asset = described.get("asset", "cell")  # a set of pack sessions: its split draws packs
    t = TASK[task]
    key = t.label_key()  # (session_id, cycle_index) or (session_id, record_index)
    other = TASK["soc" if task == "soh" else "soh"].label_key()
    table, how = _read(path)
    names = table.column_names
    for column in (*key, "predicted_value"):
        if column not in names:
            foreign = [c for c in other if c not in key and c in names]
            if foreign and column in key:
                raise ExportError(
                    f"{path}:1: column {column} missing, {foreign[0]} given: the file predicts "
                    f"{'samples' if task == 'soh' else 'cycles'} but the run's task is {task} "
                    f"(its key is {', '.join(key)})",
                    BAD_FILE,
                )
            raise ExportError(
                f"{path}:1: missing column {column}: a {task} prediction file has "
                f"{', '.join(key)}, predicted_value and optionally uncertainty, split",
                BAD_FILE,
            )
    label_col = schema.model().table(t.label_table).column(task)
    lo, hi = label_col.range.min, label_col.range.max
    columns = {c: table.column(c).to_pylist() for c in (*key, "predicted_value")}
    uncertainty = table.column("uncertainty").to_pylist() if "uncertainty" in names else None
    given_split = table.column("split").to_pylist() if "split" in names else None
    seen: dict[tuple, int] = {}
    for i in range(table.num_rows):
        for c in key:
            v = columns[c][i]
            if v is None or (isinstance(v, float) and (math.isnan(v) or v != int(v))):
                raise ExportError(
                    f"{_where(path, how, i, c)}: {v!r} is not an integer key", BAD_FILE
                )
        k = tuple(int(columns[c][i]) for c in key)
        if k in seen:
            raise ExportError(
                f"{_where(path, how, i, key[-1])}: {_key(key, k)} again (first at "
                f"{'line' if how == 'line' else 'row'} {seen[k] + (2 if how == 'line' else 1)}):"
                " one prediction per key",
                BAD_FILE,
            )
        seen[k] = i
        v = columns["predicted_value"][i]
        if not isinstance(v, int | float) or math.isnan(v) or math.isinf(v):
            what = "empty or NaN" if v is None or v != v else repr(v)
            raise ExportError(
                f"{_where(path, how, i, 'predicted_value')}: {what} is not a number: every "
                "prediction needs its value",
                BAD_FILE,
            )
        if (lo is not None and (v < lo or (v == lo and label_col.range.min_exclusive))) or (
            hi is not None and (v > hi or (v == hi and label_col.range.max_exclusive))
        ):
            raise ExportError(
                f"{_where(path, how, i, 'predicted_value')}: {v:g} is outside the range of "
                f"{t.label_table}.{task} ({_range(label_col.range)}): a fraction, not a percent?",
                BAD_FILE,
            )
        if uncertainty is not None:
            u = uncertainty[i]
            if u is not None and (not isinstance(u, int | float) or math.isnan(u) or u < 0):
                raise ExportError(
                    f"{_where(path, how, i, 'uncertainty')}: {u!r}: a standard deviation >= 0 "
                    "(empty when the model gives none)",
                    BAD_FILE,
                )
        if given_split is not None and given_split[i] not in SPLITS:
            raise ExportError(
                f"{_where(path, how, i, 'split')}: {given_split[i]!r}: one of {', '.join(SPLITS)}",
                BAD_FILE,
            )
    if not seen:
        raise ExportError(f"{path}: no predictions in the file", BAD_FILE)
    label = dict(described["label"])
    label.pop("table", None)
    definition = t.definition()
    with open_writer(db) as w:
        sessions = sorted({k[0] for k in seen})
        marks = ", ".join(["%s"] * len(sessions))
        values_sql = ", ".join(f"l.{c}" for c in key[1:])
        copied = ", l.recorded_at" if task == "soc" else ""
        rows = w.query(
            f"SELECT l.session_id, {values_sql}, l.{t.label_table}_id, l.{task}{copied},"
            f" s.{asset}_id"
            f" FROM {t.label_table} l JOIN test_session s ON s.session_id = l.session_id"
            f" WHERE l.session_id IN ({marks}) AND "
            + " AND ".join(f"l.{c} = %s" for c in definition),
            [*sessions, *(label[c] for c in definition)],
        )
        labels = {tuple(int(x) for x in r[: len(key)]): r[len(key) :] for r in rows}
        part_of = {int(c): p for p, cs in spec.get(f"{asset}s", {}).items() for c in cs}
        out = []
        for k, i in seen.items():
            found = labels.get(k)
            if found is None:
                said = ", ".join(f"{c} {label[c]}" for c in definition)
                raise ExportError(
                    f"{_where(path, how, i, key[-1])}: {_key(key, k)} has no {t.label_table} "
                    f"({said}): predict the rows of the export (python -m export training-set)",
                    BAD_FILE,
                )
            label_id, true, *rest = found
            if rest[-1] is None:  # a session of the other kind of asset: not in the export
                raise ExportError(
                    f"{_where(path, how, i, key[-1])}: {_key(key, k)} is not of a {asset} "
                    f"session, and the export holds {asset}s: predict the rows of the export",
                    BAD_FILE,
                )
            cell = int(rest[-1])
            part = part_of.get(cell)
            if given_split is not None:
                if part is not None and given_split[i] != part:
                    raise ExportError(
                        f"{_where(path, how, i, 'split')}: {given_split[i]} but the export's "
                        f"split puts {asset} {cell} in {part}: a {asset} is on one side only",
                        LEAK,
                    )
                part = part or given_split[i]
            if part is None:
                raise ExportError(
                    f"{_where(path, how, i, key[-1])}: {_key(key, k)} is of {asset} {cell}, in no "
                    f"part of the export's split (by {spec.get('by')}): predict rows of the "
                    "export, or give a split column",
                    BAD_FILE if spec.get("by") != "none" else USAGE,
                )
            value = float(columns["predicted_value"][i])
            u = None if uncertainty is None or uncertainty[i] is None else float(uncertainty[i])
            recorded = rest[0] if task == "soc" else None
            out.append((part, k, recorded, value, true, u, label_id))
        metrics = _metrics(out)
        now = dt.datetime.now(dt.UTC)
        test = metrics.get("test", {})
        run_split = dict(spec)
        run_split["export"] = {
            "label": described["label"],
            "filters": described.get("filters"),
            "feature_version": described.get("feature_version"),
            **({"asset": asset} if asset != "cell" else {}),
        }
        fields = {
            "task": task,
            "model_name": run.model_name,
            "model_version": run.model_version,
            "dataset_version": run.dataset_version
            or "export-"
            + hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:12],
            "target_soc_method": label.get("method") if task == "soc" else None,
            "target_soh_definition": label.get("definition") if task == "soh" else None,
            "target_label_version": label.get("label_version"),
            "feature_version": described.get("feature_version") if task == "soh" else None,
            "split_spec": json.dumps(run_split),
            "hyperparameters": json.dumps(run.hyperparameters),
            "training_started_at": w.timestamp(run.training_started_at or now),
            "training_finished_at": w.timestamp(run.training_finished_at or now),
            "rmse": test.get("rmse"),
            "mae": test.get("mae"),
            "max_error": test.get("max_error"),
            "code_revision": run.code_revision,
            "random_seed": run.random_seed if run.random_seed is not None else spec.get("seed"),
        }
        target_columns = "record_index, recorded_at, cycle_index"
        rows_sql = (
            "INSERT INTO prediction (run_id, task, session_id, "
            f"{target_columns}, split, predicted_value, true_value, uncertainty, "
            f"label_soc_id, label_soh_id) VALUES ({', '.join(['%s'] * 12)})"
        )
        prediction_rows = [
            (
                task,
                k[0],
                k[1] if task == "soc" else None,
                recorded,
                k[1] if task == "soh" else None,
                part,
                value,
                true,
                u,
                label_id if task == "soc" else None,
                label_id if task == "soh" else None,
            )
            for part, k, recorded, value, true, u, label_id in out
        ]
        try:
            run_id = w.insert_run(
                list(fields), list(fields.values()), rows_sql, prediction_rows,
                json=("split_spec", "hyperparameters"),
            )  # fmt: skip
        except w.errors as exc:
            raise ExportError(
                f"{path}: the database refused the run: {str(exc).strip().splitlines()[0]}"
                "; nothing written"
            ) from None
    return Imported(run_id, len(out), task, metrics)


def _metrics(out: list[tuple]) -> dict[str, dict[str, float]]:
    by: dict[str, list[float]] = {}
    for part, _k, _r, value, true, *_ in out:
        if true is not None:
            by.setdefault(part, []).append(value - float(true))
    return {
        part: {
            "count": len(e),
            "mae": sum(abs(x) for x in e) / len(e),
            "rmse": math.sqrt(sum(x * x for x in e) / len(e)),
            "max_error": max(abs(x) for x in e),
        }
        for part, e in by.items()
    }


def _key(names: tuple[str, ...], values: tuple) -> str:
    return ", ".join(f"{n} {v}" for n, v in zip(names, values, strict=True))


def _range(r) -> str:
    low = "" if r.min is None else f"{'>' if r.min_exclusive else '>='} {r.min:g}"
    high = "" if r.max is None else f"{'<' if r.max_exclusive else '<='} {r.max:g}"
    return " and ".join(x for x in (low, high) if x)
