"""liam-erd-schema: compile schema.yaml into DDL, diagrams and documentation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Schema

__version__ = "0.1.0"

# The loader, validator and model are imported on first use, so `python -m generator` can
# answer Ctrl-C during start-up with one line (see __main__.py) instead of a traceback.


def load_schema(path: str | Path = "schema.yaml") -> Schema:
    """Load and validate a schema file; raises SchemaError listing every problem."""
    from .load import load
    from .validate import validate

    return validate(load(path))


def load_schema_text(text: str, file: str = "schema.yaml") -> Schema:
    from .load import load_text
    from .validate import validate

    return validate(load_text(text, file))


def __getattr__(name: str):
    if name == "Schema":
        from .model import Schema

        return Schema
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Schema", "load_schema", "load_schema_text", "__version__"]
