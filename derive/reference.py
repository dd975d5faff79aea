"""Reference cycles recognised from the data (issue 23, item 6): a cycle whose typical current
differs from the session's by more than a factor (a slow reference cycle every N ageing
cycles, or a faster one) is a 'reference' cycle, cycle_type_source 'data_c_rate'.

The typical current of a cycle is the median |I| of its discharging samples (I below minus the
rest current), else of its charging ones; the session's is the median of its cycles'. At least
MIN_CYCLES cycles with a current are needed (else nothing is marked, the reason counted). A
cycle whose type was set by hand (cycle_type_source 'manual') is left alone. Computed in Python
from the same samples as derive/steps.py, written the same way on every engine."""

from __future__ import annotations

from collections import Counter

import numpy as np

from .steps import Samples, _state

RATE_FACTOR = 2.0  # a reference cycle's current is below 1/2 or above 2x the session's
MIN_CYCLES = 3

CYCLES = """
SELECT cycle_index, cycle_type, cycle_type_source FROM cycle WHERE session_id = %s
ORDER BY cycle_index"""


def typical_currents(s: Samples, rest: float) -> dict[int, float]:
    state = _state(s, rest)
    out = {}
    for c in np.unique(s.cycle):
        mask = s.cycle == c
        for sign in (-1, 1):
            sel = mask & (state == sign)
            if np.any(sel):
                out[int(c)] = float(np.median(np.abs(s.i[sel])))
                break
    return out


def found(s: Samples, rest: float, factor: float = RATE_FACTOR) -> tuple[set[int], str | None]:
    """The cycles whose typical current is off the session's by more than `factor`, or the
    reason none could be looked for."""
    rates = typical_currents(s, rest)
    if len(rates) < MIN_CYCLES:
        return set(), f"fewer than {MIN_CYCLES} cycles with current to compare C-rates"
    base = float(np.median(list(rates.values())))
    return {c for c, r in rates.items() if r < base / factor or r > base * factor}, None


def derive(conn, session_id: int, s: Samples, rest: float, reasons: Counter, query=None) -> int:
    from . import write

    query = query or conn.query
    cycles = {int(r[0]): (r[1], r[2]) for r in query(CYCLES, [session_id])}
    hits, why = found(s, rest)
    if why:
        reasons[why] += 1
        return 0
    rows = [
        (c, "reference", "data_c_rate")
        for c in sorted(hits)
        if c in cycles and cycles[c][1] != "manual" and cycles[c] != ("reference", "data_c_rate")
    ]
    write.update(
        conn,
        "cycle",
        ["cycle_index"],
        ["cycle_type", "cycle_type_source"],
        rows,
        "session_id = %s",
        [session_id],
    )
    return len(hits)
