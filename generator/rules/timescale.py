"""The timescaledb: block, read only by the TimescaleDB target: the hypertable's time column,
compression columns, continuous aggregates, and references into a hypertable."""

from __future__ import annotations

from ..model import ContinuousAggregate, Table, TimescaleOptions
from . import Context, one_line, suggest
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
                one_line(cspec["description"]),
                cspec["bucket_width"],
                group_by,
                tuple(aggregates),
            )
        )
    return TimescaleOptions(
        time_column, hyper["chunk_interval"], segment_by, order_by, tuple(caggs)
    )


def check_hypertable_references(ctx: Context, table: Table, tables: dict[str, Table]) -> None:
    """A FK into a hypertable must include its time column (TimescaleDB's unique-key rule),
    so the referencing table has to carry that column under the same name and type."""
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
