"""The derivations, one SQL text each, run unchanged on SQLite (3.40), PostgreSQL 15/18 and
TimescaleDB. Written in the common subset: window functions with a named WINDOW, CASE instead
of GREATEST/LEAST (SQLite has none; its scalar max/min are not PostgreSQL's), CAST(... AS
DOUBLE PRECISION) so PostgreSQL sums real (float4) columns in double precision (SQLite's REAL is
already 8 bytes, and the cast is a no-op there), `%s` placeholders (the SQLite adapter turns them
into `?`), and `WHERE 1 = 1` before ON CONFLICT, which SQLite's parser needs to tell an upsert
from a join constraint. Every statement works on one session (first parameter).

Where the engines still differ, it is in storage, not in SQL: PostgreSQL stores the feature and
label columns declared `real` as float4 and SQLite as 8-byte floats, so a value read back agrees
to about 1e-7 relative, not bit for bit (docs/deriving.md states the tolerance).
"""

from __future__ import annotations

# The temperature channels a sample may carry, best first: the features' temperatures come from
# the first one the session has any value in (`features(channel)` puts it into the SQL text).
TEMPERATURE_CHANNELS = (
    "surface_temperature_celsius",
    "temperature_t1_celsius",
    "temperature_t2_celsius",
    "temperature_t3_celsius",
)
# Whether any sample of the session has the best channel (a row as soon as one is found, most
# sessions' first sample), before counting them all.
TEMPERATURE_FIRST = (
    "SELECT 1 FROM timeseries_point WHERE session_id = %s AND "
    + TEMPERATURE_CHANNELS[0]
    + " IS NOT NULL LIMIT 1"
)
# How many samples of the session have each channel (one row, in TEMPERATURE_CHANNELS order).
TEMPERATURE_COUNTS = (
    "SELECT "
    + ", ".join(f"count({c})" for c in TEMPERATURE_CHANNELS)
    + " FROM timeseries_point WHERE session_id = %s"
)
# Without step labels, a CV interval is one whose charging current at its start has left the
# CC level: at most this fraction of the cycle's highest charging current (a cycler's current
# noise is 0.05-0.1 % of its range; the first CV sample is already below the CC current).
CV_TAPER = 0.995

# The time step of the interval that ends at a sample: 0 when time did not move forward.
DT = "CASE WHEN prev_t IS NULL OR t < prev_t THEN 0.0 ELSE t - prev_t END"

# One row per sample of the session with the interval that ends at it: the previous sample by
# record_index, dt clamped to >= 0 (time stepping backwards contributes nothing), and the
# trapezoid of the positive part (charge) and negative part (discharge) of current and power
# over the interval. An interval belongs to the cycle of the sample that ends it; `intra` marks
# intervals whose two ends are in the same cycle (time-weighted means and CV use only those, so
# a mean never leaves its cycle's min..max).
SAMPLES = f"""
samples AS (
    SELECT session_id, record_index, recorded_at, cycle_count, step_type,
           CAST(test_time_second AS DOUBLE PRECISION) AS t,
           CAST(voltage_volt AS DOUBLE PRECISION) AS v,
           CAST(current_ampere AS DOUBLE PRECISION) AS i,
           CAST(voltage_volt AS DOUBLE PRECISION) * CAST(current_ampere AS DOUBLE PRECISION) AS p,
           CAST(TEMPERATURE_COLUMN AS DOUBLE PRECISION) AS temp,
           charging_capacity_ah AS qc, discharging_capacity_ah AS qd,
           charging_energy_wh AS ec, discharging_energy_wh AS ed
    FROM timeseries_point WHERE session_id = %s
),
lagged AS (
    SELECT s.*,
           LAG(cycle_count) OVER w AS prev_cycle, LAG(step_type) OVER w AS prev_step,
           LAG(t) OVER w AS prev_t, LAG(v) OVER w AS prev_v, LAG(i) OVER w AS prev_i,
           LAG(p) OVER w AS prev_p, LAG(temp) OVER w AS prev_temp,
           LAG(qc) OVER w AS prev_qc, LAG(qd) OVER w AS prev_qd,
           LAG(ec) OVER w AS prev_ec, LAG(ed) OVER w AS prev_ed
    FROM samples s WINDOW w AS (ORDER BY record_index)
),
intervals AS (
    SELECT l.*,
           {DT} AS dt,
           CASE WHEN prev_cycle = cycle_count THEN 1 ELSE 0 END AS intra
    FROM lagged l
)"""

# Per-interval increments: integrated (Ah, Wh) and from the cycler's cumulative counters. A
# counter that went down was reset (per cycle or per step on some cyclers, or a new file): the
# increment is then its new value, the charge counted since the reset.
INCREMENTS = (
    """
increments AS (
    SELECT n.*,
           n.dt * ((CASE WHEN prev_i > 0 THEN prev_i ELSE 0.0 END)
                   + (CASE WHEN i > 0 THEN i ELSE 0.0 END)) / 2 / 3600 AS int_qc,
           n.dt * ((CASE WHEN prev_i < 0 THEN -prev_i ELSE 0.0 END)
                   + (CASE WHEN i < 0 THEN -i ELSE 0.0 END)) / 2 / 3600 AS int_qd,
           n.dt * ((CASE WHEN prev_p > 0 THEN prev_p ELSE 0.0 END)
                   + (CASE WHEN p > 0 THEN p ELSE 0.0 END)) / 2 / 3600 AS int_ec,
           n.dt * ((CASE WHEN prev_p < 0 THEN -prev_p ELSE 0.0 END)
                   + (CASE WHEN p < 0 THEN -p ELSE 0.0 END)) / 2 / 3600 AS int_ed,
           CASE WHEN prev_qc IS NULL THEN 0.0 WHEN qc >= prev_qc THEN qc - prev_qc ELSE qc END
               AS cnt_qc,
           CASE WHEN prev_qd IS NULL THEN 0.0 WHEN qd >= prev_qd THEN qd - prev_qd ELSE qd END
               AS cnt_qd,
           CASE WHEN prev_ec IS NULL THEN 0.0 WHEN ec >= prev_ec THEN ec - prev_ec ELSE ec END
               AS cnt_ec,
           CASE WHEN prev_ed IS NULL THEN 0.0 WHEN ed >= prev_ed THEN ed - prev_ed ELSE ed END
               AS cnt_ed,
           MAX(CASE WHEN i > 0 THEN v END) OVER c AS v_top,
           MAX(CASE WHEN i > 0 THEN i END) OVER c AS i_top,
           MAX(CASE WHEN step_type IN ('cc_charge', 'cv_charge') THEN 1 ELSE 0 END) OVER c
               AS splits_phases
    FROM intervals n WINDOW c AS (PARTITION BY cycle_count)
),
flagged AS (
    SELECT x.*, int_qc * t AS int_qc_t, int_qd * t AS int_qd_t,
           CASE WHEN intra = 1 AND (
                    (splits_phases = 1 AND step_type = 'cv_charge' AND prev_step = 'cv_charge')
                 OR (splits_phases = 0 AND i > 0 AND prev_i > 0
                     AND v >= v_top - %s AND prev_v >= v_top - %s
                     AND prev_i <= """
    + repr(CV_TAPER)
    + """ * i_top))
                THEN 1 ELSE 0 END AS cv
    FROM increments x
)"""
)

# cycle: one row per value of the cycler's counter; bounds from its samples. The cycle type
# comes from the session's protocol_type (cycle_type_source 'protocol'; NULL both when the
# protocol does not say). An existing cycle keeps a cycle_type that was set (by hand, by the
# data: derive/reference.py, or by an earlier run) with its source; its bounds follow the
# samples (a later file of the session may extend the last cycle); a cycle that did not change
# is not written, so a rerun reports 0 cycles.
CYCLE_KIND = """
    SELECT CASE protocol_type WHEN 'cycle_aging' THEN 'aging'
                              WHEN 'rpt' THEN 'reference'
                              WHEN 'hppc' THEN 'reference'
                              WHEN 'ocv' THEN 'reference' END AS cycle_type
    FROM test_session WHERE session_id = %s"""
CYCLES_WITH = (
    """
WITH kinds AS ("""
    + CYCLE_KIND
    + """
)"""
)
CYCLES_INTO = """
INSERT INTO cycle (session_id, cycle_index, record_index_first, record_index_last,
                   test_time_start_second, test_time_end_second, cycle_type, cycle_type_source)"""
CYCLES_SELECT = """
SELECT p.session_id, p.cycle_count, min(p.record_index), max(p.record_index),
       min(p.test_time_second), max(p.test_time_second), max(k.cycle_type),
       CASE WHEN max(k.cycle_type) IS NOT NULL THEN 'protocol' END
FROM timeseries_point p CROSS JOIN kinds k
WHERE p.session_id = %s
GROUP BY p.session_id, p.cycle_count"""
CYCLES_CONFLICT = """
ON CONFLICT (session_id, cycle_index) DO UPDATE SET
    record_index_first = excluded.record_index_first,
    record_index_last = excluded.record_index_last,
    test_time_start_second = excluded.test_time_start_second,
    test_time_end_second = excluded.test_time_end_second,
    cycle_type = COALESCE(cycle.cycle_type, excluded.cycle_type),
    cycle_type_source = CASE WHEN cycle.cycle_type IS NULL THEN excluded.cycle_type_source
                             ELSE cycle.cycle_type_source END
WHERE cycle.record_index_first <> excluded.record_index_first
   OR cycle.record_index_last <> excluded.record_index_last
   OR cycle.test_time_start_second <> excluded.test_time_start_second
   OR cycle.test_time_end_second <> excluded.test_time_end_second
   OR (cycle.cycle_type IS NULL AND excluded.cycle_type IS NOT NULL)"""
CYCLES = CYCLES_WITH + CYCLES_INTO + CYCLES_SELECT + CYCLES_CONFLICT

FEATURE_COLUMNS = (
    "charge_capacity_ah",
    "discharge_capacity_ah",
    "charge_energy_wh",
    "discharge_energy_wh",
    "coulombic_efficiency",
    "energy_efficiency",
    "voltage_max_volt",
    "voltage_min_volt",
    "voltage_mean_volt",
    "current_max_ampere",
    "current_min_ampere",
    "temperature_max_celsius",
    "temperature_mean_celsius",
    "temperature_min_celsius",
    "cv_time_second",
    "cv_capacity_ah",
    "charge_throughput_ah",
)


def _update_changed(table: str, columns: tuple[str, ...]) -> str:
    """The DO UPDATE of an upsert that rewrites a row only when a value changed: a rerun on
    unchanged samples writes nothing (and reports 0 rows), and PostgreSQL makes no new row
    versions. IS DISTINCT FROM: NULL-safe, in SQLite since 3.39."""
    sets = ",\n    ".join(f"{c} = excluded.{c}" for c in columns)
    changed = "\n   OR ".join(f"{table}.{c} IS DISTINCT FROM excluded.{c}" for c in columns)
    return f"DO UPDATE SET\n    {sets}\nWHERE {changed}"


def _clamped(mean: str, low: str, high: str) -> str:
    """`mean` kept within [low, high]: rounding can put a mean of equal values one ulp past."""
    return f"CASE WHEN {mean} > {high} THEN {high} WHEN {mean} < {low} THEN {low} ELSE {mean} END"


def _counter_or_integral(name: str) -> str:
    """The cycler's counter when every sample of the cycle has it, else the integral."""
    return f"CASE WHEN n_{name} = n THEN cnt_{name} ELSE int_{name} END"


# cycle_feature under one feature_version. Parameters: session, CV tolerance (twice), version.
FEATURES_WITH = (
    "WITH"
    + SAMPLES
    + ","
    + INCREMENTS
    + ","
    + """
per_cycle AS (
    SELECT session_id, cycle_count, count(*) AS n,
           count(qc) AS n_qc, count(qd) AS n_qd, count(ec) AS n_ec, count(ed) AS n_ed,
           sum(cnt_qc) AS cnt_qc, sum(cnt_qd) AS cnt_qd,
           sum(cnt_ec) AS cnt_ec, sum(cnt_ed) AS cnt_ed,
           sum(int_qc) AS int_qc, sum(int_qd) AS int_qd,
           sum(int_qc_t) AS int_qc_t, sum(int_qd_t) AS int_qd_t,
           sum(int_ec) AS int_ec, sum(int_ed) AS int_ed,
           max(v) AS v_max, min(v) AS v_min, avg(v) AS v_avg,
           sum(CASE WHEN intra = 1 THEN dt * (v + prev_v) / 2 ELSE 0.0 END) AS v_area,
           sum(CASE WHEN intra = 1 THEN dt ELSE 0.0 END) AS v_span,
           max(i) AS i_max, min(i) AS i_min,
           max(temp) AS temp_max, min(temp) AS temp_min, avg(temp) AS temp_avg,
           sum(CASE WHEN intra = 1 AND temp IS NOT NULL AND prev_temp IS NOT NULL
                    THEN dt * (temp + prev_temp) / 2 ELSE 0.0 END) AS temp_area,
           sum(CASE WHEN intra = 1 AND temp IS NOT NULL AND prev_temp IS NOT NULL
                    THEN dt ELSE 0.0 END) AS temp_span,
           sum(CASE WHEN cv = 1 THEN dt ELSE 0.0 END) AS cv_time,
           sum(CASE WHEN cv = 1 THEN dt * (i + prev_i) / 2 / 3600 ELSE 0.0 END) AS cv_q
    FROM flagged GROUP BY session_id, cycle_count
),
chosen AS (
    SELECT session_id, cycle_count,
           """
    + _counter_or_integral("qc")
    + """ AS q_chg,
           """
    + _counter_or_integral("qd")
    + """ AS q_dis,
           """
    + _counter_or_integral("ec")
    + """ AS e_chg,
           """
    + _counter_or_integral("ed")
    + """ AS e_dis,
           v_max, v_min, i_max, i_min, temp_max, temp_min, cv_time, cv_q,
           CASE WHEN v_span > 0 THEN v_area / v_span ELSE v_avg END AS v_mean,
           CASE WHEN temp_span > 0 THEN temp_area / temp_span ELSE temp_avg END AS temp_mean,
           CASE WHEN int_qd > 0 AND int_qc > 0 THEN
                     CASE WHEN int_qd_t / int_qd < int_qc_t / int_qc THEN 1 ELSE 0 END
                WHEN int_qd > 0 THEN 1 ELSE 0 END AS discharge_first
    FROM per_cycle
),
paired AS (
    SELECT c.*,
           CASE WHEN discharge_first = 1 THEN LAG(q_chg) OVER k ELSE q_chg END AS q_chg_before,
           CASE WHEN discharge_first = 1 THEN LAG(e_chg) OVER k ELSE e_chg END AS e_chg_before
    FROM chosen c WINDOW k AS (ORDER BY cycle_count)
)"""
)
FEATURES_INTO = (
    """
INSERT INTO cycle_feature (session_id, cycle_index, feature_version, """
    + ", ".join(FEATURE_COLUMNS)
    + ")"
)
FEATURES_SELECT = (
    """
SELECT session_id, cycle_count, %s,
       q_chg, q_dis, e_chg, e_dis,
       CASE WHEN q_chg_before > 0 AND q_dis > 0 THEN q_dis / q_chg_before END,
       CASE WHEN e_chg_before > 0 AND e_dis > 0 THEN e_dis / e_chg_before END,
       v_max, v_min, """
    + _clamped("v_mean", "v_min", "v_max")
    + """,
       i_max, i_min,
       temp_max, """
    + _clamped("temp_mean", "temp_min", "temp_max")
    + """, temp_min,
       cv_time, CASE WHEN cv_q > 0 THEN cv_q ELSE 0.0 END,
       sum(q_chg + q_dis) OVER (ORDER BY cycle_count ROWS UNBOUNDED PRECEDING)
FROM paired WHERE 1 = 1"""
)
FEATURES = (
    FEATURES_WITH
    + FEATURES_INTO
    + FEATURES_SELECT
    + """
ON CONFLICT (session_id, cycle_index, feature_version) """
    + _update_changed("cycle_feature", FEATURE_COLUMNS)
)

# label_soc by coulomb counting: SOC = initial SOC + (trapezoid of signed current, dt >= 0) /
# 3600 / reference capacity. Its own lean CTE (the same dt rule as SAMPLES): SQLite computes
# every LAG of a CTE whether used or not, and SAMPLES's eleven cost a third of the time.
# Parameters: session, version, initial SOC, reference capacity (twice), initial SOC. The first
# sample of the session carries the initial SOC.


def _intervals(*columns: str) -> str:
    """The samples of one session (parameter: the session) with the interval before each
    (`dt`, the rule of SAMPLES) and the current at its start (`prev_i`), and only the further
    `columns` a query reads."""
    more = "".join(f"\n           {c}," for c in columns)
    return f"""steps AS (
    SELECT session_id, record_index, recorded_at,
           CAST(test_time_second AS DOUBLE PRECISION) AS t,{more}
           CAST(current_ampere AS DOUBLE PRECISION) AS i,
           LAG(CAST(test_time_second AS DOUBLE PRECISION)) OVER w AS prev_t,
           LAG(CAST(current_ampere AS DOUBLE PRECISION)) OVER w AS prev_i
    FROM timeseries_point WHERE session_id = %s WINDOW w AS (ORDER BY record_index)
),
intervals AS (
    SELECT s.*, {DT} AS dt
    FROM steps s
)"""


SOC_WITH = "WITH\n" + _intervals()
SOC_INTO = """
INSERT INTO label_soc (session_id, record_index, recorded_at, method, label_version, soc,
                       reference_capacity_ah, initial_soc)"""
SOC_SELECT = """
SELECT session_id, record_index, recorded_at, 'coulomb_counting', %s,
       %s + sum(dt * (COALESCE(prev_i, 0.0) + i) / 2 / 3600) OVER (
           ORDER BY record_index ROWS UNBOUNDED PRECEDING) / %s,
       %s, %s
FROM intervals WHERE 1 = 1"""
SOC = (
    SOC_WITH
    + SOC_INTO
    + SOC_SELECT
    + """
ON CONFLICT (session_id, record_index, method, label_version) """
) + _update_changed("label_soc", ("soc", "reference_capacity_ah", "initial_soc"))

# label_soc anchored at full charges. A sample is at the top when it charges (I > 0) at the
# cell's upper voltage (within the tolerance) with the current tapered to the cut-off or below;
# the last sample of a run of such samples is an anchor, SOC = 1 there by the definition of
# capacity: the end of a CV charge, or of a slow charge to the upper cut-off. `q` is the net
# charge (trapezoid of the signed current, dt >= 0) since the session's first sample; a segment
# runs from one anchor to the sample before the next. A segment whose discharge reaches the lower
# cut-off (within its tolerance) measured the capacity: the net charge from its anchor down to
# its lowest point. Each segment counts against its own measured capacity, else the nearest
# segment's (by anchor number; a tie goes to the earlier), else the nominal one (found by
# window functions over the anchors, not joins: the last and the next measured segment are the
# groups that count(measured) running forwards and backwards makes); samples before the first
# anchor are counted backwards from it. SOC = 1 + (q - q_anchor) / capacity.
# Parameters: session, taper current (A), lowest full voltage, highest empty voltage (NULL: no
# measured capacity), nominal capacity; then the label version (SOC_ANCHORED only).
SOC_ANCHORED_WITH = (
    "WITH\n"
    + _intervals("CAST(voltage_volt AS DOUBLE PRECISION) AS v")
    + """,
counted AS (
    SELECT n.*,
           sum(dt * (COALESCE(prev_i, 0.0) + i) / 2 / 3600) OVER (
               ORDER BY record_index ROWS UNBOUNDED PRECEDING) AS q,
           CASE WHEN i > 0 AND i <= %s AND v >= %s THEN 1 ELSE 0 END AS top,
           CASE WHEN i < 0 AND v <= %s THEN 1 ELSE 0 END AS bottom
    FROM intervals n
),
marked AS (
    SELECT c.*,
           CASE WHEN top = 1 AND COALESCE(LEAD(top) OVER (
                    ORDER BY record_index ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING), 0) = 0
                THEN 1 ELSE 0 END AS anchor
    FROM counted c
),
segmented AS (
    SELECT m.*,
           sum(anchor) OVER (ORDER BY record_index ROWS UNBOUNDED PRECEDING) AS seg,
           -- the anchor a sample is counted from: its segment's, the first before any
           CASE WHEN sum(anchor) OVER (ORDER BY record_index ROWS UNBOUNDED PRECEDING) = 0
                THEN 1
                ELSE sum(anchor) OVER (ORDER BY record_index ROWS UNBOUNDED PRECEDING)
                END AS from_anchor
    FROM marked m
),
anchors AS (
    SELECT seg AS k, q AS q_anchor FROM segmented WHERE anchor = 1
),
depths AS (
    SELECT seg, min(q) AS q_low, max(bottom) AS emptied
    FROM segmented WHERE seg > 0 GROUP BY seg
),
capacities AS (
    SELECT a.k AS k, a.q_anchor AS q_anchor,
           CASE WHEN d.emptied = 1 AND a.q_anchor - d.q_low > 0
                THEN a.q_anchor - d.q_low END AS measured
    FROM anchors a LEFT JOIN depths d ON d.seg = a.k
),
grouped AS (
    SELECT c.*,
           count(measured) OVER (ORDER BY k ROWS UNBOUNDED PRECEDING) AS g_before,
           count(measured) OVER (
               ORDER BY k ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS g_after
    FROM capacities c
),
nearest AS (
    SELECT g.*,
           max(measured) OVER (PARTITION BY g_before) AS m_before,
           max(CASE WHEN measured IS NOT NULL THEN k END) OVER (PARTITION BY g_before)
               AS k_before,
           max(measured) OVER (PARTITION BY g_after) AS m_after,
           max(CASE WHEN measured IS NOT NULL THEN k END) OVER (PARTITION BY g_after)
               AS k_after
    FROM grouped g
),
chosen AS (
    SELECT k, q_anchor, measured,
           CASE WHEN k_before IS NULL AND k_after IS NULL THEN %s
                WHEN k_after IS NULL THEN m_before
                WHEN k_before IS NULL THEN m_after
                WHEN k - k_before <= k_after - k THEN m_before
                ELSE m_after END AS capacity
    FROM nearest
),
-- each sample gets its anchor's charge and capacity by a window over the samples and the
-- anchors together, not by a join: SQLite would loop over the anchors for every sample
stream AS (
    SELECT from_anchor AS k, 1 AS is_sample, session_id, record_index, recorded_at, q,
           CAST(NULL AS DOUBLE PRECISION) AS q_anchor,
           CAST(NULL AS DOUBLE PRECISION) AS capacity
    FROM segmented
    UNION ALL
    SELECT k, 0, NULL, NULL, NULL, NULL, q_anchor, capacity FROM chosen
),
spread AS (
    SELECT st.*,
           max(q_anchor) OVER (PARTITION BY k) AS anchor_q,
           max(capacity) OVER (PARTITION BY k) AS anchor_capacity
    FROM stream st
)"""
)
SOC_ANCHORED_SELECT = """
SELECT session_id, record_index, recorded_at, 'coulomb_counting', %s,
       1.0 + (q - anchor_q) / anchor_capacity, anchor_capacity, 1.0
FROM spread WHERE is_sample = 1"""
SOC_ANCHORED = (
    SOC_ANCHORED_WITH
    + SOC_INTO
    + SOC_ANCHORED_SELECT
    + """
ON CONFLICT (session_id, record_index, method, label_version) """
) + _update_changed("label_soc", ("soc", "reference_capacity_ah", "initial_soc"))
# How many full-charge anchors the session has (runs of samples at the top, by record_index),
# cheaply, before the labels are written: 0 skips them. Parameters: session, taper current,
# lowest full voltage (SOC_ANCHORED_WITH's first three).
SOC_ANCHORS = """
SELECT count(*) FROM (
    SELECT record_index, LAG(record_index) OVER (ORDER BY record_index) AS prev_record
    FROM timeseries_point
    WHERE session_id = %s AND current_ampere > 0
      AND CAST(current_ampere AS DOUBLE PRECISION) <= %s
      AND CAST(voltage_volt AS DOUBLE PRECISION) >= %s
) tops
WHERE prev_record IS NULL OR record_index > prev_record + 1"""
# The capacities the written labels were counted against: lowest, highest, how many.
# Parameters: session, label version.
SOC_CAPACITIES = """
SELECT min(reference_capacity_ah), max(reference_capacity_ah),
       count(DISTINCT reference_capacity_ah)
FROM label_soc WHERE session_id = %s AND method = 'coulomb_counting' AND label_version = %s"""

# A full cycle: charge and discharge both moved about the same charge (coulombic efficiency
# within the band), so the cycle went through one SOC window both ways; the partial first and
# last cycles of a file do not.
FULL_CYCLE = "coulombic_efficiency >= %s AND coulombic_efficiency <= %s"

# The capacities of the first K full cycles (the caller averages them and checks there were K).
FIRST_FULL_CYCLES = f"""
SELECT CAST(discharge_capacity_ah AS DOUBLE PRECISION) FROM cycle_feature
WHERE session_id = %s AND feature_version = %s AND {FULL_CYCLE}
ORDER BY cycle_index LIMIT %s"""

# label_soh, capacity-based, on the full cycles that discharge at most SOH_MAX times the
# reference (a cycle count holding several discharges, an RPT's, is no one SOC window).
# Parameters: basis, version, reference (twice), session, feature version, CE band (low, high),
# the largest discharge (SOH_MAX x reference).
SOH_INTO = """
INSERT INTO label_soh (session_id, cycle_index, definition, reference_basis, label_version,
                       soh, reference_capacity_ah)"""
SOH_SELECT = f"""
SELECT session_id, cycle_index, 'capacity', %s, %s,
       CAST(discharge_capacity_ah AS DOUBLE PRECISION) / %s, %s
FROM cycle_feature
WHERE session_id = %s AND feature_version = %s AND discharge_capacity_ah > 0 AND {FULL_CYCLE}
  AND CAST(discharge_capacity_ah AS DOUBLE PRECISION) <= %s"""
# The full cycles, and those of them that discharge more than SOH_MAX x the reference (left
# out of the labels, unless all are: then the reference is what is wrong, and the database's
# CHECK refuses the labels). Parameters: the largest discharge, session, feature version, CE
# band (low, high).
SOH_ABOVE = f"""
SELECT count(*),
       sum(CASE WHEN CAST(discharge_capacity_ah AS DOUBLE PRECISION) > %s THEN 1 ELSE 0 END)
FROM cycle_feature
WHERE session_id = %s AND feature_version = %s AND discharge_capacity_ah > 0 AND {FULL_CYCLE}"""
# Of the full cycles above SOH_MAX x the reference, those that hold more than one discharge (a
# run of samples with negative current, broken by any other sample): a cycler's cycle count
# that did not advance between several charge-discharge pairs (an RPT, a diagnostic), not a
# reference that is wrong. Parameters: session, session, feature version, CE band (low, high),
# the largest discharge.
SOH_SEVERAL_DISCHARGES = f"""
SELECT count(*) FROM (
    SELECT cycle_count FROM (
        SELECT cycle_count, CAST(current_ampere AS DOUBLE PRECISION) AS i,
               LAG(CAST(current_ampere AS DOUBLE PRECISION)) OVER w AS prev_i,
               LAG(cycle_count) OVER w AS prev_cycle
        FROM timeseries_point WHERE session_id = %s
        WINDOW w AS (ORDER BY record_index)
    ) lagged
    WHERE i < 0 AND (prev_i IS NULL OR prev_i >= 0 OR prev_cycle <> cycle_count)
    GROUP BY cycle_count HAVING count(*) > 1
) several
WHERE cycle_count IN (
    SELECT cycle_index FROM cycle_feature
    WHERE session_id = %s AND feature_version = %s AND discharge_capacity_ah > 0 AND {FULL_CYCLE}
      AND CAST(discharge_capacity_ah AS DOUBLE PRECISION) > %s)"""
SOH = (
    SOH_INTO
    + SOH_SELECT
    + """
ON CONFLICT (session_id, cycle_index, definition, reference_basis, label_version)
"""
) + _update_changed("label_soh", ("soh", "reference_capacity_ah"))

# SOH labels of this version whose cycle is no longer a full cycle of the feature version (or
# now discharges more than SOH_MAX x the reference).
SOH_STALE = f"""
DELETE FROM label_soh
WHERE session_id = %s AND definition = 'capacity' AND reference_basis = %s
  AND label_version = %s
  AND cycle_index NOT IN (
      SELECT cycle_index FROM cycle_feature
      WHERE session_id = %s AND feature_version = %s AND discharge_capacity_ah > 0
        AND {FULL_CYCLE} AND CAST(discharge_capacity_ah AS DOUBLE PRECISION) <= %s)"""

# The asset's upper and lower voltage limits (cell, else pack): the full and empty anchors.
VOLTAGE_LIMITS = """
SELECT CAST(COALESCE(c.voltage_max_volt, k.voltage_max_volt) AS DOUBLE PRECISION),
       CAST(COALESCE(c.voltage_min_volt, k.voltage_min_volt) AS DOUBLE PRECISION)
FROM test_session s
LEFT JOIN battery_cell c ON c.cell_id = s.cell_id
LEFT JOIN battery_pack k ON k.pack_id = s.pack_id
WHERE s.session_id = %s"""

NOMINAL_CAPACITY = """
SELECT CAST(COALESCE(c.nominal_capacity_ah, k.nominal_capacity_ah) AS DOUBLE PRECISION)
FROM test_session s
LEFT JOIN battery_cell c ON c.cell_id = s.cell_id
LEFT JOIN battery_pack k ON k.pack_id = s.pack_id
WHERE s.session_id = %s"""

SESSIONS_WITH_SAMPLES = """
SELECT session_id FROM test_session s
WHERE EXISTS (SELECT 1 FROM timeseries_point p WHERE p.session_id = s.session_id)
ORDER BY session_id"""

SESSION_EXISTS = "SELECT count(*) FROM test_session WHERE session_id = %s"


def features(channel: str) -> str:
    """FEATURES with the session's temperature channel (one of TEMPERATURE_CHANNELS)."""
    return FEATURES.replace("TEMPERATURE_COLUMN", _channel(channel))


def features_with(channel: str) -> str:
    """FEATURES_WITH with the session's temperature channel (ClickHouse stages it)."""
    return FEATURES_WITH.replace("TEMPERATURE_COLUMN", _channel(channel))


def _channel(channel: str) -> str:
    if channel not in TEMPERATURE_CHANNELS:
        raise ValueError(f"not a temperature channel: {channel!r}")
    return channel
