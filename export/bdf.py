"""A session's samples as a Battery Data Format file: the columns under BDF's names and units
(`Test Time / s`, `Voltage / V`, ...), as the loader reads them (ingest/staging.py: QUANTITIES
and SI_UNIT, the one place the mapping is written), so `python -m ingest` loads the file
back into the same samples. Absolute time is BDF's `Unix Time / s` (from recorded_at);
columns that are empty for the whole session are left out. CSV (optionally gzipped:
`.csv.gz`) or Parquet; written whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from connection import schema
from ingest.staging import QUANTITIES, SI_UNIT

from .columns import ARROW_TYPES
from .errors import REFUSED, USAGE, ExportError
from .read import open_source

# BDF's own spellings where title case of the key is not it
TITLES = {"step_id": "Step ID"}


def bdf_columns() -> list[tuple[str, str, str]]:
    """(BDF header, timeseries_point column, dimension) for every quantity the table stores,
    and Unix Time from recorded_at."""
    table = schema.model().table("timeseries_point")
    out = []
    for q in QUANTITIES.values():
        column = "recorded_at" if q.key == "unix_time" else q.column
        if column not in table.column_map:
            continue
        title = TITLES.get(q.key, q.key.replace("_", " ").title().replace(" T", " T"))
        header = title if q.dimension == "text" else f"{title} / {SI_UNIT[q.dimension]}"
        out.append((header, column, q.dimension))
    return out


def write_session(db: str, session_id: int, path: str | Path) -> int:
    """Write session `session_id` to `path` (.csv, .csv.gz or .parquet); the samples written."""
    path = Path(path)
    name = path.name.lower()
    if not name.endswith((".csv", ".csv.gz", ".parquet")):
        raise ExportError(f"{path}: a BDF file is .csv, .csv.gz or .parquet", USAGE)
    columns = bdf_columns()
    tp = schema.model().table("timeseries_point")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    rows = 0
    with open_source(db) as source:
        counts = source.query(
            "SELECT COUNT(*), "
            + ", ".join(f"COUNT({c})" for _, c, _ in columns)
            + " FROM timeseries_point WHERE session_id = %s",
            [session_id],
        )[0]
        if not source.query(
            "SELECT COUNT(*) FROM test_session WHERE session_id = %s", [session_id]
        )[0][0]:
            raise ExportError(f"--session {session_id}: no such test_session", REFUSED)
        if not counts[0]:
            raise ExportError(f"--session {session_id}: the session has no samples", REFUSED)
        kept = [c for c, n in zip(columns, counts[1:], strict=True) if n]
        fields = []
        for header, column, dimension in kept:
            col = tp.column(column)
            kind = pa.float64() if column == "recorded_at" else ARROW_TYPES[col.type]
            if pa.types.is_floating(kind):
                kind = pa.float64()  # the stored value, printed as stored
            unit = "" if dimension == "text" else SI_UNIT[dimension]
            fields.append(
                pa.field(
                    header, kind, metadata={b"unit": unit.encode(), b"source": column.encode()}
                )
            )
        target = pa.schema(fields)
        sql = (
            f"SELECT {', '.join(c for _, c, _ in kept)} FROM timeseries_point"
            " WHERE session_id = %s ORDER BY record_index"
        )
        try:
            writer = _writer(path, tmp, target)
            try:
                for batch in source.batches(sql, [session_id]):
                    if batch.num_rows:
                        writer.write_batch(_bdf(batch, target))
                        rows += batch.num_rows
            finally:
                writer.close()
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return rows


def _bdf(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for i, field in enumerate(target):
        array = batch.column(i)
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        if field.metadata[b"source"] == b"recorded_at" and pa.types.is_timestamp(array.type):
            micros = array.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
            array = pc.divide(micros.cast(pa.float64()), 1e6)
        arrays.append(array.cast(field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=target)


def _writer(path: Path, tmp: Path, target: pa.Schema):
    if path.name.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.ParquetWriter(str(tmp), target, compression="zstd")
    import pyarrow.csv as pacsv

    sink = (
        pa.CompressedOutputStream(str(tmp), "gzip")
        if path.name.lower().endswith(".gz")
        else str(tmp)
    )
    options = pacsv.WriteOptions(quoting_style="needed")
    return pacsv.CSVWriter(sink, target, write_options=options)
