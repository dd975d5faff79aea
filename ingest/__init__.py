"""The loader room: cycler files in, staged, quality-checked against the schema's own CHECKs,
and loaded whole (or not at all) into SQLite or PostgreSQL. Separate from the DDL generator,
which it only reads (the model, for column names and CHECK predicates)."""

from .errors import IngestError, UsageError

__all__ = ["IngestError", "UsageError"]
