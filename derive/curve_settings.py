"""The curves derivation's settings and report, and its defaults (docs/features.md): what
the command line and run.py need without numpy (derive/curves.py computes, derive/curve_store.py
writes; both are imported only when curves are derived)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .errors import DeriveError

DEFAULT_CURVE_VERSION = "curves-1"
VOLTAGE_GRID_POINTS = 1000  # BatteryML's Qdlin uses 1,000 points
CAPACITY_GRID_POINTS = 500
SMOOTHING_WINDOW = 21  # grid points: 36 mV on a 1.7 V window of 1,000 points
SMOOTHING_POLYORDER = 3
MIN_POINTS = 10  # samples a half-cycle needs for a curve
REFERENCE_CYCLE, COMPARED_CYCLE = 10, 100  # Severson et al. 2019: Q_100 - Q_10
DVDQ_WINDOW = (0.1, 0.9)  # where dV/dQ peaks are looked for (it rises steeply at both ends)
CAPACITY_SOURCE = (
    "counters where every sample of the cycle has them, else trapezoid of current, dt >= 0"
)
METHOD = (
    "half-cycle by the sign of current; samples that set a new voltage maximum (charge) or "
    "minimum (discharge) kept (CV phase, rests and turning noise drop out); linear "
    "interpolation inside the range reached, no extrapolation"
)


@dataclass
class CurveSettings:
    """What the command line can change of a curve definition (None: the default, or what a
    stored definition of the same version says)."""

    curve_version: str = DEFAULT_CURVE_VERSION
    voltage_window: tuple[float, float] | None = None  # None: the asset's voltage limits
    delta_q_cycles: tuple[int, int] | None = (REFERENCE_CYCLE, COMPARED_CYCLE)
    window: int = SMOOTHING_WINDOW
    polyorder: int = SMOOTHING_POLYORDER


@dataclass
class CurveReport:
    cycles: int = 0  # cycles with at least one curve
    points: int = 0  # cycle_curve rows written
    features: int = 0  # cycle_curve_feature rows written
    nulls: Counter = field(default_factory=Counter)  # reason -> features NULL for it


def check(s: CurveSettings) -> None:
    if not s.curve_version:
        raise DeriveError("curve_version must not be empty")
    if s.window < 3 or s.window % 2 == 0:
        raise DeriveError(f"smoothing window {s.window}: must be odd and >= 3")
    if not 0 <= s.polyorder < s.window:
        raise DeriveError(f"polynomial order {s.polyorder}: must be in [0, window)")
    if s.voltage_window and not 0 <= s.voltage_window[0] < s.voltage_window[1]:
        raise DeriveError(f"voltage window {s.voltage_window}: must be 0 <= min < max")
    if s.delta_q_cycles and (min(s.delta_q_cycles) < 0 or len(set(s.delta_q_cycles)) != 2):
        raise DeriveError(f"delta-Q cycles {s.delta_q_cycles}: two different cycles >= 0")
