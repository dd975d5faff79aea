"""Check a loaded schema.yaml against every rule and build the model.

All problems are collected and raised together (one `SchemaError`), each with file, line,
column, schema path and, where one helps, a hint. No emitter ever sees a broken model.
"""

from __future__ import annotations

import difflib
import json
import re
import struct
from dataclasses import replace
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import sqlglot
from sqlglot import exp

from .errors import Problem, SchemaError
from .load import Source
from .model import (
    FLOAT_TYPES,
    INTEGER_TYPES,
    ONE_TO_MANY,
    ONE_TO_ONE,
    Check,
    Column,
    ContinuousAggregate,
    Enum,
    EnumValue,
    ForeignKey,
    Index,
    Layer,
    Range,
    Schema,
    Table,
    TimescaleOptions,
    Unique,
    WorkflowStep,
)

MAX_IDENTIFIER_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")

# Words PostgreSQL reserves (and SQLite's that cannot be column names unquoted). A schema
# that needs none of them never needs quoting, so every engine and Liam read names alike.
RESERVED = frozenset(
    """all analyse analyze and any array as asc asymmetric authorization binary both case cast
    check collate collation column concurrently constraint create cross current_catalog
    current_date current_role current_schema current_time current_timestamp current_user default
    deferrable desc distinct do else end except false fetch for foreign freeze from full grant
    group having ilike in initially inner intersect into is isnull join lateral leading left like
    limit localtime localtimestamp natural not notnull null offset on only or order outer overlaps
    placing primary references returning right select session_user similar some symmetric
    system_user table tablesample then to trailing true union unique user using variadic verbose
    when where window with abort add alter autoincrement between commit delete drop escape exists
    glob if index insert regexp set transaction update values""".split()
)

# BDF-style unit suffixes: a column whose name ends in one must declare that unit, and back.
UNIT_SUFFIXES = {
    "_second": "s",
    "_volt": "V",
    "_ampere": "A",
    "_ah": "Ah",
    "_wh": "Wh",
    "_ohm": "ohm",
    "_celsius": "degC",
}


@cache
def format_schema() -> dict:
    return json.loads(resources.files(__package__).joinpath("schema.json").read_text())


def suggest(word: str, options) -> str | None:
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else None


def validate(source: Source) -> Schema:
    builder = _Builder(source)
    schema = builder.build()
    if schema is not None:  # version and rename hints, read for migrations (generator/migrate)
        from .migrate.hints import read_hints

        schema, problems = read_hints(source, schema)
        builder.problems += problems
    if builder.problems:
        raise SchemaError(builder.problems)
    assert schema is not None
    return schema


class _Builder:
    def __init__(self, source: Source):
        self.src = source
        self.problems: list[Problem] = []
        self.broken_tables: set[str] = set()
        # (foreign key, its path) per table, resolved once every table is built
        self.pending_fks: dict[str, list[tuple[ForeignKey, tuple]]] = {}

    # -- reporting -------------------------------------------------------------------------
    def error(self, path, message, hint=None, *, at_value=False):
        self.problems.append(self.src.problem(tuple(path), message, hint, at_value=at_value))

    # -- structure (JSON Schema) -----------------------------------------------------------
    def check_structure(self) -> bool:
        data = self.src.data
        validator = jsonschema.Draft202012Validator(format_schema())
        ok = True
        for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
            ok = False
            path = tuple(err.absolute_path)
            if len(path) >= 2 and path[0] == "tables":
                self.broken_tables.add(str(path[1]))
            if err.validator == "additionalProperties" and isinstance(err.instance, dict):
                allowed = err.schema.get("properties", {})
                for key in err.instance:
                    if key not in allowed:
                        self.error(
                            (*path, key),
                            f"unknown key '{key}'",
                            suggest(key, allowed) or f"allowed: {', '.join(allowed)}",
                        )
            elif err.validator == "required":
                missing = err.message.split("'")[1] if "'" in err.message else err.message
                self.error(path, f"missing required key '{missing}'")
            elif err.validator == "enum":
                options = err.validator_value
                hint = suggest(str(err.instance), options) or "allowed: " + ", ".join(
                    str(o) for o in options
                )
                what = "type" if path and path[-1] == "type" else "value"
                self.error(path, f"unknown {what} {err.instance!r}", hint, at_value=True)
            elif err.validator == "type":
                self.error(
                    path,
                    f"expected {err.validator_value}, got {_kind(err.instance)}",
                    at_value=True,
                )
            else:
                self.error(path, err.message, at_value=True)
        return ok

    # -- identifiers -----------------------------------------------------------------------
    def identifier(self, name: str, path) -> None:
        if not IDENTIFIER.match(name):
            self.error(
                path,
                f"'{name}' is not a safe SQL identifier",
                "use lower-case letters, digits and underscores, starting with a letter",
            )
        elif name in RESERVED:
            self.error(path, f"'{name}' is a reserved SQL word", "choose another name")
        if len(name.encode()) > MAX_IDENTIFIER_BYTES:
            self.error(
                path,
                f"'{name}' is {len(name.encode())} bytes long",
                f"PostgreSQL truncates identifiers to {MAX_IDENTIFIER_BYTES} bytes",
            )

    def column_list(self, table: str, colnames: list[str], value, where) -> tuple[str, ...]:
        """A list of a table's columns (a key, an index...): each must exist, none twice."""
        for i, col in enumerate(value):
            if col not in colnames:
                self.error(
                    (*where, i),
                    f"unknown column '{col}' in table '{table}'",
                    suggest(col, colnames),
                    at_value=True,
                )
        if len(set(value)) != len(value):
            self.error(where, "a column is listed twice", at_value=True)
        return tuple(value)

    # -- the whole document ----------------------------------------------------------------
    def build(self) -> Schema | None:
        structure_ok = self.check_structure()
        data = self.src.data if isinstance(self.src.data, dict) else {}
        if not structure_ok and not isinstance(data.get("tables"), dict):
            return None
        self.units = {str(k): str(v) for k, v in (data.get("units") or {}).items()}
        layers = tuple(
            Layer(lid, spec.get("title", lid), spec.get("description", ""))
            for lid, spec in (data.get("layers") or {}).items()
            if isinstance(spec, dict)
        )
        self.layer_ids = [layer.id for layer in layers]
        enums = tuple(
            self.build_enum(n, s)
            for n, s in (data.get("enums") or {}).items()
            if isinstance(s, dict)
        )
        self.enums = {e.name: e for e in enums}
        raw_tables = data.get("tables") or {}
        self.raw_tables = raw_tables
        tables: dict[str, Table] = {}
        for name, spec in raw_tables.items():
            if name in self.broken_tables or not isinstance(spec, dict):
                continue
            table = self.build_table(name, spec)
            if table is not None:
                tables[name] = table
        tables = self.link_foreign_keys(tables)
        self.check_names(tables)
        workflow = tuple(self.build_workflow(data.get("workflow") or [], tables))
        ordered = self.dependency_order(tables)
        if not structure_ok or self.problems:
            return None
        return Schema(
            name=data["name"],
            title=data["title"],
            description=data["description"],
            units=tuple(self.units.items()),
            layers=layers,
            enums=enums,
            tables=ordered,
            workflow=workflow,
        )

    def build_enum(self, name: str, spec: dict) -> Enum:
        path = ("enums", name)
        values = spec.get("values") or {}
        if not values:
            self.error(
                (*path, "values"), f"enumeration '{name}' has no values", "list at least one value"
            )
        return Enum(
            name,
            spec.get("description", ""),
            tuple(EnumValue(str(v), str(d)) for v, d in values.items()),
        )

    # -- one table -------------------------------------------------------------------------
    def build_table(self, name: str, spec: dict) -> Table | None:
        path = ("tables", name)
        self.identifier(name, path)
        if spec["layer"] not in self.layer_ids:
            self.error(
                (*path, "layer"),
                f"unknown layer '{spec['layer']}'",
                suggest(spec["layer"], self.layer_ids)
                or f"define it under layers: ({', '.join(self.layer_ids)})",
                at_value=True,
            )
        columns = tuple(
            self.build_column(name, cname, cspec) for cname, cspec in spec["columns"].items()
        )
        colnames = [c.name for c in columns]
        known = set(colnames)

        def cols(value, where) -> tuple[str, ...]:
            return self.column_list(name, colnames, value, where)

        pk = cols(spec["primary_key"], (*path, "primary_key"))
        for col in pk:
            if col in known and spec["columns"][col].get("nullable"):
                self.error(
                    (*path, "columns", col, "nullable"),
                    f"primary key column '{col}' cannot be nullable",
                )
        for c in columns:
            if c.identity and pk != (c.name,):
                self.error(
                    (*path, "columns", c.name, "identity"),
                    "an identity column must be the table's whole primary key",
                )
        uniques = tuple(
            Unique(u, cols(v, (*path, "unique", u))) for u, v in (spec.get("unique") or {}).items()
        )
        indexes = tuple(
            Index(
                i,
                cols(v["columns"], (*path, "indexes", i, "columns")),
                bool(v.get("unique", False)),
            )
            for i, v in (spec.get("indexes") or {}).items()
        )
        checks = []
        for c in columns:
            checks.extend(self.derived_checks(name, c))
        for cname, cspec in (spec.get("checks") or {}).items():
            where = (*path, "checks", cname, "expression")
            self.check_expression(cspec["expression"], known, colnames, where)
            checks.append(Check(cname, _one_line(cspec["expression"]), cspec["description"]))
        foreign_keys = []
        for cname, cspec in spec["columns"].items():
            ref = cspec.get("references")
            if ref:
                foreign_keys.append(
                    self.raw_fk(
                        name,
                        f"fk_{name}_{cname}",
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
            fcols = cols(fspec["columns"], (*where, "columns"))
            foreign_keys.append(
                self.raw_fk(
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
        self.pending_fks[name] = foreign_keys
        timescale = None
        if "timescaledb" in spec:
            timescale = self.build_timescale(
                name, spec["timescaledb"], known, colnames, spec["columns"]
            )
        return Table(
            name=name,
            layer=spec["layer"],
            usage=tuple(u for u in ("soc", "soh") if u in spec["usage"]),
            description=_one_line(spec["description"]),
            columns=columns,
            primary_key=pk,
            uniques=uniques,
            foreign_keys=(),  # filled in by link_foreign_keys once every table exists
            checks=tuple(checks),
            indexes=indexes,
            timescaledb=timescale,
        )

    def build_column(self, table: str, name: str, spec: dict) -> Column:
        path = ("tables", table, "columns", name)
        self.identifier(name, path)
        ctype = spec["type"]
        unit = spec.get("unit")
        if unit is not None and unit not in self.units:
            self.error(
                (*path, "unit"),
                f"unknown unit '{unit}'",
                suggest(unit, self.units) or f"define it under units: ({', '.join(self.units)})",
                at_value=True,
            )
        if ctype in FLOAT_TYPES and unit is None:
            self.error(
                path,
                f"measured quantity '{name}' has no unit",
                "add unit: (fraction for a dimensionless ratio)",
            )
        for suffix, expected in UNIT_SUFFIXES.items():
            if name.endswith(suffix) and unit is not None and unit != expected:
                self.error(
                    (*path, "unit"),
                    f"unit '{unit}' contradicts the name suffix '{suffix}'",
                    f"use unit: {expected}",
                    at_value=True,
                )
            if unit == expected and not name.endswith(suffix):
                self.error(
                    path,
                    f"a column in {unit} should end in '{suffix}'",
                    f"rename it to '{name}{suffix}' (BDF naming)",
                )
        enum = spec.get("enum")
        if enum is not None:
            if enum not in self.enums:
                self.error(
                    (*path, "enum"),
                    f"unknown enumeration '{enum}'",
                    suggest(enum, self.enums),
                    at_value=True,
                )
            if ctype != "text":
                self.error((*path, "enum"), "an enumeration needs a text column")
        rng = None
        if "range" in spec:
            r = spec["range"]
            rng = Range(
                r.get("min"),
                r.get("max"),
                bool(r.get("min_exclusive", False)),
                bool(r.get("max_exclusive", False)),
            )
            if ctype not in INTEGER_TYPES + FLOAT_TYPES:
                self.error((*path, "range"), f"a range needs a numeric column, not {ctype}")
            if (
                rng.min is not None
                and rng.max is not None
                and (
                    rng.min > rng.max
                    or (rng.min == rng.max and (rng.min_exclusive or rng.max_exclusive))
                )
            ):
                self.error(
                    (*path, "range"),
                    f"empty range: min {rng.min} > max {rng.max}"
                    if rng.min > rng.max
                    else "empty range",
                    "swap min and max?",
                )
            if rng.min is None and rng.max is None:
                self.error((*path, "range"), "a range needs min or max")
        if spec.get("identity") and ctype not in INTEGER_TYPES:
            self.error((*path, "identity"), f"an identity column must be an integer, not {ctype}")
        default = spec.get("default")
        if default is not None and not _default_fits(ctype, default):
            self.error(
                (*path, "default"), f"default {default!r} does not fit type {ctype}", at_value=True
            )
        return Column(
            name=name,
            type=ctype,
            description=_one_line(spec["description"]),
            nullable=bool(spec.get("nullable", False)),
            identity=bool(spec.get("identity", False)),
            unit=unit,
            enum=enum,
            range=rng,
            default=default,
        )

    def derived_checks(self, table: str, column: Column) -> list[Check]:
        checks = []
        if column.enum and column.enum in self.enums:
            values = self.enums[column.enum].names
            expr = exp.column(column.name).isin(*[exp.Literal.string(v) for v in values])
            checks.append(
                Check(
                    f"ck_{table}_{column.name}_enum",
                    expr.sql("postgres"),
                    f"{column.name} is one of the {column.enum} values.",
                    kind="enum",
                    column=column.name,
                )
            )
        if column.range is not None:
            rng = column.range
            parts = []
            col = exp.column(column.name)
            for bound, exclusive, strict, loose in (
                (rng.min, rng.min_exclusive, exp.GT, exp.GTE),
                (rng.max, rng.max_exclusive, exp.LT, exp.LTE),
            ):
                if bound is None:
                    continue
                literal = exp.Literal.number(_literal_number(bound))
                if column.type == "real" and not _exact_in_float4(bound):
                    # Compare in single precision: PostgreSQL would otherwise widen the stored
                    # float4 to float8 and reject a value typed exactly at the boundary.
                    literal = exp.cast(literal, "real")
                parts.append((strict if exclusive else loose)(this=col.copy(), expression=literal))
            if parts:
                expr = parts[0] if len(parts) == 1 else exp.and_(*parts)
                checks.append(
                    Check(
                        f"ck_{table}_{column.name}_range",
                        expr.sql("postgres"),
                        _range_sentence(column.name, rng),
                        kind="range",
                        column=column.name,
                    )
                )
        for check in checks:
            self.identifier(check.name, ("tables", table, "columns", column.name))
        return checks

    def check_expression(
        self, text: str, known: set[str], colnames, where, *, boolean: bool = True
    ) -> exp.Expression | None:
        try:
            tree = sqlglot.parse_one(text, read="postgres")
        except sqlglot.errors.ParseError as exc:
            first = exc.errors[0]["description"] if exc.errors else str(exc)
            self.error(
                where,
                f"CHECK expression does not parse: {first}",
                "write it in PostgreSQL syntax, e.g. a >= 0 AND a <= b",
                at_value=True,
            )
            return None
        if tree is None or (boolean and not _is_boolean(tree)):
            self.error(
                where,
                "CHECK expression is not a true/false condition",
                "compare columns, e.g. a >= 0 AND a <= b",
                at_value=True,
            )
            return None
        for column in tree.find_all(exp.Column):
            if column.name not in known:
                self.error(
                    where,
                    f"CHECK expression uses unknown column '{column.name}'",
                    suggest(column.name, colnames),
                    at_value=True,
                )
        return tree

    def raw_fk(self, table, name, columns, ref_table, ref_columns, on_delete, why, where):
        """Record a foreign key; its target is resolved once every table is built."""
        self.identifier(name, where)
        return ForeignKey(
            name=name,
            table=table,
            columns=tuple(columns),
            ref_table=ref_table,
            ref_columns=tuple(ref_columns) if ref_columns else (),
            on_delete=on_delete,
            why=_one_line(why),
        ), where

    def build_timescale(self, table, spec, known, colnames, raw_columns) -> TimescaleOptions:
        path = ("tables", table, "timescaledb")

        def cols(value, where) -> tuple[str, ...]:
            return self.column_list(table, colnames, value, where)

        hyper = spec["hypertable"]
        time_column = hyper["time_column"]
        if time_column not in known:
            self.error(
                (*path, "hypertable", "time_column"),
                f"unknown column '{time_column}'",
                suggest(time_column, colnames),
                at_value=True,
            )
        elif raw_columns[time_column]["type"] != "timestamptz" or raw_columns[time_column].get(
            "nullable"
        ):
            self.error(
                (*path, "hypertable", "time_column"),
                "the hypertable's time column must be a NOT NULL timestamptz",
            )
        compression = spec.get("compression") or {}
        segment_by = cols(compression.get("segment_by", []), (*path, "compression", "segment_by"))
        order_by = cols(compression.get("order_by", []), (*path, "compression", "order_by"))
        caggs = []
        for cname, cspec in (spec.get("continuous_aggregates") or {}).items():
            where = (*path, "continuous_aggregates", cname)
            self.identifier(cname, where)
            group_by = cols(cspec["group_by"], (*where, "group_by"))
            aggregates = []
            for out, expression in cspec["aggregates"].items():
                self.identifier(out, (*where, "aggregates", out))
                self.check_expression(
                    expression, known | {"*"}, colnames, (*where, "aggregates", out), boolean=False
                )
                aggregates.append((out, expression))
            caggs.append(
                ContinuousAggregate(
                    cname,
                    _one_line(cspec["description"]),
                    cspec["bucket_width"],
                    group_by,
                    tuple(aggregates),
                )
            )
        return TimescaleOptions(
            time_column, hyper["chunk_interval"], segment_by, order_by, tuple(caggs)
        )

    # -- across tables ---------------------------------------------------------------------
    def link_foreign_keys(self, tables: dict[str, Table]) -> dict[str, Table]:
        """Resolve each FK's target, check arity and types, and derive its cardinality."""
        linked = {}
        table_names = list(self.raw_tables)
        for name, table in tables.items():
            fks = []
            for fk, where in self.pending_fks.get(name, []):
                fk = self.resolve_fk(table, fk, where, tables, table_names)
                if fk is not None:
                    fks.append(fk)
            linked[name] = replace(table, foreign_keys=tuple(fks))
        for table in linked.values():
            self.check_fk_indexes(table)
            self.check_hypertable_references(table, linked)
        return linked

    def resolve_fk(self, table: Table, fk: ForeignKey, where, tables, table_names):
        target = tables.get(fk.ref_table)
        if target is None:
            if fk.ref_table not in table_names:
                self.error(
                    (*where, "table")
                    if (*where, "table") in self.src.key_positions
                    else (*where, "references"),
                    f"references unknown table '{fk.ref_table}'",
                    suggest(fk.ref_table, table_names),
                )
            return None
        ref_columns = fk.ref_columns
        if not ref_columns:
            if len(target.primary_key) != 1:
                self.error(
                    where,
                    f"table '{target.name}' has a composite primary key",
                    "name the referenced column, or use a table-level foreign_keys entry",
                )
                return None
            ref_columns = target.primary_key
        ok = True
        if len(ref_columns) != len(fk.columns):
            self.error(
                where,
                f"foreign key has {len(fk.columns)} column(s) but references {len(ref_columns)}",
                "list the same number of columns on both sides",
            )
            ok = False
        for col in ref_columns:
            if col not in target.column_map:
                self.error(
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
                self.error(
                    ("tables", table.name, "columns", col, "type"),
                    f"column '{col}' is {mine} but the foreign key {fk.name} points it at "
                    f"'{target.name}.{ref}', which is {theirs}",
                    f"make '{col}' {theirs}",
                    at_value=True,
                )
                ok = False
        keys = [target.primary_key, *(u.columns for u in target.uniques)]
        if not any(set(k) == set(ref_columns) for k in keys):
            self.error(
                where,
                f"'{target.name}({', '.join(ref_columns)})' is neither its "
                "primary key nor a unique constraint",
                "reference a key, or add a unique constraint on those columns",
            )
            ok = False
        if fk.on_delete == "set null" and not all(table.column(c).nullable for c in fk.columns):
            self.error(
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
        one_to_one = any(set(k) <= set(fk.columns) for k in child_keys)
        return replace(
            fk,
            ref_columns=tuple(ref_columns),
            cardinality=ONE_TO_ONE if one_to_one else ONE_TO_MANY,
            optional=any(table.column(c).nullable for c in fk.columns),
        )

    def check_fk_indexes(self, table: Table) -> None:
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
                if where not in self.src.key_positions:
                    where = ("tables", table.name, "columns", fk.columns[0], "references")
                self.error(
                    where,
                    f"no index starts with the foreign key columns ({', '.join(fk.columns)})",
                    f"add indexes: ix_{table.name}_{fk.columns[0]}: "
                    f"{{columns: [{', '.join(fk.columns)}]}}",
                )

    def check_hypertable_references(self, table: Table, tables: dict[str, Table]) -> None:
        """A FK into a hypertable must include its time column (TimescaleDB's unique-key rule),
        so the referencing table has to carry that column under the same name and type."""
        for fk in table.foreign_keys:
            target = tables.get(fk.ref_table)
            if target is None or target.timescaledb is None:
                continue
            time_column = target.timescaledb.time_column
            if time_column in fk.ref_columns:
                continue
            if (
                time_column not in table.column_map
                or table.column(time_column).type != "timestamptz"
            ):
                self.error(
                    ("tables", table.name, "foreign_keys", fk.name)
                    if ("tables", table.name, "foreign_keys", fk.name) in self.src.key_positions
                    else ("tables", table.name),
                    f"references hypertable '{target.name}' but has no '{time_column}' "
                    "timestamptz column",
                    "on TimescaleDB the key of a hypertable row includes its time "
                    f"column: add a '{time_column}' column",
                )

    def check_names(self, tables: dict[str, Table]) -> None:
        """Constraint and index names are one namespace per schema in PostgreSQL."""
        seen: dict[str, str] = {}
        for table in tables.values():
            names = [
                table.primary_key_name,
                *(u.name for u in table.uniques),
                *(fk.name for fk in table.foreign_keys),
                *(c.name for c in table.checks),
                *(i.name for i in table.indexes),
            ]
            if table.timescaledb:
                names += [c.name for c in table.timescaledb.continuous_aggregates]
            for n in names:
                if n in seen:
                    self.error(
                        ("tables", table.name),
                        f"name '{n}' is used twice (also in table '{seen[n]}')",
                        "constraint and index names must be unique across the schema",
                    )
                seen[n] = table.name
        for n in seen:
            if n in tables:
                self.error(("tables", n), f"'{n}' names both a table and a constraint or index")

    def build_workflow(self, steps, tables):
        for i, step in enumerate(steps):
            for j, name in enumerate(step.get("writes", [])):
                if name not in self.raw_tables:
                    self.error(
                        ("workflow", i, "writes", j),
                        f"unknown table '{name}'",
                        suggest(name, self.raw_tables),
                        at_value=True,
                    )
            yield WorkflowStep(
                step["title"], _one_line(step["description"]), tuple(step.get("writes", []))
            )

    def dependency_order(self, tables: dict[str, Table]) -> tuple[Table, ...]:
        """Declared order, except that a table always follows the tables it references."""
        ordered: list[Table] = []
        state: dict[str, str] = {}

        def visit(name: str, chain: list[str]) -> None:
            if state.get(name) == "done":
                return
            if state.get(name) == "visiting":
                self.error(
                    ("tables", name),
                    "foreign keys form a cycle: " + " -> ".join([*chain, name]),
                    "break the cycle with a nullable key",
                )
                return
            state[name] = "visiting"
            for fk in tables[name].foreign_keys:
                if fk.ref_table in tables and fk.ref_table != name:
                    visit(fk.ref_table, [*chain, name])
            state[name] = "done"
            ordered.append(tables[name])

        for name in tables:
            visit(name, [])
        return tuple(ordered)


def _is_boolean(tree: exp.Expression) -> bool:
    while isinstance(tree, exp.Paren):
        tree = tree.this
    return isinstance(tree, exp.Predicate | exp.Connector | exp.Not | exp.Boolean | exp.Func)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _kind(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "nothing",
    }.get(type(value), "?")


def _range_sentence(column: str, rng: Range) -> str:
    if rng.min is not None and rng.max is not None:
        return f"{column} lies in {rng.describe()}."
    return f"{column} {rng.describe()}."


def _exact_in_float4(value: float) -> bool:
    return struct.unpack("f", struct.pack("f", value))[0] == value


def _literal_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _default_fits(ctype: str, value) -> bool:
    if ctype in INTEGER_TYPES:
        return isinstance(value, int) and not isinstance(value, bool)
    if ctype in FLOAT_TYPES:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if ctype == "boolean":
        return isinstance(value, bool)
    if ctype == "json":
        if not isinstance(value, str):
            return False
        try:
            json.loads(value)
        except ValueError:
            return False
        return True
    return isinstance(value, str)
