"""ClickHouse: the schema as MergeTree tables, on one server or sharded over a cluster.

What ClickHouse enforces on INSERT, and so what this target writes as constraints: column types,
NOT NULL (a column is Nullable only where the model says so), and CHECK constraints, which
carry the model's names (ranges, enumerations and the explicit rules). What it cannot enforce:
primary keys, unique keys and foreign keys. The model's keys become the sort order instead, and
every file and table says which rules the writer must keep.

The physical design is derived from the model, not from a separate option block:
- ORDER BY: the primary key; a table keyed by an identity column is sorted by its first unique
  key without nullable or identity columns instead (the way it is looked up), then by the key.
- PARTITION BY month of the time column of a time-series table (the model's hypertables).
- Codecs by type, measured on 1,000,000 cycler samples (docs/scale-out.md): Delta then ZSTD
  for every number and timestamp (consecutive samples differ little), ZSTD(3) for floats and
  times, ZSTD(1) for integers. That is 4.7 bytes per sample against 22 with the default LZ4.
- The model's indexes become minmax data-skipping indexes unless the sort key already leads with
  their columns.

`ClickHouseClusterTarget` writes the same tables for a cluster: every statement ON CLUSTER,
replicated tables, and Distributed tables sharded so that every row of one session lands on
one shard (see `shard_key`). The cluster and the replication paths are the server macros
{cluster}, {shard} and {replica}; the database is the one the client connects to.
"""

from __future__ import annotations

from functools import lru_cache

from ..model import INTEGER_TYPES, Check, Column, Schema, Table, json_check
from .base import GeneratorBug, Statement, Target
from .postgres import PostgresTarget

CODEC_FLOAT = "Delta, ZSTD(3)"
CODEC_INTEGER = "Delta, ZSTD(1)"
TIME_PRECISION = 3  # milliseconds: cyclers log at 0.01 s to 30 s steps, clocks to 1 ms
LOCAL_SUFFIX = "_local"


@lru_cache(maxsize=4096)
def clickhouse_expression(expression: str) -> str:
    """A CHECK expression (PostgreSQL syntax) in ClickHouse. Casts keep the column's own,
    non-Nullable type, so `soc >= CAST(-0.05 AS REAL)` compares in Float32 as the model means."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(expression, read="postgres")
    for data_type in tree.find_all(exp.DataType):
        data_type.set("nullable", False)
    return tree.sql("clickhouse")


@lru_cache(maxsize=4096)
def referenced_columns(expression: str) -> frozenset[str]:
    import sqlglot
    from sqlglot import exp

    return frozenset(
        c.name for c in sqlglot.parse_one(expression, read="postgres").find_all(exp.Column)
    )


class ClickHouseTarget(Target):
    name = "clickhouse"
    title = "ClickHouse"
    dialect = "clickhouse"
    versions = "ClickHouse 24.8 or newer (tested on 26.9, in process through chdb 4.4)"
    type_map = {
        "smallint": "Int16",
        "integer": "Int32",
        "bigint": "Int64",
        "real": "Float32",
        "double": "Float64",
        "text": "String",
        "boolean": "Bool",
        "timestamptz": f"DateTime64({TIME_PRECISION}, 'UTC')",
        "json": "String",
    }
    # The same text as PostgreSQL's COMMENT ON COLUMN: description, unit, range, enumeration.
    column_description = PostgresTarget.column_description
    _schema: Schema  # set by blocks(): the hooks take a table, some facts need its schema

    # -- columns ---------------------------------------------------------------------------
    def column_type(self, table: Table, column: Column) -> str:
        base = self.type_map[column.type]
        if column.nullable:
            base = f"Nullable({base})"
        if column.enum:  # a handful of values: stored as a dictionary, checked by name below
            base = f"LowCardinality({base})"
        return base

    def blocks(self, schema: Schema):
        self._schema = schema
        return super().blocks(schema)

    def grows_with_samples(self, table: Table) -> bool:
        """A time-series table, or a table with a row per sample (labels, predictions)."""
        schema = self._schema
        return table.timescaledb is not None or any(
            schema.table(fk.ref_table).timescaledb is not None for fk in table.foreign_keys
        )

    def codec(self, table: Table, column: Column) -> str | None:
        """Per-column codecs on the tables that grow with the samples; the small tables
        keep ClickHouse's default (LZ4)."""
        if not self.grows_with_samples(table):
            return None
        if column.type in INTEGER_TYPES:
            return CODEC_INTEGER
        if column.type in ("real", "double", "timestamptz"):
            return CODEC_FLOAT
        return None

    def default_sql(self, column: Column) -> str:
        if column.default is None and column.identity and column.type == "bigint":
            # Unique, time-ordered 63-bit ids generated by the server (ClickHouse 24.6+).
            return "toInt64(generateSnowflakeID())"
        return super().default_sql(column)

    def column_spec(self, table: Table, column: Column) -> str:
        parts = [self.quote(column.name), self.column_type(table, column)]
        if column.default is not None or (column.identity and column.type == "bigint"):
            parts.append(f"DEFAULT {self.default_sql(column)}")
        parts.append(f"COMMENT {self.literal(self.column_description(column))}")
        codec = self.codec(table, column)
        if codec:
            parts.append(f"CODEC({codec})")
        return " ".join(parts)

    # -- keys ------------------------------------------------------------------------------
    def order_key(self, table: Table) -> tuple[str, ...]:
        """The sort key: the primary key, unless that is a surrogate identity; then the first
        unique key of plain columns (how such rows are looked up), followed by the key."""
        if not any(table.column(c).identity for c in table.primary_key):
            return table.primary_key
        for unique in table.uniques:
            cols = [table.column(c) for c in unique.columns]
            if not any(c.nullable or c.identity for c in cols):
                return (*unique.columns, *table.primary_key)
        for index in table.indexes:
            if not any(table.column(c).nullable for c in index.columns):
                return (*index.columns, *table.primary_key)
        return table.primary_key

    def time_column(self, table: Table) -> str | None:
        return table.timescaledb.time_column if table.timescaledb else None

    def skipping_indexes(self, table: Table) -> list[str]:
        order = self.order_key(table)
        out = []
        for index in table.indexes:
            if tuple(order[: len(index.columns)]) == index.columns:
                continue  # the sort key already finds these rows
            columns = self.quote_all(index.columns)
            expression = columns if len(index.columns) == 1 else f"({columns})"
            out.append(f"INDEX {self.quote(index.name)} {expression} TYPE minmax GRANULARITY 1")
        return out

    # -- checks ----------------------------------------------------------------------------
    def table_check_sql(self, table: Table, check: Check) -> str:
        return f"CONSTRAINT {self.quote(check.name)} CHECK {self.check_expression(table, check)}"

    def check_expression(self, table: Table, check: Check) -> str:
        """ClickHouse rejects a row when a CHECK yields NULL; SQL accepts it. So a check on a
        nullable column lets NULL pass explicitly, as in every other target."""
        expression = clickhouse_expression(check.expression)
        nullable = {c.name for c in table.columns if c.nullable}
        if not nullable & referenced_columns(check.expression):
            return expression
        if check.column is not None and check.kind in ("range", "enum"):
            return f"{self.quote(check.column)} IS NULL OR ({expression})"
        return f"ifNull({expression}, 1)"

    def checks(self, table: Table) -> list[Check]:
        """The model's checks plus isValidJSON() for json columns, stored as String."""
        return list(table.checks) + [
            json_check(
                self.generated_name(f"ck_{table.name}_{c.name}_json"),
                c.name,
                f"isValidJSON({self.quote(c.name)})",
            )
            for c in table.columns
            if c.type == "json"
        ]

    # -- tables ----------------------------------------------------------------------------
    def table_items(self, schema: Schema, table: Table) -> list[tuple[str, str | None]]:
        items: list[tuple[str, str | None]] = [
            (self.column_spec(table, c), None) for c in table.columns
        ]
        items += [(sql, None) for sql in self.skipping_indexes(table)]
        items += [(self.table_check_sql(table, check), None) for check in self.checks(table)]
        return items

    def table_comments(self, table: Table) -> list[str]:
        out = [f"{table.name}: {table.description}", "Keys ClickHouse does not enforce:"]
        out.append(f"  unique: primary key ({', '.join(table.primary_key)})")
        out += [f"  unique: {u.name} ({', '.join(u.columns)})" for u in table.uniques]
        out += [
            f"  {fk.name}: ({', '.join(fk.columns)}) -> {fk.ref_table} "
            f"({', '.join(fk.ref_columns)}) ON DELETE {fk.on_delete.upper()}"
            for fk in table.foreign_keys
        ]
        return out

    def engine(self, table: Table) -> str:
        return "MergeTree"

    def table_suffix(self, table: Table) -> str:
        lines = [f"ENGINE = {self.engine(table)}"]
        time_column = self.time_column(table)
        if time_column:
            lines.append(f"PARTITION BY toYYYYMM({self.quote(time_column)})")
        order = self.order_key(table)
        order_sql = self.quote_all(order) if len(order) == 1 else f"({self.quote_all(order)})"
        lines.append(f"ORDER BY {order_sql}")
        lines.append(f"COMMENT {self.literal(table.description)}")
        return "\n" + "\n".join(lines)

    def after_table(self, schema: Schema, table: Table) -> list[Statement]:
        return []

    # -- header ----------------------------------------------------------------------------
    def purpose(self) -> list[str]:
        return [
            "One ClickHouse server (MergeTree); sql/clickhouse/cluster.sql is the same "
            "schema sharded and replicated over a cluster."
        ]

    def literal(self, text: str) -> str:
        """ClickHouse reads a backslash in a string literal as an escape: double it too."""
        return super().literal(str(text).replace("\\", "\\\\"))

    def self_check(self, text: str, expected: int, statements: list[Statement]) -> None:
        """sqlglot's ClickHouse grammar on the whole emitted text (chdb, the engine's own parser,
        is a test dependency: the tests load schema.sql into it and pass every statement of
        cluster.sql through formatQuery). One parsed statement per emitted statement, and none
        that sqlglot could only keep as an opaque command."""
        import sqlglot
        from sqlglot import exp

        try:
            trees = [t for t in sqlglot.parse(text, read=self.dialect) if t is not None]
        except sqlglot.errors.ParseError as exc:
            first = exc.errors[0] if exc.errors else {}
            where = f":{first['line']}" if first.get("line") else ""
            what = first.get("description") or str(exc).splitlines()[0]
            raise GeneratorBug(
                f"{self.path}{where}: ClickHouse's grammar (sqlglot) cannot parse it: {what}"
            ) from None
        if len(trees) != expected:
            raise GeneratorBug(
                f"{self.path}: {len(trees)} statements parse, {expected} were emitted"
            )
        opaque = [t for t in trees if isinstance(t, exp.Command)]
        if opaque:
            raise GeneratorBug(f"{self.path}: not parsed as DDL: {opaque[0].sql()[:80]}")

    def load_hint(self) -> str:
        return (
            "clickhouse-client --database DBNAME --multiquery < "
            f"{self.path} (create the database first: CREATE DATABASE DBNAME)"
        )

    def load_command(self, file: str) -> str:
        return (
            "clickhouse-client --query 'CREATE DATABASE battery'\n"
            f"clickhouse-client --database battery --multiquery < {file}\n"
            "# writers: SET input_format_null_as_default = 0, insert_null_as_default = 0;"
        )

    def header_notes(self) -> list[str]:
        return [
            "IMPORTANT: every writer must run (or have in its settings profile)",
            "    SET input_format_null_as_default = 0, insert_null_as_default = 0;",
            "otherwise ClickHouse stores 0 or '' for a NULL sent to a required column (by "
            "INSERT ... VALUES or INSERT ... SELECT) instead of rejecting the row.",
            "",
            "Conventions: units in column names (BDF); positive current charges the asset; "
            f"timestamps are DateTime64({TIME_PRECISION}, 'UTC'): millisecond precision, UTC. "
            "Enumerations are LowCardinality(String) with a named CHECK of the allowed values; "
            "json columns are String checked by isValidJSON(). Every CHECK is enforced on "
            "INSERT (error 469, VIOLATED_CONSTRAINT).",
        ]

    def limitations(self, schema: Schema) -> list[str]:
        fks = schema.foreign_keys
        keyed = [t for t in schema.tables if t.primary_key]
        uniques = sum(len(t.uniques) for t in schema.tables)
        integer_ids = [
            f"{t.name}.{c.name}"
            for t in schema.tables
            for c in t.columns
            if c.identity and c.type != "bigint"
        ]
        bigint_ids = [
            f"{t.name}.{c.name}"
            for t in schema.tables
            for c in t.columns
            if c.identity and c.type == "bigint"
        ]
        lines = [
            f"  - Foreign keys ({len(fks)}) are not enforced and ON DELETE is not applied: "
            "insert parents before children, delete children yourself, and check with an "
            "anti-join, e.g. SELECT count() FROM child LEFT ANTI JOIN parent USING (key). "
            "Each table lists its keys above it.",
            f"  - Primary keys ({len(keyed)}) and unique keys ({uniques}) are not enforced: "
            "they are the sort order (ORDER BY), and a second row with the same key is stored "
            "as a second row. Deduplicate before inserting, or read with "
            "LIMIT 1 BY <key>.",
        ]
        if integer_ids:
            lines.append(f"  - No identity columns: the writer assigns {', '.join(integer_ids)}.")
        if bigint_ids:
            lines.append(
                f"  - {', '.join(bigint_ids)} default to generateSnowflakeID(): unique and "
                "time-ordered, not 1, 2, 3."
            )
        if schema.hypertables:
            lines.append(
                "  - The timescaledb: options do not apply; the time-series tables are "
                "partitioned by month instead, and the continuous aggregates are not created "
                "(a materialized view over the table does the same in ClickHouse)."
            )
        return lines


class ClickHouseClusterTarget(ClickHouseTarget):
    """The single-server schema for a cluster: ON CLUSTER, ReplicatedMergeTree, Distributed."""

    name = "clickhouse-cluster"
    title = "ClickHouse cluster"
    versions = "ClickHouse 24.8 or newer with ClickHouse Keeper (parsed by 26.9)"
    on_cluster = "ON CLUSTER '{cluster}'"

    @property
    def path(self) -> str:
        return "sql/clickhouse/cluster.sql"

    def shard_root(self, schema: Schema) -> Table | None:
        """The table a session is: the parent of the time-series table's first foreign key.
        Every table holding its key is sharded by it; the others are copied to every server."""
        for table in schema.hypertables:
            if table.foreign_keys:
                return schema.table(table.foreign_keys[0].ref_table)
        return None

    def shard_key(self, schema: Schema, table: Table) -> tuple[str, ...] | None:
        root = self.shard_root(schema)
        if root is None or not set(root.primary_key) <= set(table.column_map):
            return None
        return root.primary_key

    def local_name(self, schema: Schema, table: Table) -> str:
        return table.name + LOCAL_SUFFIX if self.shard_key(schema, table) else table.name

    def engine(self, table: Table) -> str:
        # Sharded tables replicate within their shard; the others on every server.
        shard = "{shard}" if self._sharded.get(table.name) else "all"
        return (
            f"ReplicatedMergeTree('/clickhouse/tables/{shard}/{{database}}/{{table}}', "
            "'{replica}')"
        )

    def blocks(self, schema: Schema):
        self._sharded = {t.name: self.shard_key(schema, t) is not None for t in schema.tables}
        return super().blocks(schema)

    def table_comments(self, table: Table) -> list[str]:
        key = self.shard_key(self._schema, table)
        if key:
            where = [
                f"Sharded by cityHash64({', '.join(key)}) through the Distributed table "
                f"{table.name};",
                f"the rows live in {table.name}{LOCAL_SUFFIX}, replicated within each shard.",
            ]
        else:
            where = ["Replicated to every server: joins to it stay local on each shard."]
        return [*super().table_comments(table), *where]

    def render_block(self, block) -> str:
        from .base import templates

        name = f"{self.quote(self.local_name(self._schema, block.table))} {self.on_cluster}"
        return templates().get_template("create_table.sql.j2").render(block=block, name=name)

    def create_sql(self, block) -> str:
        items = ", ".join(sql for sql, _ in block.items)
        name = self.quote(self.local_name(self._schema, block.table))
        return f"CREATE TABLE {name} {self.on_cluster} ({items}){block.suffix};"

    def after_table(self, schema: Schema, table: Table) -> list[Statement]:
        key = self.shard_key(schema, table)
        if key is None:
            return []
        local = self.quote(self.local_name(schema, table))
        hashed = f"cityHash64({self.quote_all(key)})"
        return [
            Statement(
                f"CREATE TABLE {self.quote(table.name)} {self.on_cluster} AS {local}\n"
                f"ENGINE = Distributed('{{cluster}}', currentDatabase(), {local}, {hashed})\n"
                f"COMMENT {self.literal(table.description)};"
            )
        ]

    def purpose(self) -> list[str]:
        return [
            "A ClickHouse cluster: the tables of sql/clickhouse/schema.sql, replicated "
            "(ReplicatedMergeTree) and sharded (Distributed)."
        ]

    def load_hint(self) -> str:
        return (
            "on any server, CREATE DATABASE DBNAME ON CLUSTER '{cluster}'; then "
            f"clickhouse-client --database DBNAME --multiquery < {self.path}"
        )

    def load_command(self, file: str) -> str:
        return (
            "# on any server of the cluster, whose <macros> define {cluster}, {shard}, {replica}\n"
            "clickhouse-client --query \"CREATE DATABASE battery ON CLUSTER '{cluster}'\"\n"
            f"clickhouse-client --database battery --multiquery < {file}"
        )

    def header(self, schema: Schema) -> list[str]:
        self._schema = schema
        return super().header(schema)

    def header_notes(self) -> list[str]:
        schema = self._schema
        root = self.shard_root(schema)
        sharded = [t.name for t in schema.tables if self.shard_key(schema, t)]
        others = [t.name for t in schema.tables if not self.shard_key(schema, t)]
        if root is None:
            layout = "No time-series table: every table is replicated to every server."
        else:
            key = ", ".join(root.primary_key)
            layout = (
                f"Layout: the tables holding the key of {root.name} ({key}) are sharded by "
                f"cityHash64({key}): {', '.join(sharded)}. Each is stored as "
                f"<table>{LOCAL_SUFFIX}, replicated within its shard, under a Distributed "
                f"table with the model's name, so all rows of one {root.name} share a shard "
                "and joins on its key stay local (SET distributed_product_mode = 'local'). "
                + (
                    f"The other tables ({', '.join(others)}) are replicated to every server."
                    if others
                    else ""
                )
                + " Write and read through the model's table names."
            )
        return [
            *super().header_notes(),
            "",
            "Parameters, set in each server's <macros> (nothing here guesses a name): "
            "{cluster} the cluster in <remote_servers>; {shard} this server's shard; "
            "{replica} this server's replica name, unique within its shard. {database} and "
            "{table} are filled in by ClickHouse. The database is the one the client connects "
            "to (--database).",
            "",
            layout,
        ]
