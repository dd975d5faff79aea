"""Compare two validated models and list the operations that turn the first into the second.

Nothing here writes SQL: an operation names what changes (a table, a column, a constraint) and
how safe it is, as an operation object (`ops.py`); each engine's writer
(generator/targets/migrations/) decides how its engine does it. Renames come only from
the hints of the newer model (`renamed_from:`, `renamed_values:`), never from similar names.

Safety labels, written beside every statement of a migration file:
- safe: cannot fail on existing rows and loses nothing;
- needs-validation: existing rows are checked and may make the migration fail (it then
  changes nothing); nothing is lost;
- destructive: data can be lost (dropped table or column, narrowed type) or existing rows may
  fall outside a narrowed enum or range; refused unless the user allows it explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import Check, Column, ForeignKey, Schema, Table
from .ops import (
    CHECKS,
    DESTRUCTIVE,
    FOREIGN_KEYS,
    INDEXES,
    SAFE,
    UNIQUES,
    VALIDATE,
    AddColumn,
    AlterType,
    ColumnComment,
    CreateTable,
    DropColumn,
    DropNotNull,
    DropTable,
    Family,
    Op,
    PrimaryKey,
    RenameColumn,
    RenameConstraint,
    RenameEnumValue,
    RenameTable,
    SetDefault,
    SetNotNull,
    TableComment,
    TimescaleOptions,
)

# Widening conversions: every old value is exactly representable in the new type.
WIDENINGS = {
    ("smallint", "integer"),
    ("smallint", "bigint"),
    ("integer", "bigint"),
    ("real", "double"),
}


class MigrationError(Exception):
    """A change the migration generator cannot express; says which object and what to do."""


@dataclass(frozen=True)
class Renames:
    """Old name -> new name, for tables, columns (per new table name) and enum values."""

    tables: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    enum_values: dict[str, dict[str, str]] = field(default_factory=dict)

    def inverted(self) -> Renames:
        tables = {new: old for old, new in self.tables.items()}
        return Renames(
            tables=tables,
            columns={
                tables.get(t, t): {new: old for old, new in cols.items()}
                for t, cols in self.columns.items()
            },
            enum_values={
                e: {new: old for old, new in vals.items()} for e, vals in self.enum_values.items()
            },
        )

    def column(self, new_table: str, old_column: str) -> str:
        return self.columns.get(new_table, {}).get(old_column, old_column)


def hinted_renames(old: Schema, new: Schema) -> Renames:
    """The renames the newer model's hints ask for and the older model makes possible: the old
    name exists only in `old`, the new name only in `new`. Stale hints are ignored."""
    tables: dict[str, str] = {}
    for table in new.tables:
        was = table.renamed_from
        if was and was in old.table_map and table.name not in old.table_map:
            tables[was] = table.name
    columns: dict[str, dict[str, str]] = {}
    inverse = {v: k for k, v in tables.items()}
    for table in new.tables:
        before = old.table_map.get(inverse.get(table.name, table.name))
        if before is None:
            continue
        for column in table.columns:
            was = column.renamed_from
            if was and was in before.column_map and column.name not in before.column_map:
                columns.setdefault(table.name, {})[was] = column.name
    enum_values: dict[str, dict[str, str]] = {}
    for enum in new.enums:
        before = old.enum_map.get(enum.name)
        if before is None:
            continue
        for value, was in enum.renamed_values:
            if was in before.names and value not in before.names:
                enum_values.setdefault(enum.name, {})[was] = value
    return Renames(tables, columns, enum_values)


@dataclass
class Plan:
    old: Schema
    new: Schema
    renames: Renames
    ops: list[Op]

    @property
    def destructive(self) -> list[Op]:
        return [op for op in self.ops if op.safety == DESTRUCTIVE]

    def for_table(self, name: str) -> list[Op]:
        return [op for op in self.ops if op.table == name]

    def old_table(self, new_name: str) -> Table | None:
        inverse = {v: k for k, v in self.renames.tables.items()}
        return self.old.table_map.get(inverse.get(new_name, new_name))

    @property
    def empty(self) -> bool:
        return not self.ops


def diff(old: Schema, new: Schema, renames: Renames | None = None) -> Plan:
    """The operations from `old` to `new`, in the order a reader reviews them."""
    renames = hinted_renames(old, new) if renames is None else renames
    ops: list[Op] = []
    renamed_old = set(renames.tables)
    new_names = {t.name for t in new.tables}
    for table in old.tables:
        if table.name not in new_names and table.name not in renamed_old:
            ops.append(
                DropTable(
                    table.name,
                    DESTRUCTIVE,
                    f"drop table {table.name}",
                    at_risk=f"every row of {table.name}: SELECT count(*) FROM {table.name};",
                    old=table,
                )
            )
    for table in new.tables:
        inverse = {v: k for k, v in renames.tables.items()}
        before_name = inverse.get(table.name, table.name)
        before = old.table_map.get(before_name)
        if before is None:
            ops.append(CreateTable(table.name, SAFE, f"create table {table.name}", new=table))
            continue
        if before_name != table.name:
            ops.append(
                RenameTable(
                    table.name,
                    SAFE,
                    f"rename table {before_name} to {table.name} (hint renamed_from)",
                    old=before_name,
                    new=table.name,
                )
            )
        ops.extend(_table_ops(old, new, before, table, renames))
    return Plan(old, new, renames, ops)


def _table_ops(old: Schema, new: Schema, before: Table, after: Table, renames: Renames):
    t = after.name
    column_map = renames.columns.get(t, {})
    out: list[Op] = []
    if before.description != after.description:
        out.append(TableComment(t, SAFE, f"new description of {t}", new=after))
    new_of_old = {c.name: column_map.get(c.name, c.name) for c in before.columns}
    old_of_new = {v: k for k, v in new_of_old.items()}
    for column in before.columns:
        if new_of_old[column.name] not in after.column_map:
            out.append(
                DropColumn(
                    t,
                    DESTRUCTIVE,
                    f"drop column {t}.{column.name}",
                    at_risk=f"every value of {t}.{column.name}: SELECT count(*) FROM {t} "
                    f"WHERE {column.name} IS NOT NULL;",
                    old=column,
                    column=column.name,
                )
            )
    for column in after.columns:
        was_name = old_of_new.get(column.name)
        if was_name is None or was_name not in before.column_map:
            if column.identity:
                raise MigrationError(
                    f"table '{t}', column '{column.name}': adding an identity column to an "
                    "existing table is not generated; write that step by hand"
                )
            needs = column.nullable or column.default is not None
            out.append(
                AddColumn(
                    t,
                    SAFE if needs else VALIDATE,
                    f"add column {t}.{column.name}"
                    + (
                        ""
                        if needs
                        else " (NOT NULL without a default: fails if the table has rows)"
                    ),
                    new=column,
                    column=column.name,
                )
            )
            continue
        was = before.column(was_name)
        if was_name != column.name:
            out.append(
                RenameColumn(
                    t,
                    SAFE,
                    f"rename column {t}.{was_name} to {column.name} (hint renamed_from)",
                    old=was,
                    new=column,
                    column=column.name,
                )
            )
        out.extend(_column_ops(t, was, column))
        values = renames.enum_values.get(column.enum or "", {})
        if values and was.enum == column.enum:
            pairs = ", ".join(f"{a} -> {b}" for a, b in values.items())
            out.append(
                RenameEnumValue(
                    t,
                    SAFE,
                    f"rewrite {t}.{column.name} values {pairs} (hint renamed_values)",
                    old=dict(values),
                    new=column,
                    column=column.name,
                )
            )
    out.extend(_constraint_ops(old, new, before, after, renames, old_of_new))
    if before.timescaledb != after.timescaledb:
        out.append(
            TimescaleOptions(
                t,
                SAFE,
                f"TimescaleDB options of {t}",
                old=before.timescaledb,
                new=after.timescaledb,
            )
        )
    return out


def _column_ops(t: str, was: Column, column: Column) -> list[Op]:
    out: list[Op] = []
    name = column.name
    if was.identity != column.identity:
        raise MigrationError(
            f"table '{t}', column '{name}': changing identity is not generated; write it by hand"
        )
    if was.type != column.type:
        if (was.type, column.type) in WIDENINGS:
            out.append(
                AlterType(
                    t,
                    SAFE,
                    f"widen {t}.{name} from {was.type} to {column.type}",
                    old=was,
                    new=column,
                    column=name,
                )
            )
        else:
            out.append(
                AlterType(
                    t,
                    DESTRUCTIVE,
                    f"change type of {t}.{name} from {was.type} to {column.type}",
                    at_risk=f"values of {t}.{name} that do not fit {column.type}: "
                    f"SELECT count(*) FROM {t} WHERE {name} IS NOT NULL;",
                    old=was,
                    new=column,
                    column=name,
                )
            )
    if was.nullable and not column.nullable:
        out.append(
            SetNotNull(
                t,
                VALIDATE,
                f"{t}.{name} becomes NOT NULL (fails if a row holds NULL)",
                new=column,
                column=name,
            )
        )
    elif column.nullable and not was.nullable:
        out.append(DropNotNull(t, SAFE, f"{t}.{name} may be NULL", new=column, column=name))
    if was.default != column.default:
        out.append(SetDefault(t, SAFE, f"new default of {t}.{name}", new=column, column=name))
    if (was.description, was.unit, was.range, was.enum) != (
        column.description,
        column.unit,
        column.range,
        column.enum,
    ):
        out.append(
            ColumnComment(t, SAFE, f"new description of {t}.{name}", new=column, column=name)
        )
    return out


def _shape(check: Check, renames: dict[str, str] | None = None):
    """What a CHECK tests, to compare two versions by: its parsed tree (the model's, so two
    spellings of one expression are equal), with old column names renamed; a CHECK without a
    tree (a target's own, in its engine's words) by its text."""
    if check.tree is None:
        return check.expression
    return check.tree.renamed(renames) if renames else check.tree


def _constraint_ops(old, new, before: Table, after: Table, renames: Renames, old_of_new):
    t = after.name
    cmap = renames.columns.get(t, {})
    tmap = renames.tables

    def cols(names) -> tuple[str, ...]:
        return tuple(cmap.get(n, n) for n in names)

    out: list[Op] = []
    if cols(before.primary_key) != after.primary_key:
        out.append(
            PrimaryKey(
                t,
                VALIDATE,
                f"new primary key of {t} ({', '.join(after.primary_key)})",
                old=before,
                new=after,
            )
        )
    elif before.primary_key_name != after.primary_key_name:
        out.append(
            RenameConstraint(
                t,
                SAFE,
                f"rename {before.primary_key_name} to {after.primary_key_name}",
                old=before.primary_key_name,
                new=after.primary_key_name,
            )
        )

    def shape_check(c: Check):
        return _shape(c, cmap)

    def shape_fk(fk: ForeignKey):
        ref_map = renames.columns.get(tmap.get(fk.ref_table, fk.ref_table), {})
        return (
            cols(fk.columns),
            tmap.get(fk.ref_table, fk.ref_table),
            tuple(ref_map.get(c, c) for c in fk.ref_columns),
            fk.on_delete,
        )

    def shape_new_fk(fk: ForeignKey):
        return (fk.columns, fk.ref_table, fk.ref_columns, fk.on_delete)

    out += _match(
        t,
        CHECKS,
        before.checks,
        after.checks,
        shape_check,
        _shape,
        lambda a, b: _check_change(before, after, a, b, renames),
        comment_changed=lambda a, b: a.description != b.description,
    )
    out += _match(
        t,
        FOREIGN_KEYS,
        before.foreign_keys,
        after.foreign_keys,
        shape_fk,
        shape_new_fk,
        lambda a, b: (VALIDATE, None),
        comment_changed=lambda a, b: a.why != b.why,
    )
    out += _match(
        t,
        UNIQUES,
        before.uniques,
        after.uniques,
        lambda u: cols(u.columns),
        lambda u: u.columns,
        lambda a, b: (VALIDATE, None),
    )
    out += _match(
        t,
        INDEXES,
        before.indexes,
        after.indexes,
        lambda i: (cols(i.columns), i.unique),
        lambda i: (i.columns, i.unique),
        lambda a, b: (VALIDATE if b.unique else SAFE, None),
    )
    return out


def _match(t, family: Family, olds, news, old_shape, new_shape, classify, comment_changed=None):
    """Pair old and new constraints by name, else by identical shape (a rename); the rest are
    drops and adds. `classify(old or None, new)` gives (safety, at_risk) of adding `new`."""
    what = family.word
    out: list[Op] = []
    by_name = {o.name: o for o in olds}
    unmatched_old = {o.name: o for o in olds}
    pending = []
    for n in news:
        o = by_name.get(n.name)
        if o is not None:
            del unmatched_old[o.name]
            if old_shape(o) == new_shape(n):
                if comment_changed and comment_changed(o, n):
                    out.append(family.comment(t, SAFE, f"new comment on {n.name}", new=n))
                continue
            safety, at_risk = classify(o, n)
            out.append(family.drop(t, SAFE, f"drop {what} {o.name} (changed)", old=o))
            out.append(family.add(t, safety, f"add {what} {n.name} (changed)", at_risk, new=n))
        else:
            pending.append(n)
    for n in pending:
        twin = next((o for o in unmatched_old.values() if old_shape(o) == new_shape(n)), None)
        if twin is not None:
            del unmatched_old[twin.name]
            out.append(
                family.rename(
                    t, SAFE, f"rename {what} {twin.name} to {n.name}", old=twin.name, new=n.name
                )
            )
            if comment_changed and comment_changed(twin, n):
                out.append(family.comment(t, SAFE, f"new comment on {n.name}", new=n))
            continue
        safety, at_risk = classify(None, n)
        out.append(family.add(t, safety, f"add {what} {n.name}", at_risk, new=n))
    for o in unmatched_old.values():
        out.append(family.drop(t, SAFE, f"drop {what} {o.name}", old=o))
    return out


def _check_change(before: Table, table: Table, was: Check | None, check: Check, renames: Renames):
    """How risky is adding `check` (replacing `was`): widening an enum or range is safe,
    narrowing one is destructive (rows outside it exist or may), anything else needs
    validation."""
    risk = (
        f"rows of {table.name} outside the new rule: SELECT count(*) FROM {table.name} "
        f"WHERE NOT ({check.expression});"
    )
    if was is None or check.column is None or was.kind != check.kind:
        return VALIDATE, None
    column = table.column(check.column)
    if check.kind == "enum":
        mapping = renames.enum_values.get(column.enum or "", {})
        old_values = {mapping.get(v, v) for v in was.values}
        new_values = set(check.values)
        if old_values <= new_values:
            return SAFE, None
        lost = sorted(old_values - new_values)
        return DESTRUCTIVE, (
            f"rows of {table.name} whose {column.name} is {', '.join(lost)} (no longer "
            f"allowed): SELECT count(*) FROM {table.name} WHERE {column.name} IN "
            f"({', '.join(repr(v) for v in lost)});"
        )
    if check.kind == "range" and was.column is not None:
        old_range = before.column(was.column).range
        widened = column.range is not None and column.range.contains(old_range)
        return (SAFE, None) if widened else (DESTRUCTIVE, risk)
    return VALIDATE, None


__all__ = [
    "DESTRUCTIVE",
    "SAFE",
    "VALIDATE",
    "MigrationError",
    "Op",
    "Plan",
    "Renames",
    "diff",
    "hinted_renames",
]
