"""The loader's speed and memory: `python -m bench.ingest [--n N] [--peak-n N]`.

Makes a Battery Data Format CSV of N cycler samples (default 1,000,000), loads it with the
real command (`python -m ingest`, a child process) into a fresh SQLite file and a fresh
PostgreSQL 18 database (the tests' throwaway server, harness/), and reports:

- rows/s of the load (the loader's own clock: file open to commit, every rule checked and
  every constraint valid at the end), against the targets of issue 11 (SQLite 500,000 rows/s,
  PostgreSQL 400,000 rows/s);
- the same rate as a ratio to a baseline measured in the same run on the same engine: the
  same file read by the same reader and bulk-inserted by the same driver into a bare table
  with the same columns (no key, no CHECK, no quality report), so a figure travels to other
  machines; the CPU is named beside every absolute number;
- peak memory (max RSS of the loader's process, from wait4) of a load of a --peak-n row file
  (default 10,000,000; 0 skips it) into SQLite, against 300 MB.

Writes bench/ingest-results.json (the targets above with the figures) and prints a summary;
`python -m bench.report` renders the file into the performance page and docs/loading.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from .files import INGEST_RESULTS as RESULTS

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"sqlite": 500_000, "postgres18": 400_000}
PEAK_MIB = 300
SIDECAR = {
    "cell": {
        "chemistry": "NMC",
        "form_factor": "cylindrical",
        "nominal_capacity_ah": 5.0,
        "nominal_voltage_volt": 3.6,
        "voltage_min_volt": 2.5,
        "voltage_max_volt": 4.2,
    },
    "session": {
        "protocol_name": "bench",
        "protocol_type": "rpt",
        "started_at": "2024-03-31T00:00:00Z",
    },
}
HEADER = [
    ("Record Index / 1", "int64"),
    ("Test Time / s", "float64"),
    ("Unix Time / s", "float64"),
    ("Voltage / V", "float64"),
    ("Current / A", "float64"),
    ("Cycle Count / 1", "int64"),
    ("Step Id / 1", "int64"),
    ("Step Type", "string"),
    ("Charging Capacity / Ah", "float64"),
    ("Discharging Capacity / Ah", "float64"),
    ("Surface Temperature / degC", "float64"),
]


def make_csv(path: Path, n: int, chunk: int = 500_000) -> int:
    """A BDF CSV of `n` samples at 1 Hz: CC charge / discharge halves of 1,000-sample cycles,
    four steps per cycle, capacity counters and a noisy temperature. Written in chunks, so a
    10M-row file needs no more memory than a 1M-row one. Returns its size in bytes."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    schema = pa.schema([(name, getattr(pa, kind)()) for name, kind in HEADER])
    rng = np.random.default_rng(11)
    options = pacsv.WriteOptions(quoting_style="needed")
    with pacsv.CSVWriter(path, schema, write_options=options) as writer:
        for start in range(0, n, chunk):
            i = np.arange(start, min(start + chunk, n))
            k = len(i)
            charging = (i // 500) % 2 == 0
            columns = [
                i,
                i * 1.0,
                1711843200 + i * 1.0,
                np.round(3.6 + 0.5 * np.sin(i / 500) + rng.normal(0, 0.001, k), 4),
                np.where(charging, 2.5, -2.5),
                i // 1000,
                (i // 250) % 4,
                pa.array(np.where(charging, "cc_charge", "cc_discharge")),
                np.round(i * 1e-4, 4),
                np.round(i * 9e-5, 4),
                np.round(25 + rng.normal(0, 0.2, k), 2),
            ]
            writer.write_table(pa.table(columns, schema=schema))
    return path.stat().st_size


# ------------------------------------------------------------------------------ children


def _load(csv: Path, url: str, workdir: Path) -> dict:
    """The real command in a child process; the loader's own seconds and its peak RSS."""
    sidecar = workdir / "sidecar.json"
    sidecar.write_text(json.dumps(SIDECAR))
    report = workdir / "report.json"
    argv = ["-m", "ingest", str(csv), "--db", url, "--sidecar", str(sidecar)]
    argv += ["--report", str(report)]
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *argv], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"python -m ingest failed: {err.strip()}")
    (record,) = json.loads(report.read_text())
    return {
        "rows": record["rows_loaded"],
        "seconds": record["seconds"],
        "rows_per_second": round(record["rows_loaded"] / record["seconds"]),
        "bulk_mode": record.get("bulk_mode"),
        "process_seconds": round(wall, 3),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
    }


def _child(measure: str, csv: Path, url: str) -> dict:
    """`baseline` or `ceiling` in a process of its own (`--baseline` / `--ceiling`), as the
    loader runs in one: its result, and the process's seconds from start to exit."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.ingest", f"--{measure}", str(csv), "--db", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        raise RuntimeError(f"{measure} failed: {proc.stderr.strip()}")
    result = json.loads(proc.stdout)
    result["process_seconds"] = round(time.perf_counter() - start, 3)
    return result


def baseline(csv: Path, url: str) -> dict:
    """The same file through the same reader, into a bare table with the same columns by the
    same driver, in one transaction: what the engine and driver cost without the schema."""
    import numpy as np
    import pyarrow as pa

    from ingest import bdf, staging
    from ingest.db import TABLE, connect

    db = connect(url)
    try:
        db.execute("DROP TABLE IF EXISTS bare_point")
        if db.kind == "sqlite":
            db.execute(f"CREATE TABLE bare_point AS SELECT * FROM {TABLE} WHERE 0")
        else:
            db.execute(f"CREATE TABLE bare_point (LIKE {TABLE})")  # NOT NULLs only
        started = time.monotonic()
        db.begin()
        _info, chunks = bdf.read(csv, staging.ReadOptions())
        rows = 0
        for _, table in chunks:
            table = table.drop_columns(["line"])
            table = table.add_column(0, "session_id", pa.array(np.ones(table.num_rows, np.int64)))
            db.append(table, "bare_point")
            rows += table.num_rows
        db.commit()
        seconds = time.monotonic() - started
        db.execute("DROP TABLE bare_point")
    finally:
        db.close()
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_second": round(rows / seconds)}


def ceiling(csv: Path, url: str) -> dict:
    """The engine's part of a load alone: the file's rows read, numbered and converted into
    the engine's column types in memory first (not timed), then written by the loader's own
    bulk path (`prepare_bulk`, `write_all` of the chunks, `finish_bulk`: the real table, every
    constraint valid at the end) in one transaction, committed, into a fresh database. No
    reader, however fast, loads the file faster on this machine: a target above it is out of
    reach here."""
    import numpy as np
    import pyarrow as pa

    from ingest import bdf, staging
    from ingest.db import connect
    from ingest.load import create_session

    db = connect(url)
    try:
        db.begin()
        session = create_session(db, SIDECAR)
        _info, chunks = bdf.read(csv, staging.ReadOptions())
        tables = []
        for _, table in chunks:
            table = table.drop_columns(["line"])
            table = table.add_column(
                0, "session_id", pa.array(np.full(table.num_rows, session, np.int64))
            )
            tables.append(db.arrow_form(table))
        rows = sum(t.num_rows for t in tables)
        db.read_schema()  # the loader's start-up reads it too, before its clock
        started = time.monotonic()
        db.prepare_bulk(rows)
        db.write_all(tables)
        db.finish_bulk()
        db.commit()
        seconds = time.monotonic() - started
    finally:
        db.close()
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_second": round(rows / seconds)}


# ------------------------------------------------------------------------------- engines


def _sqlite_url(workdir: Path, name: str) -> str:
    import sqlite3

    path = workdir / f"{name}.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript((ROOT / "sql" / "sqlite" / "schema.sql").read_text())
    conn.close()
    return str(path)


def _measure(csv: Path, url: str, workdir: Path, ceiling_url: str) -> dict:
    run = _load(csv, url, workdir)
    run["baseline"] = _child("baseline", csv, url)
    run["ratio_to_baseline"] = round(run["rows_per_second"] / run["baseline"]["rows_per_second"], 3)
    run["ceiling"] = _child("ceiling", csv, ceiling_url)
    run["ratio_to_ceiling"] = round(run["rows_per_second"] / run["ceiling"]["rows_per_second"], 3)
    return run


def run(n: int, peak_n: int, engines: list[str]) -> dict:
    sys.path.insert(0, str(ROOT))
    from bench.system import machine

    results: dict = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": machine(),
        "load_average": list(os.getloadavg()),
        "n": n,
        "targets": {"rows_per_second": TARGETS, "peak_rss_mib": PEAK_MIB},
        "engines": {},
    }
    with tempfile.TemporaryDirectory(prefix="liam-erd-schema-bench-ingest-") as tmp:
        workdir = Path(tmp)
        csv = workdir / "samples.csv"
        results["csv_bytes"] = make_csv(csv, n)
        if "sqlite" in engines:
            print(f"sqlite: loading {n:,} rows", file=sys.stderr)
            results["engines"]["sqlite"] = _measure(
                csv, _sqlite_url(workdir, "one"), workdir, _sqlite_url(workdir, "ceiling")
            )
        if "postgres18" in engines:
            import harness

            ddl = (ROOT / "sql" / "postgres" / "schema.sql").read_text()
            with (
                harness.postgres18() as engine,
                engine.fresh_database("ingest") as database,
                engine.fresh_database("ceiling") as spare,
            ):
                for each in (database, spare):
                    with each.connect() as raw:
                        raw.execute(ddl)
                print(f"postgres18: loading {n:,} rows", file=sys.stderr)
                pg = _measure(csv, database.conninfo(), workdir, spare.conninfo())
                pg["version"] = f"PostgreSQL {engine.version}"
                results["engines"]["postgres18"] = pg
        if peak_n:
            csv.unlink()
            big = workdir / "peak.csv"
            results["peak"] = {"n": peak_n, "csv_bytes": make_csv(big, peak_n)}
            print(f"sqlite: loading {peak_n:,} rows for peak memory", file=sys.stderr)
            results["peak"].update(_load(big, _sqlite_url(workdir, "peak"), workdir))
    return results


# ------------------------------------------------------------------------------ console


def summary(results: dict) -> str:
    """A few plain lines for the console; the page is bench/report.py's."""
    lines = [f"{results['n']:,} rows, {results['machine']['cpu_model']}:"]
    for name, run in results["engines"].items():
        target = TARGETS.get(name)
        lines.append(
            f"  {name}: {run['rows_per_second']:,} rows/s"
            + (f" (target {target:,})" if target else "")
            + f", x{run['ratio_to_baseline']:.2f} of a bare table"
            + (f", x{run['ratio_to_ceiling']:.2f} of the engine alone" if "ceiling" in run else "")
        )
    if results.get("peak"):
        peak = results["peak"]
        lines.append(
            f"  peak: {peak['peak_rss_mib']:,.0f} MiB for {peak['n']:,} rows (max {PEAK_MIB})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000, help="rows of the speed runs")
    p.add_argument(
        "--peak-n", type=int, default=10_000_000, help="rows of the memory run (0: none)"
    )
    p.add_argument("--engines", default="sqlite,postgres18")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--baseline", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--ceiling", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.baseline:
        print(json.dumps(baseline(args.baseline, args.db)))
        return 0
    if args.ceiling:
        print(json.dumps(ceiling(args.ceiling, args.db)))
        return 0
    results = run(args.n, args.peak_n, args.engines.split(","))
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(summary(results))
    print(f"wrote {args.out}: python -m bench.report renders it", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
