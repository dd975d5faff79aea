"""Per-cycle curves and the features computed from them (schema version 4: curve_definition,
cycle_curve, cycle_curve_feature), the numeric part in numpy: what SQL cannot express
(interpolation on a grid, smoothing) is computed once here and written to every engine alike.

A half-cycle (the charge or the discharge of a cycle: the samples whose current is positive,
resp. negative) becomes three curves (docs/features.md):
- Q(V) and E(V) on the definition's voltage grid: the charge (discharge) moved since the cycle
  began, at the first sample that reaches each new voltage maximum (minimum). Only samples that
  set a new extreme are kept, so the CV phase, a rest or noise that turns back drop out and
  voltage is monotonic; linear interpolation inside the range reached, no extrapolation.
- V(q) on a 0..1 grid of normalised capacity q = Q / the half-cycle's total (CV included).
- dQ/dV on the voltage grid and dV/dQ on the capacity grid: Savitzky-Golay derivative (window
  and polynomial order of the definition; the edges fitted as scipy's mode="interp" does), as
  absolute values.
Charge comes from the cycler's counters where every sample of the cycle has them (a counter
that went down was reset: its new value is the increment), else from the trapezoid of current
with dt >= 0 (derive/sql.py's rule).

Features: the two highest local maxima of dQ/dV (at least a window apart), the highest local
maximum of dV/dQ inside q in [0.1, 0.9], and delta-Q(V) = Q_cycle(V) - Q_reference(V) of the
discharge curves on the voltage grid points both cover, with min, mean, variance (1/n),
log10 |variance|, skewness and excess kurtosis (biased, as scipy.stats), and its value at the
lowest common voltage (Severson et al., Nature Energy 4, 383-391, 2019)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .curve_settings import (  # noqa: F401  (the defaults, re-exported)
    CAPACITY_GRID_POINTS,
    CAPACITY_SOURCE,
    COMPARED_CYCLE,
    DEFAULT_CURVE_VERSION,
    DVDQ_WINDOW,
    METHOD,
    MIN_POINTS,
    REFERENCE_CYCLE,
    SMOOTHING_POLYORDER,
    SMOOTHING_WINDOW,
    VOLTAGE_GRID_POINTS,
)


@dataclass(frozen=True)
class Definition:
    """One curve_definition row."""

    curve_version: str = DEFAULT_CURVE_VERSION
    voltage_min: float = 2.5
    voltage_max: float = 4.2
    voltage_points: int = VOLTAGE_GRID_POINTS
    capacity_points: int = CAPACITY_GRID_POINTS
    window: int = SMOOTHING_WINDOW
    polyorder: int = SMOOTHING_POLYORDER
    min_points: int = MIN_POINTS
    reference_cycle: int | None = REFERENCE_CYCLE
    compared_cycle: int | None = COMPARED_CYCLE
    chemistry: str | None = None

    def voltage_grid(self) -> np.ndarray:
        return np.linspace(self.voltage_min, self.voltage_max, self.voltage_points)

    def capacity_grid(self) -> np.ndarray:
        return np.linspace(0.0, 1.0, self.capacity_points)

    def parameters(self) -> dict:
        return {
            "voltage_grid": [self.voltage_min, self.voltage_max, self.voltage_points],
            "capacity_grid_points": self.capacity_points,
            "savitzky_golay": {"window": self.window, "polyorder": self.polyorder},
            "min_points": self.min_points,
            "delta_q": {"reference": self.reference_cycle, "compared": self.compared_cycle},
            "dvdq_peak_window": list(DVDQ_WINDOW),
            "code": "derive.curves 1",
        }


# --------------------------------------------------------------------- Savitzky-Golay
def savgol_derivative(y: np.ndarray, window: int, polyorder: int, delta: float) -> np.ndarray:
    """The first derivative of `y` (equally spaced by `delta`) by a Savitzky-Golay filter:
    least-squares polynomials of `polyorder` over `window` points; the first and last
    window // 2 points from the polynomial fitted to the first and last window (scipy's
    savgol_filter(..., deriv=1, mode="interp"))."""
    y = np.asarray(y, dtype=float)
    n, half = len(y), window // 2
    if n < window:
        raise ValueError(f"{n} points, fewer than the window of {window}")
    x = np.arange(-half, half + 1, dtype=float)
    design = np.vander(x, polyorder + 1, increasing=True)  # columns x^0 .. x^p
    coeffs = np.linalg.pinv(design)[1] / delta  # d/dx of the fit at x = 0
    out = np.empty(n)
    out[half : n - half] = np.lib.stride_tricks.sliding_window_view(y, window) @ coeffs
    xs = np.arange(window, dtype=float)
    for lo, idx in ((0, np.arange(half)), (n - window, np.arange(n - half, n))):
        poly = np.polyder(np.polyfit(xs, y[lo : lo + window], polyorder))
        out[idx] = np.polyval(poly, idx - lo) / delta
    return out


def local_maxima(y: np.ndarray, lo: int, hi: int) -> list[int]:
    """Indexes i in [lo, hi) with y[i-1] < y[i] >= y[i+1] (a plateau counts at its start)."""
    i = np.arange(max(lo, 1), min(hi, len(y) - 1))
    return [int(k) for k in i[(y[i] > y[i - 1]) & (y[i] >= y[i + 1])]]


def highest_peaks(y: np.ndarray, lo: int, hi: int, count: int, apart: int) -> list[int]:
    """The `count` highest local maxima of y in [lo, hi), each at least `apart` points from a
    higher one, highest first."""
    chosen: list[int] = []
    for k in sorted(local_maxima(y, lo, hi), key=lambda k: (-y[k], k)):
        if all(abs(k - c) >= apart for c in chosen):
            chosen.append(k)
        if len(chosen) == count:
            break
    return chosen


# ------------------------------------------------------------------------- statistics
def moments(x: np.ndarray) -> tuple[float, float, float | None, float | None]:
    """Mean, variance (1/n), skewness and excess kurtosis (biased, Fisher: scipy.stats.skew
    and kurtosis with their defaults); skewness and kurtosis None when the variance is 0."""
    x = np.asarray(x, dtype=float)
    mean = float(x.mean())
    d = x - mean
    m2 = float(np.mean(d * d))
    if m2 == 0:
        return mean, 0.0, None, None
    m3, m4 = float(np.mean(d**3)), float(np.mean(d**4))
    return mean, m2, m3 / m2**1.5, m4 / m2**2 - 3.0


# ----------------------------------------------------------------------------- samples
@dataclass
class Cycle:
    """One cycle's samples as numpy arrays, with the per-interval increments of charge and
    energy in each direction (the interval that ends at a sample belongs to its cycle)."""

    index: int
    v: np.ndarray
    i: np.ndarray
    qc: np.ndarray  # cumulative charge into the cell since the cycle began, Ah
    qd: np.ndarray  # cumulative charge out of it, Ah
    ec: np.ndarray
    ed: np.ndarray


def _increments(counter_prev, counter_cur):
    """Counter increments as derive/sql.py takes them (a counter that went down was reset)."""
    out = np.where(counter_cur >= counter_prev, counter_cur - counter_prev, counter_cur)
    out[np.isnan(counter_prev)] = 0.0
    return out


def split_cycles(rows: list[tuple]) -> list[Cycle]:
    """`rows`: (cycle_count, test_time_second, voltage, current, charging_capacity_ah,
    discharging_capacity_ah, charging_energy_wh, discharging_energy_wh) of one session in
    record_index order; None where the file has no value."""
    if not rows:
        return []
    a = np.array(rows, dtype=float)  # None (no value in the file) becomes NaN
    cyc, t, v, i = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
    p = v * i
    prev = np.roll(a, 1, axis=0)
    prev[0] = np.nan
    pt, pi, pp = prev[:, 1], prev[:, 3], prev[:, 2] * prev[:, 3]
    dt = np.where(np.isnan(pt) | (t < pt), 0.0, t - pt)
    pos, neg = (lambda x: np.where(x > 0, x, 0.0)), (lambda x: np.where(x < 0, -x, 0.0))
    pi0, pp0 = np.nan_to_num(pi), np.nan_to_num(pp)
    integrated = {
        "qc": dt * (pos(pi0) + pos(i)) / 2 / 3600,
        "qd": dt * (neg(pi0) + neg(i)) / 2 / 3600,
        "ec": dt * (pos(pp0) + pos(p)) / 2 / 3600,
        "ed": dt * (neg(pp0) + neg(p)) / 2 / 3600,
    }
    counted = {
        name: _increments(prev[:, col], a[:, col])
        for name, col in (("qc", 4), ("qd", 5), ("ec", 6), ("ed", 7))
    }
    cycles = []
    bounds = np.flatnonzero(np.diff(cyc)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(a)], strict=True):
        parts = {}
        for name, col in (("qc", 4), ("qd", 5), ("ec", 6), ("ed", 7)):
            have = not np.isnan(a[lo:hi, col]).any()
            inc = counted[name][lo:hi] if have else integrated[name][lo:hi]
            parts[name] = np.cumsum(inc)
        cycles.append(Cycle(int(cyc[lo]), v[lo:hi], i[lo:hi], **parts))
    return cycles


# ------------------------------------------------------------------------------ curves
@dataclass
class HalfCurve:
    direction: str
    total_ah: float
    v_index: np.ndarray  # voltage grid indexes covered
    q_v: np.ndarray  # Q at those voltages, Ah (moved in this half-cycle)
    e_v: np.ndarray
    dqdv: np.ndarray | None  # |dQ/dV| on the covered voltage points, or None
    q_index: np.ndarray  # capacity grid indexes covered
    v_q: np.ndarray  # V at those normalised capacities
    dvdq: np.ndarray | None


@dataclass
class CycleResult:
    index: int
    curves: dict[str, HalfCurve] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)  # direction -> why no curve


def half_curve(c: Cycle, direction: str, d: Definition) -> HalfCurve | str:
    """The curves of one half-cycle, or the reason there is none."""
    charge = direction == "charge"
    mask = c.i > 0 if charge else c.i < 0
    n = int(mask.sum())
    if n < d.min_points:
        return f"{direction} has {n} samples, fewer than {d.min_points}"
    q_all = c.qc if charge else c.qd
    e_all = c.ec if charge else c.ed
    # the charge moved since the half-cycle began: the cycle's count minus what came before
    first = int(np.flatnonzero(mask)[0])
    base_q = q_all[first - 1] if first else 0.0
    base_e = e_all[first - 1] if first else 0.0
    v, q, e = c.v[mask], q_all[mask] - base_q, e_all[mask] - base_e
    total = float(q[-1])
    if not total > 0:
        return f"no charge moved in the {direction}"
    # keep the samples that set a new extreme of voltage
    run = np.maximum.accumulate(v) if charge else np.minimum.accumulate(v)
    keep = np.r_[True, (v[1:] > run[:-1]) if charge else (v[1:] < run[:-1])]
    kv, kq, ke = v[keep], q[keep], e[keep]
    if not charge:
        kv, kq, ke = kv[::-1], kq[::-1], ke[::-1]  # increasing voltage for np.interp
    grid = d.voltage_grid()
    v_index = np.flatnonzero((grid >= kv[0]) & (grid <= kv[-1]))
    if len(v_index) < 2:
        return f"the {direction} covers fewer than 2 points of the voltage grid"
    q_v = np.interp(grid[v_index], kv, kq)
    e_v = np.interp(grid[v_index], kv, ke)
    dv = (d.voltage_max - d.voltage_min) / (d.voltage_points - 1)
    dqdv = None
    if len(v_index) >= d.window:
        dqdv = np.abs(savgol_derivative(q_v, d.window, d.polyorder, dv))
    # V(q): every sample of the half-cycle (CV included), the first of equal charges kept
    qn = q / total
    first_of = np.r_[True, qn[1:] > qn[:-1]]
    qx, vx = qn[first_of], v[first_of]
    cgrid = d.capacity_grid()
    q_index = np.flatnonzero((cgrid >= qx[0]) & (cgrid <= qx[-1]))
    v_q = np.interp(cgrid[q_index], qx, vx)
    dvdq = None
    if len(q_index) >= d.window:
        dq = total / (d.capacity_points - 1)
        dvdq = np.abs(savgol_derivative(v_q, d.window, d.polyorder, dq))
    return HalfCurve(direction, total, v_index, q_v, e_v, dqdv, q_index, v_q, dvdq)


def cycle_curves(c: Cycle, d: Definition) -> CycleResult:
    out = CycleResult(c.index)
    for direction in ("charge", "discharge"):
        got = half_curve(c, direction, d)
        if isinstance(got, str):
            out.reasons[direction] = got
        else:
            out.curves[direction] = got
    return out


def delta_q(
    cycle: HalfCurve | None, reference: HalfCurve | None, d: Definition
) -> dict[str, float | int | None] | str:
    """delta-Q(V) statistics of two discharge curves, or the reason there are none."""
    if cycle is None or reference is None:
        return "no discharge curve of " + ("this cycle" if cycle is None else "the reference")
    common, ia, ib = np.intersect1d(cycle.v_index, reference.v_index, return_indices=True)
    if len(common) < 2:
        return "the discharge curves share fewer than 2 voltage grid points"
    dq = cycle.q_v[ia] - reference.q_v[ib]
    mean, var, skew, kurt = moments(dq)
    return {
        "delta_q_min_ah": float(dq.min()),
        "delta_q_mean_ah": mean,
        "delta_q_variance_ah2": var,
        "delta_q_log10_abs_variance": math.log10(abs(var)) if var else None,
        "delta_q_skewness": skew,
        "delta_q_kurtosis": kurt,
        "delta_q_at_min_voltage_ah": float(dq[0]),
        "delta_q_grid_points": len(common),
    }


PEAK_COLUMNS = (
    "dqdv_charge_peak1_voltage_volt",
    "dqdv_charge_peak1_height_ah_per_volt",
    "dqdv_charge_peak2_voltage_volt",
    "dqdv_charge_peak2_height_ah_per_volt",
    "dqdv_discharge_peak1_voltage_volt",
    "dqdv_discharge_peak1_height_ah_per_volt",
    "dqdv_discharge_peak2_voltage_volt",
    "dqdv_discharge_peak2_height_ah_per_volt",
    "dvdq_charge_peak1_capacity_ah",
    "dvdq_charge_peak1_height_volt_per_ah",
    "dvdq_discharge_peak1_capacity_ah",
    "dvdq_discharge_peak1_height_volt_per_ah",
)
DELTA_Q_COLUMNS = (
    "delta_q_min_ah",
    "delta_q_mean_ah",
    "delta_q_variance_ah2",
    "delta_q_log10_abs_variance",
    "delta_q_skewness",
    "delta_q_kurtosis",
    "delta_q_at_min_voltage_ah",
    "delta_q_grid_points",
)


def peaks(res: CycleResult, d: Definition) -> tuple[dict[str, float | None], dict[str, str]]:
    """The peak columns of one cycle, and a reason for each that is NULL."""
    values: dict[str, float | None] = dict.fromkeys(PEAK_COLUMNS)
    reasons: dict[str, str] = {}
    grid, cgrid = d.voltage_grid(), d.capacity_grid()
    half = d.window // 2
    for direction in ("charge", "discharge"):
        cur = res.curves.get(direction)
        why = res.reasons.get(direction)
        if cur is not None and cur.dqdv is None:
            why = f"the {direction} curve is shorter than the smoothing window"
        if cur is not None and cur.dqdv is not None:
            found = highest_peaks(cur.dqdv, half, len(cur.dqdv) - half, 2, d.window)
            for n, k in enumerate(found, start=1):
                values[f"dqdv_{direction}_peak{n}_voltage_volt"] = float(grid[cur.v_index[k]])
                values[f"dqdv_{direction}_peak{n}_height_ah_per_volt"] = float(cur.dqdv[k])
            if len(found) < 2:
                why2 = f"dQ/dV of the {direction} has {len(found)} peak(s)"
                for n in range(len(found) + 1, 3):
                    for kind in ("voltage_volt", "height_ah_per_volt"):
                        reasons[f"dqdv_{direction}_peak{n}_{kind}"] = why2
        elif why:
            for n in (1, 2):
                for kind in ("voltage_volt", "height_ah_per_volt"):
                    reasons[f"dqdv_{direction}_peak{n}_{kind}"] = why
        dvdq_why = why if cur is None else None
        if cur is not None and cur.dvdq is not None:
            qs = cgrid[cur.q_index]
            inside = np.flatnonzero((qs >= DVDQ_WINDOW[0]) & (qs <= DVDQ_WINDOW[1]))
            found = (
                highest_peaks(cur.dvdq, int(inside[0]), int(inside[-1]) + 1, 1, d.window)
                if len(inside)
                else []
            )
            if found:
                k = found[0]
                values[f"dvdq_{direction}_peak1_capacity_ah"] = float(qs[k] * cur.total_ah)
                values[f"dvdq_{direction}_peak1_height_volt_per_ah"] = float(cur.dvdq[k])
            else:
                dvdq_why = f"dV/dQ of the {direction} has no peak inside q 0.1..0.9"
        elif cur is not None:
            dvdq_why = f"the {direction} V(q) curve is shorter than the smoothing window"
        if dvdq_why:
            for kind in ("capacity_ah", "height_volt_per_ah"):
                reasons[f"dvdq_{direction}_peak1_{kind}"] = dvdq_why
    return values, reasons
