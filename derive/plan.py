"""What a session's derivations need to know before their SQL runs, asked of the database the
same way on every engine (`query(text, params)` runs a SELECT; on ClickHouse it is rewritten
first): the temperature channel of the features, the SOC labels' kind and parameters, the
nominal reference capacity. Shared by derive/run.py and derive/clickhouse.py."""

from __future__ import annotations

from typing import Any

from . import sql
from .errors import DeriveError, Skipped

# the name of each derivation in messages and in SessionResult.refused/skipped/steps
STEP = {
    "cycles": "cycles",
    "features": "cycle features",
    "soc": "SOC labels",
    "soh": "SOH labels",
    "steps": "step features",
    "life": "RUL/EOL labels",
    "ocv": "OCV SOC labels",
    "curves": "curves",
}


def temperature_channel(query: Any, session_id: int) -> str | None:
    """The best temperature channel the session has any value in (sql.TEMPERATURE_CHANNELS:
    surface, then T1..T3), or None."""
    if query(sql.TEMPERATURE_FIRST, [session_id]):
        return sql.TEMPERATURE_CHANNELS[0]
    counts = query(sql.TEMPERATURE_COUNTS, [session_id])[0]
    return next((c for c, n in zip(sql.TEMPERATURE_CHANNELS, counts, strict=True) if n), None)


def soc_plan(query: Any, session_id: int, s: Any, result: Any) -> tuple[str, list]:
    """Which SOC labels the session gets and their parameters: ("initial", SOC's) when an
    initial SOC is given, else ("anchored", SOC_ANCHORED's) after checking there is an anchor.
    `query(text, params)` runs a SELECT (ClickHouse: rewritten first). Raises Skipped with what
    to give when the session cannot be anchored, DeriveError when no capacity is known."""
    if s.initial_soc is not None:
        ref = reference_capacity(query, session_id, s)
        result.reference_capacity_ah, result.soc_basis = ref, "initial SOC"
        return "initial", [session_id, s.label_version, s.initial_soc, ref, ref, s.initial_soc]
    hint = "give --initial-soc F (the SOC at the session's first sample)"
    nominal = s.reference_capacity_ah
    if nominal is None:
        nominal = query(sql.NOMINAL_CAPACITY, [session_id])[0][0]
    if nominal is None:
        raise Skipped(
            "the session's asset has no nominal capacity to measure the full-charge cut-off "
            f"current by: give --reference-capacity-ah X, or {hint}"
        )
    top, bottom = query(sql.VOLTAGE_LIMITS, [session_id])[0]
    full = s.full_voltage if s.full_voltage is not None else top
    if full is None:
        raise Skipped(
            "the session's asset has no voltage_max_volt to recognise a full charge by: give "
            f"--full-voltage V (the charge's upper cut-off), or {hint}"
        )
    empty = s.empty_voltage if s.empty_voltage is not None else bottom
    taper = s.full_current_c * float(nominal)
    params = [
        session_id,
        taper,
        float(full) - s.full_tolerance_volt,
        # an explicit reference capacity is counted against everywhere: nothing is measured
        None
        if empty is None or s.reference_capacity_ah is not None
        else float(empty) + s.empty_tolerance_volt,
        float(nominal),
    ]
    anchors = query(sql.SOC_ANCHORS, params[:3])[0][0]
    if not anchors:
        raise Skipped(
            f"no full charge to anchor on (no sample charges at {float(full):g} V or within "
            f"{s.full_tolerance_volt * 1000:g} mV below it with the current tapered to "
            f"{taper:.3g} A, C/{1 / s.full_current_c:g} of {float(nominal):g} Ah): {hint}, "
            "or --full-voltage V if the test charges to a lower voltage; anchoring at rest on "
            "an OCV table is not implemented yet"
        )
    result.soc_basis, result.soc_anchors = "full charge", anchors
    return "anchored", [*params, s.label_version]


def soc_capacities(query: Any, session_id: int, s: Any, result: Any, table: str) -> None:
    """After anchored SOC labels were written (or staged) into `table`: the capacities they
    were counted against, and how many were measured (0: the nominal one throughout)."""
    text = sql.SOC_CAPACITIES.replace("FROM label_soc", f"FROM {table}")
    low, high, distinct = query(text, [session_id, s.label_version])[0]
    if low is None:
        return
    result.soc_capacity_ah = (float(low), float(high))
    nominal = s.reference_capacity_ah
    if nominal is None:
        nominal = query(sql.NOMINAL_CAPACITY, [session_id])[0][0]
    same = nominal is not None and distinct == 1 and abs(float(low) - float(nominal)) < 1e-6
    result.soc_measured = 0 if same or s.reference_capacity_ah is not None else int(distinct)


def reference_capacity(query: Any, session_id: int, s: Any) -> float:
    if s.reference_capacity_ah is not None:
        return s.reference_capacity_ah
    nominal = query(sql.NOMINAL_CAPACITY, [session_id])[0][0]
    if nominal is None:
        raise DeriveError(
            "the session's asset has no nominal capacity: give --reference-capacity-ah"
        )
    return float(nominal)


def numpy_features() -> Any:
    """derive/sqlite_features.py (the cycles' and cycle features' SQL rows from one read of the
    samples and numpy), or None without numpy: the SQL texts then."""
    try:
        from . import sqlite_features
    except ImportError:
        return None
    return sqlite_features
