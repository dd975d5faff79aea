"""The cycle features of derive/sql.py's FEATURES on SQLite, computed in numpy from one read of
the session's samples: the same definitions, the same values. SQLite evaluates FEATURES's
window functions row by row in its byte-code engine and sorts the whole session twice (by
cycle for the per-cycle maxima, again for the GROUP BY): about 12 CPU microseconds a sample,
ten times what reading the samples costs (docs/performance.md, "Deriving"). Here the session's
samples are read once in record order and every step of FEATURES is one array operation:

- the previous sample (LAG ... ORDER BY record_index) is the array shifted by one;
- every CASE is an np.where with SQL's NULL rules (a comparison with NULL is false, NaN's
  comparisons are false too; NULL stands as NaN);
- per-cycle sums add in record order, one after the other, as SQLite's sum() does (a running
  sum per cycle, not numpy's pairwise sum), so the per-cycle values are SQLite's to the bit;
- the rows are written by the same upsert as FEATURES (a row that did not change is not
  written), one row per cycle.

PostgreSQL, TimescaleDB and ClickHouse keep the SQL text: their engines run it in a fraction of
SQLite's time. tests/derive/test_sqlite_features.py holds this module to FEATURES's rows."""

from __future__ import annotations

from typing import Any

import numpy as np

from connection.sqlite import placeholders

from . import sql

# one numeric matrix: step_type as a code (0 other or NULL, 1 cc_charge, 2 cv_charge)
SAMPLES = """
SELECT cycle_count,
       CASE step_type WHEN 'cc_charge' THEN 1 WHEN 'cv_charge' THEN 2 ELSE 0 END,
       test_time_second, voltage_volt, current_ampere, TEMPERATURE_COLUMN,
       charging_capacity_ah, discharging_capacity_ah, charging_energy_wh, discharging_energy_wh
FROM timeseries_point WHERE session_id = %s ORDER BY record_index"""

UPSERT = (
    sql.FEATURES_INTO
    + "\nVALUES ("
    + ", ".join(["%s"] * (3 + len(sql.FEATURE_COLUMNS)))
    + ")\nON CONFLICT (session_id, cycle_index, feature_version) "
    + sql._update_changed("cycle_feature", sql.FEATURE_COLUMNS)
)


def _shift(x: np.ndarray) -> np.ndarray:
    """LAG(x) OVER (ORDER BY record_index): NULL (NaN) for the first sample."""
    out = np.empty_like(x)
    out[0] = np.nan
    out[1:] = x[:-1]
    return out


def _pos(x: np.ndarray) -> np.ndarray:  # CASE WHEN x > 0 THEN x ELSE 0.0 END
    return np.where(x > 0, x, 0.0)


def _neg(x: np.ndarray) -> np.ndarray:  # CASE WHEN x < 0 THEN -x ELSE 0.0 END
    return np.where(x < 0, -x, 0.0)


def _counter(cur: np.ndarray, prev: np.ndarray) -> np.ndarray:
    """CASE WHEN prev IS NULL THEN 0.0 WHEN cur >= prev THEN cur - prev ELSE cur END."""
    return np.where(np.isnan(prev), 0.0, np.where(cur >= prev, cur - prev, cur))


class _Cycles:
    """Per-cycle reductions of arrays in record order, cycle by cycle (cycle_count is
    non-decreasing in record order; a cycle that comes back later is still one group)."""

    def __init__(self, cycle: np.ndarray):
        order = np.argsort(cycle, kind="stable")  # record order within each cycle
        self.order = None if np.all(order == np.arange(len(cycle))) else order
        keys = cycle if self.order is None else cycle[order]
        self.starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        self.ends = np.r_[self.starts[1:], len(keys)]
        self.keys = keys[self.starts]
        self.index = np.repeat(np.arange(len(self.starts)), self.ends - self.starts)
        # each sample's place in the padded matrix of sum(): its cycle, its place in it
        self._rows = self.index
        self._columns = np.arange(len(keys)) - self.starts[self.index]
        if self.order is not None:  # the group of each sample, in record order
            back = np.empty_like(self.index)
            back[order] = self.index
            self.index = back

    def _sorted(self, x: np.ndarray) -> np.ndarray:
        return x if self.order is None else x[self.order]

    def sum(self, x: np.ndarray) -> np.ndarray:
        """sum(x) of the non-NULL values, added one after the other from the cycle's first
        sample, as SQLite's sum() adds (NaN where there is none). numpy's sum and reduceat
        add pairwise, which rounds differently; cumsum adds one after the other: the cycles
        side by side as the rows of a matrix padded with zeros (adding 0.0 changes no sum),
        or one cycle at a time when their lengths differ too much for the matrix."""
        x = self._sorted(x)
        have = ~np.isnan(x)
        x0 = np.where(have, x, 0.0)
        lengths = self.ends - self.starts
        widest = int(lengths.max())
        if len(lengths) * widest <= 4 * len(x) + 4096:
            padded = np.zeros((len(lengths), widest))
            padded[self._rows, self._columns] = x0
            total = np.cumsum(padded, axis=1)[:, -1]
        else:
            total = np.array(
                [np.cumsum(x0[lo:hi])[-1] for lo, hi in zip(self.starts, self.ends, strict=True)]
            )
        return np.where(np.add.reduceat(have.astype(np.int64), self.starts) > 0, total, np.nan)

    def count(self, x: np.ndarray) -> np.ndarray:
        return np.add.reduceat((~np.isnan(self._sorted(x))).astype(np.int64), self.starts)

    def max(self, x: np.ndarray) -> np.ndarray:
        return self._extreme(x, np.fmax, -np.inf)

    def min(self, x: np.ndarray) -> np.ndarray:
        return self._extreme(x, np.fmin, np.inf)

    def _extreme(self, x: np.ndarray, op: Any, none: float) -> np.ndarray:
        x = self._sorted(x)
        got = op.reduceat(np.where(np.isnan(x), none, x), self.starts)
        return np.where(np.isinf(got) & (got == none), np.nan, got)

    def spread(self, per_cycle: np.ndarray) -> np.ndarray:
        """A per-cycle value on every sample of its cycle (a window PARTITION BY cycle)."""
        return per_cycle[self.index]


def rows(samples: np.ndarray, session_id: int, version: str, tol: float) -> list[tuple]:
    """FEATURES's rows (session, cycle, version, *FEATURE_COLUMNS) of the samples read by
    SAMPLES (a float matrix, NaN for NULL)."""
    cycle, step, t, v, i, temp = (samples[:, k] for k in range(6))
    qc, qd, ec, ed = (samples[:, k] for k in range(6, 10))
    p = v * i
    prev_cycle, prev_step = _shift(cycle), _shift(step)
    prev_t, prev_v, prev_i, prev_p, prev_temp = map(_shift, (t, v, i, p, temp))
    dt = np.where(np.isnan(prev_t) | (t < prev_t), 0.0, t - prev_t)
    intra = prev_cycle == cycle
    g = _Cycles(cycle)
    int_qc = dt * (_pos(prev_i) + _pos(i)) / 2 / 3600
    int_qd = dt * (_neg(prev_i) + _neg(i)) / 2 / 3600
    int_ec = dt * (_pos(prev_p) + _pos(p)) / 2 / 3600
    int_ed = dt * (_neg(prev_p) + _neg(p)) / 2 / 3600
    counted = {
        name: _counter(cur, _shift(cur))
        for name, cur in (("qc", qc), ("qd", qd), ("ec", ec), ("ed", ed))
    }
    charging = i > 0
    v_top = g.spread(g.max(np.where(charging, v, np.nan)))
    i_top = g.spread(g.max(np.where(charging, i, np.nan)))
    splits = g.spread(g.max(np.where((step == 1) | (step == 2), 1.0, 0.0))) == 1
    with np.errstate(invalid="ignore"):
        cv = intra & (
            (splits & (step == 2) & (prev_step == 2))
            | (
                ~splits
                & charging
                & (prev_i > 0)
                & (v >= v_top - tol)
                & (prev_v >= v_top - tol)
                & (prev_i <= sql.CV_TAPER * i_top)
            )
        )
    n = g.count(t)
    has_temp = intra & ~np.isnan(temp) & ~np.isnan(prev_temp)
    s = {
        "int_qc": g.sum(int_qc),
        "int_qd": g.sum(int_qd),
        "int_ec": g.sum(int_ec),
        "int_ed": g.sum(int_ed),
        "int_qc_t": g.sum(int_qc * t),
        "int_qd_t": g.sum(int_qd * t),
        "v_area": g.sum(np.where(intra, dt * (v + prev_v) / 2, 0.0)),
        "v_span": g.sum(np.where(intra, dt, 0.0)),
        "temp_area": g.sum(np.where(has_temp, dt * (temp + prev_temp) / 2, 0.0)),
        "temp_span": g.sum(np.where(has_temp, dt, 0.0)),
        "cv_time": g.sum(np.where(cv, dt, 0.0)),
        "cv_q": g.sum(np.where(cv, dt * (i + prev_i) / 2 / 3600, 0.0)),
    }
    chosen = {}
    for name, cur in (("qc", qc), ("qd", qd), ("ec", ec), ("ed", ed)):
        every = g.count(cur) == n
        chosen[name] = np.where(every, g.sum(counted[name]), s[f"int_{name}"])
    v_max, v_min = g.max(v), g.min(v)
    v_avg = g.sum(v) / n
    n_temp = g.count(temp)
    temp_max, temp_min = g.max(temp), g.min(temp)
    with np.errstate(invalid="ignore", divide="ignore"):
        temp_avg = np.where(n_temp > 0, g.sum(temp) / n_temp, np.nan)
        v_mean = np.where(s["v_span"] > 0, s["v_area"] / s["v_span"], v_avg)
        temp_mean = np.where(s["temp_span"] > 0, s["temp_area"] / s["temp_span"], temp_avg)
        both = (s["int_qd"] > 0) & (s["int_qc"] > 0)
        discharge_first = np.where(
            both,
            s["int_qd_t"] / s["int_qd"] < s["int_qc_t"] / s["int_qc"],
            s["int_qd"] > 0,
        )
    q_chg, q_dis, e_chg, e_dis = chosen["qc"], chosen["qd"], chosen["ec"], chosen["ed"]
    q_before = np.where(discharge_first, _shift(q_chg), q_chg)
    e_before = np.where(discharge_first, _shift(e_chg), e_chg)
    with np.errstate(invalid="ignore", divide="ignore"):
        ce = np.where((q_before > 0) & (q_dis > 0), q_dis / q_before, np.nan)
        ee = np.where((e_before > 0) & (e_dis > 0), e_dis / e_before, np.nan)
    v_mean = np.where(v_mean > v_max, v_max, np.where(v_mean < v_min, v_min, v_mean))
    with np.errstate(invalid="ignore"):
        temp_mean = np.where(
            temp_mean > temp_max, temp_max, np.where(temp_mean < temp_min, temp_min, temp_mean)
        )
    cv_q = np.where(s["cv_q"] > 0, s["cv_q"], 0.0)
    moved = q_chg + q_dis
    throughput = np.cumsum(np.where(np.isnan(moved), 0.0, moved))
    columns = (
        q_chg, q_dis, e_chg, e_dis, ce, ee, v_max, v_min, v_mean, g.max(i), g.min(i),
        temp_max, temp_mean, temp_min, s["cv_time"], cv_q, throughput,
    )  # fmt: skip
    values = [[None if x != x else x for x in c.tolist()] for c in columns]
    keys = g.keys.astype(np.int64).tolist()
    return [(session_id, k, version, *(col[j] for col in values)) for j, k in enumerate(keys)]


def read(conn: Any, session_id: int, channel: str) -> np.ndarray:
    """The session's samples as SAMPLES reads them: a float matrix, NaN for NULL."""
    text = SAMPLES.replace("TEMPERATURE_COLUMN", sql._channel(channel))
    table = _read_arrow(conn, placeholders(text), session_id)
    if table is not None:
        return (
            np.column_stack([c.to_numpy(zero_copy_only=False).astype(float) for c in table.columns])
            if table.num_rows
            else np.empty((0, 10))
        )
    return np.array(conn.query(text, [session_id]), dtype=float).reshape(-1, 10)


def _read_arrow(conn: Any, text: str, session_id: int) -> Any:
    """The rows as one Arrow table through ADBC's SQLite driver (C, no Python object per
    value: a third of sqlite3's time), on a connection of its own to the same file; None
    where that connection might not see what this one sees (the caller's open transaction,
    a database in memory) or the driver is not installed."""
    if conn.callers_transaction:
        return None
    files = [r[2] for r in conn.raw.execute("PRAGMA database_list") if r[1] == "main"]
    if not files or not files[0]:
        return None
    try:
        import adbc_driver_sqlite.dbapi as adbc
    except ImportError:
        return None
    try:
        with adbc.connect(files[0]) as other, other.cursor() as cursor:
            # one batch: the driver takes a column's type from its first batch, and refuses
            # a column NULL there but REAL later
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(2**30)})
            cursor.execute(text, [session_id])
            return cursor.fetch_arrow_table()
    except adbc.Error:  # anything the driver refuses is read by sqlite3 instead
        return None


def derive(conn: Any, session_id: int, channel: str, version: str, tol: float) -> int:
    """Read, compute and upsert one session's cycle features; the rows written."""
    samples = read(conn, session_id, channel)
    if not len(samples):
        return 0
    found = rows(samples, session_id, version, tol)
    before = conn.raw.total_changes
    conn.raw.executemany(placeholders(UPSERT), found)
    return conn.raw.total_changes - before
