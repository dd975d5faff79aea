"""Per-cycle features from the steps of ordinary cycling (issue 23, items 4 and 5), computed
once in Python with numpy from the session's samples (ordered by record_index) and written to
every engine the same way (derive/write.py) into the session's cycle_feature rows of the run's
feature_version:

- resistance at step changes of current: a change is |I_k - I_(k-1)| above the step threshold
  between consecutive samples (time moving forward); R = |V_after - V_(k-1)| / |I_k - I_(k-1)|
  with V_after the first sample after the change, and the voltage 1 s and 10 s after the last
  sample before the change (linear interpolation between samples of the new step; NULL with a
  reason when the first sample comes later than that or the step ends earlier); medians per
  cycle into step_resistance_*;
- the cycler's own resistance readings (timeseries_point.internal_resistance_ohm, schema
  version 5): their mean over the cycle's readings above 0 (Arbin and Maccor write 0 where
  they measured nothing) into cycler_resistance_ohm;
- dc_internal_resistance_ohm by precedence: a stored 'pulse' value is kept (a dedicated
  measurement of the protocol); else the cycler's reading ('cycler', its mean); else the step
  resistance ('step_change': the 10 s median, else 1 s, else first sample);
- relaxation: the first rest (|I| at or below the rest current) of the cycle that follows a
  charging (after charge) or discharging (after discharge) sample: the voltage of its first
  sample, at relaxation_time_1/2 after the last sample under load, of its last sample, and its
  duration (last rest sample - last load sample);
- charge and discharge mean voltage: trapezoid time-weighted over the intervals whose two ends
  both charge (I > rest current) or both discharge (I < -rest current) in the same cycle.

A value that cannot be computed is NULL and its reason goes into null_reasons (column ->
reason) and into the derive report's counts; never a zero."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .defaults import RELAXATION_TIMES

# defaults of the derivation (docs/features.md)
STEP_THRESHOLD_C = 0.1  # a step change: |dI| above 0.1 C (x nominal capacity) ...
STEP_THRESHOLD_AMPERE = 0.1  # ... or above 0.1 A when the asset has no nominal capacity
REST_CURRENT_C = 0.01  # at rest: |I| at or below C/100 ...
REST_CURRENT_AMPERE = 0.01  # ... or 10 mA without a nominal capacity
RESISTANCE_TIMES = (1.0, 10.0)
EPS = 1e-9

RESISTANCE_COLUMNS = (
    "step_resistance_first_sample_ohm",
    "step_resistance_first_sample_second",
    "step_resistance_1s_ohm",
    "step_resistance_10s_ohm",
    "step_resistance_count",
)
DCIR_COLUMNS = (
    "dc_internal_resistance_ohm",
    "dcir_method",
    "dcir_time_after_step_second",
    "dcir_step_count",
)
RELAXATION_COLUMNS = tuple(
    f"rest_after_{half}_{what}"
    for half in ("charge", "discharge")
    for what in (
        "voltage_start_volt",
        "voltage_t1_volt",
        "voltage_t2_volt",
        "voltage_end_volt",
        "duration_second",
    )
)
MEAN_COLUMNS = ("charge_voltage_mean_volt", "discharge_voltage_mean_volt")
COLUMNS = (
    *RESISTANCE_COLUMNS,
    "cycler_resistance_ohm",
    *DCIR_COLUMNS,
    "relaxation_time_1_second",
    "relaxation_time_2_second",
    *RELAXATION_COLUMNS,
    *MEAN_COLUMNS,
    "null_reasons",
)

SAMPLES = """
SELECT record_index, CAST(test_time_second AS DOUBLE PRECISION),
       CAST(voltage_volt AS DOUBLE PRECISION), CAST(current_ampere AS DOUBLE PRECISION),
       COALESCE(cycle_count, -1)
FROM timeseries_point WHERE session_id = %s ORDER BY record_index"""
ROWS = """
SELECT cycle_index, CAST(dc_internal_resistance_ohm AS DOUBLE PRECISION), dcir_method,
       CAST(dcir_time_after_step_second AS DOUBLE PRECISION), dcir_step_count
FROM cycle_feature WHERE session_id = %s AND feature_version = %s ORDER BY cycle_index"""
SCOPE = "session_id = %s AND feature_version = %s"
# the cycler's own readings per cycle: a reading of 0 is the cycler saying it measured nothing
# (cycle, readings, readings above 0, their sum) of the cycles with any reading
CYCLER_READINGS = """
SELECT cycle_count, count(*),
       sum(CASE WHEN internal_resistance_ohm > 0 THEN 1 ELSE 0 END),
       sum(CASE WHEN internal_resistance_ohm > 0
           THEN CAST(internal_resistance_ohm AS DOUBLE PRECISION) ELSE 0 END)
FROM timeseries_point WHERE session_id = %s AND internal_resistance_ohm IS NOT NULL
GROUP BY cycle_count ORDER BY cycle_count"""


@dataclass(frozen=True)
class StepSettings:
    step_threshold_ampere: float
    rest_current_ampere: float
    relaxation_times: tuple[float, float] = RELAXATION_TIMES


def settings_for(nominal_ah: float | None, relaxation_times=RELAXATION_TIMES) -> StepSettings:
    if nominal_ah is not None and nominal_ah > 0:
        return StepSettings(
            STEP_THRESHOLD_C * nominal_ah, REST_CURRENT_C * nominal_ah, tuple(relaxation_times)
        )
    return StepSettings(STEP_THRESHOLD_AMPERE, REST_CURRENT_AMPERE, tuple(relaxation_times))


@dataclass
class Samples:
    record: np.ndarray
    t: np.ndarray
    v: np.ndarray
    i: np.ndarray
    cycle: np.ndarray

    @classmethod
    def of(cls, rows: list[tuple]) -> Samples:
        if not rows:
            empty = np.zeros(0)
            return cls(empty.astype(np.int64), empty, empty, empty, empty.astype(np.int64))
        # test time, voltage and current are required columns; a missing cycle is -1
        a = np.array(rows, dtype=np.float64)
        return cls(a[:, 0].astype(np.int64), a[:, 1], a[:, 2], a[:, 3], a[:, 4].astype(np.int64))


def _at(t: np.ndarray, v: np.ndarray, target: float) -> float:
    return float(np.interp(target, t, v))


def step_changes(s: Samples, threshold: float) -> list[dict]:
    """Every step change of current of the session: its cycle, |dI|, R at the first sample
    and its time, and R (or the reason it is missing) 1 s and 10 s after."""
    n = len(s.t)
    out = []
    if n < 2:
        return out
    di = np.diff(s.i)
    changes = np.nonzero((np.abs(di) > threshold) & (np.diff(s.t) > 0))[0] + 1
    for k in changes:
        delta_i = abs(float(di[k - 1]))
        t0, v0 = float(s.t[k - 1]), float(s.v[k - 1])
        # the new step: the samples from k on at the current of sample k (within the threshold),
        # in the same cycle, time moving forward, as far as the last time read (10 s)
        e, horizon = k, t0 + max(RESISTANCE_TIMES)
        while (
            s.t[e] < horizon
            and e + 1 < n
            and abs(s.i[e + 1] - s.i[k]) <= threshold
            and s.t[e + 1] > s.t[e]
            and s.cycle[e + 1] == s.cycle[k]
        ):
            e += 1
        change = {
            "cycle": int(s.cycle[k]),
            "first": abs(float(s.v[k]) - v0) / delta_i,
            "first_second": float(s.t[k]) - t0,
        }
        for tau in RESISTANCE_TIMES:
            target = t0 + tau
            if s.t[k] > target + EPS:
                change[tau] = None, f"first sample after the change later than {tau:g} s"
            elif s.t[e] < target - EPS:
                change[tau] = None, f"step shorter than {tau:g} s"
            else:
                vt = _at(s.t[k : e + 1], s.v[k : e + 1], target)
                change[tau] = abs(vt - v0) / delta_i, None
        out.append(change)
    return out


def _median(values: list[float]) -> float | None:
    positive = [x for x in values if x > 0]
    return float(np.median(positive)) if positive else None


def _state(s: Samples, rest: float) -> np.ndarray:
    return np.where(s.i > rest, 1, np.where(s.i < -rest, -1, 0))


def rests(s: Samples, rest: float) -> list[tuple[int, int]]:
    """Runs of rest samples (first, last index) that follow a sample under load."""
    state = _state(s, rest)
    out, n, a = [], len(state), 1
    while a < n:
        if state[a] == 0 and state[a - 1] != 0:
            b = a
            while b + 1 < n and state[b + 1] == 0:
                b += 1
            out.append((a, b))
            a = b + 1
        else:
            a += 1
    return out


def relaxation(s: Samples, a: int, b: int, times: tuple[float, float]) -> dict:
    """The rest of samples a..b after the load sample a-1: values and reasons by column tail."""
    t0 = float(s.t[a - 1])
    t, v = s.t[a : b + 1], s.v[a : b + 1]
    values: dict[str, float | None] = {
        "voltage_start_volt": float(v[0]),
        "voltage_end_volt": float(v[-1]),
        "duration_second": float(t[-1]) - t0,
    }
    reasons = {}
    if values["duration_second"] < 0 or np.any(np.diff(t) <= 0):
        for key in ("duration_second", "voltage_t1_volt", "voltage_t2_volt"):
            values[key] = None
            reasons[key] = "time does not move forward in the rest"
        return {"values": values, "reasons": reasons}
    for key, tau in (("voltage_t1_volt", times[0]), ("voltage_t2_volt", times[1])):
        target = t0 + tau
        if t[0] > target + EPS:
            values[key], reasons[key] = None, f"first rest sample later than {tau:g} s"
        elif t[-1] < target - EPS:
            values[key], reasons[key] = None, f"rest shorter than {tau:g} s"
        else:
            values[key] = _at(t, v, target)
    return {"values": values, "reasons": reasons}


def per_cycle(s: Samples, cycles: list[int], settings: StepSettings) -> dict[int, dict]:
    """cycle -> {column: value} and "reasons" {column: reason} for the columns of COLUMNS
    except the dcir ones (chosen against the stored row) and null_reasons."""
    out: dict[int, dict] = {c: {"reasons": {}} for c in cycles}
    changes: dict[int, list[dict]] = {c: [] for c in cycles}
    for ch in step_changes(s, settings.step_threshold_ampere):
        if ch["cycle"] in changes:
            changes[ch["cycle"]].append(ch)
    for c in cycles:
        row, reasons, chs = out[c], out[c]["reasons"], changes[c]
        if not chs:
            why = f"no step change of current above {settings.step_threshold_ampere:g} A"
            for col in RESISTANCE_COLUMNS:
                row[col], reasons[col] = None, why
            continue
        row["step_resistance_first_sample_ohm"] = _median([x["first"] for x in chs])
        row["step_resistance_first_sample_second"] = float(
            np.median([x["first_second"] for x in chs])
        )
        row["step_resistance_count"] = len(chs)
        if row["step_resistance_first_sample_ohm"] is None:
            reasons["step_resistance_first_sample_ohm"] = "voltage did not change at any step"
        for tau, col in zip(
            RESISTANCE_TIMES, ("step_resistance_1s_ohm", "step_resistance_10s_ohm"), strict=True
        ):
            got = [x[tau][0] for x in chs if x[tau][0] is not None]
            row[col] = _median(got)
            row[f"{col}_count"] = len(got)
            if row[col] is None:
                missing = Counter(x[tau][1] for x in chs if x[tau][1])
                reasons[col] = missing.most_common(1)[0][0] if missing else "voltage did not change"
    state = _state(s, settings.rest_current_ampere)
    found: dict[tuple[int, int], tuple[int, int]] = {}
    for a, b in rests(s, settings.rest_current_ampere):
        key = (int(s.cycle[a]), int(state[a - 1]))
        found.setdefault(key, (a, b))
    for c in cycles:
        row, reasons = out[c], out[c]["reasons"]
        in_cycle = state[s.cycle == c]
        for half, sign in (("charge", 1), ("discharge", -1)):
            names = [col for col in RELAXATION_COLUMNS if col.startswith(f"rest_after_{half}_")]
            if (c, sign) not in found:
                why = (
                    f"the cycle does not {half}"
                    if not np.any(in_cycle == sign)
                    else f"no rest after the {half} in this cycle"
                )
                for col in names:
                    row[col], reasons[col] = None, why
                continue
            got = relaxation(s, *found[(c, sign)], settings.relaxation_times)
            for tail, value in got["values"].items():
                row[f"rest_after_{half}_{tail}"] = value
            for tail, why in got["reasons"].items():
                reasons[f"rest_after_{half}_{tail}"] = why
        derived = (c, 1) in found or (c, -1) in found
        row["relaxation_time_1_second"] = settings.relaxation_times[0] if derived else None
        row["relaxation_time_2_second"] = settings.relaxation_times[1] if derived else None
    # time-weighted mean voltages over intervals inside one half of one cycle
    if len(s.t) > 1:
        dt = np.diff(s.t)
        same = (s.cycle[1:] == s.cycle[:-1]) & (dt > 0)
        area = dt * (s.v[1:] + s.v[:-1]) / 2
        for col, sign, half in (
            ("charge_voltage_mean_volt", 1, "charge"),
            ("discharge_voltage_mean_volt", -1, "discharge"),
        ):
            both = same & (state[1:] == sign) & (state[:-1] == sign)
            for c in cycles:
                mask = both & (s.cycle[1:] == c)
                span = float(dt[mask].sum())
                row, reasons = out[c], out[c]["reasons"]
                if span > 0:
                    row[col] = float(area[mask].sum()) / span
                else:
                    row[col] = None
                    reasons[col] = (
                        f"the cycle does not {half}"
                        if not np.any(state[s.cycle == c] == sign)
                        else f"no interval between two {half} samples"
                    )
    else:
        for c in cycles:
            for col in MEAN_COLUMNS:
                out[c][col], out[c]["reasons"][col] = None, "fewer than two samples"
    return out


def dcir(row: dict, stored: tuple) -> tuple[tuple, str | None]:
    """The dcir columns for a cycle, by precedence: a stored pulse value is kept; else the
    cycler's own reading (row["cycler_resistance_ohm"], method cycler, time and count unknown);
    else the step resistance (10 s, else 1 s, else first sample) with method step_change."""
    value, method, seconds, count = stored
    if method == "pulse" and value is not None:
        return (value, method, seconds, count), None
    if row.get("cycler_resistance_ohm") is not None:
        return (row["cycler_resistance_ohm"], "cycler", None, None), None
    if method == "cycler" and value is not None:  # stored by hand, without readings: kept
        return (value, method, seconds, count), None
    for col, tau in (
        ("step_resistance_10s_ohm", 10.0),
        ("step_resistance_1s_ohm", 1.0),
        ("step_resistance_first_sample_ohm", None),
    ):
        if row.get(col) is not None:
            if tau is None:
                return (
                    row[col],
                    "step_change",
                    row["step_resistance_first_sample_second"],
                    row["step_resistance_count"],
                ), None
            return (row[col], "step_change", tau, row[f"{col}_count"]), None
    return (None, None, None, None), "no step resistance in this cycle"


def derive(
    conn,
    session_id: int,
    feature_version: str,
    s: Samples,
    settings: StepSettings,
    reasons: Counter,
    query=None,
) -> int:
    """Compute and write the step features of one session's cycle_feature rows of
    `feature_version` from its samples `s`; NULL reasons counted into `reasons`. Returns the
    rows written."""
    from . import write

    query = query or conn.query
    stored = {int(r[0]): tuple(r[1:]) for r in query(ROWS, [session_id, feature_version])}
    if not stored:
        reasons[f"no cycle features of version {feature_version}: derive features first"] += 1
        return 0
    cycles = sorted(stored)
    computed = per_cycle(s, cycles, settings)
    # the cycler's readings: NULL without a reason where the file has none (nothing to derive
    # from), with one where the session's file has the column but this cycle no reading
    readings = {int(r[0]): (int(r[2]), float(r[3])) for r in query(CYCLER_READINGS, [session_id])}
    rows = []
    for c in cycles:
        row = computed[c]
        why = dict(row["reasons"])
        above, total = readings.get(c, (0, 0.0))
        row["cycler_resistance_ohm"] = total / above if above else None
        if readings and not above:
            why["cycler_resistance_ohm"] = (
                "the cycler wrote only 0 (no measurement) in this cycle"
                if c in readings
                else "no cycler resistance reading in this cycle"
            )
        dc, dc_reason = dcir(row, stored[c])
        if dc_reason:
            why["dc_internal_resistance_ohm"] = dc_reason
        values = {**row, **dict(zip(DCIR_COLUMNS, dc, strict=True))}
        for col in why:
            reasons[why[col]] += 1
        values["null_reasons"] = json.dumps(why, sort_keys=True) if why else None
        rows.append((c, *[_plain(values.get(col)) for col in COLUMNS]))
    return write.update(
        conn, "cycle_feature", ["cycle_index"], COLUMNS, rows, SCOPE, [session_id, feature_version]
    )


def _plain(x):
    if isinstance(x, np.generic):
        return x.item()
    return x
