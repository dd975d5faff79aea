"""liam-erd-schema: compile schema.yaml into DDL, diagrams and documentation."""

from __future__ import annotations

from pathlib import Path

from .load import load, load_text
from .model import Schema
from .validate import validate

__version__ = "0.1.0"


def load_schema(path: str | Path = "schema.yaml") -> Schema:
    """Load and validate a schema file; raises SchemaError listing every problem."""
    return validate(load(path))


def load_schema_text(text: str, file: str = "schema.yaml") -> Schema:
    return validate(load_text(text, file))


__all__ = ["Schema", "load_schema", "load_schema_text", "__version__"]
