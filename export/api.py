"""The training-set export as a Python API and as files: `training_set(db, ...)` returns a
pandas DataFrame or an Arrow table, `write_training_set(db, path, ...)` streams the same rows
into a Parquet or CSV file (written whole or not at all: a temporary file renamed at the end)
beside a JSON description (`<path>.export.json`: task, feature version, label definition,
split) that `python -m predictions import --export` reads back."""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from .errors import USAGE, ExportError
from .read import BATCH_ROWS, open_source
from .training import Filters, Leakage, Plan, Request, plan, stream


class LeakageWarning(UserWarning):
    """A feature is (almost) a linear function of the label."""


class LeftOutWarning(UserWarning):
    """Sessions the filters select that the set leaves out: pack sessions from a set of cells,
    cell sessions from a set of packs (`asset="pack"`)."""


@dataclass
class Written:
    path: Path
    rows: int
    plan: Plan
    warnings: list[str] = field(default_factory=list)


def request(
    task: str = "soh",
    *,
    feature_version: str | None = None,
    definition: dict[str, str | None] | None = None,
    cells=None,
    sessions=None,
    protocols=None,
    chemistries=None,
    cycle_types=None,
    split: str = "cell",
    seed: int = 0,
    test_fraction: float = 0.2,
    validation_fraction: float = 0.0,
    split_spec: dict | None = None,
    window_seconds: float | None = None,
    drop=(),
    asset: str = "cell",
) -> Request:
    if not 0 <= test_fraction < 1 or not 0 <= validation_fraction < 1:
        raise ExportError("--test-fraction and --validation-fraction are within [0, 1)", USAGE)
    if window_seconds is not None and not window_seconds > 0:
        raise ExportError(f"--window-seconds {window_seconds}: must be > 0", USAGE)
    if asset == "pack" and cells:
        raise ExportError(
            "--cell selects cell sessions; a set of packs (--asset pack) is filtered by "
            "--session, --protocol or --chemistry",
            USAGE,
        )
    if window_seconds is not None and task != "soc":
        raise ExportError("--window-seconds is for the per-sample (soc) set", USAGE)
    return Request(
        task=task,
        feature_version=feature_version,
        definition=dict(definition or {}),
        filters=Filters(*map(_listed, (cells, sessions, protocols, chemistries, cycle_types))),
        split=split,
        seed=seed,
        test_fraction=test_fraction,
        validation_fraction=validation_fraction,
        split_spec=split_spec,
        window_seconds=window_seconds,
        drop=tuple(drop),
        asset=asset,
    )


def _listed(value) -> list | None:
    if value is None:
        return None
    return [value] if isinstance(value, str | int) else list(value)


def training_set(db: str, task: str = "soh", *, as_: str = "pandas", **options: Any):
    """The training set as a pandas DataFrame (`as_="pandas"`) or an Arrow table
    (`as_="arrow"`, its fields carrying unit and description); options as `request`. A
    LeakageWarning for each feature that is (almost) a linear function of the label."""
    req = request(task, **options)
    with open_source(db) as source:
        p = plan(source, req)
        leak = Leakage(p.features, p.label)
        batches = []
        for batch in stream(source, p):
            leak.add(batch)
            batches.append(batch)
    for message in p.notes:
        warnings.warn(message.removeprefix("warning: "), LeftOutWarning, stacklevel=2)
    for message in leak.messages():
        warnings.warn(message.removeprefix("warning: "), LeakageWarning, stacklevel=2)
    table = pa.Table.from_batches(batches, schema=p.schema())
    return table if as_ == "arrow" else table.to_pandas()


def description_path(path: Path) -> Path:
    return path.with_name(path.name + ".export.json")


def write_training_set(
    db: str, path: str | Path, task: str = "soh", *, batch_rows: int = BATCH_ROWS, **options: Any
) -> Written:
    """Stream the training set into `path` (.parquet or .csv), whole or not at all, in
    batches of `batch_rows` rows (the memory it takes: one batch)."""
    path = Path(path)
    kind = "csv" if path.suffix.lower() == ".csv" else "parquet"
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise ExportError(f"{path}: the output is a .parquet or a .csv file", USAGE)
    req = request(task, **options)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    rows = 0
    with open_source(db) as source:
        p = plan(source, req)
        leak = Leakage(p.features, p.label)
        try:
            writer = _writer(kind, tmp, p.schema())
            try:
                for batch in stream(source, p, batch_rows):
                    leak.add(batch)
                    writer.write_batch(batch)
                    rows += batch.num_rows
            finally:
                writer.close()
            if not rows:
                raise ExportError(
                    f"nothing to export: no row matches {req.filters.said()} (a session with "
                    "labels, but none in the cycles asked for)"
                )
            description_path(path).write_text(json.dumps(p.description(), indent=2) + "\n")
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return Written(path, rows, p, [*p.notes, *leak.messages()])


def _writer(kind: str, path: Path, schema: pa.Schema):
    if kind == "csv":
        import pyarrow.csv as pacsv

        return pacsv.CSVWriter(str(path), schema)
    import pyarrow.parquet as pq

    return pq.ParquetWriter(str(path), schema, compression="zstd")


def read_description(path: str | Path) -> dict:
    """An export's description: from `<file>.export.json`, the JSON itself, or a Parquet
    export's schema metadata."""
    path = Path(path)
    if path.suffix == ".json":
        return json.loads(path.read_text())
    if description_path(path).is_file():
        return json.loads(description_path(path).read_text())
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        meta = pq.read_schema(path).metadata or {}
        if b"liam_erd_schema.export" in meta:
            return json.loads(meta[b"liam_erd_schema.export"])
    raise ExportError(
        f"{path}: no export description (expected {description_path(path).name})", USAGE
    )
