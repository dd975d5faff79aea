"""Run one engine (one variant) in this process and write its result as JSON.

The orchestrator starts one worker process per engine run, so that the peak resident set
(VmHWM) it reports belongs to that engine's loader alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

from . import engines, variants


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    parser.add_argument("--engine", required=True, choices=sorted(engines.RUNS))
    parser.add_argument("--scratch", required=True, type=Path)
    parser.add_argument("--result", required=True, type=Path)
    parser.add_argument("--variant")
    parser.add_argument("--query-runs", type=int, default=7)
    args = parser.parse_args(argv)

    ddl_path = engines.ddl_file(args.engine)
    loader = None
    options: dict = {}
    if args.variant:
        variant = variants.by_key(args.variant)
        loader = variant.loader
        options = dict(variant.options)
        if variant.model_edit is not None or variant.ddl_edit is not None:
            edited = args.scratch / f"{args.engine}-{variant.key}.sql"
            try:
                edited.write_text(variant.ddl(engines.model(), engines.TARGET[args.engine]))
            except variants.NotApplicable as exc:
                skipped = {"engine": args.engine, "variant": args.variant, "skipped": str(exc)}
                args.result.write_text(json.dumps(skipped, indent=1))
                return 0
            ddl_path = edited
    cfg = engines.RunConfig(
        engine=args.engine,
        scratch=args.scratch,
        ddl_path=ddl_path,
        variant=args.variant,
        loader=loader,
        query_runs=args.query_runs,
        options=options,
    )
    baseline_rss = engines.own_peak_rss_kib()
    try:
        result = engines.RUNS[args.engine](cfg).execute()
        result.setdefault("memory", {})["loader_baseline_peak_rss_kib"] = baseline_rss
        status = 0
    except Exception as exc:
        result = {
            "engine": args.engine,
            "variant": args.variant,
            "failed": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }
        status = 1
    result["ddl_file"] = (
        str(ddl_path.relative_to(engines.ROOT))
        if ddl_path.is_relative_to(engines.ROOT)
        else ddl_path.name
    )
    args.result.write_text(json.dumps(result, indent=1, default=str))
    return status


if __name__ == "__main__":
    sys.exit(main())
