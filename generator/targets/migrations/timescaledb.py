"""TimescaleDB migrations: the PostgreSQL writer, with what hypertables change.

References into a hypertable are triggers (drop and create them, not constraints); a CHECK on
a hypertable is added validated at once; ALTER COLUMN TYPE becomes a copy into a new column;
continuous aggregates and the views of `elapsed_as_start` tables are dropped before the change
and created again after it, as a fresh build makes them; a table stored under another name
(its store table) is changed under that name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...model import Check, ForeignKey, Schema, Table
from ...plan.diff import Plan
from ...plan.ops import (
    SAFE,
    AddCheck,
    AddForeignKey,
    AddIndex,
    AlterType,
    DropColumn,
    DropForeignKey,
    DropTable,
    ForeignKeyComment,
    Op,
    RenameColumn,
    RenameConstraint,
    RenameIndex,
    RenameTable,
    TimescaleOptions,
)
from .base import MigrationContext, Pass, Step, raise_unsupported, renders
from .postgres import CHANGES, PostgresWriter


@dataclass
class TimescaleContext(MigrationContext):
    """A run of the TimescaleDB writer: which tables it changes under their store's name."""

    stores: dict[str, str] = field(default_factory=dict)  # model table -> its store table

    def stored_name(self, name: str) -> str:
        return self.stores.get(name, name)


class TimescaleWriter(PostgresWriter):
    context_class = TimescaleContext
    ignores = ()
    passes = (
        Step("drop_views_and_aggregates"),
        *CHANGES,
        Step("trigger_foreign_keys_again"),
        Pass(TimescaleOptions),
        Step("aggregates_and_views_again"),
    )
    cannot = [
        "  - On a hypertable with compressed chunks TimescaleDB 2.16+ can add columns, add "
        "and drop CHECK constraints, drop columns outside segment_by/order_by, and change "
        "compression settings (already compressed chunks keep their old settings until "
        "recompressed). It refuses ALTER COLUMN TYPE on a hypertable (tested on 2.23, also "
        "with every chunk decompressed): the column is replaced by a new one holding a copy, "
        "which rewrites every row, compressed chunks included.",
        "  - A new chunk interval applies to chunks created from now on; existing chunks "
        "keep their size.",
        "  - Continuous aggregates whose hypertable changes are dropped and created again "
        "WITH NO DATA, like a fresh build: refresh them with refresh_continuous_aggregate().",
        "  - CREATE INDEX CONCURRENTLY does not exist for hypertables; new indexes block "
        "writes while they build.",
        "  - VALIDATE CONSTRAINT is refused on a hypertable with compression enabled: a new "
        "CHECK there is added validated at once, scanning every chunk under the lock.",
    ]

    def context(self, plan: Plan, blocks) -> TimescaleContext:
        """A table stored under another name (elapsed_as_start, in both versions) is changed
        under that name, its view dropped before the changes and created again after them."""
        stores = {
            t.name: t.timescaledb.elapsed_as_start.store_table
            for t in plan.new.hypertables
            if t.timescaledb.elapsed_as_start
            and (old := plan.old_table(t.name)) is not None
            and old.timescaledb is not None
            and old.timescaledb.elapsed_as_start == t.timescaledb.elapsed_as_start
            and plan.for_table(t.name)
        }
        for name in stores:
            elapsed = plan.new.table(name).timescaledb.elapsed_as_start
            for op in plan.for_table(name):
                names = {op.column, *(getattr(o, "name", None) for o in (op.old, op.new))}
                if not isinstance(op, TimescaleOptions) and elapsed.column in names:
                    raise_unsupported(
                        name,
                        f"changing {elapsed.column}, which TimescaleDB stores as "
                        f"{elapsed.start_column}",
                    )
        return TimescaleContext(plan, self.target, blocks, stores=stores)

    # -- whole-plan steps around the PostgreSQL changes --------------------------------------
    def drop_views_and_aggregates(self, ctx: TimescaleContext) -> None:
        t, plan = self.target, ctx.plan
        for name in ctx.stores:
            ctx.add(
                SAFE,
                f"drop the view {name} (created again below, over the changed {ctx.stores[name]})",
                f"DROP VIEW {t.quote(name)};\nDROP FUNCTION {t.quote(t.view_insert_name(name))}();",
            )
        for old_fk, _ in self.affected_trigger_fks(plan):
            self.drop_trigger_fk(ctx, old_fk, f"drop {old_fk.name} before renaming its tables")
        for table in self.touched_hypertables(plan):
            before = plan.old_table(table.name)
            for cagg in before.timescaledb.continuous_aggregates:
                ctx.add(
                    SAFE,
                    f"drop continuous aggregate {cagg.name} (created again below; derived data)",
                    f"DROP MATERIALIZED VIEW {ctx.q(cagg.name)};",
                )
        for table in plan.old.tables:
            if any(isinstance(o, DropTable) and o.table == table.name for o in plan.ops):
                for fk in table.foreign_keys:
                    if self.into_hypertable(plan.old, fk):
                        self.drop_trigger_fk(ctx, fk, f"drop {fk.name} with {table.name}")

    def trigger_foreign_keys_again(self, ctx: TimescaleContext) -> None:
        for _, fk in self.affected_trigger_fks(ctx.plan):
            for statement in self.stored_trigger_fk(ctx, fk):
                ctx.add(SAFE, f"create {fk.name} again for the renamed names", statement.sql)

    @renders(TimescaleOptions)
    def timescale_options(self, ctx: TimescaleContext, op: Op) -> None:
        t = self.target
        was, now = op.old, op.new
        table = ctx.q(op.table)
        if was is None or now is None:
            raise_unsupported(op.table, "turning a table into a hypertable or back")
        if was.time_column != now.time_column:
            raise_unsupported(op.table, "changing the hypertable's time column")
        if was.chunk_interval != now.chunk_interval:
            ctx.add(
                SAFE,
                f"chunk interval of {op.table}: {was.chunk_interval} -> "
                f"{now.chunk_interval} (new chunks only)",
                "SELECT set_chunk_time_interval("
                f"{t.literal(ctx.stores.get(op.table, op.table))}, "
                f"INTERVAL {t.literal(now.chunk_interval)});",
            )
        if (was.segment_by, was.order_by) != (now.segment_by, now.order_by):
            ctx.add(
                SAFE,
                f"compression settings of {op.table} (compressed chunks keep the old "
                "ones until recompressed)",
                f"ALTER TABLE {table} SET ({t.compression_options(now)});",
            )
        if was.elapsed_as_start != now.elapsed_as_start:
            self.store_elapsed_as_start(ctx, op.table)

    def aggregates_and_views_again(self, ctx: TimescaleContext) -> None:
        t, plan = self.target, ctx.plan
        stored = t.stored_schema(plan.new)
        for table in self.touched_hypertables(plan):
            table = stored.table(ctx.stores.get(table.name, table.name))
            for statement in t.after_table(stored, table):
                if statement.sql.startswith(("CREATE MATERIALIZED VIEW", "COMMENT ON VIEW")):
                    ctx.add(SAFE, "continuous aggregate, as a fresh build makes it", statement.sql)
        for name in ctx.stores:
            for statement in t.view_statements(plan.new.table(name)):
                ctx.add(SAFE, f"the view {name} again, as a fresh build makes it", statement.sql)

    # -- what the plan touches ---------------------------------------------------------------
    def touched_hypertables(self, plan: Plan) -> list[Table]:
        """Hypertables (new names) whose columns change in a way their aggregates see."""
        out = []
        for table in plan.new.hypertables:
            before = plan.old_table(table.name)
            if before is None or before.timescaledb is None:
                continue
            caggs_changed = (
                before.timescaledb.continuous_aggregates != table.timescaledb.continuous_aggregates
            )
            if caggs_changed or any(
                isinstance(op, RenameColumn | DropColumn | AlterType | RenameTable)
                for op in plan.for_table(table.name)
            ):
                out.append(table)
        return out

    def affected_trigger_fks(self, plan: Plan) -> list[tuple[ForeignKey, ForeignKey]]:
        """References into hypertables whose trigger bodies name a renamed table or column:
        (old key, new key) pairs, dropped before the change and created again after."""
        out = []
        renamed = set(plan.renames.tables.values()) | set(plan.renames.columns)
        for fk in plan.new.foreign_keys:
            if not self.into_hypertable(plan.new, fk):
                continue
            if fk.table in renamed or fk.ref_table in renamed:
                old_child = plan.old_table(fk.table)
                old_fk = next(
                    (f for f in (old_child.foreign_keys if old_child else ()) if f.name == fk.name),
                    None,
                )
                if old_fk is not None and not any(
                    isinstance(op, AddForeignKey | DropForeignKey) and op.table == fk.table
                    for op in plan.ops
                ):
                    out.append((old_fk, fk))
        return out

    def into_hypertable(self, schema: Schema, fk: ForeignKey) -> bool:
        ref = schema.table_map.get(fk.ref_table)
        return ref is not None and ref.timescaledb is not None

    # -- references into hypertables: triggers -----------------------------------------------
    def stored_trigger_fk(self, ctx: TimescaleContext, fk: ForeignKey):
        """The trigger statements of a reference, naming the store table where there is one."""
        stored = self.target.stored_schema(ctx.plan.new)
        child = stored.table(ctx.stores.get(fk.table, fk.table))
        fk = next(f for f in child.foreign_keys if f.name == fk.name)
        return self.target.trigger_foreign_key(stored, fk)

    def drop_trigger_fk(self, ctx: TimescaleContext, fk: ForeignKey, what: str) -> None:
        sql = [
            f"DROP TRIGGER IF EXISTS {ctx.q(fk.name)} ON {ctx.q(fk.table)};",
            f"DROP TRIGGER IF EXISTS {ctx.q(fk.name)} ON {ctx.q(fk.ref_table)};",
            f"DROP FUNCTION IF EXISTS {ctx.q(fk.name + '_check')}();",
            f"DROP FUNCTION IF EXISTS {ctx.q(fk.name + '_on_delete')}();",
        ]
        ctx.add(SAFE, what + " (enforced by triggers on TimescaleDB)", "\n".join(sql))

    def drop_foreign_key(self, ctx: TimescaleContext, schema: Schema, fk: ForeignKey, what):
        if self.into_hypertable(schema, fk):
            self.drop_trigger_fk(ctx, fk, what)
        else:
            super().drop_foreign_key(ctx, schema, fk, what)

    def add_foreign_key(self, ctx: TimescaleContext, fk: ForeignKey, safety: str, what) -> None:
        if not self.into_hypertable(ctx.plan.new, fk):
            return super().add_foreign_key(ctx, fk, safety, what)
        q = ctx.q
        cols, refs = self.target.foreign_key_columns(ctx.plan.new, fk)
        match = " AND ".join(f"p.{q(r)} = c.{q(c)}" for c, r in zip(cols, refs, strict=True))
        nulls = " AND ".join(f"c.{q(c)} IS NOT NULL" for c in cols)
        ctx.add(
            safety,
            f"{what}: every existing row must reference a sample",
            "DO $$ BEGIN IF EXISTS (SELECT 1 FROM "
            f"{q(fk.table)} c WHERE {nulls} AND NOT EXISTS (SELECT 1 FROM "
            f"{q(fk.ref_table)} p WHERE {match})) THEN RAISE EXCEPTION "
            f"{self.target.literal('rows of ' + fk.table + ' violate ' + fk.name)} USING "
            "ERRCODE = 'foreign_key_violation'; END IF; END $$;",
        )
        for statement in self.stored_trigger_fk(ctx, fk):
            ctx.add(safety, f"{what} (trigger)", statement.sql)

    @renders(ForeignKeyComment)
    def foreign_key_comment(self, ctx: TimescaleContext, op: Op) -> None:
        fk: ForeignKey = op.new
        if not self.into_hypertable(ctx.plan.new, fk):
            return super().foreign_key_comment(ctx, op)
        text = self.target.prose(
            f"Foreign key enforced by triggers (TimescaleDB): "
            f"ON DELETE {fk.on_delete.upper()}: {fk.why}"
        )
        for table in (fk.table, fk.ref_table):
            ctx.add(
                SAFE,
                f"comment on trigger {fk.name}",
                f"COMMENT ON TRIGGER {ctx.q(fk.name)} ON {ctx.q(table)} IS {text};",
            )

    # -- hypertables: what ALTER TABLE cannot do there ---------------------------------------
    @renders(AddCheck)
    def add_check(self, ctx: TimescaleContext, op: Op) -> None:
        if ctx.plan.new.table(op.table).timescaledb is None:
            return super().add_check(ctx, op)
        # TimescaleDB refuses VALIDATE CONSTRAINT on a hypertable with compression enabled:
        # the CHECK is added validated, scanning every chunk (compressed ones too) at once.
        check: Check = op.new
        risk = f"; at risk: {op.at_risk}" if op.at_risk else ""
        self.refuse_check_violations(ctx, op)
        ctx.add(
            op.safety,
            f"{op.summary}{risk} (validated at once: hypertable)",
            f"ALTER TABLE {ctx.q(op.table)} ADD {self.target.check_sql(check)};",
        )
        self.constraint_comment(ctx, op.table, check.name, check.description)

    @renders(AlterType)
    def alter_type(self, ctx: TimescaleContext, op: Op) -> None:
        """TimescaleDB refuses ALTER COLUMN TYPE on a hypertable (also with every chunk
        decompressed and compression off), so the column is replaced: a new column, a copy,
        the old one dropped (with the CHECKs and indexes that use it), the new one renamed,
        then its NOT NULL, default, CHECKs, indexes and comment as a fresh build has them.
        Compressed chunks stay compressed; the copy rewrites their rows."""
        plan = ctx.plan
        table = plan.new.table(op.table)
        if table.timescaledb is None:
            return super().alter_type(ctx, op)
        t, q, c = self.target, ctx.q, op.column
        ts = table.timescaledb
        keyed = (
            set(self.target.primary_key(table))
            | {x for u in table.uniques for x in u.columns}
            | {x for fk in table.foreign_keys for x in fk.columns}
            | {x for fk in plan.new.references_to(table.name) for x in fk.ref_columns}
            | set(ts.segment_by)
            | {x.split()[0] for x in ts.order_by}
        )
        if c in keyed:
            raise_unsupported(
                op.table,
                f"on TimescaleDB, changing the type of hypertable column {c}, which is part "
                "of a key, a reference or the compression settings",
            )
        temp = f"{c}_retyped"
        ctype = t.column_type(table, op.new)
        risk = f"; at risk: {op.at_risk}" if op.at_risk else ""
        steps = [
            f"ALTER TABLE {q(op.table)} ADD COLUMN {q(temp)} {ctype};",
            f"UPDATE {q(op.table)} SET {q(temp)} = {q(c)}::{ctype};",
            f"ALTER TABLE {q(op.table)} DROP COLUMN {q(c)};",
            f"ALTER TABLE {q(op.table)} RENAME COLUMN {q(temp)} TO {q(c)};",
        ]
        if not op.new.nullable:
            steps.append(f"ALTER TABLE {q(op.table)} ALTER COLUMN {q(c)} SET NOT NULL;")
        if op.new.default is not None:
            steps.append(
                f"ALTER TABLE {q(op.table)} ALTER COLUMN {q(c)} SET DEFAULT "
                f"{t.default_sql(op.new)};"
            )
        ctx.add(
            op.safety,
            f"{op.summary}{risk}; TimescaleDB cannot ALTER COLUMN TYPE on a hypertable: the "
            "column is replaced by a copy (rewrites every row, compressed chunks included, "
            "under an ACCESS EXCLUSIVE lock; the column moves to the end)",
            "\n".join(steps),
        )
        added = {
            o.new.name
            for o in plan.for_table(op.table)
            if isinstance(o, AddCheck | AddIndex | RenameConstraint | RenameIndex)
            and hasattr(o.new, "name")
        }  # those come later in the file anyway
        for check in t.checks(table):
            if check.name in added:
                continue
            if c in check.columns:
                ctx.add(
                    SAFE,
                    f"{check.name} again, on the new column",
                    (f"ALTER TABLE {q(op.table)} ADD {t.check_sql(check)};"),
                )
                self.constraint_comment(ctx, op.table, check.name, check.description)
        for statement in t.index_statements(table):
            index = next(
                i
                for i in table.indexes
                if statement.sql.startswith(
                    f"CREATE {'UNIQUE ' if i.unique else ''}INDEX {q(i.name)} "
                )
            )
            if c in index.columns and index.name not in added:
                ctx.add(SAFE, f"{index.name} again, on the new column", statement.sql)
        ctx.add(
            SAFE,
            f"comment on {op.table}.{c}",
            f"COMMENT ON COLUMN {q(op.table)}.{q(c)} IS {t.prose(t.column_description(op.new))};",
        )

    # -- elapsed_as_start turned on or off ---------------------------------------------------
    def store_elapsed_as_start(self, ctx: TimescaleContext, name: str) -> None:
        """TimescaleDB, elapsed_as_start turned on: the hypertable is renamed to its store
        table, the seconds column becomes the instant it counts from (every row rewritten, to the
        microsecond, compressed chunks included), and the table's name becomes the view that gives
        the column back; the references into it are enforced by triggers on the store."""
        t, q, plan = self.target, ctx.q, ctx.plan
        was = plan.old.table(name).timescaledb.elapsed_as_start
        table = plan.new.table(name)
        elapsed = table.timescaledb.elapsed_as_start
        if was is not None and elapsed is None:
            return self.restore_elapsed(ctx, name, was)
        if was is not None or elapsed is None:
            raise_unsupported(name, "changing elapsed_as_start")
        stored_new = t.stored_schema(plan.new)
        store = stored_new.table(elapsed.store_table)
        time, column, start = (
            q(table.timescaledb.time_column),
            q(elapsed.column),
            q(elapsed.start_column),
        )
        refs = [fk for fk in plan.old.references_to(name)]
        for fk in refs:
            self.drop_trigger_fk(ctx, fk, f"drop {fk.name}: its trigger bodies name {name}")
        s = q(store.name)
        ctx.add(SAFE, f"{name} becomes {store.name}", f"ALTER TABLE {q(name)} RENAME TO {s};")
        ctx.add(
            SAFE,
            f"{elapsed.start_column}: the instant {elapsed.column} counts from",
            f"ALTER TABLE {s} ADD COLUMN {start} timestamptz;\n"
            f"UPDATE {s} SET {start} = {time} - make_interval(secs => {column});\n"
            f"ALTER TABLE {s} ALTER COLUMN {start} SET NOT NULL;",
        )
        for check in store.checks:
            if check.column == elapsed.start_column:
                ctx.add(
                    SAFE,
                    f"{check.name} on {elapsed.start_column} (was on {elapsed.column})",
                    f"ALTER TABLE {s} DROP CONSTRAINT {q(check.name)};\n"
                    f"ALTER TABLE {s} ADD {t.check_sql(check)};",
                )
                self.constraint_comment(ctx, store.name, check.name, check.description)
        ctx.add(
            SAFE,
            f"drop {elapsed.column}: {elapsed.start_column} holds it to the microsecond",
            f"ALTER TABLE {s} DROP COLUMN {column};",
        )
        for statement in t.comment_statements(store):
            if statement.sql.startswith(
                (f"COMMENT ON TABLE {s} ", f"COMMENT ON COLUMN {s}.{start} ")
            ):
                ctx.add(SAFE, f"comment on {store.name}", statement.sql)
        for statement in t.view_statements(table):
            ctx.add(SAFE, f"the view {name}: {elapsed.column} by its name and type", statement.sql)
        for fk in stored_new.references_to(store.name):
            for statement in t.trigger_foreign_key(stored_new, fk):
                ctx.add(SAFE, f"create {fk.name} again, on {store.name}", statement.sql)

    def restore_elapsed(self, ctx: TimescaleContext, name: str, was) -> None:
        """elapsed_as_start turned off (the down migration): the view goes, the seconds
        column comes back from the start instant, and the store takes the table's name."""
        t, q, plan = self.target, ctx.q, ctx.plan
        stored_old = t.stored_schema(plan.old)
        store = q(was.store_table)
        table = plan.new.table(name)
        time, column, start = (
            q(table.timescaledb.time_column),
            q(was.column),
            q(was.start_column),
        )
        for fk in stored_old.references_to(was.store_table):
            self.drop_trigger_fk(ctx, fk, f"drop {fk.name}: its trigger bodies name the store")
        insert = q(t.view_insert_name(name))
        ctx.add(
            SAFE,
            f"drop the view {name} (the table takes its name again)",
            f"DROP VIEW {q(name)};\nDROP FUNCTION {insert}();",
        )
        ctx.add(
            SAFE,
            f"{was.column} again, from {was.start_column}",
            f"ALTER TABLE {store} ADD COLUMN {column} double precision;\n"
            f"UPDATE {store} SET {column} = extract(epoch FROM {time} - {start})"
            "::double precision;\n"
            f"ALTER TABLE {store} ALTER COLUMN {column} SET NOT NULL;",
        )
        for check in table.checks:
            if check.column == was.column:
                ctx.add(
                    SAFE,
                    f"{check.name} on {was.column} again",
                    f"ALTER TABLE {store} DROP CONSTRAINT {q(check.name)};\n"
                    f"ALTER TABLE {store} ADD {t.check_sql(check)};",
                )
                self.constraint_comment(ctx, was.store_table, check.name, check.description)
        ctx.add(
            SAFE,
            f"drop {was.start_column}",
            f"ALTER TABLE {store} DROP COLUMN {start};\nALTER TABLE {store} RENAME TO {q(name)};",
        )
        for statement in t.comment_statements(table):
            if statement.sql.startswith(
                (f"COMMENT ON TABLE {q(name)} ", f"COMMENT ON COLUMN {q(name)}.{column} ")
            ):
                ctx.add(SAFE, f"comment on {name}", statement.sql)
        for fk in plan.new.references_to(name):
            for statement in t.trigger_foreign_key(plan.new, fk):
                ctx.add(SAFE, f"create {fk.name} again, on {name}", statement.sql)
