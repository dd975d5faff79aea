"""TimescaleDB: the PostgreSQL schema, with hypertables, compression and continuous aggregates.

TimescaleDB requires every unique key of a hypertable to include its time column, so the
hypertable's primary key gains that column here, and every foreign key into the hypertable
carries it too (the validator made sure referencing tables have a column of that name).
"""

from __future__ import annotations

from ..model import ForeignKey, Schema, Table
from .base import Statement
from .postgres import PostgresTarget


class TimescaleTarget(PostgresTarget):
    name = "timescaledb"
    title = "TimescaleDB"
    versions = "TimescaleDB 2.16 or newer on PostgreSQL 15 to 17 (tested on 2.23)"

    def primary_key(self, table: Table) -> tuple[str, ...]:
        ts = table.timescaledb
        if ts and ts.time_column not in table.primary_key:
            return (*table.primary_key, ts.time_column)
        return table.primary_key

    def unique_constraints(self, table: Table):
        ts = table.timescaledb
        return [
            (name, cols if not ts or ts.time_column in cols else (*cols, ts.time_column))
            for name, cols in super().unique_constraints(table)
        ]

    def foreign_key_columns(self, schema: Schema, fk: ForeignKey):
        target = schema.table(fk.ref_table)
        ts = target.timescaledb
        if ts and ts.time_column not in fk.ref_columns:
            return (*fk.columns, ts.time_column), (*fk.ref_columns, ts.time_column)
        return fk.columns, fk.ref_columns

    def preamble(self, schema: Schema) -> list[Statement]:
        return [Statement("CREATE EXTENSION IF NOT EXISTS timescaledb;", opaque=True)]

    def after_table(self, schema: Schema, table: Table) -> list[Statement]:
        out = super().after_table(schema, table)
        ts = table.timescaledb
        if ts is None:
            return out
        t = self.quote(table.name)
        out.append(
            Statement(
                f"SELECT create_hypertable({self.literal(table.name)}, by_range("
                f"{self.literal(ts.time_column)}, INTERVAL {self.literal(ts.chunk_interval)}), "
                # Only the indexes the schema declares: its primary key already leads with
                # the segment and chunks are excluded by time, so TimescaleDB's default
                # time index would only cost space.
                "create_default_indexes => FALSE);"
            )
        )
        if ts.segment_by or ts.order_by:
            options = ["timescaledb.compress"]
            if ts.segment_by:
                options.append(
                    "timescaledb.compress_segmentby = " + self.literal(", ".join(ts.segment_by))
                )
            if ts.order_by:
                options.append(
                    "timescaledb.compress_orderby = " + self.literal(", ".join(ts.order_by))
                )
            out.append(Statement(f"ALTER TABLE {t} SET ({', '.join(options)});"))
        for cagg in ts.continuous_aggregates:
            bucket = (
                f"time_bucket(INTERVAL {self.literal(cagg.bucket_width)}, "
                f"{self.quote(ts.time_column)})"
            )
            select = [f"{bucket} AS bucket"] + [self.quote(c) for c in cagg.group_by]
            select += [
                f"{expression} AS {self.quote(out_name)}"
                for out_name, expression in cagg.aggregates
            ]
            group = ", ".join(["bucket", *(self.quote(c) for c in cagg.group_by)])
            name = self.quote(cagg.name)
            out.append(
                Statement(
                    f"CREATE MATERIALIZED VIEW {name} WITH (timescaledb.continuous) AS\n"
                    f"    SELECT {', '.join(select)}\n    FROM {t}\n    GROUP BY {group}\n"
                    "    WITH NO DATA;",
                    opaque=True,
                )
            )
            out.append(
                Statement(
                    f"COMMENT ON VIEW {name} IS {self.literal(cagg.description)};",
                    opaque=True,
                )
            )
        return out

    def load_hint(self) -> str:
        return (
            f"psql -v ON_ERROR_STOP=1 -d DBNAME -f {self.path} (the timescaledb extension "
            "must be installed on the server; the file creates it in the database)"
        )

    def limitations(self, schema: Schema) -> list[str]:
        lines = []
        for table in schema.hypertables:
            ts = table.timescaledb
            lines.append(
                f"  - {table.name} is a hypertable on {ts.time_column}: its primary key is "
                f"({', '.join(self.primary_key(table))}), so ({', '.join(table.primary_key)}) "
                "alone is not enforced unique here, and foreign keys into it include "
                f"{ts.time_column}."
            )
            lines.append(
                "  - Compression and continuous-aggregate refresh policies are not "
                "created: choose them for your retention needs, e.g. "
                f"SELECT add_compression_policy('{table.name}', INTERVAL '30 days');"
            )
        return lines
