"""SQLite migrations: ALTER TABLE where SQLite can, the 12-step table rebuild where it cannot.

SQLite's ALTER TABLE renames tables and adds columns, nothing else. So the writer decides per
table, not per operation: it compares what SQLite enforces of the old and the new CREATE TABLE
(`sqlite_normal`); equal means nothing to do (a description-only change), added nullable or
defaulted columns mean ADD COLUMN (then the stored CREATE TABLE text is set to a fresh build's,
so each comment stays on its column's line), anything else a rebuild: a new table, a copy of
every row, the old one dropped, the new one renamed, its indexes created again, with foreign
keys off outside the transaction and `foreign_key_check` before COMMIT. Before a rebuild's
copy, the old rows are checked against every narrowed rule (`refuse_violations`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...model import Schema, Table
from ...plan.diff import Plan
from ...plan.ops import (
    LABELS,
    SAFE,
    AddCheck,
    AddColumn,
    AddForeignKey,
    AddIndex,
    AddUnique,
    AlterType,
    CheckComment,
    ColumnComment,
    Comment,
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
from .base import MigrationContext, MigrationWriter, Pass, Step, renders, strip_block

_COMMENT = re.compile(r"--[^\n]*")


def sqlite_normal(sql: str) -> str:
    """CREATE TABLE text without SQL comments, quotes and layout: what SQLite enforces."""
    text = _COMMENT.sub("", sql).replace('"', "")
    return re.sub(r"\s+", " ", text).replace("( ", "(").replace(" )", ")").strip()


# What ALTER TABLE ADD COLUMN (plus index statements) reaches without a rebuild.
_FAST = (
    AddColumn,
    AddCheck,
    TableComment,
    ColumnComment,
    CheckComment,
    ForeignKeyComment,
    AddIndex,
    DropIndex,
    RenameIndex,
)


@dataclass
class SqliteContext(MigrationContext):
    """A run of the SQLite writer: which tables it rebuilds and which only gain columns."""

    rebuild: list[Table] = field(default_factory=list)
    fast: dict[str, list[Op]] = field(default_factory=dict)  # table -> its AddColumn ops

    @property
    def rebuilt(self) -> set[str]:
        return {table.name for table in self.rebuild}


class SqliteWriter(MigrationWriter):
    context_class = SqliteContext
    passes = (
        Step("begin"),
        Pass(RenameTable),
        # SQLite has no ALTER INDEX ... RENAME: a renamed index is dropped with the dropped
        # ones and created with the new ones (a rebuilt table creates its own again)
        Pass(DropIndex, RenameIndex, via="drop_index"),
        Pass(DropTable),
        Pass(CreateTable),
        Step("add_columns"),
        Step("rebuild_tables"),
        Pass(AddIndex, RenameIndex, via="create_index"),
        Step("note_losses"),
        Step("commit"),
    )
    # Rendered per table, by comparing its CREATE TABLE text (see the module's docstring).
    ignores = (
        AddColumn,
        DropColumn,
        RenameColumn,
        RenameEnumValue,
        AlterType,
        SetNotNull,
        DropNotNull,
        SetDefault,
        PrimaryKey,
        RenameConstraint,
        AddCheck,
        DropCheck,
        AddForeignKey,
        DropForeignKey,
        AddUnique,
        DropUnique,
        TableComment,
        ColumnComment,
        CheckComment,
        ForeignKeyComment,
        TimescaleOptions,
    )
    cannot = [
        "  - ALTER TABLE cannot change a column's type, nullability, default or constraints: "
        "those tables are rebuilt (the 12-step procedure of SQLite's ALTER TABLE page): a new "
        "table, a copy of every row, the old one dropped, the new one renamed, its indexes "
        "created again. The table is locked for writing meanwhile and the file needs room "
        "for a second copy of it.",
        "  - Foreign keys are switched off before the transaction (the pragma is a no-op "
        "inside one, so this file runs with transaction:false) and PRAGMA foreign_key_check "
        "must find nothing before COMMIT; otherwise the migration is rolled back.",
        "  - Descriptions live in SQL comments inside CREATE TABLE: a description-only change "
        "does not rebuild the table, so those comments keep the old text (the docs and the "
        "other engines carry the new one).",
        "  - ADD COLUMN appends: column order is not compared.",
    ]

    # -- which tables change how -------------------------------------------------------------
    def context(self, plan: Plan, blocks) -> SqliteContext:
        ctx = SqliteContext(plan, self.target, blocks)
        for table in plan.new.tables:
            before = plan.old_table(table.name)
            if before is None:
                continue
            renamed_cols = bool(plan.renames.columns.get(table.name))
            same = not renamed_cols and sqlite_normal(
                self.create_text(ctx, plan.old, before, table.name)
            ) == sqlite_normal(self.create_text(ctx, plan.new, table))
            if same:
                continue
            added = None if renamed_cols else self.fast_add_columns(plan, table)
            if added is not None:
                ctx.fast[table.name] = added
            else:
                ctx.rebuild.append(table)
        ctx.no_transaction = bool(ctx.rebuild or any(isinstance(o, DropTable) for o in plan.ops))
        return ctx

    def create_text(
        self, ctx: MigrationContext, schema: Schema, table: Table, name: str | None = None
    ) -> str:
        block = ctx.block(schema, table.name)
        block.after = []
        return strip_block(layout_table(block, ctx.q(name or table.name)))

    def fast_add_columns(self, plan: Plan, table: Table) -> list[Op] | None:
        """The added columns, when ALTER TABLE ADD COLUMN alone reaches the new table."""
        ops = plan.for_table(table.name)
        if any(not isinstance(op, _FAST) for op in ops):
            return None
        added = [op for op in ops if isinstance(op, AddColumn)]
        names = {op.column for op in added}
        for op in added:
            if not (op.new.nullable or op.new.default is not None):
                return None
            if table.foreign_key_of(op.column) is not None:
                return None
        checks = [op for op in ops if isinstance(op, AddCheck)]
        if any(op.new.column not in names for op in checks):
            return None
        if any(op.new.kind == "explicit" for op in checks):
            return None
        return added

    # -- the transaction around a rebuild ----------------------------------------------------
    def begin(self, ctx: SqliteContext) -> None:
        if ctx.no_transaction:
            ctx.add(
                SAFE,
                "foreign keys off, outside the transaction (a no-op inside one): dropping or "
                "rebuilding a parent must not cascade to its children",
                "PRAGMA foreign_keys = OFF;",
            )
            ctx.add(SAFE, "one transaction for the whole change", "BEGIN;")

    def commit(self, ctx: SqliteContext) -> None:
        if ctx.no_transaction:
            ctx.add(
                SAFE,
                "PRAGMA foreign_key_check must report nothing, or the insert below fails and "
                "nothing is committed",
                "CREATE TEMP TABLE migration_foreign_key_check (problems INTEGER NOT NULL "
                "CHECK (problems = 0));\n"
                "INSERT INTO migration_foreign_key_check SELECT count(*) FROM "
                "pragma_foreign_key_check;\n"
                "DROP TABLE migration_foreign_key_check;",
            )
            ctx.add(SAFE, "commit the change", "COMMIT;")
            ctx.add(SAFE, "foreign keys on again", "PRAGMA foreign_keys = ON;")

    # -- operations SQLite's ALTER TABLE and DROP do -----------------------------------------
    @renders(RenameTable)
    def rename_table(self, ctx: SqliteContext, op: Op) -> None:
        ctx.add(
            op.safety,
            op.summary + " (references in other tables follow)",
            f"ALTER TABLE {ctx.q(op.old)} RENAME TO {ctx.q(op.new)};",
        )

    def drop_index(self, ctx: SqliteContext, op: Op) -> None:
        if isinstance(op, RenameIndex):
            if op.table in ctx.rebuilt:
                return  # the rebuild drops it with the old table
            name = op.old
        else:
            name = op.old.name
        ctx.add(op.safety, op.summary, f"DROP INDEX {ctx.q(name)};")

    @renders(DropTable)
    def drop_table(self, ctx: SqliteContext, op: Op) -> None:
        ctx.add(op.safety, f"{op.summary}; at risk: {op.at_risk}", f"DROP TABLE {ctx.q(op.table)};")

    @renders(CreateTable)
    def create_table(self, ctx: SqliteContext, op: Op) -> None:
        block = ctx.block(ctx.plan.new, op.table)
        ctx.add(op.safety, op.summary, strip_block(self.target.render_block(block)))

    def create_index(self, ctx: SqliteContext, op: Op) -> None:
        if op.table in ctx.rebuilt:
            return  # the rebuild creates the table's indexes
        name = op.new if isinstance(op, RenameIndex) else op.new.name
        index = next(i for i in ctx.plan.new.table(op.table).indexes if i.name == name)
        unique = "UNIQUE " if index.unique else ""
        ctx.add(
            op.safety,
            op.summary,
            f"CREATE {unique}INDEX {ctx.q(index.name)} ON {ctx.q(op.table)} "
            f"({self.target.quote_all(index.columns)});",
        )

    def add_columns(self, ctx: SqliteContext) -> None:
        t = self.target
        for name, added in ctx.fast.items():
            table = ctx.plan.new.table(name)
            checks = {c.column: [] for c in t.checks(table)}
            for check in t.checks(table):
                checks[check.column].append(check)
            for op in added:
                extra = "".join(f" {t.check_sql(c)}" for c in checks.get(op.column, []))
                ctx.add(
                    op.safety,
                    op.summary,
                    f"ALTER TABLE {ctx.q(name)} ADD COLUMN {t.column_spec(table, op.new)}{extra};",
                )
            self.relayout(ctx, table, [op.column for op in added])

    def relayout(self, ctx: SqliteContext, table: Table, added: list[str]) -> None:
        """ADD COLUMN splices the new column into the stored CREATE TABLE text right after the
        last column's definition, before that column's `--` comment: `.schema` would show each
        comment beside the wrong column. Store the text a fresh build writes instead, columns
        in the order the table now has them (the old ones, then the added ones), as SQLite's
        ALTER TABLE page allows for a change of the text that leaves the stored rows as they
        are: same columns in the same order, same constraints."""
        block = ctx.block(ctx.plan.new, table.name)
        count = len(table.columns)
        items = dict(zip((c.name for c in table.columns), block.items[:count], strict=True))
        before = ctx.plan.old_table(table.name)
        order = [c.name for c in before.columns] + added
        block.items = [items[name] for name in order] + block.items[count:]
        block.comments, block.after = [], []
        text = layout_table(block, ctx.q(table.name)).rstrip("\n").removesuffix(";")
        ctx.add(
            SAFE,
            f"the stored text of {table.name} as a fresh build writes it (each comment on its "
            "column's line; no row is touched)",
            "PRAGMA writable_schema = ON;\n"
            f"UPDATE sqlite_master SET sql = {self.target.literal(text)}\n"
            f"    WHERE type = 'table' AND name = {self.target.literal(table.name)};\n"
            "PRAGMA writable_schema = OFF;",
        )

    def note_losses(self, ctx: SqliteContext) -> None:
        for op in ctx.plan.ops:
            if isinstance(op, DropColumn | AlterType) and op.at_risk:
                ctx.notes.append(f"{op.safety}: {op.summary}; at risk: {op.at_risk}")

    # -- refusals ----------------------------------------------------------------------------
    def irreversible_sql(self, reason: str) -> str:
        # RAISE works only in a trigger: a temporary one on a temporary table, fired at once
        return self.raise_sql(self.target.literal(reason), "1")

    def raise_sql(self, message: str, n: str, first_keys: str = "NULL") -> str:
        """A temporary table whose trigger aborts the transaction with `message` (an SQL
        expression over NEW.n and NEW.first_keys) when the row inserted has n > 0."""
        return (
            "CREATE TEMP TABLE migration_refusal (n INTEGER, first_keys TEXT);\n"
            "CREATE TEMP TRIGGER migration_refusal_raise BEFORE INSERT ON migration_refusal "
            f"WHEN NEW.n > 0 BEGIN SELECT RAISE(ABORT, {message}); END;\n"
            f"INSERT INTO migration_refusal SELECT {n}, {first_keys};\n"
            "DROP TABLE migration_refusal;"
        )

    def refuse_violations(
        self, ctx: SqliteContext, table: Table, source: str, violation: str, rule: str
    ) -> None:
        """Before the copy into the rebuilt table: count the rows of `source` (the old rows
        under their new names and values) where `violation` holds, and abort with the count
        and the first five keys; the transaction is rolled back, nothing changes."""
        t = self.target
        keys = table.primary_key
        if keys:
            key_text = " || ', ' || ".join(f"CAST({ctx.q(k)} AS TEXT)" for k in keys)
            order = t.quote_all(keys)
        else:
            key_text, order = "CAST(rowid AS TEXT)", "rowid"
        prefix = (
            f"schema version {ctx.plan.new.version} migration refused, nothing changed: "
            f"rows of {table.name} violating {rule}: "
        )
        middle = f"; first keys ({', '.join(keys) or 'rowid'}): "
        message = (
            f"{t.literal(prefix)} || NEW.n || {t.literal(middle)} || NEW.first_keys || "
            "'; fix or delete these rows, then run dbmate again'"
        )
        ctx.add(
            SAFE,
            f"check the existing rows of {table.name} against {rule}; abort with the count "
            "and the first keys, changing nothing",
            self.raise_sql(
                message,
                f"(SELECT count(*) FROM {source} WHERE {violation})",
                f"(SELECT group_concat(k, '; ') FROM (SELECT {key_text} AS k FROM {source} "
                f"WHERE {violation} ORDER BY {order} LIMIT 5))",
            ),
        )

    # -- the rebuild -------------------------------------------------------------------------
    def rebuild_tables(self, ctx: SqliteContext) -> None:
        for table in ctx.rebuild:
            self.rebuild(ctx, table)

    def rebuild(self, ctx: SqliteContext, table: Table) -> None:
        t, plan = self.target, ctx.plan
        before = plan.old_table(table.name)
        temp = f"new_{table.name}"
        ops = plan.for_table(table.name)
        safety = max((op.safety for op in ops), key=LABELS.index, default=SAFE)
        reasons = "; ".join(op.summary for op in ops if not isinstance(op, Comment))
        ctx.add(
            safety,
            f"rebuild {table.name} (SQLite's ALTER TABLE cannot: {reasons}): new table",
            self.create_text(ctx, plan.new, table, temp),
        )
        old_of_new = {v: k for k, v in plan.renames.columns.get(table.name, {}).items()}
        enum_ops = {op.column: op.old for op in ops if isinstance(op, RenameEnumValue)}
        targets, sources, kept = [], [], set()
        for column in table.columns:
            was = old_of_new.get(column.name, column.name)
            if was not in before.column_map:
                continue  # a new column: its default or NULL
            source = ctx.q(was)
            if column.name in enum_ops:
                cases = " ".join(
                    f"WHEN {t.literal(a)} THEN {t.literal(b)}"
                    for a, b in enum_ops[column.name].items()
                )
                source = f"CASE {source} {cases} ELSE {source} END"
            targets.append(ctx.q(column.name))
            sources.append(source)
            kept.add(column.name)
        columns = ", ".join(f"{s} AS {c}" for s, c in zip(sources, targets, strict=True))
        mapped = f"(SELECT {columns} FROM {ctx.q(table.name)})"
        for op in ops:
            if isinstance(op, SetNotNull):
                self.refuse_violations(
                    ctx,
                    table,
                    mapped,
                    f"{ctx.q(op.column)} IS NULL",
                    f"NOT NULL of {table.name}.{op.column}",
                )
            elif isinstance(op, AddCheck) and op.safety != SAFE:
                if not set(op.new.columns) <= {c.name for c in table.columns if c.name in kept}:
                    continue  # a CHECK on a new column: its default is checked by the copy
                expression = t.check_expression_sql(op.new)
                self.refuse_violations(
                    ctx,
                    table,
                    mapped,
                    f"NOT ({expression})",
                    f"{op.new.name} CHECK ({expression})",
                )
        ctx.add(
            safety,
            f"copy every row of {table.name}",
            f"INSERT INTO {ctx.q(temp)} ({', '.join(targets)})\n"
            f"    SELECT {', '.join(sources)} FROM {ctx.q(table.name)};",
        )
        ctx.add(SAFE, f"drop the old {table.name}", f"DROP TABLE {ctx.q(table.name)};")
        ctx.add(
            SAFE,
            f"the new table takes the name {table.name}",
            f"ALTER TABLE {ctx.q(temp)} RENAME TO {ctx.q(table.name)};",
        )
        for statement in t.index_statements(table):
            ctx.add(SAFE, f"index of {table.name}, created again", statement.sql)
