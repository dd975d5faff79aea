"""`python -m derive --db URL` (installed: `liam-erd-schema derive ...`): derive cycles, cycle
features and SOC/SOH labels from the samples of a database.

Exit codes: 0 every session derived, 1 a session was refused (its transaction rolled back;
sessions before it stay derived), 2 usage (options, database)."""

from __future__ import annotations

import argparse
import sys

from .errors import DeriveError
from .run import DEFAULT_FEATURE_VERSION, DEFAULT_LABEL_VERSION, WHAT, run


def parser(prog: str = "python -m derive") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Derive cycles (from the cycler's cycle_count), cycle features, SOC labels "
        "(coulomb counting) and capacity-based SOH labels from the samples in a database, with "
        "the same SQL on SQLite, PostgreSQL, TimescaleDB and ClickHouse (staged, published per "
        "session). Definitions: docs/deriving.md.",
    )
    p.add_argument(
        "--db",
        required=True,
        help="sqlite:///path, a SQLite path, postgresql://... or chdb:///dir?database=NAME"
        " (ClickHouse through chdb)",
    )
    p.add_argument(
        "--session",
        type=int,
        action="append",
        metavar="ID",
        help="a test_session.session_id (repeat for several; default: every session with samples)",
    )
    p.add_argument(
        "--feature-version",
        default=DEFAULT_FEATURE_VERSION,
        metavar="NAME",
        help=f"cycle_feature.feature_version to write (default {DEFAULT_FEATURE_VERSION}); the "
        "same name again updates those rows in place, another name is written beside them",
    )
    p.add_argument(
        "--label-version",
        default=DEFAULT_LABEL_VERSION,
        metavar="NAME",
        help=f"label_version of the SOC and SOH labels (default {DEFAULT_LABEL_VERSION})",
    )
    p.add_argument(
        "--reference-capacity-ah",
        type=float,
        metavar="X",
        help="capacity SOC is counted against (and SOH's nominal reference); "
        "default: the nominal capacity of the session's cell or pack",
    )
    p.add_argument(
        "--initial-soc",
        type=float,
        default=0.0,
        metavar="F",
        help="SOC at the session's first sample, a fraction (default 0.0: starts empty)",
    )
    p.add_argument(
        "--soh-reference-cycles",
        type=int,
        metavar="K",
        help="SOH against the mean discharge capacity of the session's first K full cycles "
        "(reference_basis first_measured); default: against the nominal capacity",
    )
    p.add_argument(
        "--what",
        default=",".join(WHAT),
        help=f"comma-separated derivations, in this order: {','.join(WHAT)} (default: all)",
    )
    return p


def main(argv: list[str] | None = None, prog: str = "python -m derive") -> int:
    args = parser(prog).parse_args(argv)
    what = [w.strip() for w in args.what.split(",") if w.strip()]
    try:
        results = run(
            args.db,
            args.session,
            feature_version=args.feature_version,
            label_version=args.label_version,
            reference_capacity_ah=args.reference_capacity_ah,
            initial_soc=args.initial_soc,
            soh_reference_cycles=args.soh_reference_cycles,
            what=what,
        )
    except DeriveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if exc.session_id is None else 1
    if not results:
        print("no session with samples: nothing derived", file=sys.stderr)
    for r in results:
        parts = []
        if "cycles" in what:
            parts.append(f"{r.cycles} cycles")
        if "features" in what:
            parts.append(f"{r.features} cycle features ({args.feature_version})")
        if "soc" in what:
            parts.append(
                f"{r.soc_labels} SOC labels ({args.label_version}, "
                f"{r.reference_capacity_ah:g} Ah, initial SOC {args.initial_soc:g})"
            )
        if "soh" in what:
            parts.append(
                f"{r.soh_labels} SOH labels ({args.label_version}, {r.soh_reference_basis} "
                f"{r.soh_reference_capacity_ah:.4g} Ah)"
            )
        print(
            f"session {r.session_id}: " + ", ".join(parts) + f" in {r.seconds:.2f} s",
            file=sys.stderr,
        )
    return 0
