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

With `elapsed_as_start` (schema.yaml), an elapsed-seconds column such as test_time_second is
stored as the instant it counts from (recorded_at - test_time_second: constant while a session
runs, so it compresses to almost nothing, where a jittery double does not): the hypertable
takes the option's store_table name, and the table's own name becomes a view with exactly the
columns, names and types of the table, computing the column back to the microsecond. Every
reference, index, trigger and continuous aggregate is on the store table; the view takes
INSERT (and COPY) through an INSTEAD OF trigger.
"""

from __future__ import annotations

import dataclasses

from ..model import Check, Column, ForeignKey, Node, Schema, Table
from .base import Statement, TableBlock
from .postgres import PostgresTarget


class TimescaleTarget(PostgresTarget):
    name = "timescaledb"
    title = "TimescaleDB"
    versions = "TimescaleDB 2.16 or newer on PostgreSQL 15 to 17 (tested on 2.23)"

    def migration_writer(self):
        from .migrations.timescaledb import TimescaleWriter

        return TimescaleWriter(self)

    # -- elapsed_as_start: the hypertable under another name, the table's name a view --------
    def stored_schema(self, schema: Schema) -> Schema:
        """The model as this target stores it: a table with elapsed_as_start becomes its
        store table (the start instant in place of the seconds), and references into it
        point at the store."""
        stores = {
            t.name: t.timescaledb.elapsed_as_start.store_table
            for t in schema.tables
            if t.timescaledb and t.timescaledb.elapsed_as_start
        }
        if not stores:
            return schema
        tables = []
        for table in schema.tables:
            if table.name in stores:
                table = self.store_table(table)
            fks = tuple(
                dataclasses.replace(fk, ref_table=stores[fk.ref_table])
                if fk.ref_table in stores
                else fk
                for fk in table.foreign_keys
            )
            tables.append(dataclasses.replace(table, foreign_keys=fks))
        return dataclasses.replace(schema, tables=tuple(tables))

    def store_table(self, table: Table) -> Table:
        ts = table.timescaledb
        elapsed = ts.elapsed_as_start
        time = ts.time_column
        start = Column(
            name=elapsed.start_column,
            type="timestamptz",
            description=(
                f"The instant {elapsed.column} counts from: {time} - {elapsed.column}, kept to "
                f"the microsecond. Stored instead of {elapsed.column} because it stays constant "
                f"while a session runs and compresses to almost nothing; the view {table.name} "
                f"gives {elapsed.column} back as extract(epoch FROM {time} - "
                f"{elapsed.start_column})."
            ),
        )
        columns = tuple(start if c.name == elapsed.column else c for c in table.columns)
        checks = []
        for check in table.checks:
            if check.column == elapsed.column:
                # range {min: 0} (the only range the validator allows here): the sample is
                # not before the instant it counts from. The name stays the range check's.
                tree = Node(
                    "compare",
                    [Node("column", value=elapsed.start_column), Node("column", value=time)],
                    op="<=",
                )
                check = Check(
                    name=check.name,
                    expression=self.expression_sql(tree),
                    description=(
                        f"{elapsed.column} >= 0, stored as its start: {elapsed.start_column} "
                        f"is not after {time}."
                    ),
                    kind="explicit",
                    column=elapsed.start_column,
                    tree=tree,
                )
            checks.append(check)
        return dataclasses.replace(
            table,
            name=elapsed.store_table,
            description=(
                f"{table.description} Stored form of the view {table.name}: "
                f"{elapsed.start_column} in place of {elapsed.column}. Bulk loads write here "
                "directly; the view takes inserts through a trigger, row by row."
            ),
            columns=columns,
            checks=tuple(checks),
            foreign_keys=tuple(
                dataclasses.replace(fk, table=elapsed.store_table) for fk in table.foreign_keys
            ),
        )

    def blocks(self, schema: Schema) -> list[TableBlock]:
        """The stored model's blocks; after a store table, the view named like the table."""
        views = {
            t.timescaledb.elapsed_as_start.store_table: t
            for t in schema.hypertables
            if t.timescaledb.elapsed_as_start
        }
        blocks = super().blocks(self.stored_schema(schema))
        for block in blocks:
            if block.table.name in views:
                block.after += self.view_statements(views[block.table.name])
                # keyed by the model's name, like every target's blocks (docs, migrations);
                # render_block writes the store's name
                block.table = views[block.table.name]
        return blocks

    def render_block(self, block: TableBlock) -> str:
        ts = block.table.timescaledb
        if ts and ts.elapsed_as_start:
            block = dataclasses.replace(
                block, table=dataclasses.replace(block.table, name=ts.elapsed_as_start.store_table)
            )
        return super().render_block(block)

    def engine_names(self, schema: Schema) -> list[tuple[str, str, str]]:
        out = super().engine_names(schema)
        for table in schema.hypertables:
            elapsed = table.timescaledb.elapsed_as_start
            if elapsed:
                out.append(("relation", elapsed.store_table, table.name))
                out.append(("relation", self.view_insert_name(table.name), table.name))
        return out

    def view_insert_name(self, view: str) -> str:
        return self.generated_name(f"{view}_insert")

    def view_statements(self, table: Table) -> list[Statement]:
        """The view with the table's columns, names and types, and its INSTEAD OF INSERT
        trigger. `table` is the model's table (not the store)."""
        ts = table.timescaledb
        elapsed = ts.elapsed_as_start
        view, store = self.quote(table.name), self.quote(elapsed.store_table)
        time, start = self.quote(ts.time_column), self.quote(elapsed.start_column)
        seconds = f"extract(epoch FROM {time} - {start})::double precision"
        select = ",\n".join(
            f"    {seconds} AS {self.quote(c.name)}"
            if c.name == elapsed.column
            else f"    {self.quote(c.name)}"
            for c in table.columns
        )
        stored = [
            elapsed.start_column if c.name == elapsed.column else c.name for c in table.columns
        ]
        values = ", ".join(
            f"NEW.{time} - make_interval(secs => NEW.{self.quote(c.name)})"
            if c.name == elapsed.column
            else f"NEW.{self.quote(c.name)}"
            for c in table.columns
        )
        fn = self.quote(self.view_insert_name(table.name))
        column = self.quote(elapsed.column)
        out = [
            Statement(f"CREATE VIEW {view} AS\nSELECT\n{select}\nFROM {store};"),
            Statement(f"COMMENT ON VIEW {view} IS {self.prose(self.view_description(table))};"),
            *(
                Statement(
                    f"COMMENT ON COLUMN {view}.{self.quote(c.name)} IS "
                    f"{self.prose(self.column_description(c))};"
                )
                for c in table.columns
            ),
            Statement(
                f"CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
                "BEGIN\n"
                f"    IF NEW.{column} IS NULL THEN\n"
                f'        RAISE EXCEPTION \'null value in column "%" of relation "%" violates '
                f"not-null constraint', {self.literal(elapsed.column)}, "
                f"{self.literal(table.name)}\n"
                f"            USING ERRCODE = 'not_null_violation', "
                f"COLUMN = {self.literal(elapsed.column)};\n"
                "    END IF;\n"
                f"    INSERT INTO {store} ({self.quote_all(stored)})\n"
                f"    VALUES ({values});\n"
                "    RETURN NEW;\n"
                "END\n"
                "$fn$;"
            ),
            Statement(
                f"CREATE TRIGGER {fn} INSTEAD OF INSERT ON {view} FOR EACH ROW "
                f"EXECUTE FUNCTION {fn}();"
            ),
            Statement(
                f"COMMENT ON TRIGGER {fn} ON {view} IS "
                + self.literal(
                    f"Inserts (and COPY) into the view write {elapsed.store_table}, "
                    f"{elapsed.column} as {elapsed.start_column} = {ts.time_column} - "
                    f"{elapsed.column}, row by row: bulk loads should write "
                    f"{elapsed.store_table} directly."
                )
                + ";"
            ),
        ]
        return out

    def view_description(self, table: Table) -> str:
        elapsed = table.timescaledb.elapsed_as_start
        return (
            f"{table.description} On TimescaleDB a view of the hypertable "
            f"{elapsed.store_table}, which stores {elapsed.start_column} = "
            f"{table.timescaledb.time_column} - {elapsed.column} (constant per session, so it "
            f"compresses to almost nothing); {elapsed.column} is computed back, to the "
            "microsecond. Query and insert here; bulk loads write the store table directly."
        )

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

    def index_columns(self, table: Table, index) -> tuple[str, ...]:
        """A unique index on a hypertable must include its time column, like its keys."""
        ts = table.timescaledb
        if index.unique and ts and ts.time_column not in index.columns:
            return (*index.columns, ts.time_column)
        return index.columns

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
        detail = self.literal(f'Key ({key_text})=(%s) is not present in table "{fk.ref_table}".')
        values = ", ".join(f"NEW.{self.quote(c)}" for c in cols)
        check_fn = self.quote(self.generated_name(f"{fk.name}_check"))
        delete_fn = self.quote(self.generated_name(f"{fk.name}_on_delete"))
        check = (
            f"CREATE FUNCTION {check_fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
            "BEGIN\n"
            f"    IF {any_null} THEN\n"
            "        RETURN NEW;  -- MATCH SIMPLE: a key with a NULL references nothing\n"
            "    END IF;\n"
            f"    IF NOT EXISTS (SELECT 1 FROM {parent} p WHERE {match_new}) THEN\n"
            f'        RAISE EXCEPTION \'insert or update on table "%" violates foreign key '
            f'"%"\', {self.literal(fk.table)}, {self.literal(fk.name)}\n'
            f"            USING ERRCODE = 'foreign_key_violation', "
            f"CONSTRAINT = {self.literal(fk.name)},\n"
            f"                  DETAIL = format({detail}, concat_ws(', ', {values}));\n"
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
                f'key "%" on table "%"\', {self.literal(fk.ref_table)}, '
                f"{self.literal(fk.name)}, {self.literal(fk.table)}\n"
                f"            USING ERRCODE = 'foreign_key_violation', "
                f"CONSTRAINT = {self.literal(fk.name)};\n"
                "    END IF;\n"
            )
        on_delete = (
            f"CREATE FUNCTION {delete_fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
            f"BEGIN\n{action}    RETURN OLD;\nEND\n$fn$;"
        )
        text = self.prose(
            f"Foreign key enforced by triggers (TimescaleDB): "
            f"ON DELETE {fk.on_delete.upper()}: {fk.why}"
        )
        return [
            Statement(check),
            Statement(
                f"CREATE CONSTRAINT TRIGGER {name} AFTER INSERT OR UPDATE OF "
                f"{self.quote_all(cols)} ON {child} FOR EACH ROW EXECUTE FUNCTION "
                f"{check_fn}();"
            ),
            Statement(f"COMMENT ON TRIGGER {name} ON {child} IS {text};"),
            Statement(on_delete),
            Statement(
                f"CREATE TRIGGER {name} AFTER DELETE ON {parent} FOR EACH ROW "
                f"EXECUTE FUNCTION {delete_fn}();"
            ),
            Statement(f"COMMENT ON TRIGGER {name} ON {parent} IS {text};"),
        ]

    def foreign_key_columns(self, schema: Schema, fk: ForeignKey):
        target = schema.table(fk.ref_table)
        ts = target.timescaledb
        if ts and ts.time_column not in fk.ref_columns:
            return (*fk.columns, ts.time_column), (*fk.ref_columns, ts.time_column)
        return fk.columns, fk.ref_columns

    def preamble(self, schema: Schema) -> list[Statement]:
        return [Statement("CREATE EXTENSION IF NOT EXISTS timescaledb;")]

    def after_table(self, schema: Schema, table: Table) -> list[Statement]:
        out = super().after_table(schema, table)
        for fk in table.foreign_keys:
            if self.into_hypertable(schema, fk):
                out += self.trigger_foreign_key(schema, fk)
        ts = table.timescaledb
        if ts is None:
            return out
        return out + self.hypertable_statements(table)

    def hypertable_statements(self, table: Table) -> list[Statement]:
        ts = table.timescaledb
        out: list[Statement] = []
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
                    "    WITH NO DATA;"
                )
            )
            out.append(Statement(f"COMMENT ON VIEW {name} IS {self.prose(cagg.description)};"))
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
            elapsed = ts.elapsed_as_start
            if elapsed:
                lines.append(
                    f"  - {table.name} is a view of the hypertable {elapsed.store_table}, which "
                    f"stores {elapsed.start_column} = {ts.time_column} - {elapsed.column} "
                    f"instead of {elapsed.column} (it compresses to almost nothing); the view "
                    f"gives {elapsed.column} back as double precision, to the microsecond. "
                    f"Inserts into the view go through a trigger row by row: bulk loads "
                    f"should write {elapsed.store_table} directly."
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
