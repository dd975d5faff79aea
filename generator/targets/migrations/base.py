"""What every migration writer shares: the files, their header, and the dispatch of operations.

Shaped like alembic's autogenerate. A writer renders each operation with the method registered
for the operation's class (`@renders(AddColumn)`, alembic's `renderers.dispatch_for`); a
subclass inherits its parent's table and overrides a method like any other (the TimescaleDB
writer is the PostgreSQL writer with a few methods replaced). The order statements take is the
writer's `passes`: each pass renders the plan's operations of some classes, in plan order, or
runs a step over the whole plan. Everything one rendering learns or builds lives on its
`MigrationContext` (alembic's `AutogenContext`), never on the writer, so a writer holds no
state between runs.

A target reaches its writer with `Target.migration_writer()`; `TARGETS` stays the only place a
target is chosen by name. Adding an engine's migrations is one subclass of `MigrationWriter`:
its `passes`, a renderer per operation class, and the header lines saying what it cannot do.

Files per schema version N (dbmate reads the digits before the first '_' as the version):
  {N:04d}00_<name>.sql           the change, in one transaction where the engine allows it
  {N:04d}01_<name>_validate.sql  PostgreSQL/TimescaleDB with --two-step only: VALIDATE
                                 CONSTRAINT for every constraint the first file added NOT VALID,
                                 in a second transaction, so the scan of existing rows does not
                                 hold the first file's locks

Before a narrowing (a CHECK added or narrowed, NOT NULL set) each writer checks the existing rows
with the same predicate (`refuse_violations`) and stops the transaction with the count and the
first keys of the rows that break it, so a refused migration changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from ...model import Schema
from ...plan.diff import MigrationError, Plan
from ...plan.ops import LABELS, Op
from ..base import TableBlock, header_box, migration_version

if TYPE_CHECKING:
    from ..base import Target

version_id = migration_version  # the dbmate version of a file: schema version and step


def file_name(version: int, step: int, name: str) -> str:
    return f"{version_id(version, step)}_{name}.sql"


@dataclass
class Item:
    safety: str
    what: str
    sql: str


class Blocks:
    """The target's CREATE TABLE blocks of each model one `render` meets, built once (the up
    and the down migration render both versions)."""

    def __init__(self, target: Target):
        self.target = target
        self._by_schema: dict[int, tuple[Schema, dict[str, TableBlock]]] = {}

    def get(self, schema: Schema, table: str) -> TableBlock:
        """A copy of one table's block (a writer may trim it)."""
        key = id(schema)
        if self._by_schema.get(key, (None,))[0] is not schema:
            blocks = {b.table.name: b for b in self.target.blocks(schema)}
            self._by_schema[key] = (schema, blocks)
        return copy.copy(self._by_schema[key][1][table])


@dataclass
class MigrationContext:
    """One rendering of one plan by one writer: what it reads and what it has written so far.
    A writer with facts of its own per run (TimescaleDB's store tables, SQLite's rebuilt
    tables) subclasses it and names the subclass in `MigrationWriter.context_class`."""

    plan: Plan
    target: Target
    blocks: Blocks
    items: list[Item] = field(default_factory=list)
    validate: list[Item] = field(default_factory=list)  # for the second file (NOT VALID)
    notes: list[str] = field(default_factory=list)  # for the header
    no_transaction: bool = False  # SQLite rebuild: foreign keys off outside the transaction
    two_step: bool = False  # PostgreSQL: new constraints NOT VALID, validated in a second file

    def add(self, safety: str, what: str, sql: str) -> None:
        self.items.append(Item(safety, what, sql))

    def stored_name(self, name: str) -> str:
        """The name the engine holds a model table under (TimescaleDB's store tables)."""
        return name

    def q(self, name: str) -> str:
        """A table, column or constraint name as this run writes it."""
        return self.target.quote(self.stored_name(name))

    def block(self, schema: Schema, table: str) -> TableBlock:
        return self.blocks.get(schema, table)


def renders(*op_classes: type[Op]) -> Callable:
    """Register the decorated writer method as the renderer of these operation classes:
    `method(self, ctx, op)`. Collected per class by `MigrationWriter.__init_subclass__`."""

    def mark(method):
        method.renders = (*getattr(method, "renders", ()), *op_classes)
        return method

    return mark


class Pass:
    """Render the plan's operations of these classes, in plan order (or reversed), each by the
    method registered for its class, or all by the method named `via` (an engine that does one
    operation in two places: SQLite drops a renamed index early and creates it late)."""

    def __init__(self, *classes: type[Op], reverse: bool = False, via: str | None = None):
        self.classes = classes
        self.reverse = reverse
        self.via = via

    def run(self, writer: MigrationWriter, ctx: MigrationContext) -> None:
        selected = [op for op in ctx.plan.ops if type(op) in self.classes]
        for op in reversed(selected) if self.reverse else selected:
            if self.via:
                getattr(writer, self.via)(ctx, op)
            else:
                writer.render_op(ctx, op)


@dataclass(frozen=True)
class Step:
    """Run a writer method over the whole plan: `method(self, ctx)`."""

    method: str

    def run(self, writer: MigrationWriter, ctx: MigrationContext) -> None:
        getattr(writer, self.method)(ctx)


class MigrationWriter:
    """Writes one engine's migration files from a plan (see the module's docstring)."""

    context_class: ClassVar[type[MigrationContext]] = MigrationContext
    passes: ClassVar[tuple[Pass | Step, ...]] = ()
    cannot: ClassVar[list[str]] = []  # what this engine cannot do online, for the file header
    # Operation classes no pass renders one by one, on purpose: what this engine does not see
    # (another engine's options), or what it renders per table (SQLite's rebuilds).
    ignores: ClassVar[tuple[type[Op], ...]] = ()
    # operation class -> name of the method rendering it; merged from the parents
    renderers: ClassVar[dict[type[Op], str]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        table = dict(cls.renderers)
        for name, member in vars(cls).items():
            for op_class in getattr(member, "renders", ()):
                table[op_class] = name
        cls.renderers = table

    def __init__(self, target: Target):
        self.target = target

    def directory(self) -> str:
        return f"sql/{self.target.name}/migrations"

    def render_op(self, ctx: MigrationContext, op: Op) -> None:
        method = self.renderers.get(type(op))
        if method is None:  # a kind of change added to plan/ops.py without a renderer here
            raise MigrationError(
                f"table '{op.table}': {op.summary}: the {self.target.title} migration writer "
                f"has no renderer for {type(op).__name__}"
            )
        getattr(self, method)(ctx, op)

    def rendered_classes(self) -> set[type[Op]]:
        """The operation classes this writer's passes render."""
        return {c for p in self.passes if isinstance(p, Pass) for c in p.classes}

    # -- one direction -------------------------------------------------------------------------
    def context(self, plan: Plan, blocks: Blocks) -> MigrationContext:
        return self.context_class(plan, self.target, blocks)

    def body(self, plan: Plan, blocks: Blocks, two_step: bool = False) -> MigrationContext:
        """The statements of one direction: every pass, in order, on a fresh context."""
        ctx = self.context(plan, blocks)
        ctx.two_step = two_step
        for step in self.passes:
            step.run(self, ctx)
        return ctx

    # -- files -----------------------------------------------------------------------------------
    def render(
        self,
        plan: Plan,
        down: Plan | None,
        name: str,
        *,
        two_step: bool = False,
        irreversible: str = "",
    ) -> dict[str, str]:
        """The files of one version. `down` None: the down migration fails, saying why
        (`irreversible`), instead of an empty one that reports success."""
        blocks = Blocks(self.target)
        up = self.body(plan, blocks, two_step)
        back = self.body(down, blocks) if down is not None else None
        version = plan.new.version
        files = {}
        reason = (
            f"schema version {version} cannot be rolled back to {plan.old.version}: "
            f"{irreversible or 'the change loses data'}; restore a backup taken before "
            "the migration"
        )
        main = [*self.header(plan, up, back, name), "", *self.sections(up, back, reason)]
        files[f"{self.directory()}/{file_name(version, 0, name)}"] = "\n".join(main) + "\n"
        if up.validate:
            text = [
                f"-- Schema version {plan.old.version} -> {version}, step 2 of 2 (--two-step): "
                f"validate the constraints {file_name(version, 0, name)} added NOT VALID.",
                "-- A separate transaction: VALIDATE CONSTRAINT scans existing rows holding only",
                "-- a SHARE UPDATE EXCLUSIVE lock, so reads and writes go on meanwhile. Step 1",
                "-- checked the existing rows before adding them; if this step still fails (rows",
                "-- changed between the steps), step 1 stays applied: its constraints hold for",
                "-- new rows only. Finish: fix the rows it names and run dbmate again. Undo:",
                "-- `dbmate rollback` runs step 1's down migration.",
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

    def sections(
        self, up: MigrationContext, back: MigrationContext | None, reason: str
    ) -> list[str]:
        """The lines after the header: the up block, then the down block (`back` None: one
        that fails with `reason`). One transaction each, unless the context says otherwise."""
        out = [
            f"-- migrate:up{' transaction:false' if up.no_transaction else ''}",
            *self.lines(up.items),
            "",
        ]
        if back is not None:
            return out + [
                f"-- migrate:down{' transaction:false' if back.no_transaction else ''}",
                *self.lines(back.items + back.validate),
            ]
        return out + [
            "-- migrate:down",
            "-- Irreversible: this down migration fails on purpose, changing nothing, so",
            "-- that `dbmate rollback` does not report a rollback that did not happen.",
            self.irreversible_sql(reason),
        ]

    def irreversible_sql(self, reason: str) -> str:
        """A statement that fails with `reason` (each engine says it its own way)."""
        raise NotImplementedError(f"{type(self).__name__} has no irreversible_sql")

    def lines(self, items: Iterable[Item]) -> list[str]:
        out = []
        for item in items:
            out.append(f"-- [{item.safety}] {item.what}")
            out.append(item.sql)
        return out

    def apply_hint(self) -> str:
        return (
            f"Apply with dbmate: dbmate --migrations-dir {self.directory()} --url URL "
            "--no-dump-schema migrate"
        )

    def header(
        self, plan: Plan, up: MigrationContext, down: MigrationContext | None, name: str
    ) -> list[str]:
        counts = {s: sum(1 for i in up.items + up.validate if i.safety == s) for s in LABELS}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        lines = [
            f"{plan.new.title}: {self.target.title} migration from schema version "
            f"{plan.old.version} to {plan.new.version} ({name}).",
            "Generated by liam-erd-schema (`make migration`) from two versions of schema.yaml; "
            "review it, do not edit it: change schema.yaml and generate again.",
            self.apply_hint(),
            "",
            f"Operations: {summary or 'none'}. Labels: [safe] cannot fail and loses nothing; "
            "[needs-validation] existing rows are checked and may stop the migration; "
            "[destructive] may lose data, generated only with --allow-destructive.",
            "Down migration: "
            + (
                "included."
                if down is not None
                else "irreversible (the change loses data): `dbmate rollback` fails, "
                "changing nothing."
            ),
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


def raise_unsupported(table: str, what: str):
    raise MigrationError(f"table '{table}': {what} is not generated; write that step by hand")


def strip_block(text: str) -> str:
    return text.rstrip("\n")
