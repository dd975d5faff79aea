"""The cycles and cycle features of derive/sql.py's CYCLES and FEATURES computed in numpy from
one read of the session's samples: the same definitions, the same values. Named for the engine
it was written for: SQLite evaluates FEATURES's window functions row by row in its byte-code
engine and sorts the whole session twice (by cycle for the per-cycle maxima, again for the
GROUP BY): about 12 CPU microseconds a sample, ten times what reading the samples costs
(docs/performance.md, "Deriving"). Here the session's samples are read once in record order
(SQLite: ADBC's Arrow; PostgreSQL: one binary COPY of one array per column, on the caller's
connection; ClickHouse: chdb's Arrow output) and every step of FEATURES is one array operation:

- the previous sample (LAG ... ORDER BY record_index) is the array shifted by one;
- every CASE is an np.where with SQL's NULL rules (a comparison with NULL is false, NaN's
  comparisons are false too; NULL stands as NaN, so a sample holding NaN itself, which
  PostgreSQL and ClickHouse can store, is left to the SQL text);
- per-cycle sums add in record order, one after the other, as SQLite's sum() does (a running
  sum per cycle, not numpy's pairwise sum), so the per-cycle values are SQLite's to the bit
  (PostgreSQL's and ClickHouse's own sums add in the order their plans happen to give);
- a cycle's bounds are its samples' min and max, as CYCLES's GROUP BY gives them;
- the rows are written by the same upserts as CYCLES and FEATURES (a row that did not change is
  not written), one row per cycle; on ClickHouse staged and published as its SQL's are.

The read replaces two passes of SQL over the session (CYCLES's sort, FEATURES's windows) on
every engine (docs/performance.md). Where it cannot be had (no numpy, PGlite) the SQL texts
run. tests/derive/test_sqlite_features.py holds this module to the SQL texts' rows."""

from __future__ import annotations

from typing import Any

import numpy as np

from connection.sqlite import placeholders

from . import sql

# one numeric matrix: step_type as a code (0 other or NULL, 1 cc_charge, 2 cv_charge); the
# record index last (the cycles' bounds: `cycles`)
SAMPLES = """
SELECT cycle_count,
       CASE step_type WHEN 'cc_charge' THEN 1 WHEN 'cv_charge' THEN 2 ELSE 0 END,
       test_time_second, voltage_volt, current_ampere, TEMPERATURE_COLUMN,
       charging_capacity_ah, discharging_capacity_ah, charging_energy_wh, discharging_energy_wh,
       record_index
FROM timeseries_point WHERE session_id = %s ORDER BY record_index"""
WIDTH = 11
# sql.CYCLES's rows from the same read: the values of its SELECT, the same upsert
CYCLES_UPSERT = sql.CYCLES_INTO + "\nVALUES (" + ", ".join(["%s"] * 8) + ")" + sql.CYCLES_CONFLICT

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
        # each sample's place in the padded matrix of sum(), whose rows are the places in a
        # cycle and whose columns the cycles: made once, reused by every sum
        lengths = self.ends - self.starts
        self._widest = int(lengths.max()) if len(lengths) else 0
        self._padded: np.ndarray | None = None
        if len(lengths) * self._widest <= 4 * len(keys) + 4096:
            self._padded = np.zeros((self._widest, len(lengths)))
            places = np.arange(len(keys)) - self.starts[self.index]
            self._flat = places * len(lengths) + self.index
        if self.order is not None:  # the group of each sample, in record order
            back = np.empty_like(self.index)
            back[order] = self.index
            self.index = back

    def _sorted(self, x: np.ndarray) -> np.ndarray:
        return x if self.order is None else x[self.order]

    def sum(self, x: np.ndarray) -> np.ndarray:
        """sum(x) of the non-NULL values, added one after the other from the cycle's first
        sample, as SQLite's sum() adds (NaN where there is none). numpy's sum and reduceat
        add pairwise, which rounds differently; here the cycles stand side by side as the
        columns of a matrix padded with zeros (adding 0.0 changes no sum), added row after
        row, or one cycle at a time (cumsum) when their lengths differ too much for it."""
        x = self._sorted(x)
        have = ~np.isnan(x)
        x0 = np.where(have, x, 0.0)
        padded = self._padded
        if padded is not None:
            padded.reshape(-1)[self._flat] = x0  # the padding stays 0.0 from the first sum
            if self._widest <= 4096:  # row after row into the totals: cumsum's order
                total = padded[0].copy()
                for row in padded[1:]:
                    total += row
            else:
                total = np.cumsum(padded, axis=0)[-1]
        else:
            total = np.array(
                [np.cumsum(x0[lo:hi])[-1] for lo, hi in zip(self.starts, self.ends, strict=True)]
            )
        return np.where(np.add.reduceat(have, self.starts, dtype=np.int64) > 0, total, np.nan)

    def count(self, x: np.ndarray) -> np.ndarray:
        return np.add.reduceat(~np.isnan(self._sorted(x)), self.starts, dtype=np.int64)

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


def read(conn: Any, session_id: int, channel: str) -> np.ndarray | None:
    """The session's samples as SAMPLES reads them: a float matrix, NaN for NULL, stored
    column by column (each column one contiguous array for the arithmetic of `rows`). On
    PostgreSQL by binary COPY (`_read_copy`), or None where that cannot be had (the caller
    then runs the SQL text)."""
    text = SAMPLES.replace("TEMPERATURE_COLUMN", sql._channel(channel))
    if not conn.sqlite:
        return _read_copy(conn, session_id, channel)
    columns = _read_arrow(conn, placeholders(text), session_id)
    if columns is not None:
        out = np.empty((len(columns[0]), WIDTH), order="F")
        for k, column in enumerate(columns):
            out[:, k] = column
        return out
    return np.asfortranarray(np.array(conn.query(text, [session_id]), dtype=float)).reshape(
        -1, WIDTH, order="F"
    )


# PostgreSQL: SAMPLES's columns as arrays of double precision without NULLs (a NULL is 0.0,
# and which were NULL the bits of a last array), one array per column in one row: COPY hands
# it over in one piece (its rows come one call each), and numpy reads each array whole (an
# element of a binary array without NULLs: its length, 8, then the value). A column of
# SAMPLES: (its expression, whether it may be NULL).
_COPY_COLUMNS = (
    ("cycle_count", False),
    ("CASE step_type WHEN 'cc_charge' THEN 1 WHEN 'cv_charge' THEN 2 ELSE 0 END", False),
    ("test_time_second", True),
    ("voltage_volt", True),
    ("current_ampere", True),
    ("TEMPERATURE_COLUMN", True),
    ("charging_capacity_ah", True),
    ("discharging_capacity_ah", True),
    ("charging_energy_wh", True),
    ("discharging_energy_wh", True),
    ("record_index", False),
)
_ELEMENT = np.dtype([("length", ">i4"), ("value", ">f8")])
_ARRAY_HEAD = 20  # dimensions, has-NULLs flag, element type, length, lower bound
_COPY_HEAD = 19 + 2  # PGCOPY signature, flags, extension length; the row's field count


# samples (by record index) one COPY's arrays hold: the server builds them in memory, twelve
# arrays of 12 MB each for a million (an array is at most 1 GB)
_COPY_CHUNK = 1_000_000
BOUNDS = """
SELECT min(record_index), max(record_index) FROM timeseries_point WHERE session_id = %s"""


def _copy_text(session_id: int, channel: str, low: int, high: int) -> str:
    """The COPY of the samples with record index in [low, high)."""
    values, nulls = [], []
    for k, (expression, nullable) in enumerate(_COPY_COLUMNS):
        x = f"CAST({expression} AS DOUBLE PRECISION)"
        if nullable:
            nulls.append(f"CASE WHEN {expression} IS NULL THEN {2**k} ELSE 0 END")
            x = f"COALESCE({x}, 0.0)"
        values.append(x)
    values.append(f"CAST({' + '.join(nulls)} AS DOUBLE PRECISION)")
    arrays = ", ".join(f"array_agg({x} ORDER BY record_index)" for x in values)
    text = (
        f"COPY (SELECT {arrays} FROM timeseries_point WHERE session_id = {int(session_id)} "
        f"AND record_index >= {int(low)} AND record_index < {int(high)}) TO STDOUT (FORMAT BINARY)"
    )
    return text.replace("TEMPERATURE_COLUMN", sql._channel(channel))


def _read_copy(conn: Any, session_id: int, channel: str) -> np.ndarray | None:
    """PostgreSQL's samples by binary COPY on the caller's connection (inside its transaction,
    so seeing what it sees), a million record indexes a COPY, parsed by numpy; None on PGlite
    (its COPY is not to be trusted) or where a value is NaN rather than NULL (PostgreSQL orders
    NaN above every number; the SQL text keeps that meaning)."""
    from connection.postgres import is_pglite

    if is_pglite(conn.raw):
        return None
    low, high = conn.query(BOUNDS, [session_id])[0]
    if low is None:
        return np.empty((0, WIDTH), order="F")
    parts = []
    for start in range(int(low), int(high) + 1, _COPY_CHUNK):
        text = _copy_text(session_id, channel, start, start + _COPY_CHUNK)
        with conn.raw.cursor() as cursor, cursor.copy(text) as copy:
            part = _arrays(b"".join(copy))
        if part is None:
            return None
        parts.append(part)
    arrays = [np.concatenate([p[k] for p in parts]) for k in range(WIDTH + 1)]
    out = np.empty((len(arrays[0]), WIDTH), order="F")
    for k in range(WIDTH):
        out[:, k] = arrays[k]
    if np.isnan(out).any():
        return None
    nulls = arrays[WIDTH].astype(np.int64)
    for k in range(WIDTH):
        out[(nulls & (1 << k)) != 0, k] = np.nan
    return out


def _arrays(data: bytes) -> list[np.ndarray] | None:
    """The arrays of the one row of a binary COPY (empty ones where the row's are NULL: no
    sample in the range); None where an element is not 8 bytes (a NULL)."""
    arrays, at = [], _COPY_HEAD
    for _ in range(WIDTH + 1):
        (size,) = np.frombuffer(data, ">i4", 1, at)
        if size < _ARRAY_HEAD:  # NULL (no samples) or an empty array
            return [np.empty(0)] * (WIDTH + 1)
        got = np.frombuffer(data, _ELEMENT, (size - _ARRAY_HEAD) // 12, at + 4 + _ARRAY_HEAD)
        if np.any(got["length"] != 8):
            return None
        arrays.append(got["value"])
        at += 4 + size
    return arrays


def _read_arrow(conn: Any, text: str, session_id: int) -> list[np.ndarray] | None:
    """The columns, read as Arrow through ADBC's SQLite driver (C, no Python object per
    value: a third of sqlite3's time), on a connection of its own to the same file; None
    where that connection might not see what this one sees (the caller's open transaction,
    a database in memory) or the driver is not installed. The driver's low-level interface:
    its DB-API module imports pandas, a second of start-up."""
    if conn.callers_transaction:
        return None
    files = [r[2] for r in conn.raw.execute("PRAGMA database_list") if r[1] == "main"]
    if not files or not files[0]:
        return None
    try:
        import adbc_driver_manager as adbc
        import adbc_driver_sqlite
        import pyarrow as pa
    except ImportError:
        return None
    # the session's id is an int (the caller's), written into the text: no Arrow parameters
    text = text.replace("?", str(int(session_id)), 1)
    try:
        with (
            adbc_driver_sqlite.connect(files[0]) as database,
            adbc.AdbcConnection(database) as other,
            adbc.AdbcStatement(other) as statement,
        ):
            # one batch: the driver takes a column's type from its first batch, and refuses
            # a column NULL there but REAL later
            statement.set_options(**{"adbc.sqlite.query.batch_rows": str(2**30)})
            statement.set_sql_query(text)
            stream, _ = statement.execute_query()
            table = pa.RecordBatchReader._import_from_c(stream.address).read_all()
    except adbc.Error:  # anything the driver refuses is read by sqlite3 instead
        return None
    return [c.to_numpy(zero_copy_only=False).astype(float, copy=False) for c in table.columns]


def cycle_rows(samples: np.ndarray, session_id: int, cycle_type: str | None) -> list[tuple]:
    """sql.CYCLES's rows (session, cycle, first and last record index, first and last test
    time, type, its source) of the samples read by SAMPLES: its min and max per cycle."""
    g = _Cycles(samples[:, 0])
    record, t = samples[:, 10], samples[:, 2]
    source = None if cycle_type is None else "protocol"
    return [
        (session_id, int(k), int(r0), int(r1), t0, t1, cycle_type, source)
        for k, r0, r1, t0, t1 in zip(
            g.keys.tolist(),
            g.min(record).tolist(),
            g.max(record).tolist(),
            g.min(t).tolist(),
            g.max(t).tolist(),
            strict=True,
        )
    ]


def derive_cycles(conn: Any, session_id: int, samples: np.ndarray) -> int:
    """Upsert one session's cycles from its samples (as sql.CYCLES); the rows written."""
    if not len(samples):
        return 0
    (cycle_type,) = conn.query(sql.CYCLE_KIND, [session_id])[0]
    return _upsert(conn, CYCLES_UPSERT, cycle_rows(samples, session_id, cycle_type))


def derive(
    conn: Any,
    session_id: int,
    channel: str,
    version: str,
    tol: float,
    samples: np.ndarray | None = None,
) -> int:
    """Read (unless given), compute and upsert one session's cycle features; the rows
    written."""
    if samples is None:
        samples = read(conn, session_id, channel)
    if not len(samples):
        return 0
    return _upsert(conn, UPSERT, rows(samples, session_id, version, tol))


def _upsert(conn: Any, text: str, found: list[tuple]) -> int:
    """`text` (an INSERT ... VALUES (one row) ON CONFLICT) for every row; the rows written
    (inserted, or updated because a value changed)."""
    if conn.sqlite:
        before = conn.raw.total_changes
        conn.raw.executemany(placeholders(text), found)
        return conn.raw.total_changes - before
    # PostgreSQL: multi-row VALUES, 1,000 rows a statement (its rowcount: the rows written)
    head, one, conflict = _split_values(text)
    written = 0
    for lo in range(0, len(found), 1000):
        chunk = found[lo : lo + 1000]
        flat = [x for row in chunk for x in row]
        written += conn.execute(head + ", ".join([one] * len(chunk)) + conflict, flat)
    return written


def _split_values(text: str) -> tuple[str, str, str]:
    """An INSERT of one VALUES row: the text before the row, the row, the text after it."""
    start = text.index("VALUES (") + len("VALUES ")
    end = text.index(")", start) + 1
    return text[:start], text[start:end], text[end:]
