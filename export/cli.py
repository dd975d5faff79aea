"""`python -m export COMMAND` (installed: `liam-erd-schema export COMMAND`):

- `training-set --db URL --out FILE.parquet|FILE.csv`: a training set (per cycle for SOH,
  per sample for SOC) with its split, streamed; a warning with the numbers for each feature
  that is (almost) a linear function of the label;
- `bdf --db URL --session ID --out FILE.csv|FILE.parquet`: a session's samples as a Battery
  Data Format file.

Exit codes: 0 written, 1 refused (nothing matches, no such feature version or label
definition or session; nothing written), 2 usage (options, database), 3 the split leaks (a
cell on two sides; nothing written)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import USAGE, ExportError


def _parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Training sets out of a database of this schema (Parquet, CSV; every "
        "column's unit and description in the Arrow field metadata), and sessions back out as "
        "Battery Data Format files. docs/modelling.md.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="{training-set,bdf}")
    t = sub.add_parser(
        "training-set", help="export a training set (per cycle: SOH; per sample: SOC)"
    )
    t.add_argument(
        "--db", required=True, help="sqlite:///path, postgresql://... or chdb:///dir?database=NAME"
    )
    t.add_argument("--out", required=True, type=Path, help="FILE.parquet or FILE.csv")
    t.add_argument(
        "--task",
        choices=("soh", "soc"),
        default="soh",
        help="soh: per cycle (default); soc: per sample",
    )
    t.add_argument(
        "--feature-version",
        metavar="NAME",
        help="cycle_feature.feature_version (default: the only one)",
    )
    t.add_argument("--definition", help="label_soh.definition (default: the only one)")
    t.add_argument("--reference-basis", help="label_soh.reference_basis (default: the only one)")
    t.add_argument("--method", help="label_soc.method (default: the only one)")
    t.add_argument(
        "--label-version", metavar="NAME", help="the labels' label_version (default: the only one)"
    )
    t.add_argument(
        "--cell", type=int, action="append", metavar="ID", help="only this cell (repeat)"
    )
    t.add_argument(
        "--session", type=int, action="append", metavar="ID", help="only this session (repeat)"
    )
    t.add_argument(
        "--protocol", action="append", metavar="NAME", help="only this protocol_name (repeat)"
    )
    t.add_argument(
        "--chemistry", action="append", metavar="NAME", help="only this chemistry (repeat)"
    )
    t.add_argument(
        "--cycle-type",
        action="append",
        metavar="TYPE",
        help="only cycles of this cycle_type (repeat)",
    )
    t.add_argument(
        "--asset",
        choices=("cell", "pack"),
        default="cell",
        help="the sessions the set holds: cell sessions (default) or pack sessions; never both",
    )
    t.add_argument(
        "--split",
        choices=("cell", "condition", "none"),
        default="cell",
        help="split whole cells (default; whole packs with --asset pack) or whole "
        "operating-condition groups",
    )
    t.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    t.add_argument("--test-fraction", type=float, default=0.2, metavar="F", help="default 0.2")
    t.add_argument("--validation-fraction", type=float, default=0.0, metavar="F", help="default 0")
    t.add_argument(
        "--split-spec",
        type=Path,
        metavar="JSON",
        help='a given split instead of a drawn one: {"by": "cell", "train": [...], "test": [...]}',
    )
    t.add_argument(
        "--window-seconds",
        type=float,
        metavar="W",
        help="SOC: add window_index = floor(test_time_second / W)",
    )
    t.add_argument(
        "--drop", action="append", default=[], metavar="COLUMN", help="leave a column out (repeat)"
    )
    b = sub.add_parser(
        "bdf", help="a session's samples as a Battery Data Format CSV or Parquet file"
    )
    b.add_argument(
        "--db", required=True, help="sqlite:///path, postgresql://... or chdb:///dir?database=NAME"
    )
    b.add_argument("--session", type=int, required=True, metavar="ID")
    b.add_argument("--out", required=True, type=Path, help="FILE.csv (or .csv.gz) or FILE.parquet")
    return p  # fmt: skip


def main(argv: list[str] | None = None, prog: str = "python -m export") -> int:
    args = _parser(prog).parse_args(argv)
    try:
        if args.command == "bdf":
            from .bdf import write_session

            rows = write_session(args.db, args.session, args.out)
            print(f"{args.out}: session {args.session}, {rows} samples", file=sys.stderr)
            return 0
        return _training_set(args)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code


def _training_set(args: argparse.Namespace) -> int:
    from .api import write_training_set

    spec = None
    if args.split_spec is not None:
        try:
            spec = json.loads(args.split_spec.read_text())
        except (OSError, ValueError) as exc:
            raise ExportError(f"--split-spec {args.split_spec}: {exc}", USAGE) from None
    definition = {
        k: v
        for k, v in {
            "definition": args.definition,
            "reference_basis": args.reference_basis,
            "method": args.method,
            "label_version": args.label_version,
        }.items()
        if v is not None
    }
    written = write_training_set(
        args.db,
        args.out,
        args.task,
        feature_version=args.feature_version,
        definition=definition,
        cells=args.cell,
        sessions=args.session,
        protocols=args.protocol,
        chemistries=args.chemistry,
        cycle_types=args.cycle_type,
        split=args.split,
        seed=args.seed,
        test_fraction=args.test_fraction,
        validation_fraction=args.validation_fraction,
        split_spec=spec,
        window_seconds=args.window_seconds,
        drop=args.drop,
        asset=args.asset,
    )
    for line in written.warnings:
        print(line, file=sys.stderr)
    spec = written.plan.split.spec()
    asset = written.plan.request.asset
    cells = spec.get(f"{asset}s", {})
    parts = ", ".join(
        f"{p} {len(cells.get(p, []))} {asset}s" for p in ("train", "validation", "test")
    )
    print(
        f"{written.path}: {written.rows} rows ({written.plan.request.task}), split by "
        f"{spec['by']}"
        + (f": {parts}" if cells else "")
        + f"; description in {written.path.name}.export.json",
        file=sys.stderr,
    )
    return 0
