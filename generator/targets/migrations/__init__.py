"""One migration writer per engine, each reached from its target (`Target.migration_writer`):
`postgres`, `sqlite`, `timescaledb`; `base` holds what they share."""

from __future__ import annotations

from .base import MigrationContext, MigrationWriter, Pass, Step, file_name, renders, version_id

__all__ = [
    "MigrationContext",
    "MigrationWriter",
    "Pass",
    "Step",
    "file_name",
    "renders",
    "version_id",
]
