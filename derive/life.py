"""End of life and remaining useful life per cycle (issue 23, item 6) on the session's SOH
labels of one label_version: EOL is the first cycle whose SOH falls below the threshold
(capacity- or energy-based; default 0.8); RUL at cycle n = EOL - n (negative after EOL). A
cell whose SOH never falls below it is right-censored: no EOL is invented, rul_censored is
true and rul_cycles counts the labelled cycles still observed after n (last labelled cycle -
n), a lower bound. Each (definition, reference_basis) of the version is taken on its own;
resistance-based labels (SOH growing from 1) get none (reason counted). Computed in Python,
written the same way on every engine (derive/write.py); the threshold is stored in every row
(eol_threshold_soh)."""

from __future__ import annotations

from collections import Counter

import numpy as np

LABELS = """
SELECT cycle_index, definition, reference_basis, CAST(soh AS DOUBLE PRECISION)
FROM label_soh WHERE session_id = %s AND label_version = %s
ORDER BY definition, reference_basis, cycle_index"""
SCOPE = "session_id = %s AND label_version = %s"
COLUMNS = ("eol_threshold_soh", "eol_cycle_index", "rul_cycles", "rul_censored")


def rul(cycles: np.ndarray, soh: np.ndarray, threshold: float) -> tuple[int | None, np.ndarray]:
    """(EOL cycle or None when censored, RUL per cycle) for one label series sorted by cycle."""
    below = np.nonzero(soh < threshold)[0]
    if len(below):
        eol = int(cycles[below[0]])
        return eol, eol - cycles
    return None, int(cycles[-1]) - cycles


def derive(
    conn, session_id: int, label_version: str, threshold: float, reasons: Counter, query=None
) -> int:
    from . import write

    query = query or conn.query
    labels = query(LABELS, [session_id, label_version])
    if not labels:
        reasons[f"no SOH labels of version {label_version}: no RUL/EOL"] += 1
        return 0
    groups: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for c, definition, basis, soh in labels:
        groups.setdefault((definition, basis), []).append((int(c), float(soh)))
    rows = []
    for (definition, basis), series in groups.items():
        if definition == "resistance":
            reasons["resistance-based SOH: no RUL/EOL threshold"] += len(series)
            continue
        cycles = np.array([c for c, _ in series])
        soh = np.array([x for _, x in series])
        eol, remaining = rul(cycles, soh, threshold)
        if eol is None:
            reasons[f"censored: SOH never below {threshold:g} (rul_cycles a lower bound)"] += len(
                series
            )
        for c, r in zip(cycles, remaining, strict=True):
            rows.append((int(c), definition, basis, threshold, eol, int(r), eol is None))
    return write.update(
        conn,
        "label_soh",
        ["cycle_index", "definition", "reference_basis"],
        COLUMNS,
        rows,
        SCOPE,
        [session_id, label_version],
    )
