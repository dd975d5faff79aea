"""SOC by OCV lookup at rest points (issue 23, item 6; label_soc.method 'ocv_lookup'), given an
OCV-SOC table as a CSV file: a header with the columns `soc` and `voltage_volt`, one point a
line, OCV strictly increasing with SOC, SOC within [-0.05, 1.05]. A rest point is the last
sample of a rest (|I| at or below the rest current of derive/steps.py) that lasted at least
OCV_MIN_REST_SECOND after the last sample under load (or since the session's first sample);
its SOC is the table's SOC at its voltage, linearly interpolated. A voltage outside the table
is not labelled (reason counted, never clamped); a rest too short likewise. The labels name the
table they used (ocv_table: file name and the first 12 hex digits of its SHA-256)."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DeriveError
from .steps import Samples, _state

SCOPE = "session_id = %s AND method = 'ocv_lookup' AND label_version = %s"
COLUMNS = (
    "session_id",
    "record_index",
    "recorded_at",
    "method",
    "label_version",
    "soc",
    "reference_capacity_ah",
    "initial_soc",
    "ocv_table",
)
RECORDED = """
SELECT record_index, recorded_at FROM timeseries_point
WHERE session_id = %s AND record_index IN ({marks}) ORDER BY record_index"""


@dataclass(frozen=True)
class OcvTable:
    name: str
    soc: np.ndarray
    voltage: np.ndarray


def read_table(path: str | Path) -> OcvTable:
    """The table of a CSV file; bad input raises DeriveError with the file, line, column, what
    is wrong and a hint."""
    path = Path(path)
    hint = "the table needs a header 'soc,voltage_volt' and one point per line"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DeriveError(f"{path}: cannot read the OCV table: {exc.strerror}") from None
    lines = data.decode("utf-8", errors="replace").splitlines()
    reader = csv.reader(lines)
    header = [h.strip().lower() for h in next(reader, [])]
    for column in ("soc", "voltage_volt"):
        if column not in header:
            raise DeriveError(f"{path}, line 1: no column {column!r} in the header: {hint}")
    js, jv = header.index("soc"), header.index("voltage_volt")
    soc, volt = [], []
    for line, row in enumerate(reader, start=2):
        if not any(x.strip() for x in row):
            continue
        for j, name, into in ((js, "soc", soc), (jv, "voltage_volt", volt)):
            try:
                into.append(float(row[j]))
            except (IndexError, ValueError):
                text = row[j] if j < len(row) else ""
                raise DeriveError(
                    f"{path}, line {line}, column {name}: {text!r} is not a number: {hint}"
                ) from None
        if not -0.05 <= soc[-1] <= 1.05:
            raise DeriveError(
                f"{path}, line {line}, column soc: {soc[-1]:g} outside [-0.05, 1.05]: "
                "SOC is a fraction (not percent)"
            )
    if len(soc) < 2:
        raise DeriveError(f"{path}: {len(soc)} points, at least 2 needed: {hint}")
    order = np.argsort(soc, kind="stable")
    s, v = np.array(soc)[order], np.array(volt)[order]
    bad = np.nonzero(np.diff(v) <= 0)[0]
    if len(bad) or np.any(np.diff(s) <= 0):
        k = int(bad[0]) + 1 if len(bad) else int(np.nonzero(np.diff(s) <= 0)[0][0]) + 1
        line = int(order[k]) + 2
        raise DeriveError(
            f"{path}, line {line}, column voltage_volt: OCV {v[k]:g} V at SOC {s[k]:g} does "
            "not rise above the point below it: the lookup needs OCV strictly increasing "
            "with SOC (one point per SOC)"
        )
    digest = hashlib.sha256(data).hexdigest()[:12]
    return OcvTable(f"{path.name} sha256:{digest}", s, v)


# A cycle the OCV table is taken from is slow: its typical current at most C/10.
OCV_CYCLE_MAX_C = 0.1
OCV_CYCLE_POINTS = 101


def table_from_cycle(s: Samples, cycle: int, rest: float, nominal: float | None) -> OcvTable:
    """A pseudo-OCV table from a slow cycle of the session: the charge's and the discharge's
    voltage as functions of SOC (charge moved / the half's total, by the trapezoid of the
    current, dt >= 0; the discharge counted down from 1) on 101 SOC points, averaged (the
    overpotentials of a slow charge and discharge cancel to first order), made increasing.
    Raises Skipped (with what to give) when the cycle is not there, not slow, or lacks a
    half."""
    from .errors import Skipped

    mask = s.cycle == cycle
    if not np.any(mask):
        raise Skipped(f"no cycle {cycle} in the session to take the OCV table from")
    if nominal is None:
        raise Skipped("no nominal capacity to tell a slow cycle by: give --reference-capacity-ah")
    t, v, i = s.t[mask], s.v[mask], s.i[mask]
    curves = []
    for sign, half in ((1, "charge"), (-1, "discharge")):
        on = sign * i > rest
        if on.sum() < 3:
            raise Skipped(f"cycle {cycle} does not {half}: no OCV table from it")
        typical = float(np.median(np.abs(i[on])))
        if typical > OCV_CYCLE_MAX_C * nominal:
            raise Skipped(
                f"cycle {cycle} {half}s at {typical:g} A, above C/{1 / OCV_CYCLE_MAX_C:g} of "
                f"{nominal:g} Ah: not slow enough for an OCV table (choose a C/20 cycle)"
            )
        dt = np.clip(np.diff(t), 0, None)
        both = on[1:] & on[:-1]
        q = np.concatenate([[0.0], np.cumsum(np.where(both, dt * sign * (i[1:] + i[:-1]) / 2, 0))])
        idx = np.nonzero(on)[0]
        qh, vh = q[idx] - q[idx[0]], v[idx]
        soc = qh / qh[-1] if sign > 0 else 1 - qh / qh[-1]
        order = np.argsort(soc, kind="stable")
        curves.append((soc[order], vh[order]))
    grid = np.linspace(0.0, 1.0, OCV_CYCLE_POINTS)
    mean = sum(np.interp(grid, x, y) for x, y in curves) / 2
    mean = np.maximum.accumulate(mean) + np.arange(len(grid)) * 1e-9  # strictly increasing
    return OcvTable(
        f"session cycle {cycle} (pseudo-OCV, charge and discharge averaged)", grid, mean
    )


def rest_points(s: Samples, rest: float, min_rest: float) -> tuple[list[int], Counter]:
    """Indices of the rest points, and the rests skipped by reason."""
    state = _state(s, rest)
    skipped: Counter = Counter()
    points, n, a = [], len(state), 0
    while a < n:
        if state[a] != 0:
            a += 1
            continue
        b = a
        while b + 1 < n and state[b + 1] == 0:
            b += 1
        start = s.t[a - 1] if a > 0 else s.t[a]
        if s.t[b] - start >= min_rest:
            points.append(b)
        else:
            skipped[f"rest shorter than {min_rest:g} s: no OCV label"] += 1
        a = b + 1
    return points, skipped


def lookup(table: OcvTable, voltage: float) -> float | None:
    if not table.voltage[0] <= voltage <= table.voltage[-1]:
        return None
    return float(np.interp(voltage, table.voltage, table.soc))


def derive(
    conn,
    session_id: int,
    s: Samples,
    table: OcvTable,
    label_version: str,
    rest: float,
    min_rest: float,
    reasons: Counter,
    query=None,
) -> int:
    from . import write

    query = query or conn.query
    points, skipped = rest_points(s, rest, min_rest)
    reasons.update(skipped)
    labels = {}
    for k in points:
        soc = lookup(table, float(s.v[k]))
        if soc is None:
            reasons["rested voltage outside the OCV table: no OCV label"] += 1
            continue
        labels[int(s.record[k])] = soc
    rows = []
    if labels:
        stamps = {
            int(r[0]): r[1]
            for r in query(
                RECORDED.format(marks=", ".join("%s" for _ in labels)), [session_id, *labels]
            )
        }
        rows = [
            (session_id, k, stamps[k], "ocv_lookup", label_version, soc, None, None, table.name)
            for k, soc in sorted(labels.items())
        ]
    return write.replace(conn, "label_soc", COLUMNS, rows, SCOPE, [session_id, label_version])
