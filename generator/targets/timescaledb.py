"""TimescaleDB: the PostgreSQL schema, with hypertables, compression and continuous aggregates.

TimescaleDB requires every unique key of a hypertable to include its time column, so the
hypertable's primary key gains that column here, and every reference into the hypertable
carries it too (the validator made sure referencing tables have a column of that name).

A FOREIGN KEY constraint into a hypertable makes its chunks impossible to compress
(compress_chunk truncates the chunk's heap, which PostgreSQL refuses while a foreign key points
into it: "found a FK into a chunk while truncating"). So a reference into a hypertable is
enforced by two triggers instead, named after the foreign key: a constraint trigger on the
referencing table that rejects a row whose sample does not exist (SQLSTATE 23503, like a
foreign key), and a trigger on the hypertable that applies the key's ON DELETE.
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

    def into_hypertable(self, schema: Schema, fk: ForeignKey) -> bool:
        return schema.table(fk.ref_table).timescaledb is not None

    def constraint_foreign_keys(self, schema: Schema, table: Table) -> list[ForeignKey]:
        return [fk for fk in table.foreign_keys if not self.into_hypertable(schema, fk)]

    def trigger_foreign_key(self, schema: Schema, fk: ForeignKey) -> list[Statement]:
        """The statements that enforce `fk`, a reference into a hypertable, by triggers."""
        cols, refs = self.foreign_key_columns(schema, fk)
        child, parent = self.quote(fk.table), self.quote(fk.ref_table)
        name = self.quote(fk.name)
        match_new = " AND ".join(
            f"p.{self.quote(r)} = NEW.{self.quote(c)}" for c, r in zip(cols, refs, strict=True)
        )
        match_old = " AND ".join(
            f"c.{self.quote(c)} = OLD.{self.quote(r)}" for c, r in zip(cols, refs, strict=True)
        )
        any_null = " OR ".join(f"NEW.{self.quote(c)} IS NULL" for c in cols)
        key_text = ", ".join(cols)
        values = ", ".join(f"NEW.{self.quote(c)}" for c in cols)
        check_fn = self.quote(f"{fk.name}_check")
        delete_fn = self.quote(f"{fk.name}_on_delete")
        check = (
            f"CREATE FUNCTION {check_fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
            "BEGIN\n"
            f"    IF {any_null} THEN\n"
            "        RETURN NEW;  -- MATCH SIMPLE: a key with a NULL references nothing\n"
            "    END IF;\n"
            f"    IF NOT EXISTS (SELECT 1 FROM {parent} p WHERE {match_new}) THEN\n"
            f'        RAISE EXCEPTION \'insert or update on table "%" violates foreign key '
            f"\"%\"', '{fk.table}', '{fk.name}'\n"
            f"            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = '{fk.name}',\n"
            f"                  DETAIL = format('Key ({key_text})=(%s) is not present in "
            f"table \"{fk.ref_table}\".', concat_ws(', ', {values}));\n"
            "    END IF;\n"
            "    RETURN NEW;\n"
            "END\n"
            "$fn$;"
        )
        if fk.on_delete == "cascade":
            action = f"    DELETE FROM {child} c WHERE {match_old};\n"
        elif fk.on_delete == "set null":
            sets = ", ".join(f"{self.quote(c)} = NULL" for c in fk.columns)
            action = f"    UPDATE {child} c SET {sets} WHERE {match_old};\n"
        else:  # restrict / no action
            action = (
                f"    IF EXISTS (SELECT 1 FROM {child} c WHERE {match_old}) THEN\n"
                f'        RAISE EXCEPTION \'update or delete on table "%" violates foreign '
                f"key \"%\" on table \"%\"', '{fk.ref_table}', '{fk.name}', '{fk.table}'\n"
                f"            USING ERRCODE = 'foreign_key_violation', "
                f"CONSTRAINT = '{fk.name}';\n"
                "    END IF;\n"
            )
        on_delete = (
            f"CREATE FUNCTION {delete_fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
            f"BEGIN\n{action}    RETURN OLD;\nEND\n$fn$;"
        )
        text = self.literal(
            f"Foreign key enforced by triggers (TimescaleDB): "
            f"ON DELETE {fk.on_delete.upper()}: {fk.why}"
        )
        return [
            Statement(check, opaque=True),
            Statement(
                f"CREATE CONSTRAINT TRIGGER {name} AFTER INSERT OR UPDATE OF "
                f"{self.quote_all(cols)} ON {child} FOR EACH ROW EXECUTE FUNCTION "
                f"{check_fn}();",
                opaque=True,
            ),
            Statement(f"COMMENT ON TRIGGER {name} ON {child} IS {text};", opaque=True),
            Statement(on_delete, opaque=True),
            Statement(
                f"CREATE TRIGGER {name} AFTER DELETE ON {parent} FOR EACH ROW "
                f"EXECUTE FUNCTION {delete_fn}();",
                opaque=True,
            ),
            Statement(f"COMMENT ON TRIGGER {name} ON {parent} IS {text};", opaque=True),
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
        for fk in table.foreign_keys:
            if self.into_hypertable(schema, fk):
                out += self.trigger_foreign_key(schema, fk)
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
            out.append(Statement(f"ALTER TABLE {t} SET ({self.compression_options(ts)});"))
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

    def compression_options(self, ts) -> str:
        """The storage options that enable compression (also used by migrations)."""
        options = ["timescaledb.compress"]
        if ts.segment_by:
            options.append(
                "timescaledb.compress_segmentby = " + self.literal(", ".join(ts.segment_by))
            )
        if ts.order_by:
            options.append("timescaledb.compress_orderby = " + self.literal(", ".join(ts.order_by)))
        return ", ".join(options)

    def load_hint(self) -> str:
        return (
            f"psql -v ON_ERROR_STOP=1 -d DBNAME -f {self.path} (the timescaledb extension "
            "must be installed on the server; the file creates it in the database)"
        )

    def load_command(self, file: str) -> str:
        return (
            "createdb battery   # on a server with the timescaledb extension installed\n"
            f"psql -v ON_ERROR_STOP=1 -d battery -f {file}"
        )

    def limitations(self, schema: Schema) -> list[str]:
        lines = []
        for table in schema.hypertables:
            ts = table.timescaledb
            lines.append(
                f"  - {table.name} is a hypertable on {ts.time_column}: its primary key is "
                f"({', '.join(self.primary_key(table))}), so ({', '.join(table.primary_key)}) "
                "alone is not enforced unique here, and references into it include "
                f"{ts.time_column}."
            )
            refs = [fk.name for fk in schema.references_to(table.name)]
            if refs:
                lines.append(
                    f"  - References into {table.name} ({', '.join(refs)}) are enforced by "
                    "triggers named after each key, not FOREIGN KEY constraints: TimescaleDB "
                    "cannot compress a chunk that a foreign key points into. They reject a "
                    "missing sample and apply ON DELETE like the key, but take no lock on "
                    "the sample, so a concurrent delete of it can slip past, and they do not "
                    "follow updates of a sample's key."
                )
            lines.append(
                "  - Compression and continuous-aggregate refresh policies are not "
                "created: choose them for your retention needs, e.g. "
                f"SELECT add_compression_policy('{table.name}', INTERVAL '30 days');"
            )
        return lines
