"""Turn a `Plan` into reviewable migration files that dbmate runs, one writer per target.

Every statement comes from the DDL target of the same engine (column specs, CHECK and
FOREIGN KEY text, CREATE TABLE blocks, TimescaleDB triggers), so a migrated database and a
fresh build of the new version are made of the same SQL. Each statement is preceded by its
safety label and what it does.

Files per schema version N (dbmate reads the digits before the first '_' as the version):
  {N:04d}00_<name>.sql           the change, in one transaction where the engine allows it
  {N:04d}01_<name>_validate.sql  PostgreSQL/TimescaleDB: VALIDATE CONSTRAINT for every constraint
                                 the first file added NOT VALID, in a second transaction, so the
                                 scan of existing rows does not hold the first file's locks
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from ..model import Check, ForeignKey, Schema, Table
from ..targets import TARGETS
from ..targets.base import Target, header_box, migration_version
from .diff import DESTRUCTIVE, SAFE, VALIDATE, Op, Plan


@dataclass
class Item:
    safety: str
    what: str
    sql: str


@dataclass
class Body:
    items: list[Item] = field(default_factory=list)
    validate: list[Item] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    no_transaction: bool = False  # SQLite rebuild: foreign keys off outside the transaction

    def add(self, safety: str, what: str, sql: str) -> None:
        self.items.append(Item(safety, what, sql))


version_id = migration_version  # the dbmate version of a file: schema version and step


def file_name(version: int, step: int, name: str) -> str:
    return f"{version_id(version, step)}_{name}.sql"


class MigrationWriter:
    target_name = "base"
    cannot = []  # what this engine cannot do online, for the file header

    @property
    def target(self) -> Target:
        return TARGETS[self.target_name]

    def directory(self) -> str:
        return f"sql/{self.target_name}/migrations"

    def q(self, name: str) -> str:
        return self.target.quote(self.stored_name(name))

    def stored_name(self, name: str) -> str:
        """The name the engine holds a model table under (TimescaleDB's store tables)."""
        return name

    def block(self, schema: Schema, table: str):
        """The target's CREATE TABLE block of one table (all blocks rendered once per model)."""
        key = id(schema)
        if self._blocks.get(key, (None,))[0] is not schema:
            self._blocks[key] = (schema, {b.table.name: b for b in self.target.blocks(schema)})
        return copy.copy(self._blocks[key][1][table])

    def __init__(self):
        self._blocks: dict[int, tuple[Schema, dict]] = {}

    # -- files -----------------------------------------------------------------------------
    def render(self, plan: Plan, down: Plan | None, name: str) -> dict[str, str]:
        up = self.body(plan)
        back = self.body(down) if down is not None else None
        version = plan.new.version
        files = {}
        main = [
            *self.header(plan, up, back, name),
            "",
            f"-- migrate:up{' transaction:false' if up.no_transaction else ''}",
            *self.lines(up.items),
            "",
        ]
        if back is not None:
            main += [
                f"-- migrate:down{' transaction:false' if back.no_transaction else ''}",
                *self.lines(back.items + back.validate),
            ]
        else:
            main += [
                "-- migrate:down",
                "-- No down migration: the change loses data (see the destructive operations).",
            ]
        files[f"{self.directory()}/{file_name(version, 0, name)}"] = "\n".join(main) + "\n"
        if up.validate:
            text = [
                f"-- Schema version {plan.old.version} -> {version}, step 2 of 2: validate the "
                f"constraints {file_name(version, 0, name)} added NOT VALID.",
                "-- A separate transaction: VALIDATE CONSTRAINT scans existing rows holding only",
                "-- a SHARE UPDATE EXCLUSIVE lock, so reads and writes go on meanwhile. If it",
                "-- fails, fix the rows it names and run dbmate again; step 1 stays applied.",
                "",
                "-- migrate:up",
                *self.lines(up.validate),
                "",
                "-- migrate:down",
                "-- Nothing to undo: validating changes no definition.",
            ]
            files[f"{self.directory()}/{file_name(version, 1, name + '_validate')}"] = (
                "\n".join(text) + "\n"
            )
        return files

    def lines(self, items: list[Item]) -> list[str]:
        out = []
        for item in items:
            out.append(f"-- [{item.safety}] {item.what}")
            out.append(item.sql)
        return out

    def header(self, plan: Plan, up: Body, down: Body | None, name: str) -> list[str]:
        counts = {s: sum(1 for i in up.items + up.validate if i.safety == s) for s in LABELS}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        lines = [
            f"{plan.new.title}: {self.target.title} migration from schema version "
            f"{plan.old.version} to {plan.new.version} ({name}).",
            "Generated by liam-erd-schema (`make migration`) from two versions of schema.yaml; "
            "review it, do not edit it: change schema.yaml and generate again.",
            f"Apply with dbmate: dbmate --migrations-dir {self.directory()} --url URL "
            "--no-dump-schema migrate",
            "",
            f"Operations: {summary or 'none'}. Labels: [safe] cannot fail and loses nothing; "
            "[needs-validation] existing rows are checked and may stop the migration; "
            "[destructive] may lose data, generated only with --allow-destructive.",
            "Down migration: "
            + ("included." if down is not None else "none (the change loses data)."),
        ]
        if up.notes:
            lines += ["", *up.notes]
        if not up.items:
            lines += [
                "",
                f"Nothing changes in a {self.target.title} database: the change is invisible "
                "to this engine (e.g. a widened type it stores alike, or a description kept "
                "in SQL comments); the file records the version.",
            ]
        if self.cannot:
            lines += ["", f"What {self.target.title} cannot do online:", *self.cannot]
        return ["-- " + line if line else "--" for line in header_box(lines)]

    # -- the body ----------------------------------------------------------------------------
    def body(self, plan: Plan) -> Body:
        raise NotImplementedError


LABELS = (SAFE, VALIDATE, DESTRUCTIVE)


def _strip_block(text: str) -> str:
    return text.rstrip("\n")


class PostgresWriter(MigrationWriter):
    target_name = "postgres"
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

    # hooks the TimescaleDB writer overrides
    def drop_foreign_key(self, plan: Plan, schema: Schema, fk: ForeignKey, body: Body, what):
        body.add(
            SAFE,
            what,
            f"ALTER TABLE {self.q(fk.table)} DROP CONSTRAINT {self.q(fk.name)};",
        )

    def add_foreign_key(self, plan: Plan, fk: ForeignKey, safety: str, body: Body, what):
        t = self.target
        body.add(
            safety,
            what + " (NOT VALID now, validated in the next file)",
            f"ALTER TABLE {self.q(fk.table)} ADD {t.foreign_key_sql(plan.new, fk)} NOT VALID;",
        )
        self.constraint_comment(
            fk.table, fk.name, f"ON DELETE {fk.on_delete.upper()}: {fk.why}", body
        )
        body.validate.append(
            Item(
                safety,
                f"validate {fk.name}",
                f"ALTER TABLE {self.q(fk.table)} VALIDATE CONSTRAINT {self.q(fk.name)};",
            )
        )

    def before_changes(self, plan: Plan, body: Body) -> None:
        pass

    def after_changes(self, plan: Plan, body: Body) -> None:
        pass

    def constraint_comment(self, table: str, name: str, text: str, body: Body) -> None:
        body.add(
            SAFE,
            f"comment on {name}",
            f"COMMENT ON CONSTRAINT {self.q(name)} ON {self.q(table)} IS "
            f"{self.target.literal(text)};",
        )

    def create_table(self, plan: Plan, table: Table, body: Body) -> None:
        block = self.block(plan.new, table.name)
        body.add(SAFE, f"create table {table.name}", _strip_block(self.target.render_block(block)))

    def body(self, plan: Plan) -> Body:
        body = Body()
        t = self.target
        old, new = plan.old, plan.new
        ops = plan.ops
        kinds = lambda *k: [op for op in ops if op.kind in k]  # noqa: E731
        self.before_changes(plan, body)
        # 1. constraints that go away or change, before anything they depend on changes
        for op in kinds("drop_foreign_key"):
            self.drop_foreign_key(plan, old, op.old, body, op.summary)
        for op in kinds("drop_check", "drop_unique"):
            body.add(
                op.safety,
                op.summary,
                f"ALTER TABLE {self.q(op.table)} DROP CONSTRAINT {self.q(op.old.name)};",
            )
        for op in kinds("drop_index"):
            body.add(op.safety, op.summary, f"DROP INDEX {self.q(op.old.name)};")
        for op in reversed(kinds("drop_table")):
            body.add(
                op.safety, f"{op.summary}; at risk: {op.at_risk}", f"DROP TABLE {self.q(op.table)};"
            )
        # 2. renames
        for op in kinds("rename_table"):
            body.add(
                op.safety, op.summary, f"ALTER TABLE {self.q(op.old)} RENAME TO {self.q(op.new)};"
            )
        for op in kinds("rename_column"):
            body.add(
                op.safety,
                op.summary,
                f"ALTER TABLE {self.q(op.table)} RENAME COLUMN {self.q(op.old.name)} TO "
                f"{self.q(op.new.name)};",
            )
        for op in kinds("rename_constraint"):
            body.add(
                op.safety,
                op.summary,
                f"ALTER TABLE {self.q(op.table)} RENAME CONSTRAINT {self.q(op.old)} TO "
                f"{self.q(op.new)};",
            )
        for op in kinds("rename_index"):
            body.add(
                op.safety, op.summary, f"ALTER INDEX {self.q(op.old)} RENAME TO {self.q(op.new)};"
            )
        self.rename_not_null(plan, body)
        # 3. data rewrites for renamed enum values (their old CHECK is gone by now)
        for op in kinds("rename_enum_value"):
            col = self.q(op.column)
            cases = " ".join(f"WHEN {t.literal(a)} THEN {t.literal(b)}" for a, b in op.old.items())
            olds = ", ".join(t.literal(a) for a in op.old)
            body.add(
                op.safety,
                op.summary,
                f"UPDATE {self.q(op.table)} SET {col} = CASE {col} {cases} END "
                f"WHERE {col} IN ({olds});",
            )
        # 4. new tables, in dependency order
        for op in kinds("create_table"):
            self.create_table(plan, op.new, body)
        # 5. columns
        for op in ops:
            table = self.q(op.table)
            if op.kind == "add_column":
                body.add(
                    op.safety,
                    op.summary,
                    f"ALTER TABLE {table} ADD COLUMN {t.column_spec(new.table(op.table), op.new)};",
                )
                body.add(
                    SAFE,
                    f"comment on {op.table}.{op.column}",
                    f"COMMENT ON COLUMN {table}.{self.q(op.column)} IS "
                    f"{t.literal(t.column_description(op.new))};",
                )
            elif op.kind == "alter_type":
                self.alter_type(plan, op, body)
            elif op.kind == "set_not_null":
                body.add(
                    op.safety,
                    op.summary,
                    f"ALTER TABLE {table} ALTER COLUMN {self.q(op.column)} SET NOT NULL;",
                )
            elif op.kind == "drop_not_null":
                body.add(
                    op.safety,
                    op.summary,
                    f"ALTER TABLE {table} ALTER COLUMN {self.q(op.column)} DROP NOT NULL;",
                )
            elif op.kind == "set_default":
                default = (
                    f"SET DEFAULT {t.default_sql(op.new)}"
                    if op.new.default is not None
                    else "DROP DEFAULT"
                )
                body.add(
                    op.safety,
                    op.summary,
                    f"ALTER TABLE {table} ALTER COLUMN {self.q(op.column)} {default};",
                )
        for op in kinds("drop_column"):
            body.add(
                op.safety,
                f"{op.summary}; at risk: {op.at_risk}",
                f"ALTER TABLE {self.q(op.table)} DROP COLUMN {self.q(op.column)};",
            )
        # 6. constraints and indexes that arrive or change
        for op in kinds("primary_key"):
            body.add(
                op.safety,
                op.summary,
                f"ALTER TABLE {self.q(op.table)} DROP CONSTRAINT "
                f"{self.q(op.old.primary_key_name)}, ADD {t.primary_key_sql(op.new)};",
            )
        for op in kinds("add_unique"):
            body.add(
                op.safety,
                op.summary + " (fails on duplicate rows)",
                f"ALTER TABLE {self.q(op.table)} ADD CONSTRAINT {self.q(op.new.name)} UNIQUE "
                f"({t.quote_all(self.unique_columns(new, op))});",
            )
        for op in kinds("add_check"):
            self.add_check(plan, op, body)
        for op in kinds("add_foreign_key"):
            self.add_foreign_key(plan, op.new, op.safety, body, op.summary)
        for op in kinds("add_index"):
            unique = "UNIQUE " if op.new.unique else ""
            body.add(
                op.safety,
                op.summary + " (blocks writes while it builds; see the header)",
                f"CREATE {unique}INDEX IF NOT EXISTS {self.q(op.new.name)} ON "
                f"{self.q(op.table)} ({t.quote_all(op.new.columns)});",
            )
        # 7. comments
        for op in ops:
            if op.kind == "table_comment":
                body.add(
                    op.safety,
                    op.summary,
                    f"COMMENT ON TABLE {self.q(op.table)} IS {t.literal(op.new.description)};",
                )
            elif op.kind == "column_comment":
                body.add(
                    op.safety,
                    op.summary,
                    f"COMMENT ON COLUMN {self.q(op.table)}.{self.q(op.column)} IS "
                    f"{t.literal(t.column_description(op.new))};",
                )
            elif op.kind == "check_comment":
                self.constraint_comment(op.table, op.new.name, op.new.description, body)
            elif op.kind == "foreign_key_comment":
                self.comment_foreign_key(plan, op.new, body)
        self.after_changes(plan, body)
        return body

    def alter_type(self, plan: Plan, op: Op, body: Body) -> None:
        ctype = self.target.column_type(plan.new.table(op.table), op.new)
        body.add(
            op.safety,
            f"{op.summary}; cost: rewrites {op.table} and its indexes under an "
            "ACCESS EXCLUSIVE lock" + (f"; at risk: {op.at_risk}" if op.at_risk else ""),
            f"ALTER TABLE {self.q(op.table)} ALTER COLUMN {self.q(op.column)} TYPE {ctype} "
            f"USING {self.q(op.column)}::{ctype};",
        )

    def comment_foreign_key(self, plan: Plan, fk: ForeignKey, body: Body) -> None:
        self.constraint_comment(
            fk.table, fk.name, f"ON DELETE {fk.on_delete.upper()}: {fk.why}", body
        )

    def unique_columns(self, schema: Schema, op: Op):
        return dict(self.target.unique_constraints(schema.table(op.table)))[op.new.name]

    def add_check(self, plan: Plan, op: Op, body: Body) -> None:
        check: Check = op.new
        risk = f"; at risk: {op.at_risk}" if op.at_risk else ""
        body.add(
            op.safety,
            f"{op.summary}{risk} (NOT VALID now, validated in the next file)",
            f"ALTER TABLE {self.q(op.table)} ADD {self.target.check_sql(check)} NOT VALID;",
        )
        self.constraint_comment(op.table, check.name, check.description, body)
        body.validate.append(
            Item(
                op.safety,
                f"validate {check.name}",
                f"ALTER TABLE {self.q(op.table)} VALIDATE CONSTRAINT {self.q(check.name)};",
            )
        )

    def rename_not_null(self, plan: Plan, body: Body) -> None:
        """PostgreSQL 18 keeps NOT NULL constraints named <table>_<column>_not_null; after a
        rename they keep the old name unless renamed too. Earlier versions have none."""
        pairs = []
        for op in plan.ops:
            if op.kind == "rename_table":
                for column in plan.new.table(op.new).columns:
                    was = {v: k for k, v in plan.renames.columns.get(op.new, {}).items()}.get(
                        column.name, column.name
                    )
                    pairs.append(
                        (op.new, f"{op.old}_{was}_not_null", f"{op.new}_{column.name}_not_null")
                    )
            elif op.kind == "rename_column" and op.table not in plan.renames.tables.values():
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
            body.add(
                SAFE,
                f"PostgreSQL 18+: rename NOT NULL constraint {was} to {now}",
                "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_constraint WHERE conname = "
                f"{self.target.literal(was)} AND conrelid = "
                f"{self.target.literal(self.stored_name(table))}::regclass) "
                f"THEN ALTER TABLE {self.q(table)} RENAME CONSTRAINT {self.q(was)} TO "
                f"{self.q(now)}; END IF; END $$;",
            )


class TimescaleWriter(PostgresWriter):
    target_name = "timescaledb"
    stores: dict[str, str] = {}  # model table -> its store table (elapsed_as_start, both sides)

    def body(self, plan: Plan) -> Body:
        """A table stored under another name (elapsed_as_start, in both versions) is changed
        under that name, its view dropped before the changes and created again after them."""
        self.stores = {
            t.name: t.timescaledb.elapsed_as_start.store_table
            for t in plan.new.hypertables
            if t.timescaledb.elapsed_as_start
            and (old := plan.old_table(t.name)) is not None
            and old.timescaledb is not None
            and old.timescaledb.elapsed_as_start == t.timescaledb.elapsed_as_start
            and plan.for_table(t.name)
        }
        for name in self.stores:
            column = plan.new.table(name).timescaledb.elapsed_as_start.column
            for op in plan.for_table(name):
                names = {op.column, *(getattr(o, "name", None) for o in (op.old, op.new))}
                if op.kind != "timescaledb" and column in names:
                    self.stores = {}
                    raise_unsupported(
                        name,
                        f"changing {column}, which TimescaleDB stores as "
                        f"{plan.new.table(name).timescaledb.elapsed_as_start.start_column}",
                    )
        try:
            return super().body(plan)
        finally:
            self.stores = {}

    def stored_name(self, name: str) -> str:
        return self.stores.get(name, name)

    def stored_trigger_fk(self, plan: Plan, fk: ForeignKey):
        """The trigger statements of a reference, naming the store table where there is one."""
        stored = self.target.stored_schema(plan.new)
        child = stored.table(self.stores.get(fk.table, fk.table))
        fk = next(f for f in child.foreign_keys if f.name == fk.name)
        return self.target.trigger_foreign_key(stored, fk)

    def store_elapsed_as_start(self, plan: Plan, name: str, body: Body) -> None:
        """TimescaleDB, elapsed_as_start turned on: the hypertable is renamed to its store
        table, the seconds column becomes the instant it counts from (every row rewritten, to the
        microsecond, compressed chunks included), and the table's name becomes the view that gives
        the column back; the references into it are enforced by triggers on the store."""
        t, q = self.target, self.q
        was = plan.old.table(name).timescaledb.elapsed_as_start
        table = plan.new.table(name)
        elapsed = table.timescaledb.elapsed_as_start
        if was is not None and elapsed is None:
            return self.restore_elapsed(plan, name, was, body)
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
            self.drop_trigger_fk(fk, body, f"drop {fk.name}: its trigger bodies name {name}")
        s = q(store.name)
        body.add(SAFE, f"{name} becomes {store.name}", f"ALTER TABLE {q(name)} RENAME TO {s};")
        body.add(
            SAFE,
            f"{elapsed.start_column}: the instant {elapsed.column} counts from",
            f"ALTER TABLE {s} ADD COLUMN {start} timestamptz;\n"
            f"UPDATE {s} SET {start} = {time} - make_interval(secs => {column});\n"
            f"ALTER TABLE {s} ALTER COLUMN {start} SET NOT NULL;",
        )
        for check in store.checks:
            if check.column == elapsed.start_column:
                body.add(
                    SAFE,
                    f"{check.name} on {elapsed.start_column} (was on {elapsed.column})",
                    f"ALTER TABLE {s} DROP CONSTRAINT {q(check.name)};\n"
                    f"ALTER TABLE {s} ADD {t.check_sql(check)};",
                )
                self.constraint_comment(store.name, check.name, check.description, body)
        body.add(
            SAFE,
            f"drop {elapsed.column}: {elapsed.start_column} holds it to the microsecond",
            f"ALTER TABLE {s} DROP COLUMN {column};",
        )
        for statement in t.comment_statements(store):
            if statement.sql.startswith(
                (f"COMMENT ON TABLE {s} ", f"COMMENT ON COLUMN {s}.{start} ")
            ):
                body.add(SAFE, f"comment on {store.name}", statement.sql)
        for statement in t.view_statements(table):
            body.add(SAFE, f"the view {name}: {elapsed.column} by its name and type", statement.sql)
        for fk in stored_new.references_to(store.name):
            for statement in t.trigger_foreign_key(stored_new, fk):
                body.add(SAFE, f"create {fk.name} again, on {store.name}", statement.sql)

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

    def restore_elapsed(self, plan: Plan, name: str, was, body: Body) -> None:
        """elapsed_as_start turned off (the down migration): the view goes, the seconds
        column comes back from the start instant, and the store takes the table's name."""
        t, q = self.target, self.q
        stored_old = t.stored_schema(plan.old)
        store = q(was.store_table)
        table = plan.new.table(name)
        time, column, start = (
            q(table.timescaledb.time_column),
            q(was.column),
            q(was.start_column),
        )
        for fk in stored_old.references_to(was.store_table):
            self.drop_trigger_fk(fk, body, f"drop {fk.name}: its trigger bodies name the store")
        insert = q(t.view_insert_name(name))
        body.add(
            SAFE,
            f"drop the view {name} (the table takes its name again)",
            f"DROP VIEW {q(name)};\nDROP FUNCTION {insert}();",
        )
        body.add(
            SAFE,
            f"{was.column} again, from {was.start_column}",
            f"ALTER TABLE {store} ADD COLUMN {column} double precision;\n"
            f"UPDATE {store} SET {column} = extract(epoch FROM {time} - {start})"
            "::double precision;\n"
            f"ALTER TABLE {store} ALTER COLUMN {column} SET NOT NULL;",
        )
        for check in table.checks:
            if check.column == was.column:
                body.add(
                    SAFE,
                    f"{check.name} on {was.column} again",
                    f"ALTER TABLE {store} DROP CONSTRAINT {q(check.name)};\n"
                    f"ALTER TABLE {store} ADD {t.check_sql(check)};",
                )
                self.constraint_comment(was.store_table, check.name, check.description, body)
        body.add(
            SAFE,
            f"drop {was.start_column}",
            f"ALTER TABLE {store} DROP COLUMN {start};\nALTER TABLE {store} RENAME TO {q(name)};",
        )
        for statement in t.comment_statements(table):
            if statement.sql.startswith(
                (f"COMMENT ON TABLE {q(name)} ", f"COMMENT ON COLUMN {q(name)}.{column} ")
            ):
                body.add(SAFE, f"comment on {name}", statement.sql)
        for fk in plan.new.references_to(name):
            for statement in t.trigger_foreign_key(plan.new, fk):
                body.add(SAFE, f"create {fk.name} again, on {name}", statement.sql)

    def into_hypertable(self, schema: Schema, fk: ForeignKey) -> bool:
        ref = schema.table_map.get(fk.ref_table)
        return ref is not None and ref.timescaledb is not None

    def drop_trigger_fk(self, fk: ForeignKey, body: Body, what: str):
        sql = [
            f"DROP TRIGGER IF EXISTS {self.q(fk.name)} ON {self.q(fk.table)};",
            f"DROP TRIGGER IF EXISTS {self.q(fk.name)} ON {self.q(fk.ref_table)};",
            f"DROP FUNCTION IF EXISTS {self.q(fk.name + '_check')}();",
            f"DROP FUNCTION IF EXISTS {self.q(fk.name + '_on_delete')}();",
        ]
        body.add(SAFE, what + " (enforced by triggers on TimescaleDB)", "\n".join(sql))

    def drop_foreign_key(self, plan, schema, fk, body, what):
        if self.into_hypertable(schema, fk):
            self.drop_trigger_fk(fk, body, what)
        else:
            super().drop_foreign_key(plan, schema, fk, body, what)

    def add_foreign_key(self, plan, fk, safety, body, what):
        if not self.into_hypertable(plan.new, fk):
            return super().add_foreign_key(plan, fk, safety, body, what)
        cols, refs = self.target.foreign_key_columns(plan.new, fk)
        match = " AND ".join(
            f"p.{self.q(r)} = c.{self.q(c)}" for c, r in zip(cols, refs, strict=True)
        )
        nulls = " AND ".join(f"c.{self.q(c)} IS NOT NULL" for c in cols)
        body.add(
            safety,
            f"{what}: every existing row must reference a sample",
            "DO $$ BEGIN IF EXISTS (SELECT 1 FROM "
            f"{self.q(fk.table)} c WHERE {nulls} AND NOT EXISTS (SELECT 1 FROM "
            f"{self.q(fk.ref_table)} p WHERE {match})) THEN RAISE EXCEPTION "
            f"{self.target.literal('rows of ' + fk.table + ' violate ' + fk.name)} USING "
            "ERRCODE = 'foreign_key_violation'; END IF; END $$;",
        )
        for statement in self.stored_trigger_fk(plan, fk):
            body.add(safety, f"{what} (trigger)", statement.sql)

    def comment_foreign_key(self, plan, fk, body):
        if not self.into_hypertable(plan.new, fk):
            return super().comment_foreign_key(plan, fk, body)
        text = self.target.literal(
            f"Foreign key enforced by triggers (TimescaleDB): "
            f"ON DELETE {fk.on_delete.upper()}: {fk.why}"
        )
        for table in (fk.table, fk.ref_table):
            body.add(
                SAFE,
                f"comment on trigger {fk.name}",
                f"COMMENT ON TRIGGER {self.q(fk.name)} ON {self.q(table)} IS {text};",
            )

    def add_check(self, plan: Plan, op: Op, body: Body) -> None:
        if plan.new.table(op.table).timescaledb is None:
            return super().add_check(plan, op, body)
        # TimescaleDB refuses VALIDATE CONSTRAINT on a hypertable with compression enabled:
        # the CHECK is added validated, scanning every chunk (compressed ones too) at once.
        check: Check = op.new
        risk = f"; at risk: {op.at_risk}" if op.at_risk else ""
        body.add(
            op.safety,
            f"{op.summary}{risk} (validated at once: hypertable)",
            f"ALTER TABLE {self.q(op.table)} ADD {self.target.check_sql(check)};",
        )
        self.constraint_comment(op.table, check.name, check.description, body)

    def alter_type(self, plan: Plan, op: Op, body: Body) -> None:
        """TimescaleDB refuses ALTER COLUMN TYPE on a hypertable (also with every chunk
        decompressed and compression off), so the column is replaced: a new column, a copy,
        the old one dropped (with the CHECKs and indexes that use it), the new one renamed,
        then its NOT NULL, default, CHECKs, indexes and comment as a fresh build has them.
        Compressed chunks stay compressed; the copy rewrites their rows."""
        table = plan.new.table(op.table)
        if table.timescaledb is None:
            return super().alter_type(plan, op, body)
        t, q, c = self.target, self.q, op.column
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
        body.add(
            op.safety,
            f"{op.summary}{risk}; TimescaleDB cannot ALTER COLUMN TYPE on a hypertable: the "
            "column is replaced by a copy (rewrites every row, compressed chunks included, "
            "under an ACCESS EXCLUSIVE lock; the column moves to the end)",
            "\n".join(steps),
        )
        added = {
            o.new.name
            for o in plan.for_table(op.table)
            if o.kind in ("add_check", "add_index", "rename_constraint", "rename_index")
            and hasattr(o.new, "name")
        }  # those come later in the file anyway
        for check in t.checks(table):
            if check.name in added:
                continue
            if c in {col.name for col in _columns_of(check.expression)}:
                body.add(
                    SAFE,
                    f"{check.name} again, on the new column",
                    (f"ALTER TABLE {q(op.table)} ADD {t.check_sql(check)};"),
                )
                self.constraint_comment(op.table, check.name, check.description, body)
        for statement in t.index_statements(table):
            index = next(
                i
                for i in table.indexes
                if statement.sql.startswith(
                    f"CREATE {'UNIQUE ' if i.unique else ''}INDEX {q(i.name)} "
                )
            )
            if c in index.columns and index.name not in added:
                body.add(SAFE, f"{index.name} again, on the new column", statement.sql)
        body.add(
            SAFE,
            f"comment on {op.table}.{c}",
            f"COMMENT ON COLUMN {q(op.table)}.{q(c)} IS {t.literal(t.column_description(op.new))};",
        )

    def touched_hypertables(self, plan: Plan) -> list[Table]:
        """Hypertables (new names) whose columns change in a way their aggregates see."""
        out = []
        for table in plan.new.hypertables:
            before = plan.old_table(table.name)
            if before is None or before.timescaledb is None:
                continue
            kinds = {op.kind for op in plan.for_table(table.name)}
            caggs_changed = (
                before.timescaledb.continuous_aggregates != table.timescaledb.continuous_aggregates
            )
            if caggs_changed or kinds & {
                "rename_column",
                "drop_column",
                "alter_type",
                "rename_table",
            }:
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
                    op.kind in ("add_foreign_key", "drop_foreign_key") and op.table == fk.table
                    for op in plan.ops
                ):
                    out.append((old_fk, fk))
        return out

    def before_changes(self, plan: Plan, body: Body) -> None:
        t = self.target
        for name in self.stores:
            body.add(
                SAFE,
                f"drop the view {name} (created again below, over the changed {self.stores[name]})",
                f"DROP VIEW {t.quote(name)};\nDROP FUNCTION {t.quote(t.view_insert_name(name))}();",
            )
        for old_fk, _ in self.affected_trigger_fks(plan):
            self.drop_trigger_fk(old_fk, body, f"drop {old_fk.name} before renaming its tables")
        for table in self.touched_hypertables(plan):
            before = plan.old_table(table.name)
            for cagg in before.timescaledb.continuous_aggregates:
                body.add(
                    SAFE,
                    f"drop continuous aggregate {cagg.name} (created again below; derived data)",
                    f"DROP MATERIALIZED VIEW {self.q(cagg.name)};",
                )
        for table in plan.old.tables:
            if any(o.kind == "drop_table" and o.table == table.name for o in plan.ops):
                for fk in table.foreign_keys:
                    if self.into_hypertable(plan.old, fk):
                        self.drop_trigger_fk(fk, body, f"drop {fk.name} with {table.name}")

    def after_changes(self, plan: Plan, body: Body) -> None:
        t = self.target
        for _, fk in self.affected_trigger_fks(plan):
            for statement in self.stored_trigger_fk(plan, fk):
                body.add(SAFE, f"create {fk.name} again for the renamed names", statement.sql)
        for op in plan.ops:
            if op.kind != "timescaledb":
                continue
            was, now = op.old, op.new
            table = self.q(op.table)
            if was is None or now is None:
                raise_unsupported(op.table, "turning a table into a hypertable or back")
            if was.time_column != now.time_column:
                raise_unsupported(op.table, "changing the hypertable's time column")
            if was.chunk_interval != now.chunk_interval:
                body.add(
                    SAFE,
                    f"chunk interval of {op.table}: {was.chunk_interval} -> "
                    f"{now.chunk_interval} (new chunks only)",
                    "SELECT set_chunk_time_interval("
                    f"{t.literal(self.stores.get(op.table, op.table))}, "
                    f"INTERVAL {t.literal(now.chunk_interval)});",
                )
            if (was.segment_by, was.order_by) != (now.segment_by, now.order_by):
                body.add(
                    SAFE,
                    f"compression settings of {op.table} (compressed chunks keep the old "
                    "ones until recompressed)",
                    f"ALTER TABLE {table} SET ({self.target.compression_options(now)});",
                )
            if was.elapsed_as_start != now.elapsed_as_start:
                self.store_elapsed_as_start(plan, op.table, body)
        stored = t.stored_schema(plan.new)
        for table in self.touched_hypertables(plan):
            table = stored.table(self.stores.get(table.name, table.name))
            for statement in t.after_table(stored, table):
                if statement.sql.startswith(("CREATE MATERIALIZED VIEW", "COMMENT ON VIEW")):
                    body.add(SAFE, "continuous aggregate, as a fresh build makes it", statement.sql)
        for name in self.stores:
            for statement in t.view_statements(plan.new.table(name)):
                body.add(SAFE, f"the view {name} again, as a fresh build makes it", statement.sql)


def _columns_of(expression: str):
    import sqlglot
    from sqlglot import exp

    return list(sqlglot.parse_one(expression, read="postgres").find_all(exp.Column))


def raise_unsupported(table: str, what: str):
    from .diff import MigrationError

    raise MigrationError(f"table '{table}': {what} is not generated; write that step by hand")


_COMMENT = re.compile(r"--[^\n]*")


def sqlite_normal(sql: str) -> str:
    """CREATE TABLE text without SQL comments, quotes and layout: what SQLite enforces."""
    text = _COMMENT.sub("", sql).replace('"', "")
    return re.sub(r"\s+", " ", text).replace("( ", "(").replace(" )", ")").strip()


class SqliteWriter(MigrationWriter):
    target_name = "sqlite"
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

    def create_text(self, schema: Schema, table: Table, name: str | None = None) -> str:
        block = self.block(schema, table.name)
        block.after = []
        from ..targets.base import layout_table

        return _strip_block(layout_table(block, self.q(name or table.name)))

    def fast_add_columns(self, plan: Plan, table: Table) -> list[Op] | None:
        """The added columns, when ALTER TABLE ADD COLUMN alone reaches the new table."""
        ops = plan.for_table(table.name)
        allowed = {
            "add_column",
            "add_check",
            "table_comment",
            "column_comment",
            "check_comment",
            "foreign_key_comment",
            "add_index",
            "drop_index",
            "rename_index",
        }
        if any(op.kind not in allowed for op in ops):
            return None
        added = [op for op in ops if op.kind == "add_column"]
        names = {op.column for op in added}
        for op in added:
            if not (op.new.nullable or op.new.default is not None):
                return None
            if table.foreign_key_of(op.column) is not None:
                return None
        if any(op.kind == "add_check" and op.new.column not in names for op in ops):
            return None
        if any(op.kind == "add_check" and op.new.kind == "explicit" for op in ops):
            return None
        return added

    def body(self, plan: Plan) -> Body:
        body = Body()
        t = self.target
        old, new = plan.old, plan.new
        rebuild: list[Table] = []
        fast: dict[str, list[Op]] = {}
        for table in new.tables:
            before = plan.old_table(table.name)
            if before is None:
                continue
            renamed_cols = bool(plan.renames.columns.get(table.name))
            same = not renamed_cols and sqlite_normal(
                self.create_text(old, before, table.name)
            ) == sqlite_normal(self.create_text(new, table))
            if same:
                continue
            added = None if renamed_cols else self.fast_add_columns(plan, table)
            if added is not None:
                fast[table.name] = added
            else:
                rebuild.append(table)
        drops = [op for op in plan.ops if op.kind == "drop_table"]
        body.no_transaction = bool(rebuild or drops)
        if body.no_transaction:
            body.add(
                SAFE,
                "foreign keys off, outside the transaction (a no-op inside one): dropping or "
                "rebuilding a parent must not cascade to its children",
                "PRAGMA foreign_keys = OFF;",
            )
            body.add(SAFE, "one transaction for the whole change", "BEGIN;")
        for op in plan.ops:
            if op.kind == "rename_table":
                body.add(
                    op.safety,
                    op.summary + " (references in other tables follow)",
                    f"ALTER TABLE {self.q(op.old)} RENAME TO {self.q(op.new)};",
                )
        for op in plan.ops:
            if op.kind == "drop_index" or (
                op.kind == "rename_index" and op.table not in {r.name for r in rebuild}
            ):
                name = op.old.name if op.kind == "drop_index" else op.old
                body.add(op.safety, op.summary, f"DROP INDEX {self.q(name)};")
        for op in drops:
            body.add(
                op.safety, f"{op.summary}; at risk: {op.at_risk}", f"DROP TABLE {self.q(op.table)};"
            )
        for op in plan.ops:
            if op.kind == "create_table":
                block = self.block(new, op.table)
                body.add(op.safety, op.summary, _strip_block(t.render_block(block)))
        for name, added in fast.items():
            table = new.table(name)
            checks = {c.column: [] for c in t.checks(table)}
            for check in t.checks(table):
                checks[check.column].append(check)
            for op in added:
                extra = "".join(f" {t.check_sql(c)}" for c in checks.get(op.column, []))
                body.add(
                    op.safety,
                    op.summary,
                    f"ALTER TABLE {self.q(name)} ADD COLUMN {t.column_spec(table, op.new)}{extra};",
                )
        for table in rebuild:
            self.rebuild(plan, table, body)
        rebuilt = {r.name for r in rebuild}
        for op in plan.ops:
            if op.kind in ("add_index", "rename_index") and op.table not in rebuilt:
                index = next(
                    i
                    for i in new.table(op.table).indexes
                    if i.name == (op.new if op.kind == "rename_index" else op.new.name)
                )
                unique = "UNIQUE " if index.unique else ""
                body.add(
                    op.safety,
                    op.summary,
                    f"CREATE {unique}INDEX {self.q(index.name)} ON {self.q(op.table)} "
                    f"({t.quote_all(index.columns)});",
                )
        destructive_notes = [
            op for op in plan.ops if op.kind in ("drop_column", "alter_type") and op.at_risk
        ]
        for op in destructive_notes:
            body.notes.append(f"{op.safety}: {op.summary}; at risk: {op.at_risk}")
        if body.no_transaction:
            body.add(
                SAFE,
                "PRAGMA foreign_key_check must report nothing, or the insert below fails and "
                "nothing is committed",
                "CREATE TEMP TABLE migration_foreign_key_check (problems INTEGER NOT NULL "
                "CHECK (problems = 0));\n"
                "INSERT INTO migration_foreign_key_check SELECT count(*) FROM "
                "pragma_foreign_key_check;\n"
                "DROP TABLE migration_foreign_key_check;",
            )
            body.add(SAFE, "commit the change", "COMMIT;")
            body.add(SAFE, "foreign keys on again", "PRAGMA foreign_keys = ON;")
        return body

    def rebuild(self, plan: Plan, table: Table, body: Body) -> None:
        t = self.target
        before = plan.old_table(table.name)
        temp = f"new_{table.name}"
        ops = plan.for_table(table.name)
        safety = max((op.safety for op in ops), key=LABELS.index, default=SAFE)
        reasons = "; ".join(op.summary for op in ops if not op.kind.endswith("comment"))
        body.add(
            safety,
            f"rebuild {table.name} (SQLite's ALTER TABLE cannot: {reasons}): new table",
            self.create_text(plan.new, table, temp),
        )
        old_of_new = {v: k for k, v in plan.renames.columns.get(table.name, {}).items()}
        enum_ops = {op.column: op.old for op in ops if op.kind == "rename_enum_value"}
        targets, sources = [], []
        for column in table.columns:
            was = old_of_new.get(column.name, column.name)
            if was not in before.column_map:
                continue  # a new column: its default or NULL
            source = self.q(was)
            if column.name in enum_ops:
                cases = " ".join(
                    f"WHEN {t.literal(a)} THEN {t.literal(b)}"
                    for a, b in enum_ops[column.name].items()
                )
                source = f"CASE {source} {cases} ELSE {source} END"
            targets.append(self.q(column.name))
            sources.append(source)
        body.add(
            safety,
            f"copy every row of {table.name}",
            f"INSERT INTO {self.q(temp)} ({', '.join(targets)})\n"
            f"    SELECT {', '.join(sources)} FROM {self.q(table.name)};",
        )
        body.add(SAFE, f"drop the old {table.name}", f"DROP TABLE {self.q(table.name)};")
        body.add(
            SAFE,
            f"the new table takes the name {table.name}",
            f"ALTER TABLE {self.q(temp)} RENAME TO {self.q(table.name)};",
        )
        for statement in t.index_statements(table):
            body.add(SAFE, f"index of {table.name}, created again", statement.sql)


WRITERS: dict[str, MigrationWriter] = {
    w.target_name: w for w in (PostgresWriter(), SqliteWriter(), TimescaleWriter())
}
