"""ClickHouse beside the other engines: `python -m bench.clickhouse [--n N]`.

The real ClickHouse engine in process (chdb), loaded with sql/clickhouse/schema.sql as
generated, and the same cycler record as `python -m bench` (bench/dataset.py). Measured:

- insert rows/s of the samples, read by ClickHouse from the Parquet file the other engines read;
- bytes per sample on disk after OPTIMIZE FINAL (every part merged), the whole table and the
  nine cycler quantities alone, for the generated codecs and for ClickHouse's default (LZ4);
- the three typical queries (bench/queries.py): median time, and EXPLAIN indexes = 1 to show
  that each reads only the granules it needs from timeseries_point.

Targets (issue 12): at most 5 B/row, at least 2,000,000 rows/s. Prints a report and writes
JSON (--out). Exit status 0 when every query reads less than the whole time-series table,
1 otherwise or when the engine is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from generator.sqltext import split_statements
from generator.targets.clickhouse import string_literal

from . import dataset, queries

ROOT = Path(__file__).resolve().parents[1]
DDL = ROOT / "sql" / "clickhouse" / "schema.sql"
MAX_BYTES_PER_ROW = 5.0
MIN_ROWS_PER_SECOND = 2_000_000
CODEC = re.compile(r" CODEC\((?:[^()]|\([^()]*\))*\)")
POINT_COLUMNS = ", ".join(dataset.POINT_COLUMNS)
SETTINGS = ("input_format_null_as_default = 0", "insert_null_as_default = 0")


class Sql(str):
    """SQL text to splice as it is (already a literal)."""


def time_literal(us: int) -> Sql:
    text = datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return Sql(f"toDateTime64('{text}', 6, 'UTC')")


def literal(value) -> str:
    if isinstance(value, Sql):
        return value
    if isinstance(value, str):
        return string_literal(value)
    return repr(value)


class Run:
    def __init__(self, session, database: str, scratch: Path, manifest: dataset.Manifest):
        self.s, self.db, self.scratch, self.manifest = session, database, scratch, manifest

    def q(self, sql: str, fmt: str = "CSV") -> str:
        return self.s.query(sql, fmt).data()

    def rows(self, sql: str) -> list[list]:
        return json.loads(self.s.query(sql, "JSONCompact").bytes())["data"]

    def create(self, ddl: str) -> None:
        self.q(f"CREATE DATABASE {self.db}")
        self.q(f"USE {self.db}")
        for setting in SETTINGS:
            self.q(f"SET {setting}")
        for statement in split_statements(ddl):
            self.q(statement)

    def parents(self) -> None:
        m = self.manifest
        cells = ", ".join(
            f"({c['cell_id']}, 'Bench Cells', 'INR21700-50E', {literal(c['serial_number'])}, "
            "'NMC', 'cylindrical', 5.0, 3.6, 2.5, 4.2)"
            for c in m.cells
        )
        self.q(
            "INSERT INTO battery_cell (cell_id, manufacturer, model_name, serial_number, "
            "chemistry, form_factor, nominal_capacity_ah, nominal_voltage_volt, "
            f"voltage_min_volt, voltage_max_volt) VALUES {cells}"
        )
        sessions = ", ".join(
            f"({s.session_id}, {s.cell_id}, 'Cycle aging 0.5C/1C', '1.0', 'cycle_aging', "
            f"'Bench cycler', {time_literal(s.started_at_us)})"
            for s in m.sessions
        )
        self.q(
            "INSERT INTO test_session (session_id, cell_id, protocol_name, protocol_version, "
            f"protocol_type, equipment, started_at) VALUES {sessions}"
        )
        cycles = ", ".join(
            f"({c.session_id}, {c.cycle_index}, {c.record_index_first}, {c.record_index_last}, "
            f"{c.test_time_start_second!r}, {c.test_time_end_second!r})"
            for c in m.cycles
        )
        self.q(
            "INSERT INTO cycle (session_id, cycle_index, record_index_first, record_index_last, "
            f"test_time_start_second, test_time_end_second) VALUES {cycles}"
        )
        soh = ", ".join(
            f"({s}, {c}, 'capacity', 'nominal', '{queries.LABEL_VERSION}', {v!r}, 5.0)"
            for s, c, v in m.soh_labels()
        )
        if soh:
            self.q(
                "INSERT INTO label_soh (session_id, cycle_index, definition, reference_basis, "
                f"label_version, soh, reference_capacity_ah) VALUES {soh}"
            )

    def load_points(self) -> dict:
        """Two ways in: straight from the Parquet file (decoding included), and from the same
        rows already in memory (a Memory table), which is ClickHouse's own insert: checks,
        sorting, compression, writing parts. The table is emptied between the two."""
        path = self.scratch / "points.parquet"
        t = time.perf_counter()
        self.q(
            f"INSERT INTO timeseries_point ({POINT_COLUMNS}) "
            f"SELECT {POINT_COLUMNS} FROM file('{path}', Parquet)"
        )
        parquet_seconds = time.perf_counter() - t
        n = int(self.q("SELECT count() FROM timeseries_point"))
        self.q("CREATE TABLE staged ENGINE = Memory AS SELECT * FROM timeseries_point")
        self.q("TRUNCATE TABLE timeseries_point")
        t, cpu = time.perf_counter(), time.process_time()
        self.q(f"INSERT INTO timeseries_point ({POINT_COLUMNS}) SELECT {POINT_COLUMNS} FROM staged")
        seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
        self.q("DROP TABLE staged")
        return {
            "rows": n,
            "seconds": round(seconds, 3),
            "rows_per_second": int(n / seconds),
            # every thread of this process: the rate that a machine of its own would see
            "cpu_seconds": round(cpu, 3),
            "rows_per_cpu_second": int(n / cpu) if cpu else None,
            "from_parquet_seconds": round(parquet_seconds, 3),
            "from_parquet_rows_per_second": int(n / parquet_seconds),
        }

    def load_labels(self) -> dict:
        path = self.scratch / "soc_labels.parquet"
        t = time.perf_counter()
        self.q(
            "INSERT INTO label_soc (session_id, record_index, recorded_at, method, "
            "label_version, soc, reference_capacity_ah, initial_soc) "
            f"SELECT session_id, record_index, recorded_at, 'coulomb_counting', "
            f"'{queries.LABEL_VERSION}', soc, 5.0, {self.manifest.soc_initial!r} "
            f"FROM file('{path}', Parquet)"
        )
        n = int(self.q("SELECT count() FROM label_soc"))
        return {"rows": n, "seconds": round(time.perf_counter() - t, 3)}

    def size(self) -> dict:
        self.q("OPTIMIZE TABLE timeseries_point FINAL")
        parts, disk, rows = self.rows(
            "SELECT count(), sum(bytes_on_disk), sum(rows) FROM system.parts "
            f"WHERE active AND database = '{self.db}' AND table = 'timeseries_point'"
        )[0]
        columns = {
            name: (int(compressed), int(uncompressed))
            for name, compressed, uncompressed in self.rows(
                "SELECT name, data_compressed_bytes, data_uncompressed_bytes FROM system.columns "
                f"WHERE database = '{self.db}' AND table = 'timeseries_point'"
            )
        }
        data = sum(c for c, _ in columns.values())
        return {
            "parts": int(parts),
            "bytes_on_disk": int(disk),
            "bytes_per_row": round(int(disk) / int(rows), 2),
            "column_bytes_per_row": round(data / int(rows), 2),
            "columns_bytes_per_row": {k: round(c / int(rows), 3) for k, (c, _) in columns.items()},
            "uncompressed_bytes_per_row": round(sum(u for _, u in columns.values()) / int(rows), 2),
        }

    def run_queries(self, runs: int) -> dict:
        params = queries.choose_params(self.manifest)
        out = {}
        for query in queries.QUERIES:
            args = queries.query_args(query.key, params, time_literal)
            parts = query.template.split("{p}")
            sql = parts[0]
            for value, rest in zip(args, parts[1:], strict=True):
                sql += literal(value) + rest
            sql = sql.replace("{label_time_join}", "").strip()
            times = []
            result_rows = 0
            for _ in range(runs):
                t = time.perf_counter()
                result_rows = len(self.rows(sql))
                times.append((time.perf_counter() - t) * 1000)
            plan = self.q(f"EXPLAIN indexes = 1 {sql}", "TSVRaw")
            out[query.key] = {
                "title": query.title,
                "rows": result_rows,
                "median_ms": round(statistics.median(times), 2),
                **plan_verdict(plan, query.touches_timeseries),
            }
        return out


def plan_verdict(plan: str, touches_timeseries: bool) -> dict:
    """Granules read out of the table's total, for each ReadFromMergeTree of timeseries_point,
    after the primary key and partition pruning."""
    reads = []
    current = None
    for line in plan.splitlines():
        table = re.search(r"ReadFromMergeTree \((\w+)\.(\w+)\)", line)
        if table:
            current = {"table": table.group(2), "granules": None, "keys": []}
            reads.append(current)
            continue
        if current is None:
            continue
        key = re.match(r"\s*(PrimaryKey|Partition|MinMax|Skip)\s*$", line)
        if key:
            current["keys"].append(key.group(1))
        granules = re.search(r"Granules: (\d+)/(\d+)", line)
        if granules:
            # Each index narrows what the one before it kept: the last line holds the final
            # selection, the first the table's whole count (a skip index's "1/1" counts only
            # what the primary key left).
            total = current["granules"][1] if current["granules"] else int(granules.group(2))
            current["granules"] = [int(granules.group(1)), total]
    ts = [r for r in reads if r["table"] == "timeseries_point"]
    full = any(r["granules"] is None or r["granules"][0] >= r["granules"][1] for r in ts)
    return {
        "reads": reads,
        "full_scan_timeseries_point": bool(touches_timeseries and (full or not ts)),
    }


def bench(n: int, scratch: Path, runs: int) -> dict:
    from chdb import session

    if not (scratch / "manifest.json").exists():
        t = time.perf_counter()
        dataset.generate(n, scratch)
        print(f"bench.clickhouse: generated {n:,} samples in {time.perf_counter() - t:.1f} s")
    manifest = dataset.load_manifest(scratch)
    ddl = DDL.read_text(encoding="utf-8")
    sess = session.Session(str(scratch / "chdb"))
    results = {
        "engine": "ClickHouse " + sess.query("SELECT version()", "CSV").data().strip().strip('"'),
        "n": manifest.n,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "variants": {},
    }
    try:
        for key, text in (("generated", ddl), ("lz4_default", CODEC.sub("", ddl))):
            run = Run(sess, f"bench_{key}", scratch, manifest)
            run.create(text)
            run.parents()
            load = run.load_points()
            labels = run.load_labels()
            size = run.size()
            entry = {"load": load, "labels": labels, "size": size}
            if key == "generated":
                entry["queries"] = run.run_queries(runs)
            results["variants"][key] = entry
            sess.query(f"DROP DATABASE bench_{key}")
    finally:
        sess.close()
    main = results["variants"]["generated"]
    results["targets"] = {
        "bytes_per_row": [main["size"]["bytes_per_row"], MAX_BYTES_PER_ROW],
        "rows_per_second": [main["load"]["rows_per_second"], MIN_ROWS_PER_SECOND],
        "queries_read_only_what_they_need": not any(
            q["full_scan_timeseries_point"] for q in main["queries"].values()
        ),
    }
    return results


def report(results: dict) -> str:
    main = results["variants"]["generated"]
    lz4 = results["variants"]["lz4_default"]
    size = main["size"]
    lines = [
        f"{results['engine']} (chdb), {results['n']:,} samples, {results['date']}",
        f"  insert: {main['load']['rows_per_second']:,} rows/s from memory "
        f"({main['load']['seconds']} s; target >= {MIN_ROWS_PER_SECOND:,}); "
        f"{main['load']['from_parquet_rows_per_second']:,} rows/s from the Parquet file; "
        f"{main['load']['rows_per_cpu_second']:,} rows per CPU second "
        f"(load average {results['loadavg_start'][0]} on {results['cpus']} CPUs)",
        f"  size after OPTIMIZE FINAL: {size['bytes_per_row']} B/row on disk, "
        f"{size['column_bytes_per_row']} B/row in the nine columns "
        f"(target <= {MAX_BYTES_PER_ROW}); uncompressed {size['uncompressed_bytes_per_row']}",
        f"  same table without the codecs (LZ4): {lz4['size']['bytes_per_row']} B/row on disk, "
        f"{lz4['load']['rows_per_second']:,} rows/s",
        "  per column (B/row): "
        + ", ".join(f"{k} {v}" for k, v in size["columns_bytes_per_row"].items()),
    ]
    for key, q in main["queries"].items():
        reads = "; ".join(
            f"{r['table']} {r['granules'][0]}/{r['granules'][1]} granules"
            if r["granules"]
            else f"{r['table']} (no index analysis)"
            for r in q["reads"]
        )
        verdict = "FULL SCAN" if q["full_scan_timeseries_point"] else "ok"
        lines.append(f"  {key}: {q['median_ms']} ms, {q['rows']} rows, {reads} [{verdict}]")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.clickhouse", description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000, help="samples (default 1000000)")
    parser.add_argument("--query-runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--scratch", type=Path, default=None, help="reuse a dataset directory")
    args = parser.parse_args(argv)
    try:
        import chdb  # noqa: F401
    except ImportError as exc:
        print(f"bench.clickhouse: chdb is not installed ({exc})", file=sys.stderr)
        return 1
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="liam-erd-schema-ch-"))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        results = bench(args.n, scratch, args.query_runs)
    finally:
        shutil.rmtree(scratch / "chdb", ignore_errors=True)
        if args.scratch is None:
            shutil.rmtree(scratch, ignore_errors=True)
    print(report(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0 if results["targets"]["queries_read_only_what_they_need"] else 1


if __name__ == "__main__":
    sys.exit(main())
