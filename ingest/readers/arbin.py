"""Arbin MITS Pro CSV exports (`Data_Point,Date_Time,Test_Time(s),...,Current(A),Voltage(V),...`),
read by the loader's own columnar BDF reader (ingest/bdf.py) after a map of Arbin's column
names to BDF quantities: Arbin's CSV is a plain CSV whose columns are BDF's quantities under
other names, with the unit in parentheses.

Why not battery-data-toolkit's ArbinReader: it expects columns the export does not write
(`Current`, `Voltage`, `Temperature`, `Internal_Resistance` and a `DateTime` in Unix seconds,
a layout of its own), drops rows whose voltage and current repeat silently, and keeps neither
the capacity and energy counters nor the step index. A column-name map costs nothing and
keeps all of them (see docs/loading.md).

Arbin writes current positive on charge (as this schema), `Date_Time` in the cycler PC's local
time without a zone (`--time-zone` says which; MM/DD/YYYY or ISO order), `Cycle_Index` and
`Step_Index` as the schedule's counters (kept, never renumbered), `Data_Point` as the record
number (kept as the record index, continued across a session's files).
"""

from __future__ import annotations

import re
from pathlib import Path

from .. import bdf, sniff
from ..errors import IngestError

FILE_FORMAT = "arbin_csv"
CYCLER = "Arbin"

# Arbin's quantity name (snake case, unit removed) -> BDF quantity (ingest/bdf.py QUANTITIES)
NAMES = {
    "data_point": "record_index",
    "date_time": "date_time",
    "test_time": "test_time",
    "step_time": "step_time",
    "cycle_index": "cycle_count",
    "step_index": "step_id",
    "current": "current",
    "voltage": "voltage",
    "charge_capacity": "charging_capacity",
    "discharge_capacity": "discharging_capacity",
    "charge_energy": "charging_energy",
    "discharge_energy": "discharging_energy",
    "aux_temperature_1": "temperature_t1",
    "aux_temperature_2": "temperature_t2",
    "aux_temperature_3": "temperature_t3",
}
# the columns without which a file is not an Arbin export
REQUIRED = ("test_time", "cycle_index", "current", "voltage")
# `Test_Time(s)`, `Test Time (s)`, `Aux_Temperature_1(C)`, `Date_Time`
_ARBIN = re.compile(r"^\s*(?P<name>[A-Za-z][A-Za-z0-9_ ]*?)\s*(?:\((?P<unit>[^()]*)\))?\s*$")
# Arbin's units as BDF writes them (the rest are the same words)
_UNITS = {"c": "degC", "°c": "degC"}


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def rename(file: str, names: list[str]) -> list[str]:
    """Arbin's header names -> BDF human names (`Voltage(V)` -> `voltage / V`), position by
    position; a name that is not an Arbin quantity stays as it is (and is ignored)."""
    out: list[str] = []
    found: set[str] = set()
    for name in names:
        match = _ARBIN.match(name)
        key = _snake(match["name"]) if match else ""
        if key not in NAMES:
            out.append(name)
            continue
        found.add(key)
        unit = (match["unit"] or "").strip()
        quantity = NAMES[key]
        dimension = bdf.QUANTITIES[quantity].dimension
        if dimension == "text":
            out.append(quantity.replace("_", " ").title())
        elif dimension == "count":
            out.append(f"{quantity} / 1")
        else:
            out.append(f"{quantity} / {_UNITS.get(unit.lower(), unit)}")
    missing = [k for k in REQUIRED if k not in found]
    if missing:
        raise IngestError(
            file,
            "not an Arbin CSV export: line 1 lacks the column(s) "
            + ", ".join(f"'{k}'" for k in missing)
            + f" (Arbin writes e.g. 'Test_Time(s)', 'Cycle_Index', 'Current(A)', 'Voltage(V)')"
            f"{sniff.looks_like(','.join(names), 'arbin')}",
            line=1,
        )
    return out


def read(path: Path, options: bdf.ReadOptions, source: bdf.HashingReader | None = None):
    """The contract of bdf.read, for an Arbin CSV export."""
    options.month_first_dates = True  # the same object: the loader sets started_at on it later
    info, chunks = bdf.read(path, options, source, rename)
    info = _ArbinFileInfo(**vars(info))
    return info, chunks


class _ArbinFileInfo(bdf.FileInfo):
    cycler_software = CYCLER
