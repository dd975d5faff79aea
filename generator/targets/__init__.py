"""The DDL targets. `TARGETS` is the only place a target is chosen by name."""

from __future__ import annotations

from .base import GeneratorBug, Target
from .clickhouse import ClickHouseClusterTarget, ClickHouseTarget
from .liam import LiamTarget
from .postgres import PostgresTarget
from .sqlite import SqliteTarget
from .timescaledb import TimescaleTarget

TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        PostgresTarget(),
        SqliteTarget(),
        TimescaleTarget(),
        LiamTarget(),
        ClickHouseTarget(),
        ClickHouseClusterTarget(),
    )
}


def schema_text(tree) -> str:
    """An expression of the model in the schema's own language (PostgreSQL), as the model keeps
    its text and messages quote it: the tree printed by the PostgreSQL target."""
    return TARGETS["postgres"].expression_sql(tree)


__all__ = ["TARGETS", "GeneratorBug", "Target", "schema_text"]
