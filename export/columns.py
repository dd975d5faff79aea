"""Columns of an export as the schema names them: each output column is a column of a table
of the schema in force (connection.schema.model()), and its Arrow field carries that column's
type, unit and description as field metadata (`unit`, `description`, `source`). Nothing here
is written per column: a column added to schema.yaml arrives in the export with its unit."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from connection import schema

ARROW_TYPES = {
    "smallint": pa.int16(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "real": pa.float32(),
    "double": pa.float64(),
    "text": pa.string(),
    "json": pa.string(),
    "boolean": pa.bool_(),
    "timestamptz": pa.timestamp("us", tz="UTC"),
}


@dataclass(frozen=True)
class Out:
    """One column of an export: `name` in the output, `table`.`column` in the schema, the SQL
    expression that reads it (an alias of the query's tables)."""

    name: str
    table: str
    column: str
    expression: str

    def field(self) -> pa.Field:
        col = schema.model().table(self.table).column(self.column)
        meta = {
            "description": col.description,
            "source": f"{self.table}.{self.column}",
            "unit": col.unit or "",
        }
        if col.enum:
            meta["enum"] = col.enum
        return pa.field(
            self.name,
            ARROW_TYPES.get(col.type, pa.string()),
            nullable=True,
            metadata={k: v.encode() for k, v in meta.items()},
        )


def arrow_schema(columns: list[Out], extra: dict[str, str] | None = None) -> pa.Schema:
    meta = {k: v.encode() for k, v in (extra or {}).items()}
    return pa.schema([c.field() for c in columns], metadata=meta or None)


def columns_of(table: str, skip: set[str] = frozenset(), alias: str = "") -> list[Out]:
    """Every column of `table` in the schema's order, but those in `skip`."""
    prefix = f"{alias}." if alias else ""
    return [
        Out(c.name, table, c.name, prefix + c.name)
        for c in schema.model().table(table).columns
        if c.name not in skip
    ]


def conform(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
    """A batch as an engine returned it, in the export's types: SQLite's timestamps are Unix
    seconds (REAL), ClickHouse's DateTime64 milliseconds, integers come back 64-bit and enums
    as dictionaries; each is cast to the field's type."""
    arrays = []
    for i, field in enumerate(target):
        array = batch.column(i)
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        if pa.types.is_timestamp(field.type) and not pa.types.is_timestamp(array.type):
            if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
                array = array.cast(pa.timestamp("us", tz="UTC"))
            else:  # Unix seconds
                import pyarrow.compute as pc

                micros = pc.round(pc.multiply(array.cast(pa.float64()), 1e6))
                array = micros.cast(pa.int64()).cast(field.type)
        if pa.types.is_string(field.type) and (
            pa.types.is_struct(array.type)
            or pa.types.is_map(array.type)
            or pa.types.is_list(array.type)
        ):
            # a JSON column as psycopg hands it (json/jsonb -> dict): back to its JSON text;
            # Arrow made one struct of every row's keys, so a key a row lacks came back None
            import json

            def text(value):
                if isinstance(value, dict):
                    value = {k: v for k, v in value.items() if v is not None}
                return None if value is None else json.dumps(value, sort_keys=True)

            array = pa.array([text(v) for v in array.to_pylist()], pa.string())
        if array.type != field.type:
            array = array.cast(field.type, safe=False)
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=target)
