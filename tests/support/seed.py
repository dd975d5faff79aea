"""A small, valid data set touching every table: the parents the constraint corpus needs.

Identity keys are given explicitly from 101 up, so rows inserted later without a key (which
take 1, 2, ... from PostgreSQL's identity sequence or SQLite's rowid) never collide with them.
"""

from __future__ import annotations

import datetime as dt

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def point(session: int, index: int, base: float) -> dict:
    return {
        "recorded_at": at(base + index),
        "test_time_second": float(index),
        "session_id": session,
        "record_index": index,
        "cycle_count": 0 if index < 3 else 1,
        "voltage_volt": 3.7,
        "current_ampere": 1.0,
        "surface_temperature_celsius": 25.0,
        "step_id": 1,
    }


def cells(session: int, index: int, base: float) -> list[tuple[str, dict]]:
    """The two cells of pack 101, measured with one of its samples."""
    return [
        (
            "cell_channel_point",
            {
                "recorded_at": at(base + index),
                "session_id": session,
                "record_index": index,
                "cell_id": cell,
                "voltage_volt": 3.6 + 0.01 * index + 0.02 * (cell - 101),
                "temperature_celsius": 25.0 + index,
            },
        )
        for cell in (101, 103)
    ]


SEED: list[tuple[str, dict]] = [
    (
        "battery_pack",
        {
            "pack_id": 101,
            "manufacturer": "acme",
            "model_name": "P1",
            "serial_number": "pack-1",
            "chemistry": "NMC",
            "cathode_chemistry": "NMC",
            "anode_chemistry": "graphite",
            "series_count": 2,
            "parallel_count": 1,
            "nominal_capacity_ah": 5.0,
            "nominal_voltage_volt": 7.2,
            "voltage_min_volt": 5.0,
            "voltage_max_volt": 8.4,
        },
    ),
    (
        "battery_cell",
        {
            "cell_id": 101,
            "pack_id": 101,
            "series_position": 1,
            "parallel_position": 1,
            "manufacturer": "acme",
            "model_name": "C1",
            "serial_number": "cell-1",
            "chemistry": "NMC",
            "form_factor": "cylindrical",
            "nominal_capacity_ah": 5.0,
            "nominal_voltage_volt": 3.6,
            "voltage_min_volt": 2.5,
            "voltage_max_volt": 4.2,
        },
    ),
    (
        "battery_cell",
        {
            "cell_id": 103,
            "pack_id": 101,
            "series_position": 2,
            "parallel_position": 1,
            "manufacturer": "acme",
            "model_name": "C1",
            "serial_number": "cell-3",
            "chemistry": "NMC",
            "cathode_chemistry": "NMC",
            "anode_chemistry": "silicon_graphite",
            "form_factor": "cylindrical",
            "nominal_capacity_ah": 5.0,
            "nominal_voltage_volt": 3.6,
            "voltage_min_volt": 2.5,
            "voltage_max_volt": 4.2,
        },
    ),
    (
        "battery_cell",
        {
            "cell_id": 102,
            "manufacturer": "acme",
            "model_name": "C1",
            "serial_number": "cell-2",
            "chemistry": "LFP",
            "form_factor": "pouch",
            "nominal_capacity_ah": 3.0,
            "nominal_voltage_volt": 3.2,
            "voltage_min_volt": 2.5,
            "voltage_max_volt": 3.65,
        },
    ),
    *[
        (
            "test_session",
            {
                "session_id": sid,
                "cell_id": cell,
                "pack_id": pack,
                "protocol_name": "RPT 0.5C",
                "protocol_version": "1",
                "protocol_type": "rpt",
                "equipment": "cycler",
                "started_at": at(base),
            },
        )
        for sid, cell, pack, base in (
            (101, 101, None, 0),
            (102, 102, None, 1000),
            (103, None, 101, 2000),
            (104, 102, None, 3000),  # no rows yet: every index is free in it
        )
    ],
    *[("timeseries_point", point(101, i, 0)) for i in range(5)],
    *[("timeseries_point", point(102, i, 1000)) for i in range(3)],
    *[
        (
            "timeseries_point",
            {
                **point(103, i, 2000),
                "step_time_second": float(i),
                "charging_capacity_ah": 0.001 * i,
                "discharging_capacity_ah": 0.0,
                "charging_energy_wh": 0.0037 * i,
                "discharging_energy_wh": 0.0,
                "step_count": 1,
                "ambient_temperature_celsius": 24.5,
                "temperature_t1_celsius": 25.5,
                "temperature_t2_celsius": 26.0,
                "temperature_t3_celsius": 25.0,
                "step_type": "cc_charge",
            },
        )
        for i in range(3)
    ],
    *[row for i in range(3) for row in cells(103, i, 2000)],
    (
        "source_file",
        {
            "source_file_id": 101,
            "session_id": 101,
            "uri": "raw/cell-1_rpt.res",
            "content_sha256": "a" * 64,
            "file_format": "arbin_res",
            "cycler_software": "MITS Pro 8.0",
            "original_units": {"current": "A", "capacity": "Ah"},
            "assumed_time_zone": "Europe/Berlin",
            "record_index_first": 0,
            "record_index_last": 4,
            "imported_at": at(10000),
        },
    ),
    *[
        (
            "cycle",
            {
                "session_id": s,
                "cycle_index": c,
                "record_index_first": f,
                "record_index_last": last,
                "test_time_start_second": float(f),
                "test_time_end_second": float(last),
            },
        )
        for s, c, f, last in ((101, 0, 0, 2), (101, 1, 3, 4), (102, 0, 0, 2), (103, 0, 0, 2))
    ],
    (
        "eis_spectrum",
        {
            "spectrum_id": 101,
            "session_id": 101,
            "cycle_index": 0,
            "measured_at": at(3),
            "soc": 0.5,
            "temperature_celsius": 25.0,
            "mode": "galvanostatic 10 mA",
        },
    ),
    (
        "eis_spectrum",
        {"spectrum_id": 102, "session_id": 102, "soc": 0.2},  # nothing else stated, no points yet
    ),
    *[
        (
            "eis_point",
            {
                "spectrum_id": 101,
                "point_index": i,
                "frequency_hertz": f,
                "real_impedance_ohm": re_,
                "imaginary_impedance_ohm": im,
            },
        )
        for i, (f, re_, im) in enumerate(((1000.0, 0.021, 0.001), (1.0, 0.035, -0.008)))
    ],
    (
        "cycle_feature",
        {
            "session_id": 101,
            "cycle_index": 0,
            "feature_version": "v1",
            "discharge_capacity_ah": 4.9,
            "coulombic_efficiency": 0.99,
        },
    ),
    (
        "label_soc",
        {
            "label_soc_id": 101,
            "session_id": 101,
            "record_index": 1,
            "recorded_at": at(1),
            "method": "coulomb_counting",
            "label_version": "v1",
            "soc": 0.5,
            "reference_capacity_ah": 5.0,
            "initial_soc": 0.5,
        },
    ),
    (
        "label_soh",
        {
            "label_soh_id": 101,
            "session_id": 101,
            "cycle_index": 0,
            "definition": "capacity",
            "reference_basis": "nominal",
            "label_version": "v1",
            "soh": 0.98,
            "reference_capacity_ah": 5.0,
        },
    ),
    (
        "model_run",
        {
            "run_id": 101,
            "task": "soc",
            "model_name": "lstm",
            "model_version": "1",
            "dataset_version": "d1",
            "target_soc_method": "coulomb_counting",
            "split_spec": {"by": "cell", "train": [101], "test": [102]},
            "training_started_at": at(0),
            "code_revision": "abc123",
        },
    ),
    (
        "model_run",
        {
            "run_id": 102,
            "task": "soh",
            "model_name": "gpr",
            "model_version": "1",
            "dataset_version": "d1",
            "target_soh_definition": "capacity",
            "target_label_version": "v1",
            "feature_version": "v1",
            "split_spec": {"by": "cell"},
            "training_started_at": at(0),
            "code_revision": "abc123",
        },
    ),
    (
        "prediction",
        {
            "prediction_id": 101,
            "run_id": 101,
            "task": "soc",
            "session_id": 101,
            "record_index": 1,
            "recorded_at": at(1),
            "split": "test",
            "predicted_value": 0.51,
            "true_value": 0.5,
            "uncertainty": 0.02,
            "label_soc_id": 101,
        },
    ),
    (
        "prediction",
        {
            "prediction_id": 102,
            "run_id": 102,
            "task": "soh",
            "session_id": 101,
            "cycle_index": 0,
            "split": "test",
            "predicted_value": 0.97,
            "true_value": 0.98,
            "label_soh_id": 101,
        },
    ),
]

# One valid new row per table, consistent with SEED and clashing with none of its keys.
BASE_ROWS: dict[str, dict] = {
    "battery_pack": {
        "manufacturer": "acme",
        "model_name": "P2",
        "serial_number": "pack-new",
        "chemistry": "LFP",
        "series_count": 4,
        "parallel_count": 2,
        "nominal_capacity_ah": 10.0,
        "nominal_voltage_volt": 12.8,
        "voltage_min_volt": 10.0,
        "voltage_max_volt": 14.6,
    },
    "battery_cell": {
        "manufacturer": "acme",
        "model_name": "C2",
        "serial_number": "cell-new",
        "chemistry": "NMC",
        "form_factor": "pouch",
        "nominal_capacity_ah": 5.0,
        "nominal_voltage_volt": 3.6,
        "voltage_min_volt": 2.5,
        "voltage_max_volt": 4.2,
    },
    "test_session": {
        "cell_id": 102,
        "protocol_name": "HPPC",
        "protocol_version": "2",
        "protocol_type": "hppc",
        "equipment": "cycler",
        "channel": "7",
        "ambient_temperature_celsius": 25.0,
        "charge_c_rate": 0.5,
        "discharge_c_rate": 1.0,
        "started_at": at(5000),
    },
    "cycle": {
        "session_id": 102,
        "cycle_index": 5,
        "record_index_first": 10,
        "record_index_last": 20,
        "test_time_start_second": 10.0,
        "test_time_end_second": 20.0,
        "cycle_type": "reference",
    },
    "timeseries_point": {**point(102, 10, 1000)},
    "cycle_feature": {
        "session_id": 101,
        "cycle_index": 1,
        "feature_version": "v1",
        "charge_capacity_ah": 5.0,
        "discharge_capacity_ah": 4.9,
        "charge_energy_wh": 18.5,
        "discharge_energy_wh": 17.6,
        "coulombic_efficiency": 0.98,
        "energy_efficiency": 0.95,
        "dc_internal_resistance_ohm": 0.02,
        "dcir_pulse_current_ampere": -10.0,
        "dcir_pulse_duration_second": 10.0,
        "dcir_soc": 0.5,
        "voltage_max_volt": 4.2,
        "voltage_min_volt": 2.5,
        "voltage_mean_volt": 3.6,
        "current_max_ampere": 2.5,
        "current_min_ampere": -5.0,
        "temperature_max_celsius": 35.0,
        "temperature_mean_celsius": 28.0,
        "temperature_min_celsius": 24.0,
        "cv_time_second": 600.0,
        "cv_capacity_ah": 0.3,
        "charge_throughput_ah": 120.0,
    },
    "label_soc": {
        "session_id": 101,
        "record_index": 2,
        "recorded_at": at(2),
        "method": "coulomb_counting",
        "label_version": "v1",
        "soc": 0.6,
        "reference_capacity_ah": 5.0,
        "initial_soc": 0.5,
        "ocv_table": "ocv-nmc-1",
    },
    "label_soh": {
        "session_id": 101,
        "cycle_index": 1,
        "definition": "capacity",
        "reference_basis": "first_measured",
        "label_version": "v1",
        "soh": 0.97,
        "reference_capacity_ah": 5.0,
        "reference_resistance_ohm": 0.02,
        "reference_energy_wh": 18.0,
    },
    "model_run": {
        "task": "soc",
        "model_name": "cnn",
        "model_version": "2",
        "dataset_version": "d2",
        "target_soc_method": "ocv_lookup",
        "target_label_version": "v1",
        "split_spec": {"by": "cell"},
        "hyperparameters": {"lr": 0.001},
        "training_started_at": at(0),
        "training_finished_at": at(3600),
        "rmse": 0.02,
        "mae": 0.01,
        "max_error": 0.05,
        "code_revision": "def456",
        "random_seed": 7,
    },
    "prediction": {
        "run_id": 101,
        "task": "soc",
        "session_id": 101,
        "record_index": 2,
        "recorded_at": at(2),
        "split": "validation",
        "predicted_value": 0.6,
        "true_value": 0.61,
        "uncertainty": 0.01,
        "label_soc_id": 101,
    },
    "cell_channel_point": {
        "recorded_at": at(2000),
        "session_id": 103,
        "record_index": 0,
        "cell_id": 102,
        "voltage_volt": 3.3,
        "temperature_celsius": 24.0,
    },
    "eis_spectrum": {
        "session_id": 101,
        "cycle_index": 1,
        "measured_at": at(4),
        "soc": 0.8,
        "temperature_celsius": 10.0,
        "mode": "potentiostatic 5 mV",
    },
    "eis_point": {
        "spectrum_id": 102,
        "point_index": 0,
        "frequency_hertz": 0.1,
        "real_impedance_ohm": 0.05,
        "imaginary_impedance_ohm": -0.012,
    },
    "source_file": {
        "session_id": 101,
        "uri": "raw/cell-1_rpt_part2.res",
        "content_sha256": "b" * 64,
        "file_format": "arbin_res",
        "cycler_software": "MITS Pro 8.0",
        "original_units": {"current": "mA"},
        "assumed_time_zone": "America/Chicago",
        "record_index_first": 5,
        "record_index_last": 9,
        "imported_at": at(20000),
    },
}


def load_seed(conn) -> None:
    for table, row in SEED:
        conn.insert(table, row)
