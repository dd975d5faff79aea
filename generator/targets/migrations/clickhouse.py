"""ClickHouse migrations: ALTER TABLE per operation, one statement per dbmate section, the
existing rows checked before anything changes; and the same for a cluster, ON CLUSTER.

ClickHouse has no transactions, and its clients send one statement per query (dbmate's
ClickHouse driver included), so a file is a run of dbmate sections (dbmate 2.29+): each
`-- migrate:up` holds one statement and is recorded as applied when it succeeds. What keeps a
refused migration from changing anything is the order: every check of the existing rows (a
narrowed CHECK or enum, NOT NULL set, a retype, a required column added) comes first, in the
old table and column names, and fails with the count and the first keys of the rows at fault
before the first change. The down statements follow the up ones in sections of their own.

What ClickHouse does with each change (the file header says it too):
- metadata only, at once: ADD/DROP/RENAME COLUMN, COMMENT COLUMN, MODIFY COMMENT, ADD/DROP
  CONSTRAINT (a CHECK added applies to new inserts only: existing rows are never checked by
  ClickHouse, hence the migration's own check first), ADD/DROP INDEX, a new DEFAULT or CODEC;
- mutations, which rewrite parts in the background: MODIFY COLUMN to another type or
  nullability, UPDATE (renamed enum values), MATERIALIZE INDEX. Each runs with
  `SETTINGS mutations_sync` (1 on one server, 2 on a cluster: every replica) so it has finished
  before the next statement runs.
- not generated (the writer raises, naming the table): a new sort key (ORDER BY is the model's
  primary key), partition key or shard layout, and a rename of a sort-key column.
- foreign keys, unique keys and constraint comments do not exist in ClickHouse: their changes
  are listed in the header as skipped, as the ClickHouse DDL lists the keys it does not enforce.

`ClickHouseClusterWriter` writes the cluster's files (sql/clickhouse/migrations-cluster/):
every statement ON CLUSTER '{cluster}', on the local ReplicatedMergeTree table, and column
changes on the Distributed table above a sharded one too; the checks read through the model's
table names, so they see every shard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...model import Check, Column, Schema, Table
from ...plan.diff import Plan
from ...plan.ops import (
    SAFE,
    AddCheck,
    AddColumn,
    AddForeignKey,
    AddIndex,
    AddUnique,
    AlterType,
    CheckComment,
    ColumnComment,
    CreateTable,
    DropCheck,
    DropColumn,
    DropForeignKey,
    DropIndex,
    DropNotNull,
    DropTable,
    DropUnique,
    ForeignKeyComment,
    Op,
    PrimaryKey,
    RenameColumn,
    RenameConstraint,
    RenameEnumValue,
    RenameIndex,
    RenameTable,
    SetDefault,
    SetNotNull,
    TableComment,
    TimescaleOptions,
)
from ..base import layout_table
from .base import Item, MigrationContext, MigrationWriter, Pass, Step, renders

NOOP = "SELECT 1;"
# Operations that only add a line to the header: rendered for a rebuilt table too.
_NOTES = (DropForeignKey, AddForeignKey, ForeignKeyComment, DropUnique, AddUnique, CheckComment)


@dataclass
class ClickHouseContext(MigrationContext):
    """A run of the ClickHouse writer: the checks of existing rows (they go first, before any
    change) and the columns a MODIFY COLUMN already wrote in full."""

    checks: list[Item] = field(default_factory=list)
    rebuild: list[str] = field(default_factory=list)  # tables whose sort or partition key moves
    modified: set[tuple[str, str]] = field(default_factory=set)
    rechecked: set[tuple[str, str]] = field(default_factory=set)  # (table, check) re-added


class ClickHouseWriter(MigrationWriter):
    context_class = ClickHouseContext
    mutations_sync = 1  # one server: wait for this server's mutation
    passes = (
        # keys ClickHouse has not: listed as skipped
        Pass(DropForeignKey, AddForeignKey, ForeignKeyComment, DropUnique, AddUnique),
        # 1. what goes away, before what it depends on
        Pass(DropCheck),
        Pass(DropIndex),
        Pass(DropTable, reverse=True),
        # 2. renames
        Pass(RenameTable),
        Pass(RenameColumn),
        Pass(RenameConstraint),
        Pass(RenameIndex),
        # 3. new tables, and the tables ALTER cannot reach
        Pass(CreateTable),
        Step("rebuild_tables"),
        # 4. columns (the old CHECK of a changed enum is gone by now)
        Pass(AddColumn, AlterType, SetNotNull, DropNotNull, SetDefault),
        Pass(RenameEnumValue),
        Pass(DropColumn),
        Pass(PrimaryKey),
        # 5. constraints and indexes that arrive, CHECKs whose text follows a nullability
        Pass(AddCheck),
        Step("recheck_nullability"),
        Pass(AddIndex),
        Step("codecs"),
        # 6. comments
        Pass(TableComment, ColumnComment, CheckComment),
        Pass(TimescaleOptions),
        Step("checks_first"),
    )
    cannot = [
        "  - No transactions: each statement is a dbmate section of its own (ClickHouse takes "
        "one statement per query), applied in order and recorded as applied when it succeeds. "
        "Every check of existing rows comes first, so a refused migration has changed nothing; "
        "a statement failing after them (a server error) leaves the ones before it applied: "
        "fix the cause and run the remaining statements of this file by hand.",
        "  - ADD CONSTRAINT checks new inserts only, never the existing rows: the checks at the "
        "top of the file do that, and stop with the count and the first keys of the rows at "
        "fault.",
        "  - Metadata changes are immediate (ADD/DROP/RENAME COLUMN, COMMENT, ADD/DROP "
        "CONSTRAINT, ADD/DROP INDEX, DEFAULT, CODEC). MODIFY COLUMN to another type or "
        "nullability, UPDATE and MATERIALIZE INDEX are mutations, asynchronous by default: "
        "here they run with SETTINGS mutations_sync so each has finished before the next "
        "statement; they rewrite the column in every part of the table meanwhile.",
        "  - A new CODEC applies to parts written from now on; existing parts keep theirs until "
        "merged (OPTIMIZE TABLE ... FINAL rewrites them).",
        "  - The sort key (ORDER BY), the partition key and the names of their columns cannot "
        "change: such a table is rebuilt (a new table, every row copied by INSERT ... SELECT, "
        "then it takes the old one's place and the old one is dropped), which needs room for "
        "a second copy of it; rows written to it meanwhile are lost, so stop its writers "
        "first.",
    ]
    ignores = ()

    def directory(self) -> str:
        return "sql/clickhouse/migrations"

    def apply_hint(self) -> str:
        return (
            f"Apply with dbmate (2.29 or newer: one statement per section): dbmate "
            f"--migrations-dir {self.directory()} --url clickhouse://HOST:9000/DBNAME "
            "--no-dump-schema migrate"
        )

    # -- the tables one statement names --------------------------------------------------------
    def focus(self, schema: Schema) -> None:
        """The ClickHouse target reads schema-wide facts (which tables grow with the samples,
        which are sharded) from the last schema it laid out: lay this one out."""
        self.target.blocks(schema)

    def context(self, plan: Plan, blocks) -> ClickHouseContext:
        ctx = ClickHouseContext(plan, self.target, blocks)
        self.focus(plan.new)
        ctx.rebuild = [t.name for t in plan.new.tables if self.layout_moves(ctx, t)]
        return ctx

    def layout_moves(self, ctx: ClickHouseContext, table: Table) -> bool:
        """Whether ALTER cannot reach the new table: its sort key (ORDER BY: the model's key,
        or the first unique key without nullable columns) or its partition key (the time
        column) changes, or a sort-key column is renamed (ClickHouse refuses that)."""
        t, plan = self.target, ctx.plan
        before = plan.old_table(table.name)
        if before is None:
            return False
        renames = plan.renames.columns.get(table.name, {})
        if tuple(renames.get(c, c) for c in t.order_key(before)) != t.order_key(table):
            return True
        time = t.time_column(before)
        if renames.get(time, time) != t.time_column(table):
            return True
        return any(was in t.order_key(before) for was in renames)

    def render_op(self, ctx: ClickHouseContext, op: Op) -> None:
        if op.table in ctx.rebuild and not isinstance(op, _NOTES):
            self.refusals(ctx, op)  # the rebuild writes the rest
            return
        super().render_op(ctx, op)

    def refusals(self, ctx: ClickHouseContext, op: Op) -> None:
        """The checks of existing rows an operation needs, wherever it is written."""
        t = self.target
        if isinstance(op, AddColumn) and op.safety != SAFE:  # ClickHouse would store zeros
            self.refuse(
                ctx,
                op.table,
                "1",
                f"a new column {op.column} NOT NULL without a default (the table must be empty)",
            )
        elif isinstance(op, AlterType) and op.safety != SAFE:
            col = t.quote(op.column)
            self.refuse(
                ctx,
                op.table,
                f"{col} IS NOT NULL AND accurateCastOrNull({col}, "
                f"{t.literal(t.type_map[op.new.type])}) IS NULL",
                f"the type {op.new.type} of {op.table}.{op.column} (values that do not convert)",
            )
        elif isinstance(op, SetNotNull):
            self.refuse(
                ctx,
                op.table,
                f"{t.quote(op.column)} IS NULL",
                f"NOT NULL of {op.table}.{op.column}",
            )
        elif isinstance(op, AddCheck) and op.safety != SAFE:
            check: Check = op.new
            added = {o.column for o in ctx.plan.for_table(op.table) if isinstance(o, AddColumn)}
            if check.columns and set(check.columns) <= added:
                return  # a CHECK on columns this file adds: nothing to check yet
            table = ctx.plan.new.table(op.table)
            self.refuse(
                ctx,
                op.table,
                f"NOT ifNull({t.check_expression(table, check)}, 0)",
                f"{check.name} CHECK ({t.check_expression_sql(check)})",
            )

    def stored(self, ctx, schema: Schema, table: str, *, columns: bool) -> list[str]:
        """The engine tables a statement about model table `table` goes to (quoted, with
        ON CLUSTER on a cluster): the table itself on one server."""
        return [ctx.q(table)]

    def alter(
        self, ctx, table: str, action: str, *, columns: bool = False, schema=None
    ) -> list[str]:
        """ALTER TABLE statements (one per stored table), `action` after the name."""
        names = self.stored(ctx, schema or ctx.plan.new, table, columns=columns)
        return [f"ALTER TABLE {name} {action};" for name in names]

    def settings(self) -> str:
        return f" SETTINGS mutations_sync = {self.mutations_sync}"

    def add(self, ctx, safety: str, what: str, sql: str | list[str]) -> None:
        """One item per statement: a dbmate section holds one."""
        for statement in [sql] if isinstance(sql, str) else sql:
            ctx.add(safety, what, statement)

    # -- checks of the existing rows, before anything changes --------------------------------
    def mapped(self, ctx, table: str) -> list[tuple[str, str]]:
        """(new column, expression over the old table) for every column of new table `table`
        the old one holds: renamed columns and renamed enum values followed."""
        plan, t = ctx.plan, self.target
        before = plan.old_table(table)
        old_of_new = {v: k for k, v in plan.renames.columns.get(table, {}).items()}
        enum_values = {
            op.column: op.old for op in plan.for_table(table) if isinstance(op, RenameEnumValue)
        }
        out = []
        for column in plan.new.table(table).columns:
            was = old_of_new.get(column.name, column.name)
            if was not in before.column_map:
                continue
            expression = t.quote(was)
            if column.name in enum_values:
                olds = ", ".join(t.literal(a) for a in enum_values[column.name])
                news = ", ".join(t.literal(b) for b in enum_values[column.name].values())
                expression = f"transform({expression}, [{olds}], [{news}], {expression})"
            out.append((column.name, expression))
        return out

    def source(self, ctx, table: str) -> tuple[str, set[str]]:
        """The old rows of new table `table` under their new column names and enum values, as
        they are before the file runs, and the new names it holds."""
        t = self.target
        mapped = self.mapped(ctx, table)
        kept = {name for name, _ in mapped}
        name = t.quote(ctx.plan.old_table(table).name)
        model = ctx.plan.new.table(table)
        for column in model.columns:  # a new column holds its default in every old row
            if column.name not in kept:
                if column.default is not None:
                    value = t.default_sql(column)
                elif column.nullable:
                    value = "NULL"
                else:
                    value = f"defaultValueOfTypeName({t.literal(t.column_type(model, column))})"
                mapped.append((column.name, f"CAST({value} AS {t.column_type(model, column)})"))
        if all(expression == t.quote(column) for column, expression in mapped):
            return name, kept
        parts = ", ".join(e if e == t.quote(c) else f"{e} AS {t.quote(c)}" for c, e in mapped)
        return f"(SELECT {parts} FROM {name})", kept

    def refuse(self, ctx, table: str, violation: str, rule: str) -> None:
        """Count the old rows of `table` where `violation` holds (in the new names) and fail
        with the count and the first five keys: ClickHouse cannot roll back, so this runs
        before the first change. The message is made a number (toUInt8), which fails with it:
        throwIf takes only a constant message."""
        t = self.target
        src, kept = self.source(ctx, table)
        keys = [k for k in ctx.plan.new.table(table).primary_key if k in kept]
        if len(keys) == 1:
            first = f"arrayMap(k -> toString(k), groupArraySorted(5)({t.quote(keys[0])}))"
        elif keys:
            parts = ", ', ', ".join(f"toString(k.{i + 1})" for i in range(len(keys)))
            first = f"arrayMap(k -> concat({parts}), groupArraySorted(5)(({t.quote_all(keys)})))"
        else:
            first = "[]"
        prefix = (
            f"schema version {ctx.plan.new.version} migration refused, nothing changed: rows "
            f"of {table} violating {rule}: "
        )
        middle = f"; first keys ({', '.join(keys) or 'none'}): "
        ctx.checks.append(
            Item(
                SAFE,
                f"check the existing rows of {table} against {rule}; fail with the count and "
                "the first keys before anything changes",
                f"SELECT toUInt8(message) FROM (SELECT count() AS n, concat({t.literal(prefix)}, "
                f"toString(n), {t.literal(middle)}, arrayStringConcat({first}, '; '), "
                f"'; fix or delete these rows, then run the migration again') AS message "
                f"FROM {src} AS r WHERE {violation}) WHERE n > 0;",
            )
        )

    def checks_first(self, ctx: ClickHouseContext) -> None:
        ctx.items[:0] = ctx.checks

    def irreversible_sql(self, reason: str) -> str:
        return f"SELECT throwIf(1, {self.target.literal('irreversible: ' + reason)});"

    # -- tables ALTER cannot reach: rebuilt --------------------------------------------------
    def rebuild_tables(self, ctx: ClickHouseContext) -> None:
        for name in ctx.rebuild:
            self.rebuild(ctx, name)

    def rebuild_names(self, ctx, table: str) -> tuple[str, str]:
        """The new table's name while it is filled, and its CREATE TABLE statement(s)."""
        temp = f"new_{table}"
        block = ctx.block(ctx.plan.new, table)
        block.comments, block.after = [], []
        return temp, layout_table(block, ctx.q(temp)).rstrip("\n")

    def rebuild(self, ctx: ClickHouseContext, table: str) -> None:
        """A new table with the new keys, every row copied into it, then it takes the place
        of the old one (EXCHANGE TABLES: no moment without the table)."""
        plan = ctx.plan
        before = plan.old_table(table)
        self.focus(plan.new)
        temp, create = self.rebuild_names(ctx, table)
        reasons = "; ".join(op.summary for op in plan.for_table(table)) or "its keys"
        what = f"rebuild {table} (ClickHouse cannot ALTER its sort or partition key: {reasons})"
        ctx.add(SAFE, what + ": the new table", create)
        self.copy_rows(ctx, table, temp, before.name)
        if before.name == table:
            ctx.add(
                SAFE,
                f"{table}: the new table takes its place",
                f"EXCHANGE TABLES {ctx.q(temp)} AND {ctx.q(table)};",
            )
            ctx.add(SAFE, f"{table}: the old rows go", f"DROP TABLE {ctx.q(temp)} SYNC;")
        else:
            ctx.add(SAFE, f"{table}: the old table goes", f"DROP TABLE {ctx.q(before.name)} SYNC;")
            ctx.add(
                SAFE,
                f"{table}: the new table takes the name",
                f"RENAME TABLE {ctx.q(temp)} TO {ctx.q(table)};",
            )

    def copy_rows(self, ctx, table: str, into: str, source: str, settings: str = "") -> None:
        mapped = self.mapped(ctx, table)
        t = self.target
        ctx.add(
            SAFE,
            f"{table}: copy every row (renamed columns and values followed)",
            f"INSERT INTO {ctx.q(into)} ({t.quote_all(c for c, _ in mapped)})\n"
            f"    SELECT {', '.join(e for _, e in mapped)} FROM {ctx.q(source)}{settings};",
        )

    # -- keys ClickHouse does not have -------------------------------------------------------
    @renders(DropForeignKey, AddForeignKey, ForeignKeyComment, DropUnique, AddUnique)
    def skip_key(self, ctx: ClickHouseContext, op: Op) -> None:
        ctx.notes.append(
            f"Skipped: {op.summary} (ClickHouse has no foreign or unique keys; the DDL lists "
            "them above each table as rules the writer keeps)."
        )

    # -- 1. drops ----------------------------------------------------------------------------
    @renders(DropCheck)
    def drop_check(self, ctx: ClickHouseContext, op: Op) -> None:
        self.add(
            ctx,
            op.safety,
            op.summary,
            self.alter(ctx, op.table, f"DROP CONSTRAINT {ctx.q(op.old.name)}", schema=ctx.plan.old),
        )

    def skipping(self, table: Table, name: str) -> str | None:
        """The index's definition when ClickHouse keeps it as a data-skipping index (not when
        the sort key already leads with its columns)."""
        prefix = f"INDEX {self.target.quote(name)} "
        return next((s for s in self.target.skipping_indexes(table) if s.startswith(prefix)), None)

    @renders(DropIndex)
    def drop_index(self, ctx: ClickHouseContext, op: Op) -> None:
        before = ctx.plan.old_table(op.table) or ctx.plan.old.table(op.table)
        if self.skipping(before, op.old.name):
            self.add(
                ctx,
                op.safety,
                op.summary,
                self.alter(ctx, op.table, f"DROP INDEX {ctx.q(op.old.name)}"),
            )

    @renders(DropTable)
    def drop_table(self, ctx: ClickHouseContext, op: Op) -> None:
        for name in self.dropped_tables(ctx, op.old, ctx.plan.old):
            self.add(ctx, op.safety, f"{op.summary}; at risk: {op.at_risk}", f"DROP TABLE {name};")

    def dropped_tables(self, ctx, table: Table, schema: Schema) -> list[str]:
        return [f"{ctx.q(table.name)} SYNC"]

    # -- 2. renames --------------------------------------------------------------------------
    @renders(RenameTable)
    def rename_table(self, ctx: ClickHouseContext, op: Op) -> None:
        self.add(ctx, op.safety, op.summary, f"RENAME TABLE {ctx.q(op.old)} TO {ctx.q(op.new)};")

    @renders(RenameColumn)
    def rename_column(self, ctx: ClickHouseContext, op: Op) -> None:
        self.add(
            ctx,
            op.safety,
            op.summary + " (its CHECKs follow the new name)",
            self.alter(
                ctx,
                op.table,
                f"RENAME COLUMN {ctx.q(op.old.name)} TO {ctx.q(op.new.name)}",
                columns=True,
            ),
        )

    def check_of(self, table: Table, name: str) -> Check | None:
        return next((c for c in self.target.checks(table) if c.name == name), None)

    @renders(RenameConstraint)
    def rename_constraint(self, ctx: ClickHouseContext, op: Op) -> None:
        table = ctx.plan.new.table(op.table)
        check = self.check_of(table, op.new)
        if check is None:  # a primary or foreign or unique key's name: not in ClickHouse
            ctx.notes.append(f"Skipped: {op.summary} (not a constraint in ClickHouse).")
            return
        # ClickHouse cannot rename a constraint: the same rule under its new name (the rows
        # already satisfy it)
        self.add(
            ctx,
            op.safety,
            op.summary + " (ClickHouse: dropped and added again, the same rule)",
            self.alter(ctx, op.table, f"DROP CONSTRAINT {ctx.q(op.old)}"),
        )
        self.add_constraint(ctx, op.safety, op.summary, table, check)

    @renders(RenameIndex)
    def rename_index(self, ctx: ClickHouseContext, op: Op) -> None:
        before = ctx.plan.old_table(op.table)
        if self.skipping(before, op.old):
            self.add(
                ctx,
                op.safety,
                op.summary + " (ClickHouse: dropped and added again)",
                self.alter(ctx, op.table, f"DROP INDEX {ctx.q(op.old)}"),
            )
        self.add_skipping_index(ctx, op, op.new)

    # -- 3. new tables -----------------------------------------------------------------------
    @renders(CreateTable)
    def create_table(self, ctx: ClickHouseContext, op: Op) -> None:
        self.focus(ctx.plan.new)
        block = ctx.block(ctx.plan.new, op.new.name)
        block.comments = []
        after, block.after = block.after, []
        create = self.target.render_block(block).rstrip("\n")
        ctx.add(SAFE, f"create table {op.new.name}", create)
        for statement in after:
            ctx.add(SAFE, f"create table {op.new.name}: its Distributed table", statement.sql)

    # -- 4. columns --------------------------------------------------------------------------
    def spec(self, ctx, table: str, column: Column) -> str:
        return self.target.column_spec(ctx.plan.new.table(table), column)

    @renders(AddColumn)
    def add_column(self, ctx: ClickHouseContext, op: Op) -> None:
        table = ctx.plan.new.table(op.table)
        names = [c.name for c in table.columns]
        at = names.index(op.column)
        place = f" AFTER {ctx.q(names[at - 1])}" if at else " FIRST"
        self.refusals(ctx, op)
        self.add(
            ctx,
            op.safety,
            op.summary,
            self.alter(
                ctx, op.table, f"ADD COLUMN {self.spec(ctx, op.table, op.new)}{place}", columns=True
            ),
        )
        if op.new.type == "json":  # the target's own isValidJSON() CHECK
            check = self.check_of(
                table, self.target.generated_name(f"ck_{op.table}_{op.column}_json")
            )
            if check is not None:
                self.add_constraint(
                    ctx, SAFE, f"isValidJSON of {op.table}.{op.column}", table, check
                )

    def modify_column(self, ctx: ClickHouseContext, op: Op, what: str) -> None:
        """MODIFY COLUMN with the whole new definition (type, default, comment, codec): a
        mutation that rewrites the column, waited for."""
        table = ctx.plan.new.table(op.table)
        column = table.column(op.column)
        spec = self.spec(ctx, op.table, column)
        ctx.modified.add((op.table, op.column))
        before = ctx.plan.old_table(op.table)
        renames = {v: k for k, v in ctx.plan.renames.columns.get(op.table, {}).items()}
        was = before.column(renames.get(op.column, op.column))
        if was.nullable and not column.nullable and column.default is None:
            # ClickHouse asks for a DEFAULT to fill NULLs with; there are none (checked first)
            ctype = self.target.column_type(table, column)
            zero = f"defaultValueOfTypeName({self.target.literal(ctype)})"
            head = f"{ctx.q(op.column)} {ctype} "
            self.add(
                ctx,
                op.safety,
                what + " (mutation; the temporary DEFAULT fills no row: NULLs were refused)",
                self.alter(
                    ctx,
                    op.table,
                    f"MODIFY COLUMN {spec.replace(head, f'{head}DEFAULT {zero} ', 1)}"
                    + self.settings(),
                    columns=True,
                ),
            )
            self.add(
                ctx,
                SAFE,
                f"{op.table}.{op.column}: the temporary DEFAULT goes",
                self.alter(
                    ctx, op.table, f"MODIFY COLUMN {ctx.q(op.column)} REMOVE DEFAULT", columns=True
                ),
            )
            return
        self.add(
            ctx,
            op.safety,
            what + " (mutation, waited for)",
            self.alter(ctx, op.table, f"MODIFY COLUMN {spec}" + self.settings(), columns=True),
        )

    @renders(AlterType)
    def alter_type(self, ctx: ClickHouseContext, op: Op) -> None:
        self.refusals(ctx, op)  # values that do not convert: refused before anything changes
        risk = f"; at risk: {op.at_risk}" if op.at_risk else ""
        self.modify_column(ctx, op, op.summary + risk)

    @renders(SetNotNull)
    def set_not_null(self, ctx: ClickHouseContext, op: Op) -> None:
        self.refusals(ctx, op)
        if (op.table, op.column) not in ctx.modified:
            self.modify_column(ctx, op, op.summary)

    @renders(DropNotNull)
    def drop_not_null(self, ctx: ClickHouseContext, op: Op) -> None:
        if (op.table, op.column) not in ctx.modified:
            self.modify_column(ctx, op, op.summary + ": Nullable")

    @renders(SetDefault)
    def set_default(self, ctx: ClickHouseContext, op: Op) -> None:
        if (op.table, op.column) in ctx.modified:
            return  # the MODIFY COLUMN above wrote the new default
        action = (
            f"MODIFY COLUMN {ctx.q(op.column)} DEFAULT {self.target.default_sql(op.new)}"
            if op.new.default is not None
            else f"MODIFY COLUMN {ctx.q(op.column)} REMOVE DEFAULT"
        )
        self.add(ctx, op.safety, op.summary, self.alter(ctx, op.table, action, columns=True))

    @renders(RenameEnumValue)
    def rename_enum_value(self, ctx: ClickHouseContext, op: Op) -> None:
        t = self.target
        col = ctx.q(op.column)
        olds = ", ".join(t.literal(a) for a in op.old)
        news = ", ".join(t.literal(b) for b in op.old.values())
        self.add(
            ctx,
            op.safety,
            op.summary + " (mutation, waited for)",
            self.alter(
                ctx,
                op.table,
                f"UPDATE {col} = transform({col}, [{olds}], [{news}], {col}) WHERE {col} IN "
                f"({olds}){self.settings()}",
            ),
        )

    @renders(DropColumn)
    def drop_column(self, ctx: ClickHouseContext, op: Op) -> None:
        if op.old.type == "json":  # its isValidJSON() CHECK first: it names the column
            before = ctx.plan.old_table(op.table)
            name = self.target.generated_name(f"ck_{before.name}_{op.column}_json")
            if self.check_of(before, name) is not None:
                self.add(
                    ctx,
                    SAFE,
                    f"drop the isValidJSON check of {op.table}.{op.column}",
                    self.alter(ctx, op.table, f"DROP CONSTRAINT {ctx.q(name)}"),
                )
        self.add(
            ctx,
            op.safety,
            f"{op.summary}; at risk: {op.at_risk}",
            self.alter(ctx, op.table, f"DROP COLUMN {ctx.q(op.column)}", columns=True),
        )

    @renders(PrimaryKey)
    def primary_key(self, ctx: ClickHouseContext, op: Op) -> None:
        # the sort key did not change (else the table is rebuilt): ClickHouse enforces no key
        ctx.notes.append(f"Skipped: {op.summary} (ClickHouse enforces no primary key).")

    # -- 5. constraints and indexes ----------------------------------------------------------
    def add_constraint(self, ctx, safety: str, what: str, table: Table, check: Check) -> None:
        ctx.rechecked.add((table.name, check.name))
        self.add(
            ctx,
            safety,
            what + " (ClickHouse checks new inserts only)",
            self.alter(ctx, table.name, f"ADD {self.target.table_check_sql(table, check)}"),
        )

    @renders(AddCheck)
    def add_check(self, ctx: ClickHouseContext, op: Op) -> None:
        table = ctx.plan.new.table(op.table)
        self.refusals(ctx, op)
        risk = f"; at risk: {op.at_risk}" if op.at_risk else ""
        self.add_constraint(ctx, op.safety, op.summary + risk, table, op.new)

    def recheck_nullability(self, ctx: ClickHouseContext) -> None:
        """A CHECK on a column whose nullability changed reads differently in ClickHouse (NULL
        passes explicitly on a nullable column): added again in the new words."""
        plan = ctx.plan
        for op in plan.ops:
            if not isinstance(op, SetNotNull | DropNotNull):
                continue
            if op.table in ctx.rebuild:
                continue
            table = plan.new.table(op.table)
            for check in self.target.checks(table):
                if op.column not in check.columns or (table.name, check.name) in ctx.rechecked:
                    continue
                self.add(
                    ctx,
                    SAFE,
                    f"{check.name} follows the nullability of {op.table}.{op.column}",
                    self.alter(ctx, op.table, f"DROP CONSTRAINT {ctx.q(check.name)}"),
                )
                self.add_constraint(ctx, SAFE, f"{check.name} again", table, check)

    @renders(AddIndex)
    def add_index(self, ctx: ClickHouseContext, op: Op) -> None:
        self.add_skipping_index(ctx, op, op.new.name)

    def add_skipping_index(self, ctx: ClickHouseContext, op: Op, name: str) -> None:
        table = ctx.plan.new.table(op.table)
        definition = self.skipping(table, name)
        if definition is None:
            ctx.notes.append(
                f"Skipped: {op.summary} (the ClickHouse sort key already leads with its columns)."
            )
            return
        self.add(ctx, op.safety, op.summary, self.alter(ctx, op.table, f"ADD {definition}"))
        if ctx.plan.old_table(op.table) is not None:
            self.add(
                ctx,
                SAFE,
                f"build {name} for the existing parts (mutation, waited for)",
                self.alter(ctx, op.table, f"MATERIALIZE INDEX {ctx.q(name)}{self.settings()}"),
            )

    def codecs(self, ctx: ClickHouseContext) -> None:
        """A column's codec follows its table (the tables that grow with the samples compress
        by type): a table that starts or stops growing with them changes codecs."""
        t, plan = self.target, ctx.plan
        pairs = []
        for table in plan.new.tables:
            before = plan.old_table(table.name)
            if before is None or table.name in ctx.rebuild:
                continue
            renames = plan.renames.columns.get(table.name, {})
            for was in before.columns:
                name = renames.get(was.name, was.name)
                if name in table.column_map and (table.name, name) not in ctx.modified:
                    pairs.append((before, was, table, table.column(name)))
        self.focus(plan.old)
        old = [t.codec(before, was) for before, was, _, _ in pairs]
        self.focus(plan.new)
        for (_, _, table, column), was in zip(pairs, old, strict=True):
            now = t.codec(table, column)
            if now == was:
                continue
            action = f"CODEC({now})" if now else "REMOVE CODEC"
            self.add(
                ctx,
                SAFE,
                f"codec of {table.name}.{column.name}: {now or 'the default (LZ4)'} (new parts)",
                self.alter(
                    ctx, table.name, f"MODIFY COLUMN {ctx.q(column.name)} {action}", columns=True
                ),
            )

    # -- 6. comments -------------------------------------------------------------------------
    @renders(TableComment)
    def table_comment(self, ctx: ClickHouseContext, op: Op) -> None:
        self.add(
            ctx,
            op.safety,
            op.summary,
            self.alter(
                ctx,
                op.table,
                f"MODIFY COMMENT {self.target.prose(op.new.description)}",
                columns=True,
            ),
        )

    @renders(ColumnComment)
    def column_comment(self, ctx: ClickHouseContext, op: Op) -> None:
        if (op.table, op.column) in ctx.modified:
            return  # the MODIFY COLUMN above wrote the new comment
        t = self.target
        self.add(
            ctx,
            op.safety,
            op.summary,
            self.alter(
                ctx,
                op.table,
                f"COMMENT COLUMN {ctx.q(op.column)} {t.prose(t.column_description(op.new))}",
                columns=True,
            ),
        )

    @renders(CheckComment)
    def check_comment(self, ctx: ClickHouseContext, op: Op) -> None:
        ctx.notes.append(f"Skipped: {op.summary} (ClickHouse keeps no comment on a constraint).")

    @renders(TimescaleOptions)
    def timescale_options(self, ctx: ClickHouseContext, op: Op) -> None:
        pass  # partitions and codecs follow from them: the rebuild and `codecs`

    # -- the file: one statement per dbmate section ------------------------------------------
    def sections(self, up, back, reason: str) -> list[str]:
        """Section i holds the i-th up statement and the i-th down statement (a no-op where
        one direction has fewer). dbmate runs the up blocks in file order on migrate and the
        down blocks in file order on rollback, recording the version after each block: so the
        first block of each direction is its first check (or the irreversible refusal), which
        fails before anything is changed or recorded."""
        ups = up.items or [Item(SAFE, "nothing to change: the file records the version", NOOP)]
        if back is None:
            downs = [
                Item(
                    SAFE,
                    "irreversible: fails on purpose, changing nothing",
                    self.irreversible_sql(reason),
                )
            ]
        else:
            downs = back.items or [Item(SAFE, "nothing to undo", NOOP)]
        out = []
        for i in range(max(len(ups), len(downs))):
            out.append("-- migrate:up")
            if i < len(ups):
                item = ups[i]
                out += [f"-- [{item.safety}] {item.what} (up {i + 1} of {len(ups)})", item.sql]
            else:
                out.append(NOOP)
            out.append("-- migrate:down")
            if i < len(downs):
                item = downs[i]
                out += [f"-- [{item.safety}] {item.what} (down {i + 1} of {len(downs)})", item.sql]
            else:
                out.append(NOOP)
            out.append("")
        return out[:-1]


class ClickHouseClusterWriter(ClickHouseWriter):
    """The cluster's files: ON CLUSTER, the local replicated tables and the Distributed ones."""

    mutations_sync = 2  # every replica
    cannot = [
        *ClickHouseWriter.cannot,
        "  - ON CLUSTER '{cluster}': each statement goes through the distributed DDL queue "
        "(ClickHouse Keeper) to every server and waits for them (distributed_ddl_task_timeout, "
        "180 s by default); a server that is down runs it when it is back.",
        "  - Column changes go to the local table (<table>_local) and to the Distributed table "
        "above it; constraints, indexes and mutations to the local table only. The checks read "
        "through the Distributed tables: every shard's rows.",
        "  - A renamed sharded table gets a new Distributed table; its replication path in "
        "Keeper keeps the old name.",
    ]

    def directory(self) -> str:
        return "sql/clickhouse/migrations-cluster"

    def apply_hint(self) -> str:
        return (
            f"Apply with dbmate (2.29 or newer: one statement per section): dbmate "
            f"--migrations-dir {self.directory()} --url 'clickhouse://HOST:9000/DBNAME?"
            "on_cluster&cluster_macro={cluster}&replica_macro={replica}' --no-dump-schema migrate"
        )

    def sharded(self, schema: Schema, table: str) -> bool:
        model = schema.table_map.get(table)
        return model is not None and self.target.shard_key(schema, model) is not None

    def stored(self, ctx, schema: Schema, table: str, *, columns: bool) -> list[str]:
        on = self.target.on_cluster
        if not self.sharded(ctx.plan.new, table) and not self.sharded(schema, table):
            return [f"{ctx.q(table)} {on}"]
        local = f"{ctx.q(table + self.target.local_suffix)} {on}"
        return [local, f"{ctx.q(table)} {on}"] if columns else [local]

    def settings(self) -> str:
        return f" SETTINGS mutations_sync = {self.mutations_sync}"

    def alter(
        self, ctx, table: str, action: str, *, columns: bool = False, schema=None
    ) -> list[str]:
        names = self.stored(ctx, schema or ctx.plan.new, table, columns=columns)
        if columns and len(names) == 2 and action.startswith("DROP COLUMN"):
            names.reverse()  # the Distributed table first: it must not read a dropped column
        out = []
        for name in names:
            text = action
            if columns and name.split()[0] == ctx.q(table) and len(names) == 2:
                text = text.replace(self.settings(), "")  # a Distributed table holds no parts
            out.append(f"ALTER TABLE {name} {text};")
        return out

    def layout_moves(self, ctx: ClickHouseContext, table: Table) -> bool:
        before = ctx.plan.old_table(table.name)
        return super().layout_moves(ctx, table) or (
            before is not None
            and self.sharded(ctx.plan.old, before.name) != self.sharded(ctx.plan.new, table.name)
        )

    def rebuild(self, ctx: ClickHouseContext, table: str) -> None:
        """On the cluster: the new local tables ON CLUSTER (and a Distributed table over them
        when sharded), every row copied through the Distributed tables (each lands on its
        shard; replicated tables copy to every replica), then the old tables dropped and the
        new ones renamed."""
        plan, on = ctx.plan, self.target.on_cluster
        before = plan.old_table(table)
        self.focus(plan.new)
        sharded = self.sharded(plan.new, table)
        temp = f"new_{table}"
        local = temp + self.target.local_suffix if sharded else temp
        block = ctx.block(plan.new, table)
        after = block.after
        block.comments, block.after = [], []
        reasons = "; ".join(op.summary for op in plan.for_table(table)) or "its keys"
        what = (
            f"rebuild {table} (ClickHouse cannot ALTER its sort, partition or shard key: {reasons})"
        )
        ctx.add(
            SAFE, what + ": the new table", layout_table(block, f"{ctx.q(local)} {on}").rstrip("\n")
        )
        if sharded:
            distributed = after[0].sql
            distributed = re.sub(
                rf"\b{re.escape(table + self.target.local_suffix)}\b", local, distributed
            )
            distributed = distributed.replace(
                f"CREATE TABLE {ctx.q(table)} ", f"CREATE TABLE {ctx.q(temp)} ", 1
            )
            ctx.add(SAFE, f"{table}: a Distributed table over the new local tables", distributed)
        self.copy_rows(
            ctx,
            table,
            temp,
            before.name,
            " SETTINGS distributed_foreground_insert = 1" if sharded else "",
        )
        for name in self.dropped_tables(ctx, before, plan.old):
            ctx.add(SAFE, f"{table}: the old table goes", f"DROP TABLE {name};")
        if sharded:
            ctx.add(
                SAFE,
                f"{table}: the new Distributed table goes (it holds no rows)",
                f"DROP TABLE {ctx.q(temp)} {on} SYNC;",
            )
        final = table + self.target.local_suffix if sharded else table
        ctx.add(
            SAFE,
            f"{table}: the new table takes the name",
            f"RENAME TABLE {ctx.q(local)} TO {ctx.q(final)} {on};",
        )
        for statement in after:
            ctx.add(SAFE, f"{table}: its Distributed table", statement.sql)

    def dropped_tables(self, ctx, table: Table, schema: Schema) -> list[str]:
        on = self.target.on_cluster
        if self.sharded(schema, table.name):
            return [
                f"{ctx.q(table.name)} {on} SYNC",
                f"{ctx.q(table.name + self.target.local_suffix)} {on} SYNC",
            ]
        return [f"{ctx.q(table.name)} {on} SYNC"]

    def rename_table(self, ctx: ClickHouseContext, op: Op) -> None:
        on, suffix = self.target.on_cluster, self.target.local_suffix
        if not self.sharded(ctx.plan.new, op.new):
            self.add(
                ctx, op.safety, op.summary, f"RENAME TABLE {ctx.q(op.old)} TO {ctx.q(op.new)} {on};"
            )
            return
        self.add(
            ctx,
            op.safety,
            op.summary + ": its Distributed table goes (it holds no rows)",
            f"DROP TABLE {ctx.q(op.old)} {on} SYNC;",
        )
        self.add(
            ctx,
            op.safety,
            op.summary + ": the local tables",
            f"RENAME TABLE {ctx.q(op.old + suffix)} TO {ctx.q(op.new + suffix)} {on};",
        )
        self.focus(ctx.plan.new)
        block = ctx.block(ctx.plan.new, op.new)
        for statement in block.after:
            self.add(ctx, op.safety, op.summary + ": a new Distributed table", statement.sql)


__all__ = ["ClickHouseClusterWriter", "ClickHouseWriter"]
