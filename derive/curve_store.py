"""The `curves` derivation: read a session's samples once, compute its curves and curve
features with derive/curves.py (numpy), and write them the same way on every engine: the
definition (curve_definition, written once per version), then the session's rows of that
version replaced (cycle_curve, cycle_curve_feature). SQLite and PostgreSQL in one transaction
(the caller's); ClickHouse computes everything before it deletes and inserts anything."""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import repeat
from typing import Any

import numpy as np

from . import curves as cv
from . import sql
from .curve_settings import CurveReport, CurveSettings
from .errors import DeriveError

SAMPLES = """
SELECT cycle_count, test_time_second, voltage_volt, current_ampere, charging_capacity_ah,
       discharging_capacity_ah, charging_energy_wh, discharging_energy_wh
FROM timeseries_point WHERE session_id = %s ORDER BY record_index"""
CHEMISTRY = """
SELECT chemistry FROM battery_cell
WHERE cell_id = (SELECT cell_id FROM test_session WHERE session_id = %s)"""
CYCLES = "SELECT cycle_index FROM cycle WHERE session_id = %s ORDER BY cycle_index"
DEFINITION_COLUMNS = (
    "voltage_grid_min_volt",
    "voltage_grid_max_volt",
    "voltage_grid_points",
    "capacity_grid_points",
    "smoothing_window_points",
    "smoothing_polyorder",
    "min_points",
    "delta_q_reference_cycle_index",
    "delta_q_cycle_index",
    "chemistry",
)
STORED = f"SELECT {', '.join(DEFINITION_COLUMNS)} FROM curve_definition WHERE curve_version = %s"
CURVE_COLUMNS = (
    "session_id",
    "cycle_index",
    "curve_version",
    "direction",
    "grid",
    "point_index",
    "voltage_volt",
    "capacity_ah",
    "energy_wh",
    "normalised_capacity",
    "dq_dv_ah_per_volt",
    "dv_dq_volt_per_ah",
)
# PostgreSQL's types of CURVE_COLUMNS (sql/postgres/schema.sql), for the arrays of the insert
ARRAY_TYPES = {
    "cycle_curve": ("integer", "integer", "text", "text", "text", "integer")
    + ("double precision",) * 6,
}
# psycopg's binary dumpers of those types
COPY_TYPES = {"integer": "int4", "double precision": "float8"}
FEATURE_COLUMNS = (
    "session_id",
    "cycle_index",
    "curve_version",
    *cv.PEAK_COLUMNS,
    "delta_q_reference_cycle_index",
    *cv.DELTA_Q_COLUMNS,
    "null_reasons",
)


def definition(query: Any, session_id: int, s: CurveSettings) -> tuple[cv.Definition, bool]:
    """The definition to compute under and whether it is already stored. A stored definition
    of the version wins; asked-for settings that contradict it are refused."""
    if s.voltage_window:
        window = s.voltage_window
    else:
        high, low = query(sql.VOLTAGE_LIMITS, [session_id])[0]
        if low is None or high is None:
            raise DeriveError("the session's asset has no voltage limits: give the voltage window")
        window = (float(low), float(high))
    chem = query(CHEMISTRY, [session_id])
    chemistry = chem[0][0] if chem else None
    ref, cmp_ = s.delta_q_cycles or (None, None)
    wanted = cv.Definition(
        s.curve_version,
        voltage_min=float(window[0]),
        voltage_max=float(window[1]),
        window=s.window,
        polyorder=s.polyorder,
        reference_cycle=ref,
        compared_cycle=cmp_,
        chemistry=chemistry,
    )
    rows = query(STORED, [s.curve_version])
    if not rows:
        return wanted, False
    r = rows[0]
    stored = cv.Definition(
        s.curve_version,
        voltage_min=float(r[0]),
        voltage_max=float(r[1]),
        voltage_points=int(r[2]),
        capacity_points=int(r[3]),
        window=int(r[4]),
        polyorder=int(r[5]),
        min_points=int(r[6]),
        reference_cycle=None if r[7] is None else int(r[7]),
        compared_cycle=None if r[8] is None else int(r[8]),
        chemistry=r[9],
    )
    asked = {
        "voltage window": None if s.voltage_window is None else tuple(map(float, s.voltage_window)),
        "smoothing window": s.window,
        "polynomial order": s.polyorder,
        "delta-Q cycles": tuple(s.delta_q_cycles) if s.delta_q_cycles else (None, None),
    }
    have = {
        "voltage window": (stored.voltage_min, stored.voltage_max),
        "smoothing window": stored.window,
        "polynomial order": stored.polyorder,
        "delta-Q cycles": (stored.reference_cycle, stored.compared_cycle),
    }
    for name, value in asked.items():
        if value is not None and value != have[name]:
            raise DeriveError(
                f"curve version {s.curve_version!r} is stored with {name} {have[name]}, not "
                f"{value}: give these, or another --curve-version for other parameters"
            )
    return stored, True


def compute(
    rows: Sequence[tuple], cycle_ids: Sequence[int], session_id: int, d: cv.Definition
) -> tuple[list[tuple], list[tuple], CurveReport]:
    """The cycle_curve and cycle_curve_feature rows of one session, and the report."""
    report = CurveReport()
    known = set(cycle_ids)
    results = {c.index: cv.cycle_curves(c, d) for c in cv.split_cycles(list(rows))}
    grid, cgrid = d.voltage_grid(), d.capacity_grid()
    points: list[tuple] = []
    features: list[tuple] = []
    ver = d.curve_version
    for index, res in sorted(results.items()):
        if index not in known:
            continue
        if res.curves:
            report.cycles += 1
        for direction, h in res.curves.items():
            # whole columns at once (numpy's float64 arithmetic is Python's float arithmetic:
            # the same values as one point at a time, without a Python loop per point)
            points.extend(
                zip(
                    repeat(session_id), repeat(index), repeat(ver), repeat(direction),
                    repeat("voltage"), h.v_index.tolist(), grid[h.v_index].tolist(),
                    h.q_v.tolist(), h.e_v.tolist(),
                    np.minimum(1.0, np.maximum(0.0, h.q_v / h.total_ah)).tolist(),
                    repeat(None) if h.dqdv is None else h.dqdv.tolist(), repeat(None),
                )
            )  # fmt: skip
            qs = cgrid[h.q_index]
            points.extend(
                zip(
                    repeat(session_id), repeat(index), repeat(ver), repeat(direction),
                    repeat("normalised_capacity"), h.q_index.tolist(), h.v_q.tolist(),
                    (qs * h.total_ah).tolist(), repeat(None), qs.tolist(), repeat(None),
                    repeat(None) if h.dvdq is None else h.dvdq.tolist(),
                )
            )  # fmt: skip
        values, reasons = cv.peaks(res, d)
        dq: dict[str, Any] = dict.fromkeys(cv.DELTA_Q_COLUMNS)
        reference = None
        if d.compared_cycle is not None and index == d.compared_cycle:
            reference = d.reference_cycle
            ref = results.get(reference)
            if ref is None or reference not in known:
                got: dict | str = f"no cycle {reference} (the delta-Q reference) in the session"
            else:
                got = cv.delta_q(res.curves.get("discharge"), ref.curves.get("discharge"), d)
            if isinstance(got, str):
                reasons.update(dict.fromkeys(cv.DELTA_Q_COLUMNS, got))
            else:
                dq.update(got)
                if got["delta_q_log10_abs_variance"] is None:
                    reasons["delta_q_log10_abs_variance"] = "delta-Q variance is 0"
        for why in reasons.values():
            report.nulls[why] += 1
        features.append(
            (
                session_id,
                index,
                ver,
                *(values[c] for c in cv.PEAK_COLUMNS),
                reference,
                *(dq[c] for c in cv.DELTA_Q_COLUMNS),
                json.dumps(reasons, sort_keys=True) if reasons else None,
            )
        )
    if d.compared_cycle is not None and d.compared_cycle not in known:
        report.nulls[
            f"no cycle {d.compared_cycle} (the delta-Q compared cycle) in the session"
        ] += 1
    report.points, report.features = len(points), len(features)
    return points, features, report


def run(conn: Any, session_id: int, s: CurveSettings, query: Any) -> CurveReport:
    """Compute and write one session's curves under `s.curve_version`; `query(text, params)`
    runs a SELECT of derive/sql.py's dialect (on ClickHouse: rewritten first)."""
    clickhouse = getattr(conn, "clickhouse", False)
    d, stored = definition(query, session_id, s)
    samples = query(SAMPLES, [session_id])
    cycle_ids = [int(r[0]) for r in query(CYCLES, [session_id])]
    if not cycle_ids:
        raise DeriveError("the session has no cycles: derive cycles first")
    points, features, report = compute(samples, cycle_ids, session_id, d)
    writer = _ClickHouseWriter(conn) if clickhouse else _DbapiWriter(conn)
    if not stored:
        writer.definition(d)
    for table in ("cycle_curve", "cycle_curve_feature"):
        writer.execute(
            f"DELETE FROM {table} WHERE session_id = %s AND curve_version = %s",
            [session_id, d.curve_version],
        )
    writer.insert("cycle_curve", CURVE_COLUMNS, points)
    writer.insert("cycle_curve_feature", FEATURE_COLUMNS, features)
    return report


def _definition_values(d: cv.Definition) -> list:
    return [
        d.curve_version,
        d.chemistry,
        d.voltage_min,
        d.voltage_max,
        d.voltage_points,
        d.capacity_points,
        cv.CAPACITY_SOURCE,
        cv.METHOD,
        "savitzky_golay",
        d.window,
        d.polyorder,
        d.min_points,
        d.reference_cycle,
        d.compared_cycle,
        json.dumps(d.parameters(), sort_keys=True),
    ]


DEFINITION_INSERT = """
INSERT INTO curve_definition (curve_version, chemistry, voltage_grid_min_volt,
    voltage_grid_max_volt, voltage_grid_points, capacity_grid_points, capacity_source, method,
    smoothing, smoothing_window_points, smoothing_polyorder, min_points,
    delta_q_reference_cycle_index, delta_q_cycle_index, parameters, created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NOW)"""


class _DbapiWriter:
    def __init__(self, conn: Any):
        self.conn = conn
        self.raw = conn.raw
        self.sqlite = conn.sqlite
        self.execute = conn.execute
        self._copies: bool | None = None

    def _copy(self) -> bool:
        """Whether the server takes COPY FROM STDIN (PostgreSQL and TimescaleDB do, PGlite
        does not)."""
        if self._copies is None:
            from connection.postgres import is_pglite

            self._copies = not is_pglite(self.raw)
        return self._copies

    def definition(self, d: cv.Definition) -> None:
        now = "(julianday('now') - 2440587.5) * 86400.0" if self.sqlite else "now()"
        self.conn.execute(DEFINITION_INSERT.replace("NOW", now), _definition_values(d))

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        if not rows:
            return
        if self.sqlite:
            marks = ", ".join("?" * len(columns))
            self.raw.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
            )
            return
        types = ARRAY_TYPES.get(table)
        if types and self._copy():
            # binary COPY: no statement text to parse, no array to dump; the values as they are
            with self.raw.cursor().copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types([COPY_TYPES.get(t, t) for t in types])
                for row in rows:
                    copy.write_row(row)
            return
        # PGlite (the tests' TimescaleDB) drops the connection on COPY FROM STDIN: there the
        # curve points (up to 3,000 a cycle) go as one array per column, unnested by the
        # server: 12 parameters a statement, not 12,000
        if types:
            head = f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest("
            head += ", ".join(f"%s::{t}[]" for t in types) + ")"
            for lo in range(0, len(rows), 50_000):
                self.raw.execute(head, [list(c) for c in zip(*rows[lo : lo + 50_000], strict=True)])
            return
        # multi-row INSERTs of 1,000 rows
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        for lo in range(0, len(rows), 1000):
            chunk = rows[lo : lo + 1000]
            flat = [x for r in chunk for x in r]
            self.raw.execute(head + ", ".join([one] * len(chunk)), flat)


class _ClickHouseWriter:
    CHUNK = 20000

    def __init__(self, conn: Any):
        self.db = conn.db
        self.execute = conn.db.execute

    def definition(self, d: cv.Definition) -> None:
        self.db.execute(DEFINITION_INSERT.replace("NOW", "now64(3)"), _definition_values(d))

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        from connection.clickhouse import literal

        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        for lo in range(0, len(rows), self.CHUNK):
            chunk = rows[lo : lo + self.CHUNK]
            values = ",".join("(" + ",".join(literal(x) for x in r) + ")" for r in chunk)
            self.db.run(head + values)
