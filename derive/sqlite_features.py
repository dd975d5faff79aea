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

import re
import threading
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
        # each sample's place in the padded matrix of sums(), whose rows are the places in a
        # cycle and whose columns the cycles: made once, reused by every sum
        lengths = self.ends - self.starts
        self._widest = int(lengths.max()) if len(lengths) else 0
        self._flat: np.ndarray | None = None
        if len(lengths) * self._widest <= 4 * len(keys) + 4096:
            places = np.arange(len(keys)) - self.starts[self.index]
            self._flat = places * len(lengths) + self.index
        if self.order is not None:  # the group of each sample, in record order
            back = np.empty_like(self.index)
            back[order] = self.index
            self.index = back

    def _sorted(self, x: np.ndarray) -> np.ndarray:
        return x if self.order is None else x[self.order]

    def sums(self, x: np.ndarray) -> np.ndarray:
        """sum() of each column of `x` (samples x values, C order; overwritten) per cycle: of
        the non-NULL values, added one after the other from the cycle's first sample, as
        SQLite's sum() adds (NaN where there is none); cycles x values. numpy's sum along an
        array and reduceat add pairwise, which rounds differently; here the cycles stand side
        by side in a matrix padded with zeros (adding 0.0 changes no sum) and its rows (the
        n-th sample of every cycle) are added one after the other (numpy sums pairwise only
        along the fast axis in memory, and this is the slow one), or one cycle at a time
        (cumsum) when their lengths differ too much."""
        x = self._sorted(x)
        missing = np.isnan(x)
        np.copyto(x, 0.0, where=missing)
        cycles, width = len(self.starts), x.shape[1]
        if self._flat is None:
            total = np.array(
                [
                    np.cumsum(x[lo:hi], axis=0)[-1]
                    for lo, hi in zip(self.starts, self.ends, strict=True)
                ]
            ).reshape(cycles, width)
        else:
            padded = _scratch(self._widest * cycles * width).reshape(self._widest, cycles, width)
            if self.order is None:  # each cycle's samples one slice: copied as such
                by_cycle = padded.transpose(1, 0, 2)
                bounds = zip(self.starts.tolist(), self.ends.tolist(), strict=True)
                for c, (lo, hi) in enumerate(bounds):
                    by_cycle[c, : hi - lo] = x[lo:hi]
            else:
                padded.reshape(-1, width)[self._flat] = x
            total = padded.sum(axis=0)
        none = np.minimum.reduceat(missing.view(np.uint8), self.starts, axis=0)
        return np.where(none == 1, np.nan, total)

    def counts(self, x: np.ndarray) -> np.ndarray:
        """count() of each column of `x` (samples x values) per cycle: cycles x values."""
        return np.add.reduceat(~np.isnan(self._sorted(x)), self.starts, axis=0, dtype=np.int64)

    def max(self, x: np.ndarray) -> np.ndarray:
        """max() per cycle of the non-NULL values (fmax passes NaN by), NaN where none."""
        return np.fmax.reduceat(self._sorted(x), self.starts)

    def min(self, x: np.ndarray) -> np.ndarray:
        return np.fmin.reduceat(self._sorted(x), self.starts)

    def spread(self, per_cycle: np.ndarray) -> np.ndarray:
        """A per-cycle value on every sample of its cycle (a window PARTITION BY cycle)."""
        return per_cycle[self.index]


_SCRATCH = threading.local()  # each thread's own


def _scratch(size: int) -> np.ndarray:
    """Zeros for the padded matrix of _Cycles.sums, in memory reused from block to block (a
    fresh array each time would fault its pages in anew, a block's time again)."""
    kept = getattr(_SCRATCH, "array", None)
    if kept is None or len(kept) < size:
        _SCRATCH.array = np.zeros(size)
        return _SCRATCH.array[:size]
    out = kept[:size]
    out.fill(0.0)
    return out


# samples per block of whole cycles that rows() computes at a time: a block's arrays (1 MB
# each) stay in the CPU's cache between numpy's steps, where a session's million would go to
# memory and back at every step (about twice the time)
BLOCK = 1 << 17


def _blocks(cycle: np.ndarray) -> list[tuple[int, int]]:
    """[lo, hi) of blocks of about BLOCK samples that end where a cycle ends; the whole
    session in one where the cycle counter goes back somewhere (a cycle that comes back)."""
    n = len(cycle)
    if not n:
        return []
    if not np.all(cycle[1:] >= cycle[:-1]):
        return [(0, n)]
    starts = np.flatnonzero(np.r_[True, cycle[1:] != cycle[:-1]])
    bounds = [0]
    while bounds[-1] < n:
        lo = bounds[-1]
        k = int(np.searchsorted(starts, lo + BLOCK, side="right")) - 1
        if starts[k] <= lo:  # one cycle longer than a block: the block is that cycle
            k = int(np.searchsorted(starts, lo, side="right"))
            bounds.append(int(starts[k]) if k < len(starts) else n)
        else:
            bounds.append(int(starts[k]) if lo + BLOCK < n else n)
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _block(samples: np.ndarray, lo: int, hi: int, tol: float) -> dict[str, np.ndarray]:
    """FEATURES's per-cycle values of the cycles of samples [lo, hi), each sample beside the
    one before it in record order (LAG: the block's first sees the previous block's last;
    NULL, NaN, before the session's first)."""
    if lo:
        x = samples[lo - 1 : hi]
    else:
        x = np.empty((hi + 1, samples.shape[1]), order="F")
        x[0] = np.nan
        x[1:] = samples[:hi]
    cur, prev = x[1:], x[:-1]
    cycle, step, t, v, i, temp = (cur[:, k] for k in range(6))
    prev_cycle, prev_step, prev_t, prev_v, prev_i, prev_temp = (prev[:, k] for k in range(6))
    dt = np.where(np.isnan(prev_t) | (t < prev_t), 0.0, t - prev_t)
    intra = prev_cycle == cycle
    g = _Cycles(cycle)
    # each sample's positive and negative part, once: the sample's and the one before's
    parts = [f(y) for y in (x[:, 4], x[:, 3] * x[:, 4]) for f in (_pos, _neg)]
    int_qc, int_qd, int_ec, int_ed = (dt * (y[:-1] + y[1:]) / 2 / 3600 for y in parts)
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
    has_temp = intra & ~np.isnan(temp) & ~np.isnan(prev_temp)
    terms = {
        "int_qc": int_qc,
        "int_qd": int_qd,
        "int_ec": int_ec,
        "int_ed": int_ed,
        "int_qc_t": int_qc * t,
        "int_qd_t": int_qd * t,
        "v_area": np.where(intra, dt * (v + prev_v) / 2, 0.0),
        "v_span": np.where(intra, dt, 0.0),
        "temp_area": np.where(has_temp, dt * (temp + prev_temp) / 2, 0.0),
        "temp_span": np.where(has_temp, dt, 0.0),
        "cv_time": np.where(cv, dt, 0.0),
        "cv_q": np.where(cv, dt * (i + prev_i) / 2 / 3600, 0.0),
        "v": v,
        "temp": temp,
        # the cycler's counters: each sample's increment (_counter)
        **{name: _counter(cur[:, k], prev[:, k]) for k, name in enumerate(_COUNTERS, 6)},
    }
    matrix = np.empty((len(cur), len(terms)))
    for k, term in enumerate(terms.values()):
        matrix[:, k] = term
    s = dict(zip(terms, g.sums(matrix).T, strict=True))
    n, n_temp, *n_counters = g.counts(cur[:, [2, 5, 6, 7, 8, 9]]).T
    chosen = {
        name: np.where(every == n, s[name], s[f"int_{name}"])
        for name, every in zip(_COUNTERS, n_counters, strict=True)
    }
    v_max, v_min = g.max(v), g.min(v)
    v_avg = s["v"] / n
    temp_max, temp_min = g.max(temp), g.min(temp)
    with np.errstate(invalid="ignore", divide="ignore"):
        temp_avg = np.where(n_temp > 0, s["temp"] / n_temp, np.nan)
        v_mean = np.where(s["v_span"] > 0, s["v_area"] / s["v_span"], v_avg)
        temp_mean = np.where(s["temp_span"] > 0, s["temp_area"] / s["temp_span"], temp_avg)
        both = (s["int_qd"] > 0) & (s["int_qc"] > 0)
        discharge_first = np.where(
            both,
            s["int_qd_t"] / s["int_qd"] < s["int_qc_t"] / s["int_qc"],
            s["int_qd"] > 0,
        )
    v_mean = np.where(v_mean > v_max, v_max, np.where(v_mean < v_min, v_min, v_mean))
    with np.errstate(invalid="ignore"):
        temp_mean = np.where(
            temp_mean > temp_max, temp_max, np.where(temp_mean < temp_min, temp_min, temp_mean)
        )
    return {
        "keys": g.keys,
        "discharge_first": discharge_first,
        "q_chg": chosen["qc"],
        "q_dis": chosen["qd"],
        "e_chg": chosen["ec"],
        "e_dis": chosen["ed"],
        "v_max": v_max,
        "v_min": v_min,
        "v_mean": v_mean,
        "i_max": g.max(i),
        "i_min": g.min(i),
        "temp_max": temp_max,
        "temp_mean": temp_mean,
        "temp_min": temp_min,
        "cv_time": s["cv_time"],
        "cv_q": np.where(s["cv_q"] > 0, s["cv_q"], 0.0),
    }


_COUNTERS = ("qc", "qd", "ec", "ed")  # SAMPLES's columns 6 to 9


def rows(samples: np.ndarray, session_id: int, version: str, tol: float) -> list[tuple]:
    """FEATURES's rows (session, cycle, version, *FEATURE_COLUMNS) of the samples read by
    SAMPLES (a float matrix, NaN for NULL), computed a block of whole cycles at a time
    (_block); what one cycle takes from the one before (the charge a discharge is paired
    with, the running throughput) after."""
    parts = [_block(samples, lo, hi, tol) for lo, hi in _blocks(samples[:, 0])]
    if not parts:
        return []
    c = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    q_chg, q_dis, e_chg, e_dis = c["q_chg"], c["q_dis"], c["e_chg"], c["e_dis"]
    q_before = np.where(c["discharge_first"], _shift(q_chg), q_chg)
    e_before = np.where(c["discharge_first"], _shift(e_chg), e_chg)
    with np.errstate(invalid="ignore", divide="ignore"):
        ce = np.where((q_before > 0) & (q_dis > 0), q_dis / q_before, np.nan)
        ee = np.where((e_before > 0) & (e_dis > 0), e_dis / e_before, np.nan)
    moved = q_chg + q_dis
    throughput = np.cumsum(np.where(np.isnan(moved), 0.0, moved))
    columns = (
        q_chg, q_dis, e_chg, e_dis, ce, ee, c["v_max"], c["v_min"], c["v_mean"], c["i_max"],
        c["i_min"], c["temp_max"], c["temp_mean"], c["temp_min"], c["cv_time"], c["cv_q"],
        throughput,
    )  # fmt: skip
    values = [[None if x != x else x for x in col.tolist()] for col in columns]
    keys = c["keys"].astype(np.int64).tolist()
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


# PostgreSQL: SAMPLES's columns as arrays without NULLs, one array per column in one row: COPY
# hands it over in one piece (its rows come one call each), and numpy reads each array whole
# (an element of a binary array without NULLs: its length, then the value). A column that may
# be NULL sends its values only (an aggregate FILTER: a column NULL throughout costs neither
# building nor sending), and which were NULL ride in the step code's array (code + 4 x the
# bits of the NULL columns). Each column in its own type (real, integer: the array's header
# names it) and no ORDER BY (the record index comes along, and numpy sorts by it where the scan
# did not): the server's casts and its sort per array were half its time. A column of SAMPLES: (its
# expression, whether it may be NULL).
_COPY_COLUMNS = (
    ("cycle_count", False),
    ("CASE step_type WHEN 'cc_charge' THEN 1 WHEN 'cv_charge' THEN 2 ELSE 0 END", False),
    ("test_time_second", False),
    ("voltage_volt", False),
    ("current_ampere", False),
    ("TEMPERATURE_COLUMN", True),
    ("charging_capacity_ah", True),
    ("discharging_capacity_ah", True),
    ("charging_energy_wh", True),
    ("discharging_energy_wh", True),
    ("record_index", False),
)
_STEP = 1  # the column whose array carries the NULL bits
# an array's element type (its OID in the array's header) as numpy reads the values
_PG_TYPES = {21: ">i2", 23: ">i4", 20: ">i8", 700: ">f4", 701: ">f8"}
_ARRAY_HEAD = 20  # dimensions, has-NULLs flag, element type, length, lower bound
_COPY_HEAD = 19 + 2  # PGCOPY signature, flags, extension length; the row's field count


# samples (by record index) one COPY's arrays hold: the server builds them in memory, a few
# arrays of 4 to 8 MB each for a million (an array is at most 1 GB)
_COPY_CHUNK = 1_000_000
BOUNDS = """
SELECT min(record_index), max(record_index) FROM timeseries_point WHERE session_id = %s"""


def _copy_text(session_id: int, channel: str, low: int, high: int) -> str:
    """The COPY of the samples with record index in [low, high)."""
    values, nulls = [], []
    for k, (expression, nullable) in enumerate(_COPY_COLUMNS):
        if nullable:  # the values there are, their places by the bits beside the step code
            nulls.append(f"CASE WHEN {expression} IS NULL THEN {4 << k} ELSE 0 END")
            values.append(f"array_agg({expression}) FILTER (WHERE {expression} IS NOT NULL)")
        else:
            values.append(f"array_agg({expression})")
    values[_STEP] = f"array_agg({' + '.join([_COPY_COLUMNS[_STEP][0], *nulls])})"
    text = (
        f"COPY (SELECT {', '.join(values)} FROM timeseries_point "
        f"WHERE session_id = {int(session_id)} "
        f"AND record_index >= {int(low)} AND record_index < {int(high)}) TO STDOUT (FORMAT BINARY)"
    )
    return text.replace("TEMPERATURE_COLUMN", sql._channel(channel))


def _read_copy(conn: Any, session_id: int, channel: str) -> np.ndarray | None:
    """PostgreSQL's samples by binary COPY on the caller's connection (inside its transaction,
    so seeing what it sees), a million record indexes a COPY, parsed by numpy; None on PGlite
    (its COPY is not to be trusted) or where a value is NaN rather than NULL (PostgreSQL orders
    NaN above every number; the SQL text keeps that meaning). From _SPLIT_MIN record indexes
    on, the chunks alternate between this connection and a second one to the same server, read
    side by side (the server builds the arrays on one core a backend): the second imports this
    transaction's snapshot; where it cannot be opened, or the caller's own transaction may hold
    samples another connection does not see, this connection reads all."""
    from connection.postgres import is_pglite

    if is_pglite(conn.raw):
        return None
    low, high = conn.query(BOUNDS, [session_id])[0]
    if low is None:
        return np.empty((0, WIDTH), order="F")
    span = int(high) - int(low) + 1
    other = None if conn.callers_transaction or span < _SPLIT_MIN else _second(conn.raw)
    chunk = _COPY_CHUNK if other is None else min(_COPY_CHUNK, -(-span // 2))
    texts = [
        _copy_text(session_id, channel, start, start + chunk)
        for start in range(int(low), int(high) + 1, chunk)
    ]
    got: list = [None] * len(texts)
    if other is None:
        for i, text in enumerate(texts):
            got[i] = _copy(conn.raw, text)
    else:
        failed: list[BaseException] = []

        def odd() -> None:
            try:
                for i in range(1, len(texts), 2):
                    got[i] = _copy(other, texts[i])
            except BaseException as exc:  # re-raised by the caller's thread
                failed.append(exc)

        worker = threading.Thread(target=odd)
        worker.start()
        try:
            for i in range(0, len(texts), 2):
                got[i] = _copy(conn.raw, texts[i])
        finally:
            worker.join()
            other.close()
        if failed:
            raise failed[0]
    parts = []
    for part in got:
        if part is None:
            return None
        if part[0] is not None:  # else no sample in the range
            parts.append(part)
    out = np.empty((sum(len(p[0]) for p in parts), WIDTH), order="F")
    at = 0
    for part in parts:  # each array straight into its column (its byte order undone there)
        n = len(part[0])
        code = part[_STEP].astype(np.int64)
        part[_STEP] = code & 3
        bits = code >> 2
        for k, (values, (_, nullable)) in enumerate(zip(part, _COPY_COLUMNS, strict=True)):
            column = out[at : at + n, k]
            if not nullable:
                column[:] = values
                continue
            present = (bits & (1 << k)) == 0
            if len(values if values is not None else ()) != np.count_nonzero(present):
                return None  # not what the bits say: the SQL text reads it instead
            if values is None:
                column[:] = np.nan
            elif len(values) == n:
                column[:] = values
            else:
                column[:] = np.nan
                column[present] = values
        at += n
    record = out[:, WIDTH - 1]
    if len(record) > 1 and not np.all(record[1:] > record[:-1]):  # each chunk as scanned
        out = np.asfortranarray(out[np.argsort(record, kind="stable")])
    if len(out) and _nan_values(out, parts):
        return None
    return out


# record indexes from which the read is split over two connections (below, a second
# connection's start costs more than half a read saves)
_SPLIT_MIN = 200_000


def _copy(raw: Any, text: str) -> list[np.ndarray | None] | None:
    """One binary COPY's arrays (`_arrays`)."""
    with raw.cursor() as cursor, cursor.copy(text) as copy:
        return _arrays(b"".join(copy))


def _second(raw: Any) -> Any:
    """A second psycopg connection to raw's server and database, read-only, in a transaction
    on raw's snapshot where raw is in one (else each COPY reads what is committed, as raw's
    own do); None where it cannot be had."""
    import psycopg
    from psycopg.pq import TransactionStatus

    try:
        params = {o.keyword.decode(): o.val.decode() for o in raw.pgconn.info if o.val is not None}
        snapshot = None
        if raw.info.transaction_status == TransactionStatus.INTRANS:
            snapshot = raw.execute("SELECT pg_export_snapshot()").fetchone()[0]
        other = psycopg.connect(psycopg.conninfo.make_conninfo(**params), autocommit=True)
    except (psycopg.Error, UnicodeDecodeError):
        return None
    other.prepare_threshold = None
    try:
        other.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        if snapshot is not None:
            other.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
    except psycopg.Error:
        other.close()
        return None
    return other


def _nan_values(out: np.ndarray, parts: list) -> bool:
    """Whether a stored value is NaN (not NULL): NaN where no NULL bit says so."""
    stored = sum(len(v) for p in parts for v in p if v is not None)
    return int(np.count_nonzero(~np.isnan(out))) != stored


def _arrays(data: bytes) -> list[np.ndarray | None] | None:
    """The arrays of the one row of a binary COPY, as numpy views of the bytes; None for an
    array that is NULL (no sample in the range, or none with a value); None in all where an
    element is not of its type's size (a NULL) or the type is not a number's."""
    arrays: list[np.ndarray | None] = []
    at = _COPY_HEAD
    for _ in range(WIDTH):
        (size,) = np.frombuffer(data, ">i4", 1, at)
        if size < 0:  # NULL
            arrays.append(None)
            at += 4
            continue
        if size < _ARRAY_HEAD:  # an empty array
            arrays.append(np.empty(0))
            at += 4 + size
            continue
        (oid,) = np.frombuffer(data, ">i4", 1, at + 4 + 8)
        if int(oid) not in _PG_TYPES:
            return None
        element = np.dtype([("length", ">i4"), ("value", _PG_TYPES[int(oid)])])
        width = element["value"].itemsize
        count = (size - _ARRAY_HEAD) // element.itemsize
        got = np.frombuffer(data, element, count, at + 4 + _ARRAY_HEAD)
        if count * element.itemsize != size - _ARRAY_HEAD or np.any(got["length"] != width):
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
    return [floats(c) for c in table.columns]


# Arrow's numeric types as numpy reads their value buffers
_ARROW_NUMPY = {
    **{f"int{b}": f"<i{b // 8}" for b in (8, 16, 32, 64)},
    **{f"uint{b}": f"<u{b // 8}" for b in (8, 16, 32, 64)},
    "float": "<f4",
    "double": "<f8",
}


def floats(column: Any) -> np.ndarray:
    """An Arrow column (Array or ChunkedArray) of numbers as float64, NaN for NULL, read from
    its buffers: pyarrow's own to_numpy imports pandas for a column with NULLs (a second of
    start-up, more than the read), and its NULLs need that path."""
    chunks = getattr(column, "chunks", None)
    chunks = [column] if chunks is None else chunks
    out = np.empty(len(column))
    at = 0
    for chunk in chunks:
        n = len(chunk)
        buffers = chunk.buffers()
        dtype = _ARROW_NUMPY.get(str(chunk.type))
        if dtype is None or len(buffers) != 2:  # not a plain number (NULL type: all NULL)
            if chunk.null_count == n:
                out[at : at + n] = np.nan
                at += n
                continue
            raise TypeError(f"cannot read an Arrow column of {chunk.type} as numbers")
        if n:
            item = np.dtype(dtype).itemsize
            out[at : at + n] = np.frombuffer(buffers[1], dtype, n, chunk.offset * item)
        if chunk.null_count:
            bits = np.frombuffer(buffers[0], np.uint8)
            valid = np.unpackbits(bits, bitorder="little", count=chunk.offset + n)[chunk.offset :]
            out[at : at + n][valid == 0] = np.nan
        at += n
    return out


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
    if not found:
        return 0
    # PostgreSQL: one statement, its rows from one array per column (unnest), each array of
    # its column's type (the values cast as an INSERT casts them); its rowcount: the rows
    # written. 1,000 rows of VALUES cost psycopg more to parse than the server to write.
    head, _, conflict = _split_values(text)
    into = head[: head.rindex("VALUES")]
    table, names = re.match(r"\s*INSERT INTO (\w+) \(([^)]*)\)", into).groups()
    columns = [c.strip() for c in names.split(",")]
    types = dict(
        conn.query(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = CAST(%s AS regclass) AND attnum > 0 AND NOT attisdropped",
            [table],
        )
    )
    arrays = ", ".join(f"CAST(%s AS {types[c]}[])" for c in columns)
    statement = f"{into}\nSELECT * FROM unnest({arrays}){conflict}"
    return conn.execute(statement, [list(column) for column in zip(*found, strict=True)])


def _split_values(text: str) -> tuple[str, str, str]:
    """An INSERT of one VALUES row: the text before the row, the row, the text after it."""
    start = text.index("VALUES (") + len("VALUES ")
    end = text.index(")", start) + 1
    return text[:start], text[start:end], text[end:]
