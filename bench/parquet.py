"""The same samples as Parquet files: pyarrow's defaults, and with encodings for the data.

Written from the scratch dataset in buffered row groups of up to ``ROW_GROUP_ROWS`` rows (the
default row-group size of pyarrow), so memory stays bounded by one row group whatever N is.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from . import dataset

ROW_GROUP_ROWS = 1024 * 1024
FLOATS = ["test_time_second", "voltage_volt", "current_ampere", "surface_temperature_celsius"]
INTEGERS = ["recorded_at", "session_id", "record_index", "cycle_count", "step_id"]

LAYOUTS = {
    "default": {
        "options": {"compression": "zstd"},
        "how": "pyarrow defaults with zstd: dictionary encoding, row groups of 1Mi rows",
    },
    "encoded": {
        "options": {
            "compression": "zstd",
            "use_dictionary": False,
            "column_encoding": {
                **{c: "BYTE_STREAM_SPLIT" for c in FLOATS},
                **{c: "DELTA_BINARY_PACKED" for c in INTEGERS},
            },
        },
        "how": "zstd, BYTE_STREAM_SPLIT for the floats, DELTA_BINARY_PACKED for the integers "
        "and the timestamp",
    },
}


def write(scratch: Path, layout: str) -> dict:
    spec = LAYOUTS[layout]
    path = scratch / f"parquet-{layout}.parquet"
    pending: list[pa.RecordBatch] = []
    rows = 0
    with pq.ParquetWriter(path, dataset.POINT_SCHEMA, **spec["options"]) as writer:
        for batch in dataset.point_batches(scratch):
            pending.append(batch)
            rows += batch.num_rows
            if sum(b.num_rows for b in pending) >= ROW_GROUP_ROWS:
                writer.write_table(pa.Table.from_batches(pending), row_group_size=ROW_GROUP_ROWS)
                pending = []
        if pending:
            writer.write_table(pa.Table.from_batches(pending), row_group_size=ROW_GROUP_ROWS)
    size = path.stat().st_size
    groups = pq.ParquetFile(path).metadata.num_row_groups
    path.unlink()
    return {
        "bytes": size,
        "bytes_per_row": round(size / rows, 2),
        "row_groups": groups,
        "how": spec["how"],
    }
