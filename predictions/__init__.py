"""The predictions room: a model's predictions into model_run and prediction, each linked to
the label it predicts (`python -m predictions import`), and their evaluation per run, split
and cell (`python -m predictions evaluate`); installed: `liam-erd-schema predictions ...`.
docs/modelling.md."""

from .evaluate import Score, evaluate
from .load import Imported, Run, import_predictions

__all__ = ["Imported", "Run", "Score", "evaluate", "import_predictions"]
