"""The loader side by side with what a lab would do instead, on the file sizes labs have:
`python -m bench.sidebyside [--sizes 10000,100000,1000000] [--engines sqlite,postgres18]`.

For every engine (SQLite, PostgreSQL 18: the tests' throwaway server, harness/) and file size
(a Battery Data Format CSV of N samples, bench/ingest.py `make_csv`), in one run:

- **pandas**: the loader's whole process (`python -m ingest`, wall time from start to exit,
  start-up included) against a hand-written `pandas.read_csv` + `DataFrame.to_sql` of the same
  file in a process of its own (no key, no check, whatever pandas infers stored as is; SQLite
  through the standard library's sqlite3, PostgreSQL through the ADBC driver, the only
  connection pandas takes here without SQLAlchemy). Ratio = pandas seconds / loader seconds:
  above 1, the loader is faster (target >= 1.0).
- **engine**: the loader's rows/s (its own clock, file open to commit) against the engine's own
  bulk path alone (bench/ingest.py `ceiling`: the same rows already in memory written by the
  loader's bulk path into a fresh database's real table, every constraint valid at commit).
  Target >= 0.95.
- **readers**: each vendor text reader (Maccor, Arbin, BioLogic, Neware) against the BDF reader
  on the same rows, written in the vendor's layout: rows/s of reading and normalising the
  file (every chunk as the loader gets it, no database), in this process, after a warm-up,
  READ_PASSES passes per round. Target >= 0.5.

Each measurement is repeated --rounds times, the order of the sides alternating from round to
round, and the median kept: a shared machine slows both sides alike. The checkout's own
packages (the loader's: ingest, connection, generator) are compiled to bytecode first, as
installing a package does and as pandas's own are: an environment with
PYTHONDONTWRITEBYTECODE set would otherwise have the loader, and only the loader, compile its
modules from source in every process (0.1-0.3 s of a 10k-row load). Writes
bench/sidebyside-results.json and bench/sidebyside.md (the report: which targets are met);
absolute figures are this machine's, the ratios are what travels.
"""

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

from .files import SIDEBYSIDE_REPORT, SIDEBYSIDE_RESULTS
from .ingest import SIDECAR, make_csv

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"pandas": 1.0, "engine": 0.95, "reader": 0.5}
SIZES = (10_000, 100_000, 1_000_000)
VENDORS = ("maccor", "arbin", "biologic", "neware")
# passes over the reader files per round: a read of 100,000 rows takes 30-90 ms, which one
# burst of other work on a shared machine doubles; the median of many passes, the order of
# the files alternating, leaves such bursts out of both sides alike
READ_PASSES = 5
START = 1711843200.0  # the sidecar's started_at, 2024-03-31T00:00:00Z

# the hand-written pandas load: read the CSV, append it to a table of pandas' making
PANDAS = """
import sys
import pandas as pd
csv, kind, where = sys.argv[1:4]
frame = pd.read_csv(csv)
if kind == "sqlite":
    import sqlite3
    conn = sqlite3.connect(where)
else:
    from adbc_driver_postgresql import dbapi
    conn = dbapi.connect(where)
frame.to_sql("pandas_point", conn, if_exists="append", index=False)
conn.commit()
conn.close()
"""


# ---------------------------------------------------------------------------- vendor files


def _columns(csv: Path) -> dict:
    """The BDF file's columns as numpy arrays (bench/ingest.py HEADER)."""
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(csv)
    names = ("record", "test", "unix", "volts", "amps", "cycle", "step", "kind", "chg", "dchg")
    names += ("temp",)
    return {n: table.column(i).to_numpy() for i, n in enumerate(names)}


def _stamps(unix, month_first: bool) -> list[str]:
    """Wall-clock texts in UTC, to the millisecond."""
    import numpy as np

    whole = unix.astype("datetime64[s]")
    text = np.datetime_as_string(whole, unit="s")  # 2024-03-31T00:00:00
    ms = np.round((unix - np.floor(unix)) * 1000).astype(int)
    out = []
    for t, m in zip(text.tolist(), ms.tolist(), strict=True):
        date, clock = t.split("T")
        if month_first:
            y, mo, d = date.split("-")
            date = f"{mo}/{d}/{y}"
        out.append(f"{date} {clock}.{m:03d}")
    return out


def write_vendor(fmt: str, csv: Path, path: Path) -> Path:
    """The BDF file's rows in `fmt`'s text layout (the layouts tests/ingest reads)."""
    c = _columns(csv)
    n = len(c["record"])
    lines: list[str] = []
    if fmt == "maccor":
        stamps = _stamps(c["unix"], month_first=True)
        lines.append(
            "Today's Date\t03/31/2024\tDate of Test:\t03/31/2024\tFilename:\tbench.001\t"
            "Procedure:\tBENCH.000\tComment/Barcode:\tbench"
        )
        lines.append(
            "Rec#\tCyc#\tStep\tTest (Min)\tStep (Min)\tAmp-hr\tWatt-hr\tAmps\tVolts\tState\tES"
            "\tDPt Time"
        )
        for i in range(n):
            amps = float(c["amps"][i])
            state = "R" if amps == 0 else ("C" if amps > 0 else "D")
            cap = c["chg"][i] if amps >= 0 else c["dchg"][i]
            minutes = c["test"][i] / 60
            lines.append(
                f"{i + 1}\t{c['cycle'][i]}\t{c['step'][i] + 1}\t{minutes:.7f}\t{minutes:.7f}\t"
                f"{cap:.6f}\t{cap * 3.6:.6f}\t{abs(amps):.5f}\t{c['volts'][i]:.5f}\t{state}\t0\t"
                f"{stamps[i][:19]}"
            )
    elif fmt == "arbin":
        stamps = _stamps(c["unix"], month_first=True)
        lines.append(
            "Data_Point,Date_Time,Test_Time(s),Step_Time(s),Cycle_Index,Step_Index,Current(A),"
            "Voltage(V),Charge_Capacity(Ah),Discharge_Capacity(Ah),Aux_Temperature_1(C)"
        )
        for i in range(n):
            lines.append(
                f"{i + 1},{stamps[i]},{c['test'][i]:.4f},{c['test'][i]:.4f},{c['cycle'][i] + 1},"
                f"{c['step'][i] + 1},{c['amps'][i]:.6f},{c['volts'][i]:.6f},{c['chg'][i]:.6f},"
                f"{c['dchg'][i]:.6f},{c['temp'][i]}"
            )
    elif fmt == "biologic":
        lines += [
            "EC-Lab ASCII FILE",
            "Nb header lines : 5",
            "",
            "Acquisition started on : 03/31/2024 00:00:00.000",
        ]
        lines.append(
            "mode\tox/red\terror\tNs\ttime/s\tEwe/V\t<I>/mA\tQ charge/mA.h\tQ discharge/mA.h\t"
            "cycle number\tTemperature/°C\t"
        )
        for i in range(n):
            amps = float(c["amps"][i])
            lines.append(
                f"1\t{int(amps > 0)}\t0\t{c['step'][i]}\t{c['test'][i]:.15E}\t"
                f"{c['volts'][i]:.15E}\t{amps * 1000:.15E}\t{c['chg'][i] * 1000:.15E}\t"
                f"{c['dchg'][i] * 1000:.15E}\t{float(c['cycle'][i]):.15E}\t{c['temp'][i]:.15E}"
            )
    elif fmt == "neware":
        stamps = _stamps(c["unix"], month_first=False)
        lines.append(
            "DataPoint,Cycle Index,Step Index,Step Type,Time,Total Time,Current(A),Voltage(V),"
            "Chg. Cap.(Ah),DChg. Cap.(Ah),Date,T1(℃)"
        )
        for i in range(n):
            amps = float(c["amps"][i])
            kind = "CC Chg" if amps > 0 else ("CC DChg" if amps < 0 else "Rest")
            t = float(c["test"][i])
            clock = f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}:{t % 60:06.3f}"
            lines.append(
                f"{i + 1},{c['cycle'][i] + 1},{c['step'][i] + 1},{kind},{clock},{clock},"
                f"{amps:.4f},{c['volts'][i]:.4f},{c['chg'][i]:.4f},{c['dchg'][i]:.4f},"
                f"{stamps[i][:19]},{c['temp'][i]}"
            )
    else:
        raise ValueError(fmt)
    eol = "\r\n" if fmt in ("arbin", "biologic") else "\n"
    path.write_bytes((eol.join(lines) + eol).encode("cp1252" if fmt == "biologic" else "utf-8"))
    return path


# ------------------------------------------------------------------------------- measuring


def read_rate(fmt: str, path: Path) -> dict:
    """Rows/s of `fmt`'s reader over the whole file: every chunk read and normalised, as the
    loader gets it (no database)."""
    from ingest import readers, staging

    options = staging.ReadOptions(time_zone="UTC", started_at=START)
    started, cpu = time.perf_counter(), time.process_time()
    _info, chunks = readers.FORMATS[fmt].read(path, options)
    rows = 0
    try:
        for _first, table in chunks:
            rows += table.num_rows
    finally:
        chunks.close()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    return {
        "rows": rows,
        "seconds": round(seconds, 4),
        "rows_per_second": round(rows / seconds),
        "cpu_seconds": round(cpu_seconds, 4),
        "rows_per_cpu_second": round(rows / cpu_seconds),
    }


def _wall(argv: list[str]) -> float:
    """Seconds from the process's start to its exit; it must succeed."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv[:3])} failed: {done.stderr.strip()[-1500:]}")
    return seconds


def _loader(csv: Path, url: str, workdir: Path) -> dict:
    sidecar = workdir / "sidecar.json"
    sidecar.write_text(json.dumps(SIDECAR))
    report = workdir / "report.json"
    argv = ["-m", "ingest", str(csv), "--db", url, "--sidecar", str(sidecar)]
    seconds = _wall([*argv, "--report", str(report)])
    (record,) = json.loads(report.read_text())
    return {
        "process_seconds": round(seconds, 4),
        "rows": record["rows_loaded"],
        "load_seconds": record["seconds"],
        "rows_per_second": round(record["rows_loaded"] / record["seconds"]),
        "bulk_mode": record.get("bulk_mode"),
    }


def _pandas(csv: Path, kind: str, where: str) -> dict:
    return {"process_seconds": round(_wall(["-c", PANDAS, str(csv), kind, where]), 4)}


def _ceiling(csv: Path, url: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.ingest", "--ceiling", str(csv), "--db", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"the engine alone failed: {done.stderr.strip()[-1500:]}")
    return json.loads(done.stdout)


class _Engine:
    """Fresh databases with the generated schema, one per measurement."""

    def __init__(self, name: str, workdir: Path, stack: ExitStack):
        self.name, self.workdir, self.stack = name, workdir, stack
        self.count = 0
        self.server = None
        if name == "postgres18":
            import harness

            self.server = stack.enter_context(harness.postgres18())
            self.ddl = (ROOT / "sql" / "postgres" / "schema.sql").read_text()

    @property
    def kind(self) -> str:
        return "sqlite" if self.name == "sqlite" else "postgres"

    def fresh(self, schema: bool = True) -> str:
        self.count += 1
        if self.name == "sqlite":
            import sqlite3

            path = self.workdir / f"db{self.count}.sqlite"
            conn = sqlite3.connect(path)
            if schema:
                conn.executescript((ROOT / "sql" / "sqlite" / "schema.sql").read_text())
            conn.close()
            return str(path)
        database = self.stack.enter_context(self.server.fresh_database(f"side{self.count}"))
        if schema:
            with database.connect() as raw:
                raw.execute(self.ddl)
        return database.conninfo()


def measure_engine(engine: _Engine, csv: Path, rounds: int) -> dict:
    loader, pandas, ceiling = [], [], []
    for r in range(rounds):
        order = ("loader", "pandas", "ceiling") if r % 2 == 0 else ("ceiling", "pandas", "loader")
        for side in order:
            if side == "loader":
                loader.append(_loader(csv, engine.fresh(), engine.workdir))
            elif side == "pandas":
                pandas.append(_pandas(csv, engine.kind, engine.fresh(schema=False)))
            else:
                ceiling.append(_ceiling(csv, engine.fresh()))
    process = statistics.median(x["process_seconds"] for x in loader)
    rate = statistics.median(x["rows_per_second"] for x in loader)
    pandas_seconds = statistics.median(x["process_seconds"] for x in pandas)
    ceiling_rate = statistics.median(x["rows_per_second"] for x in ceiling)
    return {
        "rows": loader[0]["rows"],
        "bulk_mode": loader[0]["bulk_mode"],
        "loader_process_seconds": round(process, 4),
        "loader_rows_per_second": round(rate),
        "pandas_process_seconds": round(pandas_seconds, 4),
        "engine_rows_per_second": round(ceiling_rate),
        "ratio_to_pandas": round(pandas_seconds / process, 3),
        "ratio_to_engine": round(rate / ceiling_rate, 3),
        "runs": {"loader": loader, "pandas": pandas, "engine": ceiling},
    }


def measure_readers(csv: Path, workdir: Path, rounds: int) -> dict:
    files = {"bdf": csv}
    for fmt in VENDORS:
        files[fmt] = write_vendor(fmt, csv, workdir / f"bench.{fmt}.txt")
    for fmt, path in files.items():  # warm-up: imports and the page cache
        read_rate(fmt, path)
    rates: dict[str, list[int]] = {fmt: [] for fmt in files}
    cpu: dict[str, list[int]] = {fmt: [] for fmt in files}
    for r in range(rounds * READ_PASSES):
        for fmt in list(files)[:: 1 if r % 2 == 0 else -1]:
            measured = read_rate(fmt, files[fmt])
            rates[fmt].append(measured["rows_per_second"])
            cpu[fmt].append(measured["rows_per_cpu_second"])
    bdf = statistics.median(rates["bdf"])
    bdf_cpu = statistics.median(cpu["bdf"])
    out = {"bdf": {"rows_per_second": round(bdf), "rows_per_cpu_second": round(bdf_cpu)}}
    for fmt in VENDORS:
        rate, per_cpu = statistics.median(rates[fmt]), statistics.median(cpu[fmt])
        out[fmt] = {
            "rows_per_second": round(rate),
            "ratio_to_bdf": round(rate / bdf, 3),
            # the process's CPU time (pyarrow's threads included): what a machine shared with
            # other work takes from the wall clock of both sides unevenly leaves this alone
            "rows_per_cpu_second": round(per_cpu),
            "cpu_ratio_to_bdf": round(per_cpu / bdf_cpu, 3),
        }
    return out


def _compile_checkout() -> None:
    """The loader's packages as bytecode beside their sources (__pycache__, as an install
    leaves them; written even under PYTHONDONTWRITEBYTECODE, which only stops the import
    system from writing them)."""
    import compileall

    for package in ("ingest", "connection", "generator"):
        compileall.compile_dir(ROOT / package, quiet=1)


def run(sizes: list[int], engines: list[str], rounds: int, reader_sizes: list[int]) -> dict:
    from bench.system import machine

    _compile_checkout()
    results: dict = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": machine(),
        "load_average": list(os.getloadavg()),
        "rounds": rounds,
        "read_passes": READ_PASSES,  # per round, of the reader comparison
        "targets": TARGETS,
        "engines": {},
        "readers": {},
    }
    with tempfile.TemporaryDirectory(prefix="liam-erd-schema-bench-side-") as tmp, ExitStack() as s:
        workdir = Path(tmp)
        for n in sorted(set(sizes) | set(reader_sizes)):
            csv = workdir / f"samples-{n}.csv"
            make_csv(csv, n)
            if n in reader_sizes:
                print(f"readers: {n:,} rows", file=sys.stderr)
                results["readers"][str(n)] = measure_readers(csv, workdir, rounds)
            if n not in sizes:
                continue
            for name in engines:
                if name not in results["engines"]:
                    results["engines"][name] = {"_engine": _Engine(name, workdir, s)}
                engine = results["engines"][name]["_engine"]
                print(f"{name}: {n:,} rows", file=sys.stderr)
                results["engines"][name][str(n)] = measure_engine(engine, csv, rounds)
            csv.unlink()
        for by_size in results["engines"].values():
            engine = by_size.pop("_engine")
            if engine.server is not None:
                by_size["version"] = f"PostgreSQL {engine.server.version}"
    return results


# -------------------------------------------------------------------------------- reporting

NAMES = {"sqlite": "SQLite", "postgres18": "PostgreSQL 18"}


def _met(value: float, target: float) -> str:
    return "met" if value >= target else "**missed**"


def report(results: dict) -> str:
    """The report as Markdown: every ratio beside its target, met or missed."""
    t = results["targets"]
    m = results["machine"]
    lines = [
        "# The loader side by side",
        "",
        "<!-- generated by python -m bench.sidebyside; do not edit -->",
        "",
        f"`python -m bench.sidebyside`, {results['date']}, {m.get('cpu_model', '?')}, "
        f"{m.get('cpu_count', '?')} CPUs, load average "
        f"{', '.join(f'{x:.1f}' for x in results['load_average'])} at the start; median of "
        f"{results['rounds']} round(s). Absolute figures are this machine's; the ratios are "
        "the result.",
        "",
        f"Loader ÷ pandas: a hand-written `pandas.read_csv` + `to_sql` process's seconds over "
        f"the loader's (`python -m ingest`, start-up included), target ≥ {t['pandas']}. "
        f"Loader ÷ engine alone: the loader's rows/s over the engine's own bulk path with the "
        f"rows in memory, target ≥ {t['engine']}.",
        "",
        "| engine | rows | loader, s | pandas, s | loader ÷ pandas | target | loader rows/s "
        "| engine alone rows/s | loader ÷ engine | target |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    met = missed = 0
    for name, by_size in results["engines"].items():
        for size, r in by_size.items():
            if not isinstance(r, dict):
                continue
            a = _met(r["ratio_to_pandas"], t["pandas"])
            b = _met(r["ratio_to_engine"], t["engine"])
            met += (a == "met") + (b == "met")
            missed += (a != "met") + (b != "met")
            lines.append(
                f"| {NAMES.get(name, name)} | {int(size):,} | {r['loader_process_seconds']:.2f} "
                f"| {r['pandas_process_seconds']:.2f} | ×{r['ratio_to_pandas']:.2f} | {a} "
                f"| {r['loader_rows_per_second']:,} | {r['engine_rows_per_second']:,} "
                f"| ×{r['ratio_to_engine']:.2f} | {b} |"
            )
    if results["readers"]:
        readers = results["readers"]
        by_cpu = all("cpu_ratio_to_bdf" in r.get(v, {}) for r in readers.values() for v in VENDORS)
        key = "cpu_ratio_to_bdf" if by_cpu else "ratio_to_bdf"
        lines += [
            "",
            f"Vendor readers ÷ the BDF reader on the same rows (reading and normalising, no "
            f"database; median of {results['rounds'] * results.get('read_passes', 1)} passes), "
            f"target ≥ {t['reader']}"
            + (
                ", judged by CPU time: rows per CPU second of the reading process (pyarrow's "
                "threads included), which other work on a shared machine moves far less than "
                "the wall clock (its rows/s and ratio are shown beside):"
                if by_cpu
                else ":"
            ),
            "",
            "| rows | BDF rows/s | "
            + " | ".join(f"{v} rows/s, ratio" for v in VENDORS)
            + (
                " | BDF rows/CPU s | " + " | ".join(f"{v} by CPU" for v in VENDORS)
                if by_cpu
                else ""
            )
            + " |",
            "|---:|---:|"
            + "---|" * len(VENDORS)
            + ("---:|" + "---|" * len(VENDORS) if by_cpu else ""),
        ]
        for size, r in readers.items():
            cells = [f"{r[v]['rows_per_second']:,}, ×{r[v]['ratio_to_bdf']:.2f}" for v in VENDORS]
            if by_cpu:
                cells.append(f"{r['bdf']['rows_per_cpu_second']:,}")
            for v in VENDORS:
                verdict = _met(r[v][key], t["reader"])
                met += verdict == "met"
                missed += verdict != "met"
                if by_cpu:
                    cells.append(f"×{r[v][key]:.2f} {verdict}")
                else:
                    cells[VENDORS.index(v)] += f" {verdict}"
            lines.append(
                f"| {int(size):,} | {r['bdf']['rows_per_second']:,} | " + " | ".join(cells) + " |"
            )
    lines += ["", f"Targets met: {met} of {met + missed}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.sidebyside", description=__doc__.split("\n")[0]
    )
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="rows of the loads")
    p.add_argument("--reader-sizes", default="100000", help="rows of the reader comparison")
    p.add_argument("--engines", default="sqlite,postgres18")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", type=Path, default=SIDEBYSIDE_RESULTS)
    p.add_argument("--report", type=Path, default=SIDEBYSIDE_REPORT)
    args = p.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",") if x]
    reader_sizes = [int(x) for x in args.reader_sizes.split(",") if x]
    results = run(sizes, [e for e in args.engines.split(",") if e], args.rounds, reader_sizes)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    text = report(results)
    args.report.write_text(text)
    print(text)
    print(f"wrote {args.out} and {args.report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
