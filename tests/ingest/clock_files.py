"""Synthetic cycler files whose local wall clock crosses a daylight-saving change, with the
true instant of every sample computed independently (zoneinfo, sample by sample), for
tests/ingest/test_ingest_clock_change.py.

A file is written the way a cycler PC writes it: the UTC instant of each sample is the test's
start plus its test time plus a little clock jitter (a few centiseconds), and its wall-clock
text is that instant in the zone, to the millisecond. `late` seconds model a PC that applies
the change late: for that long after the change its clock keeps the old offset (in spring it
writes local times the zone does not have).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

UTC = dt.UTC


@dataclass(frozen=True)
class Crossing:
    zone: str
    change: str  # the change's instant, UTC ISO
    late: float = 0.0  # seconds the PC's clock keeps the old offset after the change


CROSSINGS = {
    # Europe/Berlin: last Sunday of October, 03:00 CEST -> 02:00 CET (01:00 UTC)
    "berlin-autumn": Crossing("Europe/Berlin", "2024-10-27T01:00:00"),
    # last Sunday of March, 02:00 CET -> 03:00 CEST (01:00 UTC); a clock that is right never
    # writes the missing hour, a late one does
    "berlin-spring": Crossing("Europe/Berlin", "2024-03-31T01:00:00"),
    "berlin-spring-late": Crossing("Europe/Berlin", "2024-03-31T01:00:00", late=1200),
    # America/New_York: first Sunday of November, 02:00 EDT -> 01:00 EST (06:00 UTC)
    "newyork-autumn": Crossing("America/New_York", "2024-11-03T06:00:00"),
    # second Sunday of March, 02:00 EST -> 03:00 EDT (07:00 UTC)
    "newyork-spring-late": Crossing("America/New_York", "2024-03-10T07:00:00", late=900),
}


@dataclass(frozen=True)
class Sample:
    instant: float  # Unix seconds: the truth
    test_time: float
    wall: dt.datetime  # naive local wall-clock time as the file writes it


def samples(crossing: Crossing, count: int = 480, step: float = 30.0) -> list[Sample]:
    """`count` samples every `step` s, from 2 h before the change."""
    zone = ZoneInfo(crossing.zone)
    change = dt.datetime.fromisoformat(crossing.change).replace(tzinfo=UTC)
    old_offset = (change - dt.timedelta(seconds=1)).astimezone(zone).utcoffset()
    start = change - dt.timedelta(hours=2)
    out = []
    for i in range(count):
        test_time = i * step
        jitter = ((i * 7919) % 11 - 5) * 0.01  # the clock's jitter, up to 50 ms
        instant = start + dt.timedelta(seconds=test_time + jitter)
        if change <= instant < change + dt.timedelta(seconds=crossing.late):
            wall = (instant + old_offset).replace(tzinfo=None)  # the clock not changed yet
        else:
            wall = instant.astimezone(zone).replace(tzinfo=None)
        out.append(Sample(instant.timestamp(), test_time, wall))
    return out


def _ms(wall: dt.datetime, month_first: bool = False) -> str:
    text = wall.strftime("%m/%d/%Y %H:%M:%S" if month_first else "%Y-%m-%d %H:%M:%S")
    return f"{text}.{wall.microsecond // 1000:03d}"


def bdf_text(rows: list[Sample], volts: float = 3.7) -> str:
    lines = ["Date Time,Test Time / s,Voltage / V,Current / A,Cycle Count / 1"]
    lines += [f"{_ms(r.wall)},{r.test_time},{volts},1.0,0" for r in rows]
    return "\n".join(lines) + "\n"


def arbin_text(rows: list[Sample], volts: float = 3.7) -> str:
    """An Arbin MITS Pro CSV export: US-order Date_Time, CRLF lines."""
    lines = [
        "Data_Point,Date_Time,Test_Time(s),Step_Time(s),Cycle_Index,Step_Index,Current(A),"
        "Voltage(V)"
    ]
    lines += [
        f"{i},{_ms(r.wall, month_first=True)},{r.test_time:.4f},{r.test_time:.4f},1,1,"
        f"1.000000,{volts:.6f}"
        for i, r in enumerate(rows, start=1)
    ]
    return "\r\n".join(lines) + "\r\n"


FORMATS = {"bdf": bdf_text, "arbin": arbin_text}


def write(tmp_path: Path, name: str, fmt: str, rows: list[Sample], volts: float = 3.7) -> Path:
    """The file (its voltage `volts`: files of the same samples differ in their bytes)."""
    path = tmp_path / name
    path.write_text(FORMATS[fmt](rows, volts))
    return path
