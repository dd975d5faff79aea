"""The constraint-parity corpus of tests/engines/test_constraint_parity.py, shared by the room
(test_clickhouse.py tries it too): rows derived from the model plus hand-written ones, each
expected to be accepted or rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generator import load_schema
from generator.model import INTEGER_TYPES, Schema
from tests.support.dbkit import ROOT
from tests.support.seed import SEED, at

SCHEMA: Schema = load_schema(ROOT / "schema.yaml")
ACCEPTED, REJECTED = "accepted", "rejected"


@dataclass
class Case:
    id: str
    table: str
    changes: dict = field(default_factory=dict)  # applied to the table's base row
    expect: str = ACCEPTED
    delete: tuple | None = None  # (table, {column: value}) instead of an insert
    # Engines allowed to differ, with the reason (a documented limitation of that target).
    differs: dict[str, tuple[str, str]] = field(default_factory=dict)


def companions(table: str, column: str, value) -> dict:
    """Other columns a value needs so that only the constraint under test decides."""
    if table == "label_soc" and column == "method":
        return {"ocv_table": "ocv-1", "reference_capacity_ah": 5.0, "initial_soc": 0.5}
    if table == "model_run" and column == "task" and value == "soh":
        return {"target_soc_method": None, "target_soh_definition": "capacity"}
    if table == "model_run" and column == "target_soh_definition":
        return {"task": "soh", "target_soc_method": None}
    if table == "prediction" and column == "task" and value == "soh":
        return {
            "run_id": 102,
            "record_index": None,
            "recorded_at": None,
            "cycle_index": 1,
            "label_soc_id": None,
        }
    if table == "prediction" and column == "label_soh_id":  # a SOH label needs a SOH row
        return {**companions(table, "task", "soh"), "task": "soh"}
    if table == "cycle" and column == "record_index_last":
        return {"record_index_first": 0}
    if table == "battery_cell" and column == "series_position":
        return {"pack_id": 101, "parallel_position": 2}
    if table == "battery_cell" and column == "parallel_position":
        return {"pack_id": 101, "series_position": 3}  # (1, 1) and (2, 1) are seeded
    if table in ("cycle", "timeseries_point") and column in (
        "cycle_index",
        "cycle_count",
        "record_index",
    ):
        return {"session_id": 104}  # a session with no rows yet, so index 0 is free
    if table == "source_file" and column == "record_index_last":
        return {"record_index_first": 0}
    if table == "label_soh" and column == "session_id":  # a dangling cycle: no RUL to it
        return {"eol_cycle_index": None, "rul_cycles": 0, "rul_censored": True}
    if table == "label_soh" and column == "eol_cycle_index":  # RUL counts to it from cycle 1
        return {"rul_cycles": value - 1}
    return {}


def just_past(value: float, ctype: str, direction: int) -> float:
    if ctype in INTEGER_TYPES:
        return value + direction
    return value + direction * max(1e-3, abs(value) * 1e-3)


def derived_cases(schema: Schema) -> list[Case]:
    cases = []
    for table in schema.tables:
        t = table.name
        cases.append(Case(f"{t}:valid-row", t))
        for column in table.columns:
            c = column.name
            if not column.nullable and not column.identity:
                cases.append(Case(f"{t}.{c}:null", t, {c: None}, REJECTED))
            if column.enum:
                for value in schema.enum_map[column.enum].names:
                    cases.append(
                        Case(f"{t}.{c}:enum={value}", t, {c: value, **companions(t, c, value)})
                    )
                cases.append(
                    Case(
                        f"{t}.{c}:enum=outside",
                        t,
                        {c: "not_a_value", **companions(t, c, None)},
                        REJECTED,
                    )
                )
            rng = column.range
            if rng is None:
                continue
            for bound, exclusive, direction, label in (
                (rng.min, rng.min_exclusive, -1, "min"),
                (rng.max, rng.max_exclusive, 1, "max"),
            ):
                if bound is None:
                    continue
                value = int(bound) if column.type in INTEGER_TYPES else float(bound)
                extra = companions(t, c, value)
                cases.append(
                    Case(
                        f"{t}.{c}:{label}={value}",
                        t,
                        {c: value, **extra},
                        REJECTED if exclusive else ACCEPTED,
                    )
                )
                past = just_past(value, column.type, direction)
                cases.append(
                    Case(f"{t}.{c}:past-{label}={past:g}", t, {c: past, **extra}, REJECTED)
                )
        for fk in table.foreign_keys:
            dangling = {col: 9999 for col in fk.columns if col not in ("task",)}
            if "task" in fk.columns:
                dangling["run_id"] = 9999
            extra = companions(t, fk.columns[0], 9999)
            cases.append(Case(f"{t}.{fk.name}:dangling", t, {**extra, **dangling}, REJECTED))
    cases += delete_cases(schema)
    return cases


def delete_cases(schema: Schema) -> list[Case]:
    """Delete a seeded parent that has children through each foreign key; the expectation
    follows from the ON DELETE of every key that references that row."""
    cases = []
    for fk in schema.foreign_keys:
        child = next(
            (
                row
                for table, row in SEED
                if table == fk.table and all(row.get(c) is not None for c in fk.columns)
            ),
            None,
        )
        if child is None:
            continue
        key = dict(zip(fk.ref_columns, (child[c] for c in fk.columns), strict=True))
        referencing = [
            other
            for other in schema.references_to(fk.ref_table)
            if any(row_matches(r, other, key) for tbl, r in SEED if tbl == other.table)
        ]
        restrict = any(o.on_delete in ("restrict", "no action") for o in referencing)
        cases.append(
            Case(
                f"{fk.ref_table}:delete-parent-of-{fk.name}",
                fk.ref_table,
                expect=REJECTED if restrict else ACCEPTED,
                delete=(fk.ref_table, key, fk),
            )
        )
    return cases


def row_matches(row: dict, fk, key: dict) -> bool:
    return all(row.get(c) == key.get(r) for c, r in zip(fk.columns, fk.ref_columns, strict=True))


HYPERTABLE_KEY = (
    "TimescaleDB: the hypertable's primary key includes recorded_at, so "
    "(session_id, record_index) alone is not unique there"
)

HAND_WRITTEN = [
    Case(
        "battery_pack:ck_voltage_limits",
        "battery_pack",
        {"voltage_min_volt": 15.0, "voltage_max_volt": 14.0},
        REJECTED,
    ),
    Case("battery_pack:uq_serial", "battery_pack", {"serial_number": "pack-1"}, REJECTED),
    Case(
        "battery_cell:ck_voltage_limits",
        "battery_cell",
        {"voltage_min_volt": 4.3, "voltage_max_volt": 4.2},
        REJECTED,
    ),
    Case(
        "battery_cell:mounted-with-positions",
        "battery_cell",
        {"pack_id": 101, "series_position": 1, "parallel_position": 2},
    ),
    Case("battery_cell:mounted-without-positions", "battery_cell", {"pack_id": 101}, REJECTED),
    Case("battery_cell:loose-with-position", "battery_cell", {"series_position": 1}, REJECTED),
    Case(
        "battery_cell:uq_position",
        "battery_cell",
        {"pack_id": 101, "series_position": 1, "parallel_position": 1},
        REJECTED,
    ),
    Case("test_session:both-assets", "test_session", {"pack_id": 101}, REJECTED),
    Case("test_session:no-asset", "test_session", {"cell_id": None}, REJECTED),
    Case("test_session:pack-only", "test_session", {"cell_id": None, "pack_id": 101}),
    Case("cycle:ck_record_order", "cycle", {"record_index_first": 30}, REJECTED),
    Case("cycle:duplicate-key", "cycle", {"session_id": 101, "cycle_index": 0}, REJECTED),
    Case(
        "timeseries_point:duplicate-key",
        "timeseries_point",
        {"session_id": 101, "record_index": 1, "recorded_at": at(1)},
        REJECTED,
    ),
    Case(
        "timeseries_point:duplicate-index-other-time",
        "timeseries_point",
        {"session_id": 101, "record_index": 1, "recorded_at": at(777)},
        REJECTED,
        differs={"timescaledb": (ACCEPTED, HYPERTABLE_KEY)},
    ),
    Case("cycle_feature:ck_voltage_order", "cycle_feature", {"voltage_mean_volt": 4.3}, REJECTED),
    Case(
        "cycle_feature:ck_temperature_order",
        "cycle_feature",
        {"temperature_mean_celsius": 20.0},
        REJECTED,
    ),
    Case(
        "cycle_feature:all-features-null",
        "cycle_feature",
        {c.name: None for c in SCHEMA.table("cycle_feature").columns if c.nullable},
    ),
    Case(
        "cycle_feature:other-session-cycle",
        "cycle_feature",
        {"session_id": 102, "cycle_index": 1},
        REJECTED,
    ),
    Case(
        "label_soc:coulomb-without-capacity", "label_soc", {"reference_capacity_ah": None}, REJECTED
    ),
    Case("label_soc:coulomb-without-initial", "label_soc", {"initial_soc": None}, REJECTED),
    Case(
        "label_soc:ocv-without-table",
        "label_soc",
        {"method": "ocv_lookup", "ocv_table": None},
        REJECTED,
    ),
    Case(
        "label_soc:ocv-with-table-only",
        "label_soc",
        {"method": "ocv_lookup", "reference_capacity_ah": None, "initial_soc": None},
    ),
    Case(
        "label_soc:second-definition-same-point",
        "label_soc",
        {"record_index": 1, "recorded_at": at(1), "method": "ocv_lookup"},
    ),
    Case(
        "label_soc:same-definition-twice",
        "label_soc",
        {"record_index": 1, "recorded_at": at(1)},
        REJECTED,
    ),
    Case(
        "label_soc:point-of-other-session",
        "label_soc",
        {"session_id": 102, "record_index": 4, "recorded_at": at(4)},
        REJECTED,
    ),
    Case(
        "label_soh:resistance-without-reference",
        "label_soh",
        {"definition": "resistance", "reference_resistance_ohm": None},
        REJECTED,
    ),
    Case(
        "label_soh:energy-with-reference",
        "label_soh",
        {"definition": "energy", "reference_capacity_ah": None, "reference_resistance_ohm": None},
    ),
    Case("label_soh:cycle-of-other-session", "label_soh", {"session_id": 102}, REJECTED),
    Case(
        "model_run:soc-with-soh-target",
        "model_run",
        {"target_soh_definition": "capacity"},
        REJECTED,
    ),
    Case("model_run:soc-without-target", "model_run", {"target_soc_method": None}, REJECTED),
    Case(
        "model_run:finished-before-started", "model_run", {"training_finished_at": at(-1)}, REJECTED
    ),
    Case("model_run:still-running", "model_run", {"training_finished_at": None}),
    Case("model_run:split-spec-not-json", "model_run", {"split_spec": "by cell"}, REJECTED),
    Case(
        "prediction:task-differs-from-run",
        "prediction",
        {
            "task": "soh",
            "record_index": None,
            "recorded_at": None,
            "cycle_index": 0,
            "label_soc_id": None,
        },
        REJECTED,
    ),
    Case("prediction:soc-on-cycle-too", "prediction", {"cycle_index": 0}, REJECTED),
    Case(
        "prediction:soc-without-point",
        "prediction",
        {"record_index": None, "recorded_at": None},
        REJECTED,
    ),
    Case(
        "prediction:soh-on-cycle",
        "prediction",
        {
            "run_id": 102,
            "task": "soh",
            "record_index": None,
            "recorded_at": None,
            "cycle_index": 1,
            "label_soc_id": None,
            "label_soh_id": 101,
        },
    ),
    Case(
        "prediction:soh-on-cycle-of-other-session",
        "prediction",
        {
            "run_id": 102,
            "task": "soh",
            "session_id": 102,
            "record_index": None,
            "recorded_at": None,
            "cycle_index": 1,
            "label_soc_id": None,
        },
        REJECTED,
    ),
    Case(
        "prediction:point-of-other-session",
        "prediction",
        {"session_id": 102, "record_index": 4, "recorded_at": at(4)},
        REJECTED,
    ),
]

# Version 2: pack-to-cell, provenance, impedance, traceability, relaxed ranges.
HAND_WRITTEN += [
    Case(
        "cell_channel_point:same-cell-twice",
        "cell_channel_point",
        {"cell_id": 101},
        REJECTED,
    ),
    Case(
        "cell_channel_point:sample-of-other-session",
        "cell_channel_point",
        {"session_id": 102, "record_index": 4},
        REJECTED,
    ),
    Case(
        "cell_channel_point:no-temperature-sensor",
        "cell_channel_point",
        {"temperature_celsius": None},
    ),
    Case(
        "source_file:same-file-twice",
        "source_file",
        {"content_sha256": "a" * 64},
        REJECTED,
    ),
    Case(
        "source_file:same-file-other-session",
        "source_file",
        {"session_id": 102, "content_sha256": "a" * 64},
    ),
    # json_valid(NULL) is 0 on SQLite before 3.45: a nullable json column must still take NULL
    Case("source_file:original-units-unknown", "source_file", {"original_units": None}),
    Case("source_file:original-units-not-json", "source_file", {"original_units": "mV"}, REJECTED),
    Case("source_file:ck_record_order", "source_file", {"record_index_first": 10}, REJECTED),
    Case(
        "source_file:no-samples",
        "source_file",
        {"record_index_first": None, "record_index_last": None},
    ),
    Case("eis_spectrum:outside-any-cycle", "eis_spectrum", {"cycle_index": None}),
    Case("eis_spectrum:cycle-of-other-session", "eis_spectrum", {"session_id": 102}, REJECTED),
    Case(
        "eis_point:same-point-twice",
        "eis_point",
        {"spectrum_id": 101, "point_index": 0},
        REJECTED,
    ),
    Case("eis_point:inductive-positive-imaginary", "eis_point", {"imaginary_impedance_ohm": 0.004}),
    Case("label_soc:coulomb-drift-past-1.05", "label_soc", {"soc": 1.2}),
    Case(
        "label_soc:ocv-past-1.05",
        "label_soc",
        {"method": "ocv_lookup", "soc": 1.06},
        REJECTED,
    ),
    Case("label_soc:ocv-at-1.05", "label_soc", {"method": "ocv_lookup", "soc": 1.05}),
    Case("prediction:soc-with-soh-label", "prediction", {"label_soh_id": 101}, REJECTED),
    Case("prediction:no-label-row", "prediction", {"label_soc_id": None, "uncertainty": None}),
    Case("cycle_feature:partial-cycle-efficiency", "cycle_feature", {"coulombic_efficiency": 3.5}),
    Case("timeseries_point:long-test-step-count", "timeseries_point", {"step_count": 40000}),
    Case(
        "timeseries_point:no-step-no-time-channels",
        "timeseries_point",
        {"step_id": None, "step_type": None, "step_time_second": None, "step_count": None},
    ),
    Case(
        "battery_cell:unknown-maker",
        "battery_cell",
        {"manufacturer": None, "model_name": None, "serial_number": None},
    ),
]

# Version 4: curves, curve features, RUL/EOL, how a cycle type was found.
HAND_WRITTEN += [
    Case("cycle:type-source-without-type", "cycle", {"cycle_type": None}, REJECTED),
    Case("cycle:type-from-protocol", "cycle", {"cycle_type_source": "protocol"}),
    Case(
        "cycle_feature:relaxation-times-reversed",
        "cycle_feature",
        {"relaxation_time_1_second": 600.0},
        REJECTED,
    ),
    Case("cycle_feature:null-reasons-not-json", "cycle_feature", {"null_reasons": "x"}, REJECTED),
    Case(
        "curve_definition:grid-downwards",
        "curve_definition",
        {"voltage_grid_min_volt": 4.3},
        REJECTED,
    ),
    Case(
        "curve_definition:polyorder-at-window",
        "curve_definition",
        {"smoothing_polyorder": 21},
        REJECTED,
    ),
    Case(
        "curve_definition:no-delta-q",
        "curve_definition",
        {"delta_q_reference_cycle_index": None, "delta_q_cycle_index": None},
    ),
    Case(
        "curve_definition:delta-q-half-named",
        "curve_definition",
        {"delta_q_cycle_index": None},
        REJECTED,
    ),
    Case(
        "curve_definition:delta-q-same-cycle",
        "curve_definition",
        {"delta_q_cycle_index": 5},
        REJECTED,
    ),
    Case(
        "cycle_curve:same-point-twice",
        "cycle_curve",
        {"cycle_index": 0, "direction": "discharge", "point_index": 0},
        REJECTED,
    ),
    Case("cycle_curve:unknown-definition", "cycle_curve", {"curve_version": "nope"}, REJECTED),
    Case("cycle_curve:dv-dq-on-voltage-grid", "cycle_curve", {"dv_dq_volt_per_ah": 0.2}, REJECTED),
    Case(
        "cycle_curve:energy-on-capacity-grid",
        "cycle_curve",
        {"grid": "normalised_capacity", "energy_wh": 1.0},
        REJECTED,
    ),
    Case("cycle_curve:dq-dv-on-voltage-grid", "cycle_curve", {"dq_dv_ah_per_volt": 6.0}),
    Case("cycle_curve:cycle-of-other-session", "cycle_curve", {"session_id": 102}, REJECTED),
    Case(
        "cycle_curve_feature:delta-q-without-reference",
        "cycle_curve_feature",
        {"delta_q_reference_cycle_index": None},
        REJECTED,
    ),
    Case(
        "cycle_curve_feature:no-delta-q",
        "cycle_curve_feature",
        {
            "delta_q_reference_cycle_index": None,
            "delta_q_min_ah": None,
            "delta_q_mean_ah": None,
            "delta_q_variance_ah2": None,
        },
    ),
    Case(
        "cycle_curve_feature:against-itself",
        "cycle_curve_feature",
        {"delta_q_reference_cycle_index": 1},
        REJECTED,
    ),
    Case(
        "cycle_curve_feature:null-reasons",
        "cycle_curve_feature",
        {"null_reasons": {"delta_q_min_ah": "no reference cycle 5"}},
    ),
    Case(
        "label_soh:censored",
        "label_soh",
        {"eol_cycle_index": None, "rul_cycles": 40, "rul_censored": True},
    ),
    Case("label_soh:rul-not-to-eol", "label_soh", {"rul_cycles": 10}, REJECTED),
    Case("label_soh:eol-without-threshold", "label_soh", {"eol_threshold_soh": None}, REJECTED),
    Case(
        "label_soh:no-rul",
        "label_soh",
        {
            "eol_threshold_soh": None,
            "eol_cycle_index": None,
            "rul_cycles": None,
            "rul_censored": None,
        },
    ),
    Case("label_soh:rul-without-censoring", "label_soh", {"rul_censored": None}, REJECTED),
    Case(
        "source_file:uncompressed",
        "source_file",
        {"compressed_sha256": None, "native_record_first": None},
    ),
]

CASES = derived_cases(SCHEMA) + HAND_WRITTEN
