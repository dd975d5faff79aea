"""`python -m derive --db URL` (installed: `liam-erd-schema derive ...`): derive cycles, cycle
features and SOC/SOH labels from the samples of a database.

Each session is derived and reported on its own, one line each: a derivation that is refused
(rolled back) or skipped (something to give, said in the line) never stops the others.
Exit codes: 0 every requested derivation of every session written, 1 some derivation was
refused (the others were written), 2 usage (options, database), 3 none refused but some were
skipped (SOC labels without a full charge to anchor on, and no --initial-soc)."""

from __future__ import annotations

import argparse
import sys

from .curve_settings import (
    COMPARED_CYCLE,
    DEFAULT_CURVE_VERSION,
    REFERENCE_CYCLE,
    SMOOTHING_POLYORDER,
    SMOOTHING_WINDOW,
    CurveSettings,
)
from .defaults import EOL_THRESHOLD_SOH, OCV_MIN_REST_SECOND, SOH_MAX
from .errors import DeriveError
from .run import (
    DEFAULT_FEATURE_VERSION,
    DEFAULT_LABEL_VERSION,
    DEFAULT_WHAT,
    FULL_CURRENT_C,
    WHAT,
    SessionResult,
    run,
)

REFUSED, USAGE, SKIPPED = 1, 2, 3


def parser(prog: str = "python -m derive") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Derive cycles (from the cycler's cycle_count), cycle features, SOC labels "
        "(coulomb counting from full charges, or from --initial-soc) and capacity-based SOH "
        "labels from the samples in a database, each session on its own, with "
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
        help="capacity SOC is counted against everywhere (and SOH's nominal reference); "
        "default: the capacity measured by each full discharge, else the nominal capacity of "
        "the session's cell or pack",
    )
    p.add_argument(
        "--initial-soc",
        type=float,
        metavar="F",
        help="count SOC from the session's first sample at this SOC, a fraction (default: "
        "count from the full charges in the data: SOC 1 at the end of each CV charge)",
    )
    p.add_argument(
        "--full-voltage",
        type=float,
        metavar="V",
        help="upper cut-off voltage a full charge ends at (default: the asset's voltage_max_volt)",
    )
    p.add_argument(
        "--full-current-c",
        type=float,
        default=FULL_CURRENT_C,
        metavar="F",
        help="a full charge's current has tapered to F x the nominal capacity or below "
        f"(default {FULL_CURRENT_C:g}: C/{1 / FULL_CURRENT_C:g})",
    )
    p.add_argument(
        "--empty-voltage",
        type=float,
        metavar="V",
        help="lower cut-off voltage a discharge that measures the capacity reaches (default: "
        "the asset's voltage_min_volt)",
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
        default=None,
        help=f"comma-separated derivations, in this order: {','.join(WHAT)} (default: "
        f"{','.join(DEFAULT_WHAT)}, and ocv when --ocv-table is given; curves: per-cycle curves, "
        "dQ/dV, dV/dQ and delta-Q(V), docs/features.md)",
    )
    p.add_argument(
        "--curve-version",
        default=DEFAULT_CURVE_VERSION,
        metavar="NAME",
        help=f"curve_definition.curve_version of the curves (default {DEFAULT_CURVE_VERSION}); "
        "a stored version keeps its grid and parameters",
    )
    p.add_argument(
        "--curve-voltage-window",
        type=_pair(float),
        metavar="MIN,MAX",
        help="voltage grid of the curves in V (default: the asset's voltage limits)",
    )
    p.add_argument(
        "--delta-q-cycles",
        type=_pair(int),
        default=(REFERENCE_CYCLE, COMPARED_CYCLE),
        metavar="REF,CYCLE",
        help=f"delta-Q(V) = Q_CYCLE(V) - Q_REF(V) of the discharge curves (default "
        f"{REFERENCE_CYCLE},{COMPARED_CYCLE}, Severson et al. 2019)",
    )
    p.add_argument(
        "--savgol",
        type=_pair(int),
        default=(SMOOTHING_WINDOW, SMOOTHING_POLYORDER),
        metavar="WINDOW,ORDER",
        help=f"Savitzky-Golay window (grid points, odd) and polynomial order of dQ/dV and "
        f"dV/dQ (default {SMOOTHING_WINDOW},{SMOOTHING_POLYORDER})",
    )
    p.add_argument(
        "--relaxation-times",
        default="10,300",
        metavar="T1,T2",
        help="seconds after the current stops at which rest voltages are read (default 10,300)",
    )
    p.add_argument(
        "--eol-threshold-soh",
        type=float,
        default=EOL_THRESHOLD_SOH,
        metavar="F",
        help=f"end of life: the first cycle with SOH below F (default {EOL_THRESHOLD_SOH:g})",
    )
    p.add_argument(
        "--ocv-table",
        metavar="CSV",
        help="an OCV-SOC table (columns soc, voltage_volt): SOC labels by OCV lookup at rests",
    )
    p.add_argument(
        "--ocv-from-cycle",
        type=int,
        metavar="N",
        help="no table: take a pseudo-OCV table from cycle N of each session, a slow (C/10 or "
        "slower) charge and discharge averaged",
    )
    p.add_argument(
        "--ocv-min-rest-second",
        type=float,
        default=OCV_MIN_REST_SECOND,
        metavar="S",
        help=f"a rest is an OCV point after S seconds (default {OCV_MIN_REST_SECOND:g})",
    )
    return p


def _pair(kind: type):
    def parse(text: str) -> tuple:
        parts = text.split(",")
        if len(parts) != 2:
            raise argparse.ArgumentTypeError(f"{text!r}: give two values, A,B")
        try:
            return kind(parts[0]), kind(parts[1])
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: not two {kind.__name__}s") from None

    parse.__name__ = f"two {kind.__name__}s"
    return parse


def main(argv: list[str] | None = None, prog: str = "python -m derive") -> int:
    args = parser(prog).parse_args(argv)
    try:
        times = tuple(float(x) for x in args.relaxation_times.split(","))
        if len(times) != 2:
            raise ValueError
    except ValueError:
        print(
            f"error: --relaxation-times {args.relaxation_times!r}: give two seconds, e.g. 10,300",
            file=sys.stderr,
        )
        return USAGE
    if args.what is not None:
        what = [w.strip() for w in args.what.split(",") if w.strip()]
    else:
        with_ocv = args.ocv_table or args.ocv_from_cycle is not None
        what = list(DEFAULT_WHAT) + (["ocv"] if with_ocv else [])
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
            curves=CurveSettings(
                curve_version=args.curve_version,
                voltage_window=args.curve_voltage_window,
                delta_q_cycles=args.delta_q_cycles,
                window=args.savgol[0],
                polyorder=args.savgol[1],
            ),
            full_voltage=args.full_voltage,
            full_current_c=args.full_current_c,
            empty_voltage=args.empty_voltage,
            relaxation_times=times,
            eol_threshold_soh=args.eol_threshold_soh,
            ocv_table=args.ocv_table,
            ocv_min_rest_second=args.ocv_min_rest_second,
            ocv_cycle=args.ocv_from_cycle,
        )
    except DeriveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE
    if not results:
        print("no session with samples: nothing derived", file=sys.stderr)
    for r in results:
        print(summary(r, what, args), file=sys.stderr)
    refused = [r.session_id for r in results if r.refused]
    skipped = [r.session_id for r in results if r.skipped and not r.refused]
    if refused or skipped:
        done = len(results) - len(refused) - len(skipped)
        print(
            f"{done} of {len(results)} sessions derived completely; "
            + "; ".join(
                part
                for part in (
                    refused and f"refused in session {_ids(refused)}",
                    skipped and f"skipped in session {_ids(skipped)}",
                )
                if part
            ),
            file=sys.stderr,
        )
    return REFUSED if refused else SKIPPED if skipped else 0


def _ids(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids)


def summary(r: SessionResult, what: list[str], args: argparse.Namespace) -> str:
    """One line per session: what each derivation wrote, or why it was refused or skipped."""
    if "session" in r.refused:
        return f"session {r.session_id}: refused: {r.refused['session']}"
    parts = []
    for w, step in (
        ("cycles", "cycles"),
        ("features", "cycle features"),
        ("soc", "SOC labels"),
        ("soh", "SOH labels"),
        ("steps", "step features"),
        ("life", "RUL/EOL labels"),
        ("ocv", "OCV SOC labels"),
        ("curves", "curves"),
    ):
        if w not in what:
            continue
        if step in r.refused:
            parts.append(f"{step} refused: {r.refused[step]}")
        elif step in r.skipped:
            parts.append(f"{step} skipped: {r.skipped[step]}")
        elif w == "cycles":
            parts.append(f"{r.cycles} cycles")
        elif w == "features":
            channel = r.temperature_channel or "none"
            parts.append(
                f"{r.features} cycle features ({args.feature_version}, temperature {channel})"
            )
        elif w == "soc":
            if r.soc_basis == "initial SOC":
                how = f"{r.reference_capacity_ah:g} Ah, initial SOC {args.initial_soc:g}"
            else:
                low, high = r.soc_capacity_ah or (0.0, 0.0)
                span = f"{low:.4g} Ah" if low == high else f"{low:.4g}-{high:.4g} Ah"
                measured = f"{r.soc_measured} capacities measured" if r.soc_measured else "nominal"
                how = f"anchored at {r.soc_anchors} full charges, {measured}: {span}"
            parts.append(f"{r.soc_labels} SOC labels ({args.label_version}, {how})")
        elif w == "steps":
            parts.append(
                f"{r.step_features} cycle features with step resistance and relaxation, "
                f"{r.reference_cycles} reference cycles by C-rate"
            )
        elif w == "life":
            parts.append(f"{r.life_labels} SOH labels with RUL/EOL (< {args.eol_threshold_soh:g})")
        elif w == "ocv":
            parts.append(f"{r.ocv_labels} SOC labels by OCV lookup")
        elif w == "curves":
            c = r.curves
            text = f"curves of {c.cycles} cycles ({args.curve_version}, {c.points} points)"
            if c.nulls:
                text += ", NULL: " + "; ".join(f"{n} x {why}" for why, n in sorted(c.nulls.items()))
            parts.append(text)
        else:
            parts.append(
                f"{r.soh_labels} SOH labels ({args.label_version}, {r.soh_reference_basis} "
                f"{r.soh_reference_capacity_ah:.4g} Ah)"
                + (
                    f", {r.soh_left_out} full cycles left out (discharging more than "
                    f"{SOH_MAX:g} x the reference: several discharges under one cycle count)"
                    if r.soh_left_out
                    else ""
                )
            )
    line = f"session {r.session_id}: " + ", ".join(parts) + f" in {r.seconds:.2f} s"
    if r.null_reasons:
        line += "; NULL with a reason: " + "; ".join(
            f"{why} ({n})" for why, n in sorted(r.null_reasons.items())
        )
    return line
