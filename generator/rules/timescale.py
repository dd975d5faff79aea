"""The timescaledb: block, read only by the TimescaleDB target: the hypertable's time column,
compression columns, continuous aggregates, and references into a hypertable."""

from __future__ import annotations

from ..model import ContinuousAggregate, ElapsedAsStart, Table, TimescaleOptions
from . import Context, as_written, suggest
from .expressions import check_aggregate, column_kind
from .keys import column_list
from .names import identifier


def build_timescale(ctx: Context, table: str, spec: dict, raw_columns: dict) -> TimescaleOptions:
    path = ("tables", table, "timescaledb")
    colnames = list(raw_columns)

    def cols(value, where) -> tuple[str, ...]:
        return column_list(ctx, table, colnames, value, where)

    hyper = spec["hypertable"]
    time_column = hyper["time_column"]
    if time_column not in raw_columns:
        ctx.report(
            "timescale.time-column",
            (*path, "hypertable", "time_column"),
            f"unknown column '{time_column}'",
            suggest(time_column, colnames),
            at_value=True,
        )
    elif raw_columns[time_column]["type"] != "timestamptz" or raw_columns[time_column].get(
        "nullable"
    ):
        ctx.report(
            "timescale.time-type",
            (*path, "hypertable", "time_column"),
            "the hypertable's time column must be a NOT NULL timestamptz",
        )
    compression = spec.get("compression") or {}
    segment_by = cols(compression.get("segment_by", []), (*path, "compression", "segment_by"))
    order_by = cols(compression.get("order_by", []), (*path, "compression", "order_by"))
    both = [c for c in order_by if c in segment_by]
    if both:
        ctx.report(
            "timescale.compression-overlap",
            (*path, "compression"),
            f"'{both[0]}' is in both segment_by and order_by",
            "TimescaleDB cannot segment and order by the same column",
        )
    kinds = {c: column_kind(s["type"]) for c, s in raw_columns.items()}
    caggs = []
    for cname, cspec in (spec.get("continuous_aggregates") or {}).items():
        where = (*path, "continuous_aggregates", cname)
        identifier(ctx, cname, where)
        group_by = cols(cspec["group_by"], (*where, "group_by"))
        aggregates = []
        view_columns = ["bucket", *group_by, *cspec["aggregates"]]
        clash = next((c for c in view_columns if view_columns.count(c) > 1), None)
        if clash is not None:
            ctx.report(
                "timescale.cagg-column",
                where,
                f"the view would have two columns named '{clash}' "
                "(bucket, the group_by columns and the aggregates share one namespace)",
                "rename the aggregate output",
            )
        for out, expression in cspec["aggregates"].items():
            identifier(ctx, out, (*where, "aggregates", out), column=True)
            sql = check_aggregate(ctx, expression, kinds, group_by, (*where, "aggregates", out))
            aggregates.append((out, sql or ""))
        caggs.append(
            ContinuousAggregate(
                cname,
                as_written(cspec["description"]),
                cspec["bucket_width"],
                group_by,
                tuple(aggregates),
            )
        )
    elapsed = build_elapsed_as_start(ctx, path, spec.get("elapsed_as_start"), raw_columns)
    if elapsed is not None:
        used = [c for c in (*segment_by, *order_by) if c == elapsed.column]
        used += [
            c.name
            for c in caggs
            if elapsed.column in c.group_by
            or any(elapsed.column in _words(expr) for _, expr in c.aggregates)
        ]
        if used:
            ctx.report(
                "timescale.elapsed-use",
                (*path, "elapsed_as_start", "column"),
                f"'{elapsed.column}' is used by the compression settings or continuous "
                f"aggregate {used[0]!r}, but it is not stored in the hypertable",
                f"use {time_column} there, or drop elapsed_as_start",
            )
    return TimescaleOptions(
        time_column, hyper["chunk_interval"], segment_by, order_by, tuple(caggs), elapsed
    )


def _words(expression: str) -> set[str]:
    import re

    return set(re.findall(r"[a-z_][a-z0-9_]*", expression.lower()))


def build_elapsed_as_start(ctx: Context, path, spec, raw_columns: dict) -> ElapsedAsStart | None:
    """`elapsed_as_start:` stores a seconds column as the instant it counts from."""
    if spec is None:
        return None
    where = (*path, "elapsed_as_start")
    column, start, store = spec["column"], spec["start_column"], spec["store_table"]
    ok = True
    raw = raw_columns.get(column)
    if raw is None:
        ctx.report(
            "timescale.elapsed-column",
            (*where, "column"),
            f"unknown column '{column}'",
            suggest(column, list(raw_columns)),
            at_value=True,
        )
        ok = False
    elif raw.get("type") != "double" or raw.get("nullable") or raw.get("unit") != "s":
        ctx.report(
            "timescale.elapsed-type",
            (*where, "column"),
            f"'{column}' must be a NOT NULL double column in seconds (unit: s) to be stored "
            "as the instant it counts from",
            "name the elapsed-seconds column, e.g. test_time_second",
            at_value=True,
        )
        ok = False
    elif set(raw.get("range") or {}) - {"min"} or (raw.get("range") or {}).get("min", 0) != 0:
        ctx.report(
            "timescale.elapsed-range",
            (*where, "column"),
            f"'{column}' may only have range {{min: 0}}: stored as its start, the range "
            "becomes 'start <= time column' and no other bound can be checked",
            "drop the other bounds",
        )
        ok = False
    identifier(ctx, start, (*where, "start_column"), column=True)
    if start in raw_columns:
        ctx.report(
            "timescale.elapsed-start",
            (*where, "start_column"),
            f"'{start}' is already a column of the table",
            "choose a new name for the stored start instant, e.g. test_started_at",
            at_value=True,
        )
        ok = False
    identifier(ctx, store, (*where, "store_table"))
    return ElapsedAsStart(column, start, store) if ok else None


def check_hypertable_references(ctx: Context, table: Table, tables: dict[str, Table]) -> None:
    """A FK into a hypertable must include its time column (TimescaleDB's unique-key rule),
    so the referencing table has to carry that column under the same name and type. Also: a
    column stored as its start instant (elapsed_as_start) can be in no key, index or CHECK of
    the hypertable, which holds only the start."""
    elapsed = table.timescaledb.elapsed_as_start if table.timescaledb else None
    if elapsed is not None:
        keyed = [
            (name, cols)
            for name, cols in [
                (table.primary_key_name or "primary_key", table.primary_key),
                *((u.name, u.columns) for u in table.uniques),
                *((fk.name, fk.columns) for fk in table.foreign_keys),
                *((i.name, i.columns) for i in table.indexes),
            ]
            if elapsed.column in cols
        ]
        keyed += [
            (c.name, ())
            for c in table.checks
            if c.kind == "explicit" and elapsed.column in c.columns
        ]
        if keyed:
            ctx.report(
                "timescale.elapsed-key",
                ("tables", table.name, "timescaledb", "elapsed_as_start", "column"),
                f"'{elapsed.column}' is used by {keyed[0][0]}, but on TimescaleDB it is "
                "not stored in the hypertable (elapsed_as_start)",
                "key, index and check the stored columns, or drop elapsed_as_start",
            )
    for fk in table.foreign_keys:
        target = tables.get(fk.ref_table)
        if target is None or target.timescaledb is None:
            continue
        time_column = target.timescaledb.time_column
        if time_column in fk.ref_columns:
            continue
        if time_column not in table.column_map or table.column(time_column).type != "timestamptz":
            where = ("tables", table.name, "foreign_keys", fk.name)
            ctx.report(
                "timescale.reference",
                where if where in ctx.src.key_positions else ("tables", table.name),
                f"references hypertable '{target.name}' but has no '{time_column}' "
                "timestamptz column",
                "on TimescaleDB the key of a hypertable row includes its time "
                f"column: add a '{time_column}' column",
            )
