"""`python -m predictions COMMAND` (installed: `liam-erd-schema predictions COMMAND`):

- `import FILE --db URL --export EXPORT --model-name N --model-version V --code-revision R`:
  one model_run and its predictions, linked to their labels, whole or not at all;
- `evaluate --db URL [--run ID] [--per-cell]`: count, MAE, RMSE and max error per run and
  split (and cell), in label units.

Exit codes: 0 done, 1 the database refused the run (nothing written), 2 usage (options,
database, the export's description), 3 the predictions' split disagrees with the export's (a
cell on two sides; nothing written), 4 the prediction file is refused (one file:line: column
message; nothing written)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from export.errors import USAGE, ExportError


def _parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="A model's predictions into the database (model_run, prediction) and "
        "their evaluation against the labels. docs/modelling.md.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="{import,evaluate}")
    i = sub.add_parser("import", help="write one model_run and its predictions")
    i.add_argument(
        "file",
        type=Path,
        help="CSV or Parquet: the cycle or sample key, predicted_value[, uncertainty, split]",
    )
    i.add_argument(
        "--db", required=True, help="sqlite:///path, postgresql://... or chdb:///dir?database=NAME"
    )
    i.add_argument(
        "--export",
        required=True,
        type=Path,
        help="the training-set export predicted (its file or its .export.json)",
    )
    i.add_argument("--task", choices=("soh", "soc"), help="default: the export's")
    i.add_argument("--model-name", required=True)
    i.add_argument("--model-version", required=True)
    i.add_argument(
        "--code-revision", required=True, help="e.g. the git commit of the training code"
    )
    i.add_argument("--hyperparameters", default="{}", metavar="JSON", help="a JSON object")
    i.add_argument("--dataset-version", help="default: export-<hash of the export's description>")
    i.add_argument("--seed", type=int, help="the run's random seed (default: the split's)")
    e = sub.add_parser("evaluate", help="MAE, RMSE, max error per run and split (and cell)")
    e.add_argument(
        "--db", required=True, help="sqlite:///path, postgresql://... or chdb:///dir?database=NAME"
    )
    e.add_argument("--run", type=int, action="append", metavar="ID", help="only this run (repeat)")
    e.add_argument("--per-cell", action="store_true", help="one line per cell too")
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p  # fmt: skip


def main(argv: list[str] | None = None, prog: str = "python -m predictions") -> int:
    args = _parser(prog).parse_args(argv)
    try:
        if args.command == "import":
            return _import(args)
        return _evaluate(args)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code


def _import(args) -> int:
    from .load import Run, import_predictions

    try:
        hyper = json.loads(args.hyperparameters)
    except ValueError as exc:
        raise ExportError(f"--hyperparameters: not JSON: {exc}", USAGE) from None
    if not isinstance(hyper, dict):
        raise ExportError('--hyperparameters: a JSON object, e.g. {"alpha": 0.1}', USAGE)
    run = Run(
        args.model_name,
        args.model_version,
        args.code_revision,
        hyper,
        dataset_version=args.dataset_version,
        random_seed=args.seed,
    )
    done = import_predictions(args.db, args.file, args.export, run, args.task)
    test = done.metrics.get("test")
    said = f"; test: MAE {test['mae']:.4g}, RMSE {test['rmse']:.4g}" if test else ""
    print(f"model_run {done.run_id}: {done.rows} {done.task} predictions{said}", file=sys.stderr)
    print(done.run_id)
    return 0


def _evaluate(args) -> int:
    from .evaluate import evaluate

    scores = evaluate(args.db, args.run, per_cell=False)
    if args.per_cell:
        scores += evaluate(args.db, args.run, per_cell=True)
    if args.json:
        print(json.dumps([s.__dict__ for s in scores]))
        return 0
    print(f"{'run':>5} {'split':<10} {'cell':>6} {'count':>7} {'MAE':>10} {'RMSE':>10} {'max':>10}")
    for s in sorted(
        scores,
        key=lambda s: (
            s.run_id,
            s.split,
            s.cell_id is not None or s.pack_id is not None,
            s.pack_id or 0,
            s.cell_id or 0,
        ),  # fmt: skip
    ):
        cell = "all" if s.cell_id is None else str(s.cell_id)
        if s.pack_id is not None:
            cell = f"pack {s.pack_id}"
        numbers = f"{s.mae:>10.5f} {s.rmse:>10.5f} {s.max_error:>10.5f}"
        print(f"{s.run_id:>5} {s.split:<10} {cell:>6} {s.count:>7} {numbers}")
    return 0
