"""Check a loaded schema.yaml against every rule and build the model.

The rules live in generator/rules/, one module per thing they guard (structure, names,
columns, expressions, keys, timescale); this module runs them in order. All problems are
collected and raised together (one `SchemaError`), each with file, line, column, schema path
and, where one helps, a hint. No emitter ever sees a broken model.
"""

from __future__ import annotations

from .errors import SchemaError
from .load import Source
from .model import Check, Index, Schema, Table, Unique, fit_name
from .rules import (
    Context,
    as_written,
    expressions,
    keys,
    names,
    one_line,
    structure,
    timescale,
)
from .rules import columns as column_rules
from .rules.expressions import column_kind
from .targets import schema_text


def validate(source: Source) -> Schema:
    ctx = Context(source)
    schema = _build(ctx)
    if schema is not None:  # version and rename hints, for migrations (rules/hints.py)
        from .rules.hints import read_hints

        schema, problems = read_hints(source, schema)
        ctx.problems += problems
    if ctx.problems:
        raise SchemaError(ctx.finish())
    assert schema is not None
    return schema


def _build(ctx: Context) -> Schema | None:
    structure_ok = structure.check_structure(ctx)
    data = ctx.src.data if isinstance(ctx.src.data, dict) else {}
    if ctx.full or (not structure_ok and not isinstance(data.get("tables"), dict)):
        return None
    units = data.get("units") if isinstance(data.get("units"), dict) else {}
    ctx.units = {str(k): one_line(v) for k, v in units.items()}
    layers = structure.build_layers(ctx, data)
    enums = structure.build_enums(ctx, data)
    ctx.raw_tables = data.get("tables") or {}
    tables: dict[str, Table] = {}
    for name, spec in ctx.raw_tables.items():
        if name in ctx.broken_tables or not isinstance(spec, dict):
            continue
        tables[name] = _build_table(ctx, name, spec)
    tables = keys.link_foreign_keys(ctx, tables)
    for table in tables.values():
        timescale.check_hypertable_references(ctx, table, tables)
    names.check_schema_names(ctx, tables)
    workflow = structure.build_workflow(ctx, data.get("workflow") or [])
    ordered = keys.ordered_tables(ctx, tables)
    if not structure_ok or ctx.problems:
        return None
    schema = Schema(
        name=data["name"],
        title=one_line(data["title"]),
        description=one_line(data["description"]),
        units=tuple(ctx.units.items()),
        layers=layers,
        enums=enums,
        tables=ordered,
        workflow=workflow,
    )
    names.check_target_names(ctx, schema)
    names.check_target_limits(ctx, schema)
    return None if ctx.problems else schema


def _build_table(ctx: Context, name: str, spec: dict) -> Table:
    path = ("tables", name)
    names.identifier(ctx, name, path)
    structure.check_layer(ctx, name, spec["layer"])
    raw_columns = spec["columns"]
    columns = tuple(
        column_rules.build_column(ctx, name, cname, cspec) for cname, cspec in raw_columns.items()
    )
    colnames = [c.name for c in columns]

    def cols(value, where) -> tuple[str, ...]:
        return keys.column_list(ctx, name, colnames, value, where)

    pk = cols(spec["primary_key"], (*path, "primary_key"))
    keys.check_primary_key(ctx, name, pk, raw_columns)
    for c in columns:
        if c.identity and pk != (c.name,):
            ctx.report(
                "columns.identity-key",
                (*path, "columns", c.name, "identity"),
                "an identity column must be the table's whole primary key",
            )
    uniques = []
    for u, v in (spec.get("unique") or {}).items():
        names.identifier(ctx, u, (*path, "unique", u))
        uniques.append(Unique(u, cols(v, (*path, "unique", u))))
    indexes = []
    for i, v in (spec.get("indexes") or {}).items():
        names.identifier(ctx, i, (*path, "indexes", i))
        where = (*path, "indexes", i, "columns")
        indexes.append(Index(i, cols(v["columns"], where), bool(v.get("unique", False))))
    checks = []
    for c in columns:
        checks.extend(column_rules.derived_checks(ctx, name, c))
    kinds = {c.name: column_kind(c.type) for c in columns}
    for cname, cspec in (spec.get("checks") or {}).items():
        names.identifier(ctx, cname, (*path, "checks", cname))
        where = (*path, "checks", cname, "expression")
        tree = expressions.check_tree(ctx, cspec["expression"], kinds, where)
        sql = "" if tree is None else schema_text(tree)  # the model's text: the tree in PostgreSQL
        checks.append(Check(cname, sql, as_written(cspec["description"]), tree=tree))
    ctx.pending_fks[name] = keys.raw_foreign_keys(ctx, name, spec, cols)
    timescale_options = None
    if "timescaledb" in spec:
        timescale_options = timescale.build_timescale(ctx, name, spec["timescaledb"], raw_columns)
    return Table(
        name=name,
        layer=spec["layer"],
        usage=tuple(u for u in ("soc", "soh") if u in spec["usage"]),
        description=as_written(spec["description"]),
        columns=columns,
        primary_key=pk,
        uniques=tuple(uniques),
        foreign_keys=(),  # filled in by keys.link_foreign_keys once every table exists
        checks=tuple(checks),
        indexes=tuple(indexes),
        timescaledb=timescale_options,
        primary_key_name=fit_name(f"pk_{name}", names.name_limit()),
    )


__all__ = ["validate"]
