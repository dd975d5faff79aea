"""`python -m bench`: generate the cycler record, load it into every engine, measure, report.

    python -m bench [--n N] [--engines sqlite,postgres15,postgres18,timescaledb]
                    [--out bench/results.json] [--docs docs/performance.md]
                    [--no-experiments] [--keep-scratch]

Exit status: 0 when every run completed and no plan fully scans timeseries_point (missed
storage or speed targets are reported, not failed); 1 when an engine run failed or a plan
scans the whole time-series table; 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from . import dataset, parquet, report, system, variants
from .files import RESULTS

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("sqlite", "postgres15", "postgres18", "timescaledb")
TIMESCALE_COMPRESSED_TARGET = 12  # issue 13: the nine cycler quantities, compressed
FLOOR_BYTES = 42  # 4+4+8+8+3*4+4+2: ids, times, V/I/T, cycle and step, nothing else


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark timeseries_point storage, ingest and queries on every engine.",
    )
    parser.add_argument("--n", type=int, default=1_000_000, help="samples (default 1000000)")
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help="comma-separated subset of " + ",".join(ENGINES),
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--docs",
        # a str, not a Path: Path('') is '.', which would make '' mean "this directory"
        default=str(ROOT / "docs" / "performance.md"),
        help="page rendered from the results ('' to skip)",
    )
    parser.add_argument(
        "--no-experiments", action="store_true", help="skip the DDL/loader variants"
    )
    parser.add_argument("--query-runs", type=int, default=7, help="timed runs per query")
    parser.add_argument("--keep-scratch", action="store_true", help="keep the scratch directory")
    parser.add_argument(
        "--no-generator-timing", action="store_true", help="skip timing `python -m generator sql`"
    )
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        parser.error(f"unknown engine(s) {', '.join(unknown) or '(none)'}; choose from {ENGINES}")
    if args.n < 1000:
        parser.error("--n must be at least 1000")
    args.engines = engines
    args.docs = Path(args.docs) if args.docs.strip() else None
    if args.docs is not None and args.docs.is_dir():
        parser.error(f"--docs {args.docs}: is a directory; give the page's file name, or ''")
    return args


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_worker(engine: str, scratch: Path, variant: str | None, query_runs: int) -> dict:
    result_path = scratch / f"result-{engine}-{variant or 'base'}.json"
    cmd = [
        sys.executable,
        "-m",
        "bench.worker",
        "--engine",
        engine,
        "--scratch",
        str(scratch),
        "--result",
        str(result_path),
        "--query-runs",
        str(query_runs),
    ]
    if variant:
        cmd += ["--variant", variant]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result_path.exists():
        result = json.loads(result_path.read_text())
    else:
        result = {"engine": engine, "variant": variant, "failed": f"worker exit {proc.returncode}"}
    result["wall_seconds"] = round(wall, 1)
    if proc.returncode != 0:
        result.setdefault("failed", f"worker exit {proc.returncode}")
        result["stderr_tail"] = proc.stderr[-3000:]
    return result


# --------------------------------------------------------------------------- targets


def _target(key, title, measured, limit, kind, source, note=""):
    if measured is None:
        return {
            "key": key,
            "title": title,
            "target": limit,
            "measured": None,
            "met": False,
            "source": source,
            "note": note or "not measured",
        }
    met = measured <= limit if kind == "max" else measured >= limit
    if kind == "max":
        by = f"{measured - limit:+.1f} B/row ({(measured / limit - 1) * 100:+.0f} %)"
    else:
        by = f"{measured - limit:+,.0f} rows/s ({(measured / limit - 1) * 100:+.0f} %)"
    return {
        "key": key,
        "title": title,
        "target": limit,
        "kind": kind,
        "measured": measured,
        "met": met,
        "margin": by,
        "source": source,
        "note": note,
    }


def _find(runs: list[dict], engine: str, variant: str | None) -> dict | None:
    for run in runs:
        if (
            run.get("engine") == engine
            and run.get("variant") == variant
            and "failed" not in run
            and "skipped" not in run
        ):
            return run
    return None


def _with_ratio(target: dict, runs: list[dict], engine: str, variant: str | None) -> dict:
    """Add the ingest's ratio to the same engine's bare-table load of the same run."""
    run, base = _find(runs, engine, variant), _find(runs, engine, None)
    bare = (base or {}).get("baseline") or {}
    if run and bare.get("seconds"):
        target["ratio_to_bare"] = round(bare["seconds"] / run["load"]["seconds"], 3)
    return target


def evaluate_targets(runs: list[dict]) -> list[dict]:
    out = []
    lite = _find(runs, "sqlite", None)
    if lite:
        out.append(
            _target(
                "sqlite_bytes_per_row",
                "SQLite bytes/row incl. indexes",
                lite["size"]["bytes_per_row"],
                67,
                "max",
                "sqlite, generated DDL",
            )
        )
        out.append(
            _with_ratio(
                _target(
                    "sqlite_ingest",
                    "SQLite ingest",
                    lite["load"]["rows_per_second"],
                    400_000,
                    "min",
                    "sqlite, generated DDL, " + lite["load"]["method"],
                ),
                runs,
                "sqlite",
                None,
            )
        )
    for engine in ("postgres15", "postgres18"):
        pg = _find(runs, engine, None)
        if not pg:
            continue
        out.append(
            _target(
                f"{engine}_bytes_per_row",
                f"{engine} bytes/row incl. indexes",
                pg["size"]["bytes_per_row"],
                105,
                "max",
                f"{engine}, generated DDL",
            )
        )
        out.append(
            _with_ratio(
                _target(
                    f"{engine}_ingest",
                    f"{engine} ingest, COPY with the FK checked per row",
                    pg["load"]["rows_per_second"],
                    400_000,
                    "min",
                    f"{engine}, generated DDL, plain COPY",
                ),
                runs,
                engine,
                None,
            )
        )
        for variant, key, title in (
            ("pg-fk-validated-after-copy", "fk_after", "COPY, then one FK validation"),
            ("pg-keys-rebuilt-after-copy", "keys_after", "COPY, then key built, FKs validated"),
        ):
            after = _find(runs, engine, variant)
            if after:
                out.append(
                    _with_ratio(
                        _target(
                            f"{engine}_ingest_{key}",
                            f"{engine} ingest, {title}",
                            after["load"]["rows_per_second"],
                            400_000,
                            "min",
                            f"{engine}, generated DDL, loader of experiment {variant}",
                        ),
                        runs,
                        engine,
                        variant,
                    )
                )
    ts = _find(runs, "timescaledb", None)
    if ts:
        comp = ts.get("compression", {})
        if comp.get("ok"):
            out.append(
                _target(
                    "timescaledb_compressed_bytes_per_row",
                    "TimescaleDB bytes/row after compression",
                    comp["bytes_per_row"],
                    TIMESCALE_COMPRESSED_TARGET,
                    "max",
                    "timescaledb, generated DDL",
                )
            )
        else:
            out.append(
                _target(
                    "timescaledb_compressed_bytes_per_row",
                    "TimescaleDB bytes/row after compression",
                    None,
                    TIMESCALE_COMPRESSED_TARGET,
                    "max",
                    "timescaledb, generated DDL",
                    note="compression impossible with the generated DDL: "
                    + comp.get("error", "not attempted"),
                )
            )
        nofk = _find(runs, "timescaledb", "ts-no-inbound-fks")
        if nofk and nofk.get("compression", {}).get("ok"):
            out.append(
                _target(
                    "timescaledb_compressed_bytes_per_row_no_inbound_fk",
                    "TimescaleDB bytes/row after compression, no FKs into the hypertable",
                    nofk["compression"]["bytes_per_row"],
                    TIMESCALE_COMPRESSED_TARGET,
                    "max",
                    "timescaledb, DDL variant ts-no-inbound-fks",
                )
            )
    return out


def plan_failures(runs: list[dict]) -> list[str]:
    """Plans that scan the whole time-series table (any run), or that sort a time-ordered
    query's samples on the generated DDL (experiments may sort: that is what they show)."""
    bad = []
    for run in runs:
        for section in ("queries", "queries_compressed"):
            for key, q in (run.get(section) or {}).items():
                where = f"{run['engine']}/{run.get('variant') or 'base'}/{section}/{key}"
                if q.get("full_scan_timeseries_point"):
                    bad.append(where)
                elif q.get("time_ordered") and run.get("variant") is None and q.get("sorts"):
                    bad.append(where + " (sorts)")
    return bad


# ------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="liam-erd-schema-bench-"))
    os.chmod(scratch, 0o755)
    try:
        results = {
            "format": 1,
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
            "command": "python -m bench --n " + str(args.n),
            "n": args.n,
            "machine": system.machine(),
            "floor_bytes_per_row": FLOOR_BYTES,
            "ddl": system.ddl_fingerprints(),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        }
        log(f"bench: generating {args.n:,} samples in {scratch}")
        t = time.perf_counter()
        manifest = dataset.generate(args.n, scratch)
        gen_seconds = time.perf_counter() - t
        results["dataset"] = {
            "generate_seconds": round(gen_seconds, 1),
            "sessions": len(manifest.sessions),
            "cells": len(manifest.cells),
            "cycles": len(manifest.cycles),
            "soc_labels": manifest.soc_labels,
            "soh_labels": len(manifest.soh_labels()),
            "batch_rows": dataset.BATCH_ROWS,
            "clock_jitter_ms": manifest.clock_jitter_ms,
            "description": dataset.__doc__.strip().split("\n\n")[0],
        }
        log("bench: writing the samples as Parquet")
        results["parquet"] = parquet.write(scratch, "default")
        results["parquet_encoded"] = parquet.write(scratch, "encoded")
        runs = []
        plan = [(engine, None) for engine in args.engines]
        if not args.no_experiments:
            for engine in args.engines:
                plan += [(engine, v.key) for v in variants.variants_for(engine)]
        for engine, variant in plan:
            label = f"{engine}" + (f" [{variant}]" if variant else "")
            data_dir = scratch
            if variant and variants.by_key(variant).options.get("dataset") == "exact-clock":
                data_dir = scratch / "exact-clock"
                if not data_dir.exists():
                    data_dir.mkdir()
                    log(f"bench: generating {args.n:,} samples with an exact 1 Hz clock")
                    dataset.generate(args.n, data_dir, clock_jitter_ms=0)
                    results["parquet_exact_clock"] = parquet.write(data_dir, "default")
            log(f"bench: {label} ...")
            run = run_worker(engine, data_dir, variant, args.query_runs)
            runs.append(run)
            if "skipped" in run:
                log(f"bench: {label} skipped: {run['skipped']}")
            elif "failed" in run:
                log(f"bench: {label} FAILED: {run['failed']}")
                if run.get("stderr_tail"):
                    log(run["stderr_tail"])
            else:
                comp = run.get("compression", {})
                extra = f", compressed {comp['bytes_per_row']} B/row" if comp.get("ok") else ""
                log(
                    f"bench: {label}: {run['size']['bytes_per_row']} B/row{extra}, "
                    f"{run['load']['rows_per_second']:,} rows/s ({run['wall_seconds']} s)"
                )
        results["runs"] = runs
        results["variants"] = [
            {
                "key": v.key,
                "engines": list(v.engines),
                "title": v.title,
                "question": v.question,
                "ddl_change": v.ddl_change,
                "loader": v.loader,
            }
            for v in variants.VARIANTS
        ]
        if not args.no_generator_timing:
            log("bench: timing `python -m generator sql` ...")
            results["generator"] = system.generator_timing()
        results["targets"] = evaluate_targets(runs)
        results["full_scans"] = plan_failures(runs)
        results["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        results["total_seconds"] = round(time.perf_counter() - started, 1)

        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
        print(report.console_table(results))
        log(f"bench: wrote {args.out}")
        if args.docs is not None:
            args.docs.parent.mkdir(parents=True, exist_ok=True)
            args.docs.write_text(report.render(results))
            log(f"bench: wrote {args.docs}")
            if args.out.resolve() == RESULTS.resolve():
                # the README quotes the committed results only, never a side run's
                report.write_readme(report.README, results)
                log(f"bench: refreshed the figures in {report.README}")
        failed = [f"{r['engine']}/{r.get('variant') or 'base'}" for r in runs if "failed" in r]
        if failed:
            log("bench: FAILED runs: " + ", ".join(failed))
        if results["full_scans"]:
            log(
                "bench: FULL SCAN OF timeseries_point, or a time-ordered query sorted, in: "
                + ", ".join(results["full_scans"])
            )
        return 1 if failed or results["full_scans"] else 0
    finally:
        if args.keep_scratch:
            log(f"bench: scratch kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
