"""Cycle numbers for a file that has none. The Battery Data Format only recommends its Cycle Count
column (its own reference files of OCV and GITT tests lack it), while `timeseries_point.cycle_count`
is required: the loader then numbers the cycles from the current, as NewareNDA numbers a
Neware file's cycles (its default `chg` mode): **a cycle begins at each charge that follows a
discharge**. A sample charges when its current exceeds the rest band (+C/200 of the asset's
nominal capacity), discharges below -C/200; samples inside the band (rest, relaxation, the
noise of a resting channel) belong to the cycle they fall in. So a file that starts with a
charge has charge-then-discharge cycles (the coulombic efficiency of a cycle compares its own
charge and discharge), and one that starts with a discharge has that discharge alone in its
first cycle.

Cycles continue across a session's files: a file starts in the session's last cycle and opens
a new one only when its first charge follows the session's last discharge. Vectorised over each
chunk (numpy), the state (the cycle, the sign of the last sample outside the rest band) carried
from chunk to chunk; the report says the cycle numbers were derived, and how.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .db import Database
from .quality import asset_select

REST_C_RATE = 1 / 200  # the rest band: |I| <= C/200 of the nominal capacity
FIRST_CYCLE = 1  # as cyclers count (Arbin, Neware, the BDF reference files)


class CycleCounter:
    """Fills `cycle_count` of each staged chunk; `note()` says what it did for the report."""

    def __init__(self, rest_current: float, cycle: int = FIRST_CYCLE, last_sign: int = 0):
        self.why = "the file has none (BDF only recommends it)"
        self.rest_current = rest_current
        self.first = cycle
        self.cycle = cycle
        self.last_sign = last_sign  # +1 charging, -1 discharging, 0 nothing outside the band

    def number(self, table: pa.Table) -> pa.Table:
        current = table.column("current_ampere").to_numpy(zero_copy_only=False)
        sign = np.zeros(len(current), dtype=np.int8)
        with np.errstate(invalid="ignore"):  # a NULL current (NaN) is inside no band
            sign[current > self.rest_current] = 1
            sign[current < -self.rest_current] = -1
        active = np.flatnonzero(sign)
        starts = np.zeros(len(current), dtype=np.int64)
        if len(active):
            signs = sign[active]
            before = np.concatenate(([self.last_sign], signs[:-1]))
            starts[active[(signs == 1) & (before == -1)]] = 1
            self.last_sign = int(signs[-1])
        cycles = self.cycle + np.cumsum(starts)
        if len(cycles):
            self.cycle = int(cycles[-1])
        index = table.column_names.index("cycle_count")
        return table.set_column(index, "cycle_count", pa.array(cycles, pa.int64()))

    def note(self) -> str:
        count = self.cycle - self.first + 1
        return (
            f"cycle_count: {self.why}; numbered from the "
            f"current, a cycle beginning at each charge that follows a discharge (rest band "
            f"|I| <= {self.rest_current:.3g} A, C/{round(1 / REST_C_RATE)}): cycles "
            f"{self.first}..{self.cycle} ({count})"
        )


def for_session(db: Database, session_id: int) -> CycleCounter:
    """The counter for a file of `session_id`: its rest band from the asset's nominal capacity
    (the cell's, or the pack's), its start from the session's last sample outside that band."""
    capacity = db.query(
        asset_select(("nominal_capacity_ah",)) + " WHERE s.session_id = %s", [session_id]
    )
    nominal = float(capacity[0][0]) if capacity and capacity[0][0] is not None else 0.0
    rest = nominal * REST_C_RATE
    last = db.query(
        "SELECT max(cycle_count) FROM timeseries_point WHERE session_id = %s", [session_id]
    )[0][0]
    if last is None:
        return CycleCounter(rest)
    outside = db.query(
        "SELECT current_ampere FROM timeseries_point WHERE session_id = %s "
        "AND (current_ampere > %s OR current_ampere < %s) ORDER BY record_index DESC LIMIT 1",
        [session_id, rest, -rest],
    )
    sign = 0 if not outside else (1 if float(outside[0][0]) > 0 else -1)
    return CycleCounter(rest, int(last), sign)
