"""The typical queries, their parameters, and what their plans must show.

Every query must reach timeseries_point through an index or, on TimescaleDB, through chunk
exclusion; a full scan of the time-series table is a failure that the bench reports loudly.
The two time-ordered queries (a session's samples between two times, the latest N samples of
a session) must also come out of the index in time order: a sort of the samples fails them.
tests/engines/test_time_order.py asserts the same verdicts on every engine with these same texts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .dataset import Manifest

LABEL_VERSION = "bench-1"
WINDOW_SECONDS = 3600

# {p}: placeholder, "?" for sqlite3 and "%s" for psycopg. Labels join their sample on the
# columns of the label's foreign key: (session_id, record_index), plus recorded_at on
# TimescaleDB, where the hypertable's key includes the time column.
Q_CYCLE = """
SELECT p.record_index, p.recorded_at, p.test_time_second, p.voltage_volt, p.current_ampere,
       p.surface_temperature_celsius, p.step_id
FROM timeseries_point AS p
WHERE p.session_id = {p}
  AND p.record_index BETWEEN
      (SELECT c.record_index_first FROM cycle AS c WHERE c.session_id = {p} AND c.cycle_index = {p})
  AND (SELECT c.record_index_last FROM cycle AS c WHERE c.session_id = {p} AND c.cycle_index = {p})
ORDER BY p.record_index
"""

Q_SOC_WINDOW = """
SELECT p.recorded_at, p.voltage_volt, p.current_ampere, p.surface_temperature_celsius, l.soc
FROM timeseries_point AS p
JOIN label_soc AS l
  ON l.session_id = p.session_id
 AND l.record_index = p.record_index{label_time_join}
WHERE p.session_id = {p}
  AND p.recorded_at >= {p} AND p.recorded_at < {p}
  AND l.recorded_at >= {p} AND l.recorded_at < {p}
  AND l.method = 'coulomb_counting' AND l.label_version = {p}
ORDER BY p.recorded_at
"""

# The queries engineers write most: by time, not by the cycler's record number.
Q_TIME_RANGE = """
SELECT p.recorded_at, p.test_time_second, p.voltage_volt, p.current_ampere,
       p.surface_temperature_celsius
FROM timeseries_point AS p
WHERE p.session_id = {p}
  AND p.recorded_at >= {p} AND p.recorded_at < {p}
ORDER BY p.recorded_at
"""

LATEST_N = 1000
Q_LATEST = """
SELECT p.recorded_at, p.test_time_second, p.voltage_volt, p.current_ampere,
       p.surface_temperature_celsius
FROM timeseries_point AS p
WHERE p.session_id = {p}
ORDER BY p.recorded_at DESC
LIMIT {p}
"""

Q_SOH_TREND = """
SELECT s.session_id, s.started_at, c.cycle_index, c.test_time_end_second, h.soh
FROM test_session AS s
JOIN cycle AS c ON c.session_id = s.session_id
JOIN label_soh AS h ON h.session_id = c.session_id AND h.cycle_index = c.cycle_index
WHERE s.cell_id = {p} AND h.definition = 'capacity' AND h.reference_basis = 'nominal'
ORDER BY s.started_at, c.cycle_index
"""


@dataclass(frozen=True)
class Query:
    key: str
    title: str
    template: str
    touches_timeseries: bool
    time_ordered: bool = False  # must be read in time order from an index: no sort

    def sql(self, engine: str) -> str:
        mark = "?" if engine == "sqlite" else "%s"
        time_join = "\n AND l.recorded_at = p.recorded_at" if engine == "timescaledb" else ""
        return self.template.format(p=mark, label_time_join=time_join).strip()


QUERIES = (
    Query("cycle", "All samples of one cycle", Q_CYCLE, True),
    Query("soc_window", "SOC training window (1 h of one session + labels)", Q_SOC_WINDOW, True),
    Query("soh_trend", "SOH trend of one cell across its sessions", Q_SOH_TREND, False),
    Query(
        "time_range",
        "One session's samples between two times, in time order (1 h)",
        Q_TIME_RANGE,
        True,
        time_ordered=True,
    ),
    Query(
        "latest",
        f"The latest {LATEST_N:,} samples of one session, newest first",
        Q_LATEST,
        True,
        time_ordered=True,
    ),
)
TIME_ORDERED = tuple(q for q in QUERIES if q.time_ordered)


@dataclass(frozen=True)
class QueryParams:
    session_id: int
    cycle_index: int
    window_start_us: int
    window_end_us: int
    cell_id: int


def choose_params(manifest: Manifest) -> QueryParams:
    """A cycle in the middle of the labelled session, an hour in its middle, its cell."""
    session = next(s for s in manifest.sessions if s.session_id == manifest.soc_label_session)
    cycles = [c for c in manifest.cycles if c.session_id == session.session_id]
    complete = [c for c in cycles if c.complete] or cycles
    cycle = complete[len(complete) // 2]
    start = session.started_at_us + (session.samples // 2) * 1_000_000
    end = start + WINDOW_SECONDS * 1_000_000
    return QueryParams(session.session_id, cycle.cycle_index, start, end, session.cell_id)


def query_args(key: str, params: QueryParams, to_time) -> tuple:
    """Arguments of a query, with times converted by ``to_time`` (engine representation)."""
    if key == "cycle":
        s, c = params.session_id, params.cycle_index
        return (s, s, c, s, c)
    if key == "soc_window":
        start, end = to_time(params.window_start_us), to_time(params.window_end_us)
        return (params.session_id, start, end, start, end, LABEL_VERSION)
    if key == "soh_trend":
        return (params.cell_id,)
    if key == "time_range":
        start, end = to_time(params.window_start_us), to_time(params.window_end_us)
        return (params.session_id, start, end)
    if key == "latest":
        return (params.session_id, LATEST_N)
    raise KeyError(key)


# ------------------------------------------------------------------------- plan checks

TIMESERIES_RELATION = re.compile(
    r"^(timeseries_point|_hyper_\d+_\d+_chunk|compress_hyper_\d+_\d+_chunk)$"
)


@dataclass
class PlanVerdict:
    uses_index: bool
    full_scan: bool
    chunk_exclusion: bool | None
    scans: list[str]
    note: str = ""
    sorts: bool = False  # the plan sorts rows (a Sort node, SQLite's temp b-tree)

    def as_dict(self) -> dict:
        return {
            "uses_index": self.uses_index,
            "sorts": self.sorts,
            "full_scan_timeseries_point": self.full_scan,
            "chunk_exclusion": self.chunk_exclusion,
            "scans": self.scans,
            "note": self.note,
        }


def sqlite_verdict(plan_rows: list[str]) -> PlanVerdict:
    """EXPLAIN QUERY PLAN details: SEARCH uses an index, SCAN of the table reads all of it."""
    scans = [row for row in plan_rows if row.startswith(("SEARCH", "SCAN"))]
    full = any(re.match(r"SCAN (timeseries_point|p)\b", row) for row in scans)
    uses_index = any(row.startswith("SEARCH") for row in scans)
    # as on PostgreSQL, a sort of rows the index bounded by time is the window's cost only
    bounded = all("recorded_at>" in row or "recorded_at<" in row for row in scans if row)
    sorts = any("TEMP B-TREE" in row for row in plan_rows) and not bounded
    return PlanVerdict(uses_index, full, None, scans, sorts=sorts)


def _walk(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


def _time_bounded(node: dict) -> bool:
    """Every sample under `node` comes from an index condition on recorded_at."""
    reads = [
        n
        for n in _walk(node)
        if n.get("Relation Name") and TIMESERIES_RELATION.match(n["Relation Name"])
    ]
    return bool(reads) and all(
        "recorded_at" in (n.get("Index Cond") or n.get("Recheck Cond") or "") for n in reads
    )


def postgres_verdict(plan_json, total_chunks: int | None = None) -> PlanVerdict:
    """Walk EXPLAIN (FORMAT JSON): which relations are read how, and is any read in full.

    A sequential scan of timeseries_point, of one of its chunks, or of a compressed chunk is
    a full scan; on TimescaleDB, reading fewer chunks than exist is chunk exclusion.
    """
    root = plan_json[0]["Plan"] if isinstance(plan_json, list) else plan_json["Plan"]
    scans: list[str] = []
    uses_index = False
    full = False
    chunks_read: set[str] = set()
    touches = False
    excluded_at_startup = 0
    sorts = False
    for node in _walk(root):
        kind = node.get("Node Type", "")
        # TimescaleDB orders compressed batches by their min/max metadata (a few rows per
        # 1,000 samples) and merges them, already in order: that sort is not of samples.
        # A sort of rows an index already bounded by time (a bitmap scan of the window, which
        # the planner may prefer when a session's samples are spread over many pages) costs
        # what the window costs; a sort of a whole session is what fails.
        if (
            kind in ("Sort", "Incremental Sort")
            and not all("_ts_meta_" in key for key in node.get("Sort Key", []))
            and not _time_bounded(node)
        ):
            sorts = True
        relation = node.get("Relation Name")
        index = node.get("Index Name")
        if node.get("Custom Plan Provider") == "ChunkAppend":
            excluded_at_startup += int(node.get("Chunks excluded during startup", 0) or 0)
        if relation is None:
            if index:  # a Bitmap Index Scan names only its index
                scans.append(f"{kind} using {index} [{node.get('Index Cond', '')}]")
                uses_index = True
            continue
        where = node.get("Index Cond") or node.get("Filter") or node.get("Recheck Cond") or ""
        scans.append(
            f"{kind} on {relation}"
            + (f" using {index}" if index else "")
            + (f" [{where}]" if where else "")
        )
        if "Index" in kind or "Bitmap" in kind:
            uses_index = True
        if TIMESERIES_RELATION.match(relation):
            touches = True
            if relation != "timeseries_point":
                chunks_read.add(relation)
            if kind == "Seq Scan":
                full = True
    chunk_exclusion = None
    if total_chunks is not None and touches:
        read = len({c for c in chunks_read if c.startswith("_hyper_")}) or len(chunks_read)
        chunk_exclusion = read < total_chunks or excluded_at_startup > 0
    return PlanVerdict(uses_index, full, chunk_exclusion, scans, sorts=sorts)


def time_order_problems(verdict: PlanVerdict) -> list[str]:
    """Why a time-ordered query's plan does not serve it from an index in order ([] if it does)."""
    problems = []
    if verdict.full_scan:
        problems.append("reads the whole time-series table (sequential scan)")
    if verdict.sorts:
        problems.append("sorts the samples instead of reading them in time order")
    if not verdict.uses_index and not verdict.chunk_exclusion:
        problems.append("uses no index and excludes no chunk")
    return problems
