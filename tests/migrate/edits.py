"""The corpus of schema edits the migration tests apply: each function changes a copy of
schema.yaml's data (BASE) in one way; CORPUS names them, DESTRUCTIVE says which lose data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import yaml

from tests.support.dbkit import ROOT

BASE = yaml.safe_load((ROOT / "schema.yaml").read_text(encoding="utf-8"))


# -- the corpus: each edit changes a copy of schema.yaml's data -----------------------------
def _table(d, name):
    return d["tables"][name]


def add_nullable_column(d):
    _table(d, "battery_pack")["columns"]["location"] = {
        "type": "text",
        "nullable": True,
        "description": "Where the pack is stored.",
    }
    _table(d, "timeseries_point")["columns"]["temperature_t4_celsius"] = {
        "type": "real",
        "unit": "degC",
        "nullable": True,
        "range": {"min": -60, "max": 200},
        "description": "Auxiliary temperature channel 4; NULL when not measured.",
    }


def add_not_null_with_default(d):
    _table(d, "battery_cell")["columns"]["is_reference"] = {
        "type": "boolean",
        "default": False,
        "description": "A reference cell, kept at rest for comparison.",
    }


def drop_column(d):
    del _table(d, "battery_pack")["columns"]["notes"]


def rename_column_and_table(d):
    cols = _table(d, "timeseries_point")["columns"]
    items = list(cols.items())
    cols.clear()
    for name, spec in items:
        if name == "step_id":
            cols["program_step_id"] = {**spec, "renamed_from": "step_id"}
        else:
            cols[name] = spec
    tables = d["tables"]
    items = list(tables.items())
    tables.clear()
    for name, spec in items:
        tables["soh_label" if name == "label_soh" else name] = (
            {**spec, "renamed_from": "label_soh"} if name == "label_soh" else spec
        )
    for spec in tables.values():
        for fk in (spec.get("foreign_keys") or {}).values():
            if fk["references"]["table"] == "label_soh":
                fk["references"]["table"] = "soh_label"
    for step in d.get("workflow", []):
        step["writes"] = ["soh_label" if w == "label_soh" else w for w in step["writes"]]


def widen_enum(d):
    d["enums"]["soc_method"]["values"]["hybrid"] = "OCV lookup at rest, coulomb counting between."


def narrow_enum(d):
    del d["enums"]["form_factor"]["values"]["coin"]


def rename_enum_value(d):
    values = d["enums"]["chemistry"]["values"]
    d["enums"]["chemistry"]["values"] = {
        ("NMC811" if k == "NMC" else k): v for k, v in values.items()
    }
    d["enums"]["chemistry"]["renamed_values"] = {"NMC811": "NMC"}


def add_check_range(d):
    _table(d, "battery_cell")["columns"]["series_position"]["range"]["max"] = 1000


def add_explicit_check(d):
    _table(d, "battery_cell")["checks"]["ck_battery_cell_capacity_plausible"] = {
        "expression": "nominal_capacity_ah < 10000",
        "description": "No single cell holds 10 kAh; a larger value is a unit mistake.",
    }


def widen_check_range(d):
    _table(d, "label_soc")["columns"]["soc"]["range"]["max"] = 1.5


def narrow_check_range(d):
    _table(d, "label_soc")["columns"]["soc"]["range"]["max"] = 1.1


def add_foreign_key_and_index(d):
    table = _table(d, "label_soh")
    table["columns"]["run_id"] = {
        "type": "integer",
        "nullable": True,
        "references": {
            "table": "model_run",
            "on_delete": "set null",
            "why": "A label computed by a model run keeps existing if the run is deleted.",
        },
        "description": "The model run that computed this label, if any.",
    }
    table.setdefault("indexes", {})["ix_label_soh_run_id"] = {"columns": ["run_id"]}


def add_table(d):
    d["tables"]["cell_note"] = {
        "layer": "asset",
        "usage": ["soh"],
        "description": "A dated remark about a cell.",
        "columns": {
            "note_id": {"type": "integer", "identity": True, "description": "Surrogate key."},
            "cell_id": {
                "type": "integer",
                "references": {
                    "table": "battery_cell",
                    "on_delete": "cascade",
                    "why": "A remark means nothing without its cell.",
                },
                "description": "The cell.",
            },
            "noted_at": {"type": "timestamptz", "description": "When (UTC)."},
            "remark": {"type": "text", "description": "The remark."},
        },
        "primary_key": ["note_id"],
        "indexes": {"ix_cell_note_cell_id": {"columns": ["cell_id"]}},
    }


def drop_table(d):
    del d["tables"]["label_soh"]
    for spec in d["tables"].values():
        keys = spec.get("foreign_keys") or {}
        for name in [n for n, fk in keys.items() if fk["references"]["table"] == "label_soh"]:
            del keys[name]
    for step in d.get("workflow", []):
        step["writes"] = [w for w in step["writes"] if w != "label_soh"]
    d["workflow"] = [s for s in d.get("workflow", []) if s["writes"]]


def widen_type(d):
    _table(d, "battery_pack")["columns"]["series_count"]["type"] = "integer"
    _table(d, "cycle_feature")["columns"]["discharge_capacity_ah"]["type"] = "double"


def change_description_and_unit(d):
    _table(d, "battery_pack")["description"] = (
        "A battery pack under test: cells in series/parallel."
    )
    _table(d, "battery_pack")["columns"]["notes"]["description"] = "Free text about the pack."
    _table(d, "test_session")["columns"]["ambient_temperature_celsius"]["description"] = (
        "Set point of the climate chamber."
    )


def timescaledb_options(d):
    ts = _table(d, "timeseries_point")["timescaledb"]
    ts["hypertable"]["chunk_interval"] = "1 day"
    ts["compression"]["order_by"] = ["recorded_at"]


def widen_hypertable_type(d):
    _table(d, "timeseries_point")["columns"]["step_id"]["type"] = "integer"


CORPUS = {
    f.__name__: f
    for f in (
        add_nullable_column,
        add_not_null_with_default,
        drop_column,
        rename_column_and_table,
        widen_enum,
        narrow_enum,
        rename_enum_value,
        add_check_range,
        add_explicit_check,
        widen_check_range,
        narrow_check_range,
        add_foreign_key_and_index,
        add_table,
        drop_table,
        widen_type,
        change_description_and_unit,
        timescaledb_options,
        widen_hypertable_type,
    )
}
# Adding a range to a column narrows what it accepts: existing rows may fall outside it.
DESTRUCTIVE = {"drop_column", "narrow_enum", "add_check_range", "narrow_check_range", "drop_table"}


def dump(data) -> str:
    return yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)


# -- narrowings, each with the seed rows that break it ------------------------------------
def narrow_cell_voltage(d):
    _table(d, "battery_cell")["columns"]["voltage_max_volt"]["range"]["max"] = 5


def require_cell_manufacturer(d):
    _table(d, "battery_cell")["columns"]["manufacturer"]["nullable"] = False


def narrow_hypertable_voltage(d):
    _table(d, "timeseries_point")["columns"]["voltage_volt"]["range"]["max"] = 100


@dataclass(frozen=True)
class Narrowing:
    """An edit that narrows what a table accepts, and how seed rows break it: rows of `table`
    whose key is in `keys` get `values`; the migration must refuse naming `first_keys`."""

    edit: Callable
    table: str
    keys: tuple[tuple, ...]
    values: dict
    first_keys: str
    destructive: bool


NARROWINGS = {
    "narrow_range": Narrowing(
        narrow_cell_voltage,
        "battery_cell",
        ((101,), (103,)),
        {"voltage_max_volt": 6.0},
        "101; 103",
        True,
    ),
    "narrow_enum": Narrowing(
        narrow_enum, "battery_cell", ((102,),), {"form_factor": "coin"}, "102", True
    ),
    "add_explicit_check": Narrowing(
        add_explicit_check,
        "battery_cell",
        ((103,),),
        {"nominal_capacity_ah": 20000.0},
        "103",
        False,
    ),
    "set_not_null": Narrowing(
        require_cell_manufacturer,
        "battery_cell",
        ((103,), (102,)),
        {"manufacturer": None},
        "102; 103",
        False,
    ),
    "narrow_hypertable_range": Narrowing(
        narrow_hypertable_voltage,
        "timeseries_point",
        ((101, 1),),
        {"voltage_volt": 500.0},
        "101, 1",
        True,
    ),
}
