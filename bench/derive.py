"""The derivations beside what a lab would run instead: `python -m bench.derive [--n N]
[--engines sqlite,postgres18,clickhouse] [--rounds R] [--before REF] [--no-beep]`.

One BDF file of N samples (bench/ingest.py `make_csv`: 1 Hz, 1,000-sample CC cycles with the
cycler's capacity counters, default 1,000,000 samples = 1,000 cycles) is loaded by the loader
into SQLite, PostgreSQL 18 (the tests' throwaway server, harness/) and ClickHouse (chdb, in
process). On each engine, in one run, side by side:

- **derive**: `derive.run(url, what="cycles,features")` on a database without derived rows
  (the previous round's deleted first, untimed), then `what="curves"` (per-cycle Q(V), E(V),
  V(q), dQ/dV, dV/dQ, their peaks and delta-Q(V) of cycles 100 and 10).
- **pandas**: the plain baseline: the session's samples read from the same engine with
  `pandas.read_sql` through the usual driver (sqlite3, psycopg; chdb's DataFrame output on
  ClickHouse), the read timed, then `groupby` on the cycle counter with a numpy trapezoid
  (`np.trapezoid`) per cycle of the positive and the negative part of current and of power:
  the same per-cycle charge and discharge capacities and energies.
  Ratio = pandas seconds / derive (cycles,features) seconds: above 1, derive is faster
  (target >= 1.0).
- **BEEP** (beep on PyPI, in an environment of its own: bench/beep/requirements.txt, made
  under /tmp by this command), on the same samples written to a Parquet file from the SQLite
  table (untimed): its per-cycle summary and interpolated cycles (`structure()`) and its
  delta-Q(V) featurizer (`DeltaQFastCharge`), in a child process (bench/beep/job.py; the
  Parquet read is timed). Run once: it is the slow side. Ratio = BEEP seconds / derive
  (cycles,features + curves) seconds on each engine (target >= 3.0).
- **before** (`--before REF`, e.g. main): derive of the git revision REF (its derive/ package,
  taken with git archive) timed the same way in the same rounds: the speed-up of this
  revision over REF, measured on the same machine at the same time.

Every side runs in a child process of its own (chdb holds one engine per process), timed
inside the child around the work alone (no interpreter start or imports). Each is repeated
--rounds times, the order of the sides alternating from round to round, and the median kept.
Not measured: TimescaleDB (the harness's is PGlite, PostgreSQL compiled to WebAssembly in
node, minutes for 1,000,000 samples) and BatteryML (it needs torch). Writes
bench/derive-results.json; `python -m bench.report` renders it into docs/performance.md."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from .files import DERIVE_RESULTS as RESULTS
from .ingest import SIDECAR, _load, _sqlite_url, make_csv

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"pandas": 1.0, "beep": 3.0}
ENGINES = ("sqlite", "postgres18", "clickhouse")
BEEP_REQUIREMENTS = ROOT / "bench" / "beep" / "requirements.txt"
BEEP_VENV = Path(tempfile.gettempdir()) / "liam-erd-schema-bench-beep"
NOT_MEASURED = {
    "TimescaleDB": "the harness's TimescaleDB is PGlite, PostgreSQL compiled to WebAssembly "
    "and run by node: loading and deriving 1,000,000 samples there takes many minutes and "
    "would measure the WebAssembly build, not TimescaleDB",
    "BatteryML": "it needs torch, hundreds of MB, for its feature code; BEEP computes the "
    "same per-cycle summary and delta-Q(V) features without it",
}
SAMPLES = """
SELECT cycle_count, test_time_second, voltage_volt, current_ampere
FROM timeseries_point WHERE session_id = {p} ORDER BY record_index"""
DERIVED = ("cycle_curve_feature", "cycle_curve", "cycle_feature", "cycle")


# ------------------------------------------------------------------------------ children


def _reset(url: str, tables: tuple[str, ...]) -> None:
    """Delete the derived rows of `tables` (children first), so a run writes them anew."""
    from connection import parse

    where = parse(url)
    if where.kind == "clickhouse":
        from connection.clickhouse import ChdbConnection

        db = ChdbConnection()
        db.open_chdb(where)
        try:
            for table in tables:
                db.run(f"TRUNCATE TABLE {table}")
        finally:
            db.close()
        return
    if where.kind == "sqlite":
        import sqlite3

        conn = sqlite3.connect(where.path)
    else:
        import psycopg

        conn = psycopg.connect(where.text)
    try:
        for table in tables:
            conn.execute(f"DELETE FROM {table}")
        conn.commit()
    finally:
        conn.close()


def _imports(url: str) -> None:
    """The driver of `url`'s engine imported before a side's clock starts, on every side: the
    clock times the work, not a library's start-up (chdb's import is half a second)."""
    from connection import parse

    kind = parse(url).kind
    if kind == "clickhouse":
        import chdb.session  # noqa: F401
    elif kind == "postgres":
        import psycopg  # noqa: F401
    else:
        import sqlite3  # noqa: F401


def child_derive(url: str, what: str) -> dict:
    """derive.run(url, what=...) on a database without the rows it writes: its seconds. The
    modules derive imports when it needs them (numpy, its engines' readers) are imported
    first, as the pandas side imports pandas before its clock."""
    import importlib

    import derive

    readers = ("pyarrow", "adbc_driver_manager", "adbc_driver_sqlite")  # derive's SQLite read
    for name in ("derive.sqlite_features", "derive.clickhouse", "derive.curve_store", *readers):
        try:
            importlib.import_module(name)
        except ImportError:  # an older revision (--before) without it, no ADBC
            pass
    _imports(url)
    tables = DERIVED if what != "curves" else DERIVED[:2]
    _reset(url, tables)
    started = time.perf_counter()
    (result,) = derive.run(url, what=what)
    seconds = time.perf_counter() - started
    if result.refused or result.skipped:
        raise RuntimeError(f"derive {what}: {result.refused or result.skipped}")
    return {
        "seconds": round(seconds, 3),
        "steps": {k: round(v, 3) for k, v in result.steps.items()},
        "cycles": result.cycles,
        "features": result.features,
        "points": result.curves.points if result.curves else None,
        "code": str(Path(derive.__file__).resolve().parent),
    }


def per_cycle(frame) -> dict:
    """The pandas baseline's computation: per cycle (groupby on the cycle counter), numpy
    trapezoids of the positive and negative parts of current and power over test time."""
    import numpy as np

    out = {}
    for cycle, g in frame.groupby("cycle_count", sort=True):
        t = g["test_time_second"].to_numpy(dtype=float)
        i = g["current_ampere"].to_numpy(dtype=float)
        p = i * g["voltage_volt"].to_numpy(dtype=float)
        out[int(cycle)] = (
            np.trapezoid(np.clip(i, 0, None), t) / 3600,
            np.trapezoid(np.clip(-i, 0, None), t) / 3600,
            np.trapezoid(np.clip(p, 0, None), t) / 3600,
            np.trapezoid(np.clip(-p, 0, None), t) / 3600,
        )
    return out


def child_pandas(url: str) -> dict:
    """The plain baseline on `url`: the read and the per-cycle trapezoids, each timed."""
    import warnings

    import pandas as pd

    from connection import parse

    where = parse(url)
    _imports(url)
    started = time.perf_counter()
    if where.kind == "sqlite":
        import sqlite3

        conn = sqlite3.connect(where.path)
        try:
            frame = pd.read_sql(SAMPLES.format(p="?"), conn, params=[1])
        finally:
            conn.close()
    elif where.kind == "postgres":
        import psycopg

        with psycopg.connect(where.text) as conn, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # pandas names SQLAlchemy
            frame = pd.read_sql(SAMPLES.format(p="%s"), conn, params=[1])
    else:
        from connection.clickhouse import ChdbConnection

        db = ChdbConnection()
        db.open_chdb(where)
        try:
            frame = db.run(SAMPLES.format(p="1"), "DataFrame")
        finally:
            db.close()
    read = time.perf_counter()
    cycles = per_cycle(frame)
    done = time.perf_counter()
    return {
        "seconds": round(done - started, 3),
        "read_seconds": round(read - started, 3),
        "compute_seconds": round(done - read, 3),
        "rows": len(frame),
        "cycles": len(cycles),
    }


def _child(kind: str, url: str, code: Path | None = None) -> dict:
    argv = [sys.executable, "-m", "bench.derive", "--child", kind, "--db", url]
    if code:
        argv += ["--code", str(code)]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{kind} on {url} failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- the sides


def _before(ref: str, workdir: Path) -> Path:
    """derive/ of git revision `ref`, unpacked into a directory to put first on sys.path."""
    where = workdir / "before"
    where.mkdir()
    archive = subprocess.run(
        ["git", "archive", ref, "derive"], cwd=ROOT, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive.stdout, check=True)
    return where


def _median(runs: list[dict]) -> dict:
    """The run of median seconds (its other figures with it), and every round's seconds."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    kept = dict(ordered[(len(ordered) - 1) // 2])
    kept["seconds"] = round(statistics.median(r["seconds"] for r in runs), 3)
    kept["rounds"] = [r["seconds"] for r in runs]
    return kept


def measure(url: str, rounds: int, before: Path | None) -> dict:
    sides: dict[str, list[dict]] = {"features": [], "curves": [], "pandas": []}
    if before:
        sides |= {"before_features": [], "before_curves": []}
    for r in range(rounds):
        order = list(sides)
        if r % 2:
            order.reverse()
        # curves after their own cycles: each derive pair runs features then curves
        for side in [s for s in order if not s.endswith("curves")]:
            if side == "pandas":
                sides["pandas"].append(_child("pandas", url))
                continue
            code = before if side.startswith("before") else None
            prefix = "before_" if code else ""
            sides[side].append(_child("derive:cycles,features", url, code))
            sides[f"{prefix}curves"].append(_child("derive:curves", url, code))
    out = {name: _median(runs) for name, runs in sides.items()}
    derive_total = out["features"]["seconds"] + out["curves"]["seconds"]
    out["derive_seconds"] = round(derive_total, 3)
    out["ratio_to_pandas"] = round(out["pandas"]["seconds"] / out["features"]["seconds"], 2)
    if before:
        out["before_ratio_to_pandas"] = round(
            out["pandas"]["seconds"] / out["before_features"]["seconds"], 2
        )
        out["speedup_features"] = round(
            out["before_features"]["seconds"] / out["features"]["seconds"], 2
        )
        out["speedup_curves"] = round(out["before_curves"]["seconds"] / out["curves"]["seconds"], 2)
    return out


def _beep_python() -> Path:
    """BEEP's environment under /tmp (made once, pinned by bench/beep/requirements.txt)."""
    python = BEEP_VENV / "bin" / "python"
    stamp = BEEP_VENV / ".installed"
    wanted = BEEP_REQUIREMENTS.read_text()
    if not (stamp.is_file() and stamp.read_text() == wanted):
        print(f"bench.derive: installing BEEP into {BEEP_VENV}", file=sys.stderr)
        if not python.is_file():
            subprocess.run([sys.executable, "-m", "venv", str(BEEP_VENV)], check=True)
        pip = [str(python), "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
        subprocess.run([*pip, "-r", str(BEEP_REQUIREMENTS)], check=True)
        stamp.write_text(wanted)
    return python


def beep(sqlite_url: str, workdir: Path) -> dict:
    """BEEP on the SQLite table's samples (written to Parquet, untimed), in its own venv."""
    import sqlite3

    import pandas as pd

    conn = sqlite3.connect(sqlite_url)
    try:
        frame = pd.read_sql(
            "SELECT * FROM timeseries_point WHERE session_id = 1 ORDER BY record_index", conn
        )
    finally:
        conn.close()
    parquet = workdir / "samples.parquet"
    frame.to_parquet(parquet)
    python = _beep_python()
    cell = SIDECAR["cell"]
    argv = [str(python), str(ROOT / "bench" / "beep" / "job.py"), str(parquet)]
    argv += [str(cell["voltage_min_volt"]), str(cell["voltage_max_volt"])]
    argv += [str(cell["nominal_capacity_ah"])]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"BEEP failed: {proc.stderr.strip()[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    version = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('beep'))"],
        capture_output=True,
        text=True,
    )
    result["version"] = version.stdout.strip()
    return result


class _Engines:
    """Each engine's database, loaded by the loader from the one file."""

    def __init__(self, workdir: Path, csv: Path, stack: ExitStack):
        self.workdir, self.csv, self.stack = workdir, csv, stack

    def load(self, name: str) -> tuple[str, dict]:
        if name == "sqlite":
            url = _sqlite_url(self.workdir, "derive")
            return url, {"version": f"SQLite {_sqlite_version()}", "load": self._load(url)}
        if name == "postgres18":
            import harness

            engine = self.stack.enter_context(harness.postgres18())
            database = self.stack.enter_context(engine.fresh_database("derive"))
            with database.connect() as raw:
                raw.execute((ROOT / "sql" / "postgres" / "schema.sql").read_text())
            url = database.conninfo()
            load = self._load(url)
            with database.connect() as raw:  # the planner's statistics, as autovacuum's
                raw.execute("ANALYZE")
            return url, {"version": f"PostgreSQL {engine.version}", "load": load}
        if name == "clickhouse":
            where = self.workdir / "chdb"
            where.mkdir()
            url = f"chdb:///{where}?database=bench"
            _clickhouse_schema(url)
            return url, {"version": _chdb_version(), "load": self._load(url)}
        raise ValueError(f"unknown engine {name!r}: choose from {', '.join(ENGINES)}")

    def _load(self, url: str) -> dict:
        run = _load(self.csv, url, self.workdir)
        return {"rows": run["rows"], "seconds": run["seconds"]}


def _clickhouse_schema(url: str) -> None:
    code = (
        "import sys; from ingest.db import connect; from demo.database import create_schema; "
        "db = connect(sys.argv[1]); create_schema(db); db.close()"
    )
    subprocess.run([sys.executable, "-c", code, url], cwd=ROOT, check=True)


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def _chdb_version() -> str:
    from importlib.metadata import version

    return f"ClickHouse (chdb {version('chdb')})"


def run(
    n: int,
    engines: list[str],
    rounds: int = 3,
    before: str | None = None,
    with_beep: bool = True,
) -> dict:
    from .system import machine

    results: dict = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": machine(),
        "load_average": list(os.getloadavg()),
        "n": n,
        "rounds": rounds,
        "targets": TARGETS,
        "before": before,
        "engines": {},
        "not_measured": NOT_MEASURED,
    }
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="liam-erd-schema-bench-derive-") as tmp,
        ExitStack() as stack,
    ):
        workdir = Path(tmp)
        csv = workdir / "samples.csv"
        make_csv(csv, n)
        code = _before(before, workdir) if before else None
        where = _Engines(workdir, csv, stack)
        sqlite_url = None
        for name in engines:
            print(f"{name}: loading {n:,} samples", file=sys.stderr)
            url, info = where.load(name)
            sqlite_url = url if name == "sqlite" else sqlite_url
            print(f"{name}: deriving, {rounds} round(s)", file=sys.stderr)
            info.update(measure(url, rounds, code))
            results["engines"][name] = info
        if with_beep:
            if sqlite_url is None:  # BEEP reads the samples as SQLite holds them
                sqlite_url = _sqlite_url(workdir, "beep")
                _load(csv, sqlite_url, workdir)
            print("beep: structure() and DeltaQFastCharge", file=sys.stderr)
            results["beep"] = beep(sqlite_url, workdir)
            for info in results["engines"].values():
                info["ratio_to_beep"] = round(
                    results["beep"]["seconds"] / info["derive_seconds"], 2
                )
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    return results


def summary(results: dict) -> str:
    lines = [f"{results['n']:,} samples, {results['machine']['cpu_model']}:"]
    for name, r in results["engines"].items():
        line = (
            f"  {name}: derive cycles,features {r['features']['seconds']} s, curves "
            f"{r['curves']['seconds']} s; pandas {r['pandas']['seconds']} s: "
            f"x{r['ratio_to_pandas']} (target {TARGETS['pandas']})"
        )
        if "ratio_to_beep" in r:
            line += f"; BEEP x{r['ratio_to_beep']} (target {TARGETS['beep']})"
        if "speedup_features" in r:
            line += (
                f"; before: x{r['before_ratio_to_pandas']} of pandas, this revision "
                f"x{r['speedup_features']} (features), x{r['speedup_curves']} (curves)"
            )
        lines.append(line)
    if "beep" in results:
        lines.append(f"  BEEP {results['beep']['version']}: {results['beep']['seconds']} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.derive", description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000, help="samples (default 1,000,000)")
    p.add_argument("--engines", default=",".join(ENGINES))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--before", help="a git revision whose derive/ to time beside this one")
    p.add_argument("--no-beep", action="store_true", help="leave BEEP out")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        if args.code:
            sys.path.insert(0, str(args.code))
        if args.child == "pandas":
            print(json.dumps(child_pandas(args.db)))
        else:
            print(json.dumps(child_derive(args.db, args.child.split(":", 1)[1])))
        return 0
    results = run(args.n, args.engines.split(","), args.rounds, args.before, not args.no_beep)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(summary(results))
    print(f"wrote {args.out}: python -m bench.report renders it", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
