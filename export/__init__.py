"""The export room: training sets out of a database (per cycle for SOH, per sample for SOC)
as Parquet, CSV, Arrow or pandas, with splits that cannot leak, and a session back out as a
Battery Data Format file. `python -m export training-set|bdf` (installed: `liam-erd-schema
export ...`), or `export.training_set(db, ...)` from Python. docs/modelling.md."""

from .api import LeakageWarning, LeftOutWarning, read_description, training_set, write_training_set
from .errors import ExportError

__all__ = [
    "ExportError",
    "LeakageWarning",
    "LeftOutWarning",
    "read_description",
    "training_set",
    "write_training_set",
]
