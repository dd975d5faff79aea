"""PostgreSQL migrations: one ALTER (or COMMENT) per operation, in one transaction, and the
constraints added NOT VALID validated in a second file.

Every statement comes from the PostgreSQL target (column specs, CHECK and FOREIGN KEY text,
CREATE TABLE blocks), so a migrated database and a fresh build of the new version are made of
the same SQL. The TimescaleDB writer subclasses this one.
"""

from __future__ import annotations

from ...model import Check, ForeignKey, Schema
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
from .base import Item, MigrationContext, MigrationWriter, Pass, Step, renders, strip_block

# The order of a PostgreSQL migration (the TimescaleDB writer adds steps before and after).
CHANGES = (
    # 1. constraints that go away or change, before anything they depend on changes
    Pass(DropForeignKey),
    Pass(DropCheck, DropUnique),
    Pass(DropIndex),
    Pass(DropTable, reverse=True),
    # 2. renames
    Pass(RenameTable),
    Pass(RenameColumn),
    Pass(RenameConstraint),
    Pass(RenameIndex),
    Step("rename_not_null"),
    # 3. data rewrites for renamed enum values (their old CHECK is gone by now)
    Pass(RenameEnumValue),
    # 4. new tables, in dependency order
    Pass(CreateTable),
    # 5. columns
    Pass(AddColumn, AlterType, SetNotNull, DropNotNull, SetDefault),
    Pass(DropColumn),
    # 6. constraints and indexes that arrive or change
    Pass(PrimaryKey),
    Pass(AddUnique),
    Pass(AddCheck),
    Pass(AddForeignKey),
    Pass(AddIndex),
    # 7. comments
    Pass(TableComment, ColumnComment, CheckComment, ForeignKeyComment),
)


class PostgresWriter(MigrationWriter):
    cannot = [
        "  - Type changes (also widening smallint -> integer -> bigint, real -> double "
        "precision) rewrite the whole table and its indexes under an ACCESS EXCLUSIVE lock: "
        "reads and writes wait for about as long as copying the table takes.",
        "  - New indexes on existing tables are built in this transaction and block writes "
        "to the table meanwhile. For a big table, build it first with CREATE INDEX "
        "CONCURRENTLY IF NOT EXISTS <same definition>; the migration then skips it.",
        "  - ADD COLUMN appends: a column declared mid-table in schema.yaml comes last here "
        "(column order is not compared).",
    ]
    passes = CHANGES
    ignores = (TimescaleOptions,)  # read only by the TimescaleDB writer

    # -- refusals ----------------------------------------------------------------------------
    def irreversible_sql(self, reason: str) -> str:
        text = reason.replace("%", "%%")
        return f"DO $$ BEGIN RAISE EXCEPTION {self.target.literal(text)}; END $$;"

    def refuse_violations(
        self, ctx: MigrationContext, table: str, violation: str, rule: str
    ) -> None:
        """Before a narrowing: count the rows where `violation` holds (the negated rule, in
        the columns' names at this point of the file) and raise with the count and the first
        five keys, which rolls the whole transaction back."""
        t = self.target
        tbl = ctx.q(table)
        key_columns = ctx.plan.new.table(table).primary_key
        if key_columns:
            keys = t.quote_all(key_columns)
            key_text = f"concat_ws(', ', {keys})"
            key_names = ", ".join(key_columns)
        else:
            keys, key_text, key_names = "1", "r::text", "row"
        rule = rule.replace("%", "%%")  # RAISE's format placeholder
        message = (
            f"schema version {ctx.plan.new.version} migration refused, nothing changed: "
            f"rows of {table} violating {rule}: %; first keys ({key_names}): %"
        )
        ctx.add(
            SAFE,
            f"check the existing rows of {table} against {rule}; refuse with the count and "
            "the first keys, changing nothing",
            "DO $$\nDECLARE\n    n bigint;\n    first_keys text;\nBEGIN\n"
            f"    SELECT count(*) INTO n FROM {tbl} r WHERE {violation};\n"
            "    IF n > 0 THEN\n"
            f"        SELECT string_agg(k, '; ') INTO first_keys FROM (SELECT {key_text} AS k "
            f"FROM {tbl} r WHERE {violation} ORDER BY {keys} LIMIT 5) s;\n"
            f"        RAISE EXCEPTION {t.literal(message)}"
            ", n, first_keys\n"
            "            USING ERRCODE = 'check_violation', HINT = 'fix or delete these rows, "
            "then run dbmate again';\n"
            "    END IF;\nEND $$;",
        )

    def refuse_check_violations(self, ctx: MigrationContext, op: Op) -> None:
        if op.safety == SAFE:
            return  # a widening: no existing row can break it
        check: Check = op.new
        added = {o.column for o in ctx.plan.for_table(op.table) if isinstance(o, AddColumn)}
        if check.columns and set(check.columns) <= added:
            return  # a CHECK on columns this file adds: their default is checked by the ADD
        expression = self.target.check_expression_sql(check)
        self.refuse_violations(
            ctx, op.table, f"NOT ({expression})", f"{check.name} CHECK ({expression})"
        )

    # -- 1. drops ----------------------------------------------------------------------------
    @renders(DropForeignKey)
    def drop_foreign_key_op(self, ctx: MigrationContext, op: Op) -> None:
        self.drop_foreign_key(ctx, ctx.plan.old, op.old, op.summary)

    def drop_foreign_key(self, ctx: MigrationContext, schema: Schema, fk: ForeignKey, what):
        ctx.add(
            SAFE,
            what,
            f"ALTER TABLE {ctx.q(fk.table)} DROP CONSTRAINT {ctx.q(fk.name)};",
        )

    @renders(DropCheck, DropUnique)
    def drop_constraint(self, ctx: MigrationContext, op: Op) -> None:
        ctx.add(
            op.safety,
            op.summary,
            f"ALTER TABLE {ctx.q(op.table)} DROP CONSTRAINT {ctx.q(op.old.name)};",
        )

    @renders(DropIndex)
    def drop_index(self, ctx: MigrationContext, op: Op) -> None:
        ctx.add(op.safety, op.summary, f"DROP INDEX {ctx.q(op.old.name)};")

    @renders(DropTable)
    def drop_table(self, ctx: MigrationContext, op: Op) -> None:
        ctx.add(op.safety, f"{op.summary}; at risk: {op.at_risk}", f"DROP TABLE {ctx.q(op.table)};")

    # -- 2. renames --------------------------------------------------------------------------
    @renders(RenameTable)
    def rename_table(self, ctx: MigrationContext, op: Op) -> None:
        ctx.add(op.safety, op.summary, f"ALTER TABLE {ctx.q(op.old)} RENAME TO {ctx.q(op.new)};")

    @renders(RenameColumn)
    def rename_column(self, ctx: MigrationContext, op: Op) -> None:
        ctx.add(
            op.safety,
            op.summary,
            f"ALTER TABLE {ctx.q(op.table)} RENAME COLUMN {ctx.q(op.old.name)} TO "
            f"{ctx.q(op.new.name)};",
        )

    @renders(RenameConstraint)
    def rename_constraint(self, ctx: MigrationContext, op: Op) -> None:
        ctx.add(
            op.safety,
            op.summary,
            f"ALTER TABLE {ctx.q(op.table)} RENAME CONSTRAINT {ctx.q(op.old)} TO {ctx.q(op.new)};",
        )

    @renders(RenameIndex)
    def rename_index(self, ctx: MigrationContext, op: Op) -> None:
        ctx.add(op.safety, op.summary, f"ALTER INDEX {ctx.q(op.old)} RENAME TO {ctx.q(op.new)};")

    def rename_not_null(self, ctx: MigrationContext) -> None:
        """PostgreSQL 18 keeps NOT NULL constraints named <table>_<column>_not_null; after a
        rename they keep the old name unless renamed too. Earlier versions have none."""
        plan = ctx.plan
        pairs = []
        for op in plan.ops:
            if isinstance(op, RenameTable):
                for column in plan.new.table(op.new).columns:
                    was = {v: k for k, v in plan.renames.columns.get(op.new, {}).items()}.get(
                        column.name, column.name
                    )
                    pairs.append(
                        (op.new, f"{op.old}_{was}_not_null", f"{op.new}_{column.name}_not_null")
                    )
            elif isinstance(op, RenameColumn) and op.table not in plan.renames.tables.values():
                pairs.append(
                    (
                        op.table,
                        f"{op.table}_{op.old.name}_not_null",
                        f"{op.table}_{op.new.name}_not_null",
                    )
                )
        for table, was, now in pairs:
            if was == now:
                continue
            ctx.add(
                SAFE,
                f"PostgreSQL 18+: rename NOT NULL constraint {was} to {now}",
                "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_constraint WHERE conname = "
                f"{self.target.literal(was)} AND conrelid = "
                f"{self.target.literal(ctx.stored_name(table))}::regclass) "
                f"THEN ALTER TABLE {ctx.q(table)} RENAME CONSTRAINT {ctx.q(was)} TO "
                f"{ctx.q(now)}; END IF; END $$;",
            )

    # -- 3. data rewrites --------------------------------------------------------------------
    @renders(RenameEnumValue)
    def rename_enum_value(self, ctx: MigrationContext, op: Op) -> None:
        t = self.target
        col = ctx.q(op.column)
        cases = " ".join(f"WHEN {t.literal(a)} THEN {t.literal(b)}" for a, b in op.old.items())
        olds = ", ".join(t.literal(a) for a in op.old)
        ctx.add(
            op.safety,
            op.summary,
            f"UPDATE {ctx.q(op.table)} SET {col} = CASE {col} {cases} END WHERE {col} IN ({olds});",
        )

    # -- 4. new tables -----------------------------------------------------------------------
    @renders(CreateTable)
    def create_table(self, ctx: MigrationContext, op: Op) -> None:
        block = ctx.block(ctx.plan.new, op.new.name)
        ctx.add(SAFE, f"create table {op.new.name}", strip_block(self.target.render_block(block)))

    # -- 5. columns --------------------------------------------------------------------------
    @renders(AddColumn)
    def add_column(self, ctx: MigrationContext, op: Op) -> None:
        t = self.target
        table = ctx.q(op.table)
        spec = t.column_spec(ctx.plan.new.table(op.table), op.new)
        ctx.add(op.safety, op.summary, f"ALTER TABLE {table} ADD COLUMN {spec};")
        ctx.add(
            SAFE,
            f"comment on {op.table}.{op.column}",
            f"COMMENT ON COLUMN {table}.{ctx.q(op.column)} IS "
            f"{t.prose(t.column_description(op.new))};",
        )

    @renders(AlterType)
    def alter_type(self, ctx: MigrationContext, op: Op) -> None:
        ctype = self.target.column_type(ctx.plan.new.table(op.table), op.new)
        ctx.add(
            op.safety,
            f"{op.summary}; cost: rewrites {op.table} and its indexes under an "
            "ACCESS EXCLUSIVE lock" + (f"; at risk: {op.at_risk}" if op.at_risk else ""),
            f"ALTER TABLE {ctx.q(op.table)} ALTER COLUMN {ctx.q(op.column)} TYPE {ctype} "
            f"USING {ctx.q(op.column)}::{ctype};",
        )

    @renders(SetNotNull)
    def set_not_null(self, ctx: MigrationContext, op: Op) -> None:
        column = ctx.q(op.column)
        self.refuse_violations(
            ctx, op.table, f"r.{column} IS NULL", f"NOT NULL of {op.table}.{op.column}"
        )
        ctx.add(
            op.safety,
            op.summary,
            f"ALTER TABLE {ctx.q(op.table)} ALTER COLUMN {ctx.q(op.column)} SET NOT NULL;",
        )

    @renders(DropNotNull)
    def drop_not_null(self, ctx: MigrationContext, op: Op) -> None:
        ctx.add(
            op.safety,
            op.summary,
            f"ALTER TABLE {ctx.q(op.table)} ALTER COLUMN {ctx.q(op.column)} DROP NOT NULL;",
        )

    @renders(SetDefault)
    def set_default(self, ctx: MigrationContext, op: Op) -> None:
        default = (
            f"SET DEFAULT {self.target.default_sql(op.new)}"
            if op.new.default is not None
            else "DROP DEFAULT"
        )
        ctx.add(
            op.safety,
            op.summary,
            f"ALTER TABLE {ctx.q(op.table)} ALTER COLUMN {ctx.q(op.column)} {default};",
        )

    @renders(DropColumn)
    def drop_column(self, ctx: MigrationContext, op: Op) -> None:
        ctx.add(
            op.safety,
            f"{op.summary}; at risk: {op.at_risk}",
            f"ALTER TABLE {ctx.q(op.table)} DROP COLUMN {ctx.q(op.column)};",
        )

    # -- 6. constraints and indexes ----------------------------------------------------------
    @renders(PrimaryKey)
    def primary_key(self, ctx: MigrationContext, op: Op) -> None:
        ctx.add(
            op.safety,
            op.summary,
            f"ALTER TABLE {ctx.q(op.table)} DROP CONSTRAINT "
            f"{ctx.q(op.old.primary_key_name)}, ADD {self.target.primary_key_sql(op.new)};",
        )

    @renders(AddUnique)
    def add_unique(self, ctx: MigrationContext, op: Op) -> None:
        t = self.target
        columns = dict(t.unique_constraints(ctx.plan.new.table(op.table)))[op.new.name]
        ctx.add(
            op.safety,
            op.summary + " (fails on duplicate rows)",
            f"ALTER TABLE {ctx.q(op.table)} ADD CONSTRAINT {ctx.q(op.new.name)} UNIQUE "
            f"({t.quote_all(columns)});",
        )

    @renders(AddCheck)
    def add_check(self, ctx: MigrationContext, op: Op) -> None:
        check: Check = op.new
        risk = f"; at risk: {op.at_risk}" if op.at_risk else ""
        self.refuse_check_violations(ctx, op)
        if not ctx.two_step:
            ctx.add(
                op.safety,
                f"{op.summary}{risk} (validated in this transaction)",
                f"ALTER TABLE {ctx.q(op.table)} ADD {self.target.check_sql(check)};",
            )
            self.constraint_comment(ctx, op.table, check.name, check.description)
            return
        ctx.add(
            op.safety,
            f"{op.summary}{risk} (NOT VALID now, validated in the next file)",
            f"ALTER TABLE {ctx.q(op.table)} ADD {self.target.check_sql(check)} NOT VALID;",
        )
        self.constraint_comment(ctx, op.table, check.name, check.description)
        ctx.validate.append(
            Item(
                op.safety,
                f"validate {check.name}",
                f"ALTER TABLE {ctx.q(op.table)} VALIDATE CONSTRAINT {ctx.q(check.name)};",
            )
        )

    @renders(AddForeignKey)
    def add_foreign_key_op(self, ctx: MigrationContext, op: Op) -> None:
        self.add_foreign_key(ctx, op.new, op.safety, op.summary)

    def add_foreign_key(self, ctx: MigrationContext, fk: ForeignKey, safety: str, what) -> None:
        if not ctx.two_step:
            ctx.add(
                safety,
                what + " (validated in this transaction)",
                f"ALTER TABLE {ctx.q(fk.table)} ADD "
                f"{self.target.foreign_key_sql(ctx.plan.new, fk)};",
            )
            self.constraint_comment(
                ctx, fk.table, fk.name, f"ON DELETE {fk.on_delete.upper()}: {fk.why}"
            )
            return
        ctx.add(
            safety,
            what + " (NOT VALID now, validated in the next file)",
            f"ALTER TABLE {ctx.q(fk.table)} ADD "
            f"{self.target.foreign_key_sql(ctx.plan.new, fk)} NOT VALID;",
        )
        self.constraint_comment(
            ctx, fk.table, fk.name, f"ON DELETE {fk.on_delete.upper()}: {fk.why}"
        )
        ctx.validate.append(
            Item(
                safety,
                f"validate {fk.name}",
                f"ALTER TABLE {ctx.q(fk.table)} VALIDATE CONSTRAINT {ctx.q(fk.name)};",
            )
        )

    @renders(AddIndex)
    def add_index(self, ctx: MigrationContext, op: Op) -> None:
        unique = "UNIQUE " if op.new.unique else ""
        ctx.add(
            op.safety,
            op.summary + " (blocks writes while it builds; see the header)",
            f"CREATE {unique}INDEX IF NOT EXISTS {ctx.q(op.new.name)} ON "
            f"{ctx.q(op.table)} ({self.target.quote_all(op.new.columns)});",
        )

    # -- 7. comments -------------------------------------------------------------------------
    @renders(TableComment)
    def table_comment(self, ctx: MigrationContext, op: Op) -> None:
        ctx.add(
            op.safety,
            op.summary,
            f"COMMENT ON TABLE {ctx.q(op.table)} IS {self.target.prose(op.new.description)};",
        )

    @renders(ColumnComment)
    def column_comment(self, ctx: MigrationContext, op: Op) -> None:
        t = self.target
        ctx.add(
            op.safety,
            op.summary,
            f"COMMENT ON COLUMN {ctx.q(op.table)}.{ctx.q(op.column)} IS "
            f"{t.prose(t.column_description(op.new))};",
        )

    @renders(CheckComment)
    def check_comment(self, ctx: MigrationContext, op: Op) -> None:
        self.constraint_comment(ctx, op.table, op.new.name, op.new.description)

    @renders(ForeignKeyComment)
    def foreign_key_comment(self, ctx: MigrationContext, op: Op) -> None:
        fk: ForeignKey = op.new
        self.constraint_comment(
            ctx, fk.table, fk.name, f"ON DELETE {fk.on_delete.upper()}: {fk.why}"
        )

    def constraint_comment(self, ctx: MigrationContext, table: str, name: str, text: str) -> None:
        ctx.add(
            SAFE,
            f"comment on {name}",
            f"COMMENT ON CONSTRAINT {ctx.q(name)} ON {ctx.q(table)} IS {self.target.prose(text)};",
        )


__all__ = ["CHANGES", "PostgresWriter"]
