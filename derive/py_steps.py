"""The derivations computed in Python with numpy (derive/steps.py, reference.py, life.py,
ocv.py), called by derive/run.py as "steps", "life" and "ocv" on every engine the same way
(on ClickHouse after the SQL derivations were published). Each reads what it needs with the
engine's own SELECTs and writes through derive/write.py; the reasons of the NULLs it leaves go
into SessionResult.null_reasons (reason -> count), which the derive report prints."""

from __future__ import annotations

from collections import Counter
from typing import Any

from . import life, ocv, reference, sql, steps
from .errors import Skipped


def _query(conn: Any):
    if getattr(conn, "clickhouse", False):
        from .clickhouse import clickhouse_sql

        return lambda text, params=(): conn.query(clickhouse_sql(text), params)
    return conn.query


def _nominal(query, session_id: int, s: Any) -> float | None:
    if s.reference_capacity_ah is not None:
        return s.reference_capacity_ah
    value = query(sql.NOMINAL_CAPACITY, [session_id])[0][0]
    return None if value is None else float(value)


def _count(result: Any, reasons: Counter) -> None:
    for why, n in reasons.items():
        result.null_reasons[why] = result.null_reasons.get(why, 0) + n


def derive_steps(conn: Any, session_id: int, s: Any, result: Any) -> int:
    """Step resistance, relaxation and mean voltages into cycle_feature (the run's
    feature_version), and reference cycles found by their C-rate into cycle."""
    query = _query(conn)
    settings = steps.settings_for(_nominal(query, session_id, s), s.relaxation_times)
    samples = steps.Samples.of(query(steps.SAMPLES, [session_id]))
    reasons: Counter = Counter()
    written = steps.derive(conn, session_id, s.feature_version, samples, settings, reasons, query)
    result.reference_cycles = reference.derive(
        conn, session_id, samples, settings.rest_current_ampere, reasons, query
    )
    _count(result, reasons)
    return written


def derive_life(conn: Any, session_id: int, s: Any, result: Any) -> int:
    reasons: Counter = Counter()
    written = life.derive(
        conn, session_id, s.label_version, s.eol_threshold_soh, reasons, _query(conn)
    )
    _count(result, reasons)
    return written


def derive_ocv(conn: Any, session_id: int, s: Any, result: Any) -> int:
    if s.ocv_table is None and s.ocv_cycle is None:
        raise Skipped(
            "no OCV-SOC table: give --ocv-table CSV (columns soc, voltage_volt) or "
            "--ocv-from-cycle N (a slow cycle of the session)"
        )
    query = _query(conn)
    nominal = _nominal(query, session_id, s)
    settings = steps.settings_for(nominal)
    samples = steps.Samples.of(query(steps.SAMPLES, [session_id]))
    table = s.ocv_table
    if table is None:
        table = ocv.table_from_cycle(samples, s.ocv_cycle, settings.rest_current_ampere, nominal)
    reasons: Counter = Counter()
    written = ocv.derive(
        conn,
        session_id,
        samples,
        table,
        s.label_version,
        settings.rest_current_ampere,
        s.ocv_min_rest_second,
        reasons,
        query,
    )
    _count(result, reasons)
    return written


DERIVE = {"steps": derive_steps, "life": derive_life, "ocv": derive_ocv}
