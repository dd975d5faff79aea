"""The training-set export beside pandas: `python -m bench.export [--n N]`.

Loads a BDF file of N samples (bench.ingest's, default 200,000) into a fresh SQLite file and a
fresh PostgreSQL 18 database (the tests' throwaway server), derives SOC labels, and times the
per-sample training set read two ways from the same database in the same run: the export
(`export.training_set(..., as_="arrow")`: Arrow batches from the ADBC driver, cast to the
schema's types) and `pandas.read_sql` of the same query text through the usual driver
(sqlite3, psycopg). The median of REPEAT runs of each, interleaved (pandas, the export, pandas,
...), so a shared machine's load falls on both alike; the ratio is pandas' seconds over the
export's. Beside the wall-clock seconds, the CPU seconds each took (this process's, plus on
PostgreSQL the server's: its postmaster with the backends it has reaped and its live
children), which a busy machine stretches far less. The export does not fetch the sample
columns that are NULL in every sample (the bench's file, like many a cycler's, logs no
T1-T3, energy or step counter: `empty_columns`); pandas reads them, as a user's query
would. Writes bench/export-results.json."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from .files import EXPORT_RESULTS as RESULTS
from .ingest import ROOT, _load, _sqlite_url, make_csv

REPEAT = 5
TICKS = os.sysconf("SC_CLK_TCK")


def _server_cpu(pid: int | None) -> float:
    """CPU seconds of a local PostgreSQL server: the postmaster's own and its reaped
    children's (utime, stime, cutime, cstime), and those of its live children."""
    if pid is None:
        return 0.0

    def stat(p: int) -> list[str]:
        return Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()

    total = sum(int(v) for v in stat(pid)[11:15])
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != pid:
            try:
                fields = stat(int(entry.name))
            except OSError:  # gone meanwhile
                continue
            if int(fields[1]) == pid:
                total += int(fields[11]) + int(fields[12])
    return total / TICKS


def _interleaved(fns: dict, server: int | None) -> dict[str, tuple[float, float]]:
    """{name: (median wall seconds, median CPU seconds)} over REPEAT rounds of every fn."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in fns}
    for _ in range(REPEAT):
        for name, fn in fns.items():
            wall, cpu, srv = time.perf_counter(), time.process_time(), _server_cpu(server)
            fn()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if server is not None:  # the backends closed, counted in the postmaster's
                time.sleep(0.25)
                cpu += _server_cpu(server) - srv
            runs[name].append((wall, cpu))
    return {
        name: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
        for name, rs in runs.items()
    }


def _measure(url: str, kind: str, server: int | None = None) -> dict:
    import pandas as pd

    import derive
    import export
    from export.read import open_source
    from export.training import plan

    derive.run(url, what=["cycles", "soc"], initial_soc=0.5, label_version="bench")
    if kind == "postgres":  # the planner's statistics, as autovacuum would have them
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE")
    options = {
        "split": "none",
        "definition": {"method": "coulomb_counting", "label_version": "bench"},
    }
    req = export.api.request("soc", **options)
    with open_source(url) as source:
        p = plan(source, req)
    if kind == "sqlite":
        import sqlite3

        def pandas_read():
            conn = sqlite3.connect(url)
            try:
                return pd.read_sql(p.sql.replace("%s", "?"), conn, params=p.params)
            finally:
                conn.close()
    else:
        import psycopg

        def pandas_read():
            import warnings

            with psycopg.connect(url) as conn, warnings.catch_warnings():
                # pandas names SQLAlchemy; a DBAPI connection is what users pass
                warnings.simplefilter("ignore", UserWarning)
                return pd.read_sql(p.sql, conn, params=p.params)

    rows = len(pandas_read())
    table = export.training_set(url, "soc", as_="arrow", **options)
    assert table.num_rows == rows, (table.num_rows, rows)
    times = _interleaved(
        {
            "pandas": pandas_read,
            "export": lambda: export.training_set(url, "soc", as_="arrow", **options),
        },
        server,
    )
    (theirs, theirs_cpu), (ours, ours_cpu) = times["pandas"], times["export"]
    return {
        "rows": rows,
        "empty_columns": sorted(p.empty),
        "export_seconds": round(ours, 3),
        "pandas_read_sql_seconds": round(theirs, 3),
        "ratio": round(theirs / ours, 2),
        "export_cpu_seconds": round(ours_cpu, 3),
        "pandas_read_sql_cpu_seconds": round(theirs_cpu, 3),
        "cpu_ratio": round(theirs_cpu / ours_cpu, 2),
        "load_average": round(os.getloadavg()[0], 1),
    }


def run(n: int, engines: list[str]) -> dict:
    from .system import machine

    results: dict = {
        "n": n,
        "date": datetime.now(UTC).date().isoformat(),
        "machine": machine(),
        "engines": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        workdir = Path(tmp)
        csv = workdir / "samples.csv"
        make_csv(csv, n)
        if "sqlite" in engines:
            url = _sqlite_url(workdir, "export")
            _load(csv, url, workdir)
            print(f"sqlite: {n:,} samples", file=sys.stderr)
            results["engines"]["sqlite"] = _measure(url, "sqlite")
        if "postgres18" in engines:
            import harness

            ddl = (ROOT / "sql" / "postgres" / "schema.sql").read_text()
            with harness.postgres18() as engine, engine.fresh_database("export") as database:
                with database.connect() as raw:
                    raw.execute(ddl)
                _load(csv, database.conninfo(), workdir)
                print(f"postgres18: {n:,} samples", file=sys.stderr)
                pg = _measure(database.conninfo(), "postgres", engine.pid)
                pg["version"] = f"PostgreSQL {engine.version}"
                results["engines"]["postgres18"] = pg
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__)
    p.add_argument("--n", type=int, default=200_000, help="samples (default 200,000)")
    p.add_argument("--engines", default="sqlite,postgres18")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    results = run(args.n, args.engines.split(","))
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    for name, r in results["engines"].items():
        print(
            f"{name}: {r['rows']:,} rows: export {r['export_seconds']} s, pandas.read_sql "
            f"{r['pandas_read_sql_seconds']} s: x{r['ratio']}; CPU {r['export_cpu_seconds']} s "
            f"and {r['pandas_read_sql_cpu_seconds']} s: x{r['cpu_ratio']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
