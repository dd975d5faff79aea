"""Columns: types, units (BDF suffixes), enumerations, ranges, identities and defaults, and
the CHECKs derived from them (enum and range)."""

from __future__ import annotations

import json
import math
import struct
from datetime import datetime

from ..model import FLOAT_TYPES, INTEGER_TYPES, Check, Column, Node, Range, fit_name
from ..targets import schema_text
from . import Context, as_written, suggest
from .names import identifier, name_limit

# BDF-style unit suffixes: a column whose name ends in one must declare that unit, and back.
UNIT_SUFFIXES = {
    "_second": "s",
    "_volt": "V",
    "_ampere": "A",
    "_ah": "Ah",
    "_wh": "Wh",
    "_ohm": "ohm",
    "_celsius": "degC",
    # compound units of derivatives (dQ/dV, dV/dQ): the longest matching suffix decides
    "_ah_per_volt": "Ah/V",
    "_volt_per_ah": "V/Ah",
}
INTEGER_LIMITS = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}
FLOAT4_MAX = 3.4028234663852886e38
FLOAT4_MIN = 1.1754943508222875e-38  # smallest normal single: PostgreSQL refuses underflow


def fits_real(value: float) -> bool:
    return value == 0 or FLOAT4_MIN <= abs(value) <= FLOAT4_MAX


def build_column(ctx: Context, table: str, name: str, spec: dict) -> Column:
    path = ("tables", table, "columns", name)
    identifier(ctx, name, path, column=True)
    ctype = spec["type"]
    unit = spec.get("unit")
    check_unit(ctx, path, name, ctype, unit)
    enum = spec.get("enum")
    if enum is not None:
        if enum not in ctx.enums:
            ctx.report(
                "columns.unknown-enum",
                (*path, "enum"),
                f"unknown enumeration '{enum}'",
                suggest(enum, ctx.enums),
                at_value=True,
            )
        if ctype != "text":
            ctx.report("columns.enum-type", (*path, "enum"), "an enumeration needs a text column")
    rng = build_range(ctx, path, ctype, spec["range"]) if "range" in spec else None
    identity = bool(spec.get("identity", False))
    if identity and ctype not in INTEGER_TYPES:
        ctx.report(
            "columns.identity-type",
            (*path, "identity"),
            f"an identity column must be an integer, not {ctype}",
        )
    default = spec.get("default")
    if default is not None:
        check_default(ctx, path, ctype, default, rng, enum, identity)
    return Column(
        name=name,
        type=ctype,
        description=as_written(spec["description"]),
        nullable=bool(spec.get("nullable", False)),
        identity=identity,
        unit=unit,
        enum=enum,
        range=rng,
        default=default,
    )


def check_unit(ctx: Context, path, name: str, ctype: str, unit) -> None:
    if unit is not None and unit not in ctx.units:
        ctx.report(
            "columns.unknown-unit",
            (*path, "unit"),
            f"unknown unit '{unit}'",
            suggest(unit, ctx.units) or f"define it under units: ({', '.join(ctx.units)})",
            at_value=True,
        )
    if ctype in FLOAT_TYPES and unit is None:
        ctx.report(
            "columns.no-unit",
            path,
            f"measured quantity '{name}' has no unit",
            "add unit: (fraction for a dimensionless ratio)",
        )
    ends = max((s for s in UNIT_SUFFIXES if name.endswith(s)), key=len, default=None)
    for suffix, expected in UNIT_SUFFIXES.items():
        if suffix == ends and unit is not None and unit != expected:
            ctx.report(
                "columns.unit-suffix",
                (*path, "unit"),
                f"unit '{unit}' contradicts the name suffix '{suffix}'",
                f"use unit: {expected}",
                at_value=True,
            )
        if unit == expected and not name.endswith(suffix):
            ctx.report(
                "columns.suffix-missing",
                path,
                f"a column in {unit} should end in '{suffix}'",
                f"rename it to '{name}{suffix}' (BDF naming)",
            )


def build_range(ctx: Context, path, ctype: str, r: dict) -> Range:
    rng = Range(
        r.get("min"),
        r.get("max"),
        bool(r.get("min_exclusive", False)),
        bool(r.get("max_exclusive", False)),
    )
    where = (*path, "range")
    if ctype not in INTEGER_TYPES + FLOAT_TYPES:
        ctx.report("columns.range-type", where, f"a range needs a numeric column, not {ctype}")
    if rng.min is None and rng.max is None:
        ctx.report("columns.range-open", where, "a range needs min or max")
    elif rng.min is not None and rng.max is not None:
        if rng.min > rng.max or (rng.min == rng.max and (rng.min_exclusive or rng.max_exclusive)):
            ctx.report(
                "columns.range-empty",
                where,
                f"empty range: min {rng.min} > max {rng.max}"
                if rng.min > rng.max
                else "empty range",
                "swap min and max?",
            )
    if ctype == "real":
        for bound in (rng.min, rng.max):
            if bound is not None and not fits_real(bound):
                ctx.report(
                    "columns.range-width",
                    where,
                    f"the bound {bound} does not fit a real (single precision) column",
                    "use type: double, or a smaller bound",
                )
    return rng


def check_default(ctx: Context, path, ctype, default, rng, enum, identity) -> None:
    where = (*path, "default")
    if identity:
        ctx.report(
            "columns.default-identity",
            where,
            "an identity column takes its values from the identity, not a default",
        )
        return
    if not default_fits(ctype, default):
        ctx.report(
            "columns.default-type",
            where,
            f"default {_short(default)} does not fit type {ctype}",
            at_value=True,
        )
        return
    too_wide = (
        ctype in INTEGER_TYPES and not -INTEGER_LIMITS[ctype] <= default < INTEGER_LIMITS[ctype]
    ) or (ctype == "real" and not fits_real(default))
    if too_wide:
        ctx.report(
            "columns.default-width",
            where,
            f"default {default} does not fit in {ctype}",
            at_value=True,
        )
        return
    if rng is not None and ctype in INTEGER_TYPES + FLOAT_TYPES and not in_range(default, rng):
        ctx.report(
            "columns.default-range",
            where,
            f"default {default} lies outside the column's range {rng.describe()}",
            at_value=True,
        )
    if enum is not None and enum in ctx.enums and default not in ctx.enums[enum].names:
        ctx.report(
            "columns.default-enum",
            where,
            f"default {_short(default)} is not a value of enumeration '{enum}'",
            suggest(default, ctx.enums[enum].names),
            at_value=True,
        )
    if ctype == "timestamptz" and parse_timestamp(default) is None:
        ctx.report(
            "columns.default-timestamp",
            where,
            f"default {_short(default)} is not a timestamp with a time zone",
            "write ISO 8601 with an offset, e.g. '2024-01-01T00:00:00Z'",
            at_value=True,
        )


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def in_range(value, rng: Range) -> bool:
    if rng.min is not None and (value < rng.min or (rng.min_exclusive and value == rng.min)):
        return False
    if rng.max is not None and (value > rng.max or (rng.max_exclusive and value == rng.max)):
        return False
    return True


def parse_timestamp(value) -> datetime | None:
    """An ISO 8601 timestamp with an explicit offset (the same instant on every engine)."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None or not 1 <= moment.year <= 9999:
        return None
    return moment


def _no_constant(name: str):
    raise ValueError(name)


def default_fits(ctype: str, value) -> bool:
    if ctype in INTEGER_TYPES:
        return isinstance(value, int) and not isinstance(value, bool)
    if ctype in FLOAT_TYPES:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if ctype == "boolean":
        return isinstance(value, bool)
    if ctype == "json":
        if not isinstance(value, str):
            return False
        try:  # what jsonb and SQLite's json_valid() both accept: no NaN, no Infinity
            json.loads(value, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            return False
        return True
    return isinstance(value, str)


def derived_checks(ctx: Context, table: str, column: Column) -> list[Check]:
    checks = []
    limit = name_limit()
    if column.enum and column.enum in ctx.enums:
        values = ctx.enums[column.enum].names
        items = [Node("string", value=v) for v in values]
        expr = Node("in", [Node("column", value=column.name), *items])
        checks.append(
            Check(
                fit_name(f"ck_{table}_{column.name}_enum", limit),
                schema_text(expr),
                f"{column.name} is one of the {column.enum} values.",
                kind="enum",
                column=column.name,
                tree=expr,
            )
        )
    if column.range is not None:
        rng = column.range
        parts = []
        for bound, exclusive, strict, loose in (
            (rng.min, rng.min_exclusive, ">", ">="),
            (rng.max, rng.max_exclusive, "<", "<="),
        ):
            if bound is None or (column.type == "real" and not fits_real(bound)):
                continue
            literal = Node("number", value=_literal_number(bound))
            if column.type == "real" and not _exact_in_float4(bound):
                # Compare in single precision: PostgreSQL would otherwise widen the stored
                # float4 to float8 and reject a value typed exactly at the boundary.
                literal = Node("cast", [literal], value="real")
            column_node = Node("column", value=column.name)
            parts.append(Node("compare", [column_node, literal], op=strict if exclusive else loose))
        if parts:
            expr = parts[0] if len(parts) == 1 else Node("and", parts)
            checks.append(
                Check(
                    fit_name(f"ck_{table}_{column.name}_range", limit),
                    schema_text(expr),
                    _range_sentence(column.name, rng),
                    kind="range",
                    column=column.name,
                    tree=expr,
                )
            )
    return checks


def _range_sentence(column: str, rng: Range) -> str:
    if rng.min is not None and rng.max is not None:
        return f"{column} lies in {rng.describe()}."
    return f"{column} {rng.describe()}."


def _exact_in_float4(value: float) -> bool:
    return struct.unpack("f", struct.pack("f", value))[0] == value


def _literal_number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 2**63:
        return str(int(value))
    return repr(float(value)) if math.isfinite(value) else "0"
