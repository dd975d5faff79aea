"""Keys: column lists (primary keys, uniques, indexes), foreign keys resolved across tables
(arity, types, target key, ON DELETE), the index every foreign key needs, and cycles."""

from __future__ import annotations

from dataclasses import replace

from ..model import ForeignKey, Table, dependency_order, derive_cardinality, fit_name
from . import Context, as_written, suggest
from .names import identifier, name_limit


def column_list(ctx: Context, table: str, colnames, value, where) -> tuple[str, ...]:
    """A list of a table's columns (a key, an index...): each must exist, none twice."""
    for i, col in enumerate(value):
        if col not in colnames:
            ctx.report(
                "keys.unknown-column",
                (*where, i),
                f"unknown column '{col}' in table '{table}'",
                suggest(col, colnames),
                at_value=True,
            )
    if len(set(value)) != len(value):
        ctx.report("keys.listed-twice", where, "a column is listed twice", at_value=True)
    return tuple(value)


def check_primary_key(ctx: Context, table: str, pk, raw_columns: dict) -> None:
    for col in pk:
        if col in raw_columns and raw_columns[col].get("nullable"):
            ctx.report(
                "keys.nullable-pk",
                ("tables", table, "columns", col, "nullable"),
                f"primary key column '{col}' cannot be nullable",
            )


def raw_foreign_keys(ctx: Context, name: str, spec: dict, cols) -> list:
    """The table's foreign keys as written; targets are resolved once every table is built."""
    path = ("tables", name)
    out = []
    for cname, cspec in spec["columns"].items():
        ref = cspec.get("references")
        if ref:
            out.append(
                _raw_fk(
                    name,
                    fit_name(f"fk_{name}_{cname}", name_limit()),
                    [cname],
                    ref["table"],
                    [ref["column"]] if "column" in ref else None,
                    ref["on_delete"],
                    ref["why"],
                    (*path, "columns", cname, "references"),
                )
            )
    for fname, fspec in (spec.get("foreign_keys") or {}).items():
        where = (*path, "foreign_keys", fname)
        identifier(ctx, fname, where)
        fcols = cols(fspec["columns"], (*where, "columns"))
        out.append(
            _raw_fk(
                name,
                fname,
                list(fcols),
                fspec["references"]["table"],
                list(fspec["references"]["columns"]),
                fspec["on_delete"],
                fspec["why"],
                where,
            )
        )
    return out


def _raw_fk(table, name, columns, ref_table, ref_columns, on_delete, why, where):
    fk = ForeignKey(
        name=name,
        table=table,
        columns=tuple(columns),
        ref_table=ref_table,
        ref_columns=tuple(ref_columns) if ref_columns else (),
        on_delete=on_delete,
        why=as_written(why),
    )
    return fk, where


def link_foreign_keys(ctx: Context, tables: dict[str, Table]) -> dict[str, Table]:
    """Resolve each FK's target, check arity and types, and derive its cardinality."""
    linked = {}
    for name, table in tables.items():
        fks = []
        for fk, where in ctx.pending_fks.get(name, []):
            fk = resolve(ctx, table, fk, where, tables)
            if fk is not None:
                fks.append(fk)
        linked[name] = replace(table, foreign_keys=tuple(fks))
    for table in linked.values():
        check_fk_indexes(ctx, table)
    return linked


def resolve(ctx: Context, table: Table, fk: ForeignKey, where, tables) -> ForeignKey | None:
    target = tables.get(fk.ref_table)
    if target is None:
        if fk.ref_table not in ctx.raw_tables:
            ctx.report(
                "keys.unknown-table",
                (*where, "table")
                if (*where, "table") in ctx.src.key_positions
                else (*where, "references"),
                f"references unknown table '{fk.ref_table}'",
                suggest(fk.ref_table, ctx.raw_tables),
            )
        return None
    ref_columns = fk.ref_columns
    if not ref_columns:
        if len(target.primary_key) != 1:
            ctx.report(
                "keys.composite-pk",
                where,
                f"table '{target.name}' has a composite primary key",
                "name the referenced column, or use a table-level foreign_keys entry",
            )
            return None
        ref_columns = target.primary_key
    ok = True
    if len(ref_columns) != len(fk.columns):
        ctx.report(
            "keys.arity",
            where,
            f"foreign key has {len(fk.columns)} column(s) but references {len(ref_columns)}",
            "list the same number of columns on both sides",
        )
        ok = False
    for col in ref_columns:
        if col not in target.column_map:
            ctx.report(
                "keys.unknown-ref-column",
                where,
                f"references unknown column '{target.name}.{col}'",
                suggest(col, target.column_map),
            )
            ok = False
    if not ok:
        return None
    for col, ref in zip(fk.columns, ref_columns, strict=True):
        if col not in table.column_map:
            return None
        mine, theirs = table.column(col).type, target.column(ref).type
        if mine != theirs:
            ctx.report(
                "keys.type-mismatch",
                ("tables", table.name, "columns", col, "type"),
                f"column '{col}' is {mine} but the foreign key {fk.name} points it at "
                f"'{target.name}.{ref}', which is {theirs}",
                f"make '{col}' {theirs}",
                at_value=True,
            )
            ok = False
    keys = [target.primary_key, *(u.columns for u in target.uniques)]
    if not any(set(k) == set(ref_columns) and len(k) == len(ref_columns) for k in keys):
        ctx.report(
            "keys.not-a-key",
            where,
            f"'{target.name}({', '.join(ref_columns)})' is neither its "
            "primary key nor a unique constraint",
            "reference a key, or add a unique constraint on those columns",
        )
        ok = False
    if fk.on_delete == "set null" and not all(table.column(c).nullable for c in fk.columns):
        ctx.report(
            "keys.set-null",
            where,
            "on_delete: set null needs nullable columns",
            "make the columns nullable or choose restrict/cascade",
        )
        ok = False
    if not ok:
        return None
    child_keys = [
        table.primary_key,
        *(u.columns for u in table.uniques),
        *(i.columns for i in table.indexes if i.unique),
    ]
    return replace(
        fk,
        ref_columns=tuple(ref_columns),
        cardinality=derive_cardinality(child_keys, fk.columns),
        optional=any(table.column(c).nullable for c in fk.columns),
    )


def check_fk_indexes(ctx: Context, table: Table) -> None:
    """Every foreign key's columns lead some index, so deletes and joins never scan."""
    leads = [
        table.primary_key,
        *(u.columns for u in table.uniques),
        *(i.columns for i in table.indexes),
    ]
    for fk in table.foreign_keys:
        n = len(fk.columns)
        if not any(set(k[:n]) == set(fk.columns) for k in leads):
            where = ("tables", table.name, "foreign_keys", fk.name)
            if where not in ctx.src.key_positions:
                where = ("tables", table.name, "columns", fk.columns[0], "references")
            ctx.report(
                "keys.no-index",
                where,
                f"no index starts with the foreign key columns ({', '.join(fk.columns)})",
                f"add indexes: ix_{table.name}_{fk.columns[0]}: "
                f"{{columns: [{', '.join(fk.columns)}]}}",
            )


def ordered_tables(ctx: Context, tables: dict[str, Table]) -> tuple[Table, ...]:
    ordered, cycles = dependency_order(tables)
    for chain in cycles:
        ctx.report(
            "keys.cycle",
            ("tables", chain[-1]),
            "foreign keys form a cycle: " + " -> ".join(chain),
            "break the cycle with a nullable key",
        )
    return ordered
