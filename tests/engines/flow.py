"""The data flow of tests/engines/test_dataflow.py, shared by the room (test_clickhouse.py runs it
too): a known charge/discharge profile recorded, derived and queried back through one connection
(tests/support/dbkit.py Conn, or chkit ClickHouseConn), and the comparison of answers across
engines.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

import derive
from generator import load_schema
from tests.support.dbkit import ROOT

SCHEMA = load_schema(ROOT / "schema.yaml")

T0 = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)
CAPACITY_AH = 5.0
CURRENT_A = 5.0  # 1C
STEP_S = 10.0
CHARGE_S = 3420.0  # 0.95 of the capacity at 1C
CYCLES = 3
FADE = 0.01  # each cycle delivers 1 % less on discharge


def profile(session_id: int, start: dt.datetime, fade_offset: int):
    """CC charge then CC discharge, CYCLES times, sampled every STEP_S seconds, with the
    cycler's own cumulative counters (BDF charging/discharging capacity), its step counter,
    step time and step type."""
    rows, index, t, soc = [], 0, 0.0, 0.0
    charged = discharged = 0.0
    step_count = 0
    for cycle in range(CYCLES):
        discharge_s = CHARGE_S * (1 - FADE * (cycle + fade_offset))
        for step, current, duration, kind in (
            (1, CURRENT_A, CHARGE_S, "cc_charge"),
            (2, -CURRENT_A, discharge_s, "cc_discharge"),
        ):
            step_count += 1
            for n in range(int(duration / STEP_S)):
                soc += current * STEP_S / 3600 / CAPACITY_AH
                if current > 0:
                    charged += current * STEP_S / 3600
                else:
                    discharged -= current * STEP_S / 3600
                voltage = round(3.0 + 1.2 * soc + (0.05 if current > 0 else -0.05), 4)
                temperature = round(25.0 + 3.0 * abs(current) / CURRENT_A * soc, 2)
                rows.append(
                    (
                        start + dt.timedelta(seconds=t),
                        t,
                        session_id,
                        index,
                        cycle,
                        voltage,
                        current,
                        temperature,
                        step,
                        kind,
                        n * STEP_S,
                        step_count,
                        charged,
                        discharged,
                    )
                )
                index += 1
                t += STEP_S
    return rows


POINT_COLUMNS = [
    "recorded_at",
    "test_time_second",
    "session_id",
    "record_index",
    "cycle_count",
    "voltage_volt",
    "current_ampere",
    "surface_temperature_celsius",
    "step_id",
    "step_type",
    "step_time_second",
    "step_count",
    "charging_capacity_ah",
    "discharging_capacity_ah",
]


DERIVED_TABLES = ("cycle", "cycle_feature", "label_soc", "label_soh")


def derive_session_data(conn, derived_from=None) -> None:
    """Segment cycles, extract features, label SOC (coulomb counting) and SOH (capacity) with
    the product's derivations (derive/), inside the test's open transaction: the same SQL on
    every engine. SOC and SOH labels carry their own label versions, so two runs.

    derive/ does not target ClickHouse: there the rows derived on `derived_from` (a connection
    holding the same samples) are copied, as a ClickHouse user copies them from a database
    derive/ ran on, and the flow still proves the ClickHouse schema holds and answers them."""
    if derived_from is not None:
        copy_derived_rows(derived_from, conn)
        return
    derive.run(
        conn.raw,
        what=["cycles", "features", "soc"],
        feature_version="fx-1",
        label_version="cc-1",
        reference_capacity_ah=CAPACITY_AH,
        initial_soc=0.0,
    )
    derive.run(conn.raw, what=["soh"], feature_version="fx-1", label_version="soh-1")


def copy_derived_rows(source, target) -> None:
    """The derived tables' rows, without their surrogate keys (the target makes its own)."""
    for table in (t for t in SCHEMA.tables if t.name in DERIVED_TABLES):
        columns = [c.name for c in table.columns if not c.identity]
        rows = source.query(
            f"SELECT {', '.join(columns)} FROM {table.name} ORDER BY {', '.join(columns[:2])}"
        )
        if "recorded_at" in columns:  # Unix seconds on SQLite
            at = columns.index("recorded_at")
            rows = [(*r[:at], dt.datetime.fromtimestamp(r[at], dt.UTC), *r[at + 1 :]) for r in rows]
        target.insert_many(table.name, columns, rows)


QUERIES = {
    # every sample's test time, by the name users query (on TimescaleDB timeseries_point is a
    # view that computes it from the stored test_started_at)
    "test time of every sample": """
        SELECT session_id, record_index, test_time_second FROM timeseries_point
        ORDER BY session_id, record_index""",
    # SOC training rows: samples joined with their labels, one session, time order
    "soc training window": """
        SELECT count(*), round(CAST(avg(p.voltage_volt) AS numeric), 3),
               round(CAST(min(l.soc) AS numeric), 3), round(CAST(max(l.soc) AS numeric), 3)
        FROM timeseries_point p
        JOIN label_soc l ON l.session_id = p.session_id AND l.record_index = p.record_index
        WHERE p.session_id = %s AND p.test_time_second BETWEEN 1000 AND 5000""",
    # SOH trend: labels per cycle for one cell, across its sessions
    "soh trend of a cell": """
        SELECT s.session_id, h.cycle_index, round(CAST(h.soh AS numeric), 4)
        FROM label_soh h
        JOIN test_session s ON s.session_id = h.session_id
        WHERE s.cell_id = %s ORDER BY s.started_at, h.cycle_index""",
    "cycles with features": """
        SELECT c.session_id, c.cycle_index, c.record_index_last - c.record_index_first + 1,
               round(CAST(f.charge_capacity_ah AS numeric), 3),
               round(CAST(f.discharge_capacity_ah AS numeric), 3)
        FROM cycle c JOIN cycle_feature f
          ON f.session_id = c.session_id AND f.cycle_index = c.cycle_index
        ORDER BY c.session_id, c.cycle_index""",
    # every prediction traced to its run, its point or cycle, the session and the asset
    "prediction traceability": """
        SELECT r.task, count(*), count(DISTINCT p.session_id), min(b.serial_number),
               sum(CASE WHEN pt.record_index IS NOT NULL OR c.cycle_index IS NOT NULL
                   THEN 1 ELSE 0 END)
        FROM prediction p
        JOIN model_run r ON r.run_id = p.run_id AND r.task = p.task
        JOIN test_session s ON s.session_id = p.session_id
        JOIN battery_cell b ON b.cell_id = s.cell_id
        LEFT JOIN timeseries_point pt
          ON pt.session_id = p.session_id AND pt.record_index = p.record_index
        LEFT JOIN cycle c ON c.session_id = p.session_id AND c.cycle_index = p.cycle_index
        GROUP BY r.task ORDER BY r.task""",
    # the cycler's own counters per cycle, next to the derived features
    "cycler counters per cycle": """
        SELECT p.session_id, p.cycle_count,
               round(CAST(max(p.charging_capacity_ah) - min(p.charging_capacity_ah)
                          AS numeric), 3),
               round(CAST(max(p.discharging_capacity_ah) - min(p.discharging_capacity_ah)
                          AS numeric), 3),
               max(p.step_count), count(DISTINCT p.step_type)
        FROM timeseries_point p JOIN test_session s ON s.session_id = p.session_id
        WHERE s.cell_id IS NOT NULL
        GROUP BY p.session_id, p.cycle_count ORDER BY p.session_id, p.cycle_count""",
    # pack-to-cell: the largest cell voltage spread within one sample, per cycle of a pack test
    "cell voltage spread per cycle": """
        SELECT cycle_count, count(*), round(CAST(max(spread) AS numeric), 4)
        FROM (SELECT p.cycle_count, max(c.voltage_volt) - min(c.voltage_volt) AS spread
              FROM cell_channel_point c
              JOIN timeseries_point p
                ON p.session_id = c.session_id AND p.record_index = c.record_index
              JOIN test_session s ON s.session_id = p.session_id
              JOIN battery_cell b ON b.cell_id = c.cell_id AND b.pack_id = s.pack_id
              GROUP BY p.session_id, p.record_index, p.cycle_count) per_sample
        GROUP BY cycle_count ORDER BY cycle_count""",
    "eis spectrum": """
        SELECT s.cycle_index, round(CAST(s.soc AS numeric), 2), count(*),
               round(CAST(min(e.real_impedance_ohm) AS numeric), 4),
               round(CAST(min(e.imaginary_impedance_ohm) AS numeric), 4)
        FROM eis_spectrum s JOIN eis_point e ON e.spectrum_id = s.spectrum_id
        GROUP BY s.spectrum_id, s.cycle_index, s.soc ORDER BY s.spectrum_id""",
    "source files per session": """
        SELECT f.session_id, count(*), min(f.assumed_time_zone), max(f.record_index_last)
        FROM source_file f GROUP BY f.session_id ORDER BY f.session_id""",
    # a prediction traced to the very label row it was compared with
    "predictions against label rows": """
        SELECT p.task, count(*),
               sum(CASE WHEN abs(COALESCE(ls.soc, lh.soh) - p.true_value) < 1e-6
                   THEN 1 ELSE 0 END),
               min(r.target_label_version)
        FROM prediction p
        JOIN model_run r ON r.run_id = p.run_id
        LEFT JOIN label_soc ls ON ls.label_soc_id = p.label_soc_id
        LEFT JOIN label_soh lh ON lh.label_soh_id = p.label_soh_id
        GROUP BY p.task ORDER BY p.task""",
    "model metrics": """
        SELECT task, model_name, round(CAST(rmse AS numeric), 4), round(CAST(mae AS numeric), 4)
        FROM model_run ORDER BY task""",
}


def run_flow(conn, derived_from=None) -> dict[str, list[tuple]]:
    """Write every step, then answer every query. Returns {query name: rows}. `derived_from`:
    see derive_session_data."""
    conn.insert(
        "battery_pack",
        {
            "manufacturer": "acme",
            "model_name": "P2S",
            "serial_number": "PK-1",
            "chemistry": "NMC",
            "series_count": 2,
            "parallel_count": 1,
            "nominal_capacity_ah": CAPACITY_AH,
            "nominal_voltage_volt": 7.2,
            "voltage_min_volt": 5.0,
            "voltage_max_volt": 8.4,
        },
    )
    pack_id = conn.query("SELECT pack_id FROM battery_pack WHERE serial_number = 'PK-1'")[0][0]
    for serial, position in (("C-1", 1), ("C-2", 2)):
        conn.insert(
            "battery_cell",
            {
                "pack_id": pack_id,
                "series_position": position,
                "parallel_position": 1,
                "manufacturer": "acme",
                "model_name": "INR18650",
                "serial_number": serial,
                "chemistry": "NMC",
                "form_factor": "cylindrical",
                "nominal_capacity_ah": CAPACITY_AH,
                "nominal_voltage_volt": 3.6,
                "voltage_min_volt": 2.5,
                "voltage_max_volt": 4.2,
            },
        )
    cell = conn.query("SELECT cell_id FROM battery_cell WHERE serial_number = 'C-1'")[0][0]
    sessions = []
    for n, start in enumerate((T0, T0 + dt.timedelta(days=30))):
        conn.insert(
            "test_session",
            {
                "cell_id": cell,
                "protocol_name": "1C cycling",
                "protocol_version": "1",
                "protocol_type": "cycle_aging",
                "equipment": "cycler",
                "channel": str(n + 1),
                "ambient_temperature_celsius": 25.0,
                "charge_c_rate": 1.0,
                "discharge_c_rate": 1.0,
                "started_at": start,
                "source_file": f"run{n}.csv",
            },
        )
        sid = conn.query(
            "SELECT session_id FROM test_session WHERE source_file = %s", (f"run{n}.csv",)
        )[0][0]
        sessions.append(sid)
        conn.insert_many(
            "timeseries_point", POINT_COLUMNS, profile(sid, start, fade_offset=n * CYCLES)
        )
    derive_session_data(conn, derived_from)
    conn.insert(
        "model_run",
        {
            "task": "soc",
            "model_name": "lstm",
            "model_version": "1",
            "dataset_version": "d1",
            "target_soc_method": "coulomb_counting",
            "target_label_version": "cc-1",
            "split_spec": {"by": "cell", "train": [], "test": [cell]},
            "training_started_at": T0,
            "training_finished_at": T0 + dt.timedelta(hours=2),
            "code_revision": "abc",
            "random_seed": 1,
        },
    )
    conn.insert(
        "model_run",
        {
            "task": "soh",
            "model_name": "gpr",
            "model_version": "1",
            "dataset_version": "d1",
            "target_soh_definition": "capacity",
            "target_label_version": "soh-1",
            "feature_version": "fx-1",
            "split_spec": {"by": "cell", "test": [cell]},
            "training_started_at": T0,
            "code_revision": "abc",
        },
    )
    runs = dict(conn.query("SELECT task, run_id FROM model_run"))
    conn.execute(
        """
        INSERT INTO prediction (run_id, task, session_id, record_index, recorded_at, split,
                                predicted_value, true_value, uncertainty, label_soc_id)
        SELECT %s, 'soc', session_id, record_index, recorded_at, 'test', soc + 0.01, soc,
               0.005, label_soc_id
        FROM label_soc WHERE session_id = %s""",
        (runs["soc"], sessions[1]),
    )
    conn.execute(
        """
        INSERT INTO prediction (run_id, task, session_id, cycle_index, split, predicted_value,
                                true_value, label_soh_id)
        SELECT %s, 'soh', session_id, cycle_index, 'test', soh - 0.02, soh, label_soh_id
        FROM label_soh""",
        (runs["soh"],),
    )
    for run_id in runs.values():
        mse, mae = conn.query(
            """SELECT avg((predicted_value - true_value)
                                          * (predicted_value - true_value)),
                                      avg(abs(predicted_value - true_value))
                                 FROM prediction WHERE run_id = %s""",
            (run_id,),
        )[0]
        conn.execute(
            "UPDATE model_run SET rmse = %s, mae = %s WHERE run_id = %s",
            (math.sqrt(mse), mae, run_id),
        )
    record_pack_test(conn, pack_id)
    record_provenance_and_impedance(conn, sessions[0])
    params = {"soc training window": (sessions[0],), "soh trend of a cell": (cell,)}
    answers = {}
    for name, query in QUERIES.items():
        text = query if conn.kind != "sqlite" else query.replace("AS numeric", "AS REAL")
        answers[name] = conn.query(text, params.get(name, ()))
    answers["sessions"] = sessions
    return answers


SPREAD_V = 0.002  # cell 2 drifts this much further from cell 1 with every cycle


def record_pack_test(conn, pack_id: int) -> None:
    """A pack session (after the cell steps, so they stay about the cell) with the voltage
    of each of its two series cells recorded with every sample."""
    start = T0 + dt.timedelta(days=60)
    conn.insert(
        "test_session",
        {
            "pack_id": pack_id,
            "protocol_name": "pack 1C cycling",
            "protocol_type": "cycle_aging",
            "started_at": start,
            "source_file": "pack.csv",
        },
    )
    sid = conn.query("SELECT session_id FROM test_session WHERE source_file = 'pack.csv'")[0][0]
    points = profile(sid, start, fade_offset=0)
    conn.insert_many("timeseries_point", POINT_COLUMNS, points)
    cells = dict(
        conn.query(
            "SELECT series_position, cell_id FROM battery_cell WHERE pack_id = %s", (pack_id,)
        )
    )
    rows = []
    for at_, _t, _sid, index, cycle, voltage, *_ in points:
        half = voltage / 2
        rows.append((at_, sid, index, cells[1], half, 25.0))
        rows.append((at_, sid, index, cells[2], half - SPREAD_V * (cycle + 1), 25.5))
    conn.insert_many(
        "cell_channel_point",
        [
            "recorded_at",
            "session_id",
            "record_index",
            "cell_id",
            "voltage_volt",
            "temperature_celsius",
        ],
        rows,
    )


def record_provenance_and_impedance(conn, session_id: int) -> None:
    """Two files for one session; one EIS sweep after its first cycle."""
    for n, zone in enumerate(("Europe/Berlin", "Europe/Berlin")):
        conn.insert(
            "source_file",
            {
                "session_id": session_id,
                "uri": f"raw/run0_part{n}.res",
                "content_sha256": f"{n:064x}",
                "file_format": "arbin_res",
                "cycler_software": "MITS Pro 8.0",
                "original_units": {"current": "mA"},
                "assumed_time_zone": zone,
                "record_index_first": 0 if n == 0 else 1000,
                "record_index_last": 999 if n == 0 else 2000,
                "imported_at": T0 + dt.timedelta(days=90),
            },
        )
    conn.insert(
        "eis_spectrum",
        {"session_id": session_id, "cycle_index": 0, "soc": 0.5, "temperature_celsius": 25.0},
    )
    spectrum = conn.query("SELECT max(spectrum_id) FROM eis_spectrum")[0][0]
    conn.insert_many(
        "eis_point",
        [
            "spectrum_id",
            "point_index",
            "frequency_hertz",
            "real_impedance_ohm",
            "imaginary_impedance_ohm",
        ],
        [(spectrum, i, 10.0 ** (4 - i), 0.02 + 0.005 * i, -0.001 * i) for i in range(8)],
    )


def same_row(mine: tuple, theirs: tuple) -> bool:
    """Numbers within float4 rounding (PostgreSQL stores real as 4 bytes, SQLite as 8)."""
    if len(mine) != len(theirs):
        return False
    for a, b in zip(mine, theirs, strict=True):
        if isinstance(a, int | float) and isinstance(b, int | float):
            if a != pytest.approx(b, rel=1e-3, abs=2e-3):
                return False
        elif a != b:
            return False
    return True
