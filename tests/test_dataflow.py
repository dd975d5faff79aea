"""The data flow, end to end, on every engine: register assets, create sessions, record a few
thousand samples of a charge/discharge profile, segment cycles, extract features, label SOC
(coulomb counting) and SOH (capacity-based), record model runs and predictions; then query each
step back. The same data and the same SQL run on SQLite, PostgreSQL 15/18 and TimescaleDB; the
answers must be right (checked against the known profile) and the same on every engine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math

import pytest
from dbkit import pg_conn, sqlite_conn

T0 = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)
CAPACITY_AH = 5.0
CURRENT_A = 5.0  # 1C
STEP_S = 10.0
CHARGE_S = 3420.0  # 0.95 of the capacity at 1C
CYCLES = 3
FADE = 0.01  # each cycle delivers 1 % less on discharge


def profile(session_id: int, start: dt.datetime, fade_offset: int):
    """CC charge then CC discharge, CYCLES times, sampled every STEP_S seconds."""
    rows, index, t, soc = [], 0, 0.0, 0.0
    for cycle in range(CYCLES):
        discharge_s = CHARGE_S * (1 - FADE * (cycle + fade_offset))
        for step, current, duration in ((1, CURRENT_A, CHARGE_S), (2, -CURRENT_A, discharge_s)):
            for _ in range(int(duration / STEP_S)):
                soc += current * STEP_S / 3600 / CAPACITY_AH
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
    "cycle_index",
    "voltage_volt",
    "current_ampere",
    "temperature_celsius",
    "step_index",
]

# Per-sample time step, by window function (the first sample of a session has none).
WITH_DT = """(SELECT session_id, record_index, recorded_at, cycle_index, voltage_volt,
                     current_ampere, temperature_celsius,
                     COALESCE(test_time_second - LAG(test_time_second) OVER (
                         PARTITION BY session_id ORDER BY record_index), 0) AS dt
              FROM timeseries_point) s"""

STEPS = [
    (
        "segment cycles",
        """
        INSERT INTO cycle (session_id, cycle_index, record_index_first, record_index_last,
                           test_time_start_second, test_time_end_second)
        SELECT session_id, cycle_index, min(record_index), max(record_index),
               min(test_time_second), max(test_time_second)
        FROM timeseries_point GROUP BY session_id, cycle_index""",
    ),
    (
        "extract cycle features",
        f"""
        INSERT INTO cycle_feature (session_id, cycle_index, feature_version,
            charge_capacity_ah, discharge_capacity_ah, coulombic_efficiency,
            voltage_max_volt, voltage_min_volt, voltage_mean_volt,
            current_max_ampere, current_min_ampere,
            temperature_max_celsius, temperature_mean_celsius, temperature_min_celsius)
        SELECT session_id, cycle_index, 'fx-1',
               sum(CASE WHEN current_ampere > 0 THEN current_ampere * dt ELSE 0 END) / 3600.0,
               sum(CASE WHEN current_ampere < 0 THEN -current_ampere * dt ELSE 0 END) / 3600.0,
               sum(CASE WHEN current_ampere < 0 THEN -current_ampere * dt ELSE 0 END)
                 / sum(CASE WHEN current_ampere > 0 THEN current_ampere * dt ELSE 0 END),
               max(voltage_volt), min(voltage_volt), avg(voltage_volt),
               max(current_ampere), min(current_ampere),
               max(temperature_celsius), avg(temperature_celsius), min(temperature_celsius)
        FROM {WITH_DT} GROUP BY session_id, cycle_index""",
    ),
    (
        "label SOC by coulomb counting",
        f"""
        INSERT INTO label_soc (session_id, record_index, recorded_at, method, label_version,
                               soc, reference_capacity_ah, initial_soc)
        SELECT session_id, record_index, recorded_at, 'coulomb_counting', 'cc-1',
               0.0 + sum(current_ampere * dt) OVER (PARTITION BY session_id
                   ORDER BY record_index ROWS UNBOUNDED PRECEDING) / 3600.0 / {CAPACITY_AH},
               {CAPACITY_AH}, 0.0
        FROM {WITH_DT}""",
    ),
    (
        "label SOH by capacity",
        f"""
        INSERT INTO label_soh (session_id, cycle_index, definition, reference_basis,
                               label_version, soh, reference_capacity_ah)
        SELECT session_id, cycle_index, 'capacity', 'nominal', 'soh-1',
               discharge_capacity_ah / {CAPACITY_AH}, {CAPACITY_AH}
        FROM cycle_feature""",
    ),
]

QUERIES = {
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
    "model metrics": """
        SELECT task, model_name, round(CAST(rmse AS numeric), 4), round(CAST(mae AS numeric), 4)
        FROM model_run ORDER BY task""",
}


def run_flow(conn) -> dict[str, list[tuple]]:
    """Write every step, then answer every query. Returns {query name: rows}."""
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
    for _name, statement in STEPS:
        conn.execute(statement)
    conn.insert(
        "model_run",
        {
            "task": "soc",
            "model_name": "lstm",
            "model_version": "1",
            "dataset_version": "d1",
            "target_soc_method": "coulomb_counting",
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
            "split_spec": {"by": "cell", "test": [cell]},
            "training_started_at": T0,
            "code_revision": "abc",
        },
    )
    runs = dict(conn.query("SELECT task, run_id FROM model_run"))
    conn.execute(
        """
        INSERT INTO prediction (run_id, task, session_id, record_index, recorded_at, split,
                                predicted_value, true_value)
        SELECT %s, 'soc', session_id, record_index, recorded_at, 'test', soc + 0.01, soc
        FROM label_soc WHERE session_id = %s""",
        (runs["soc"], sessions[1]),
    )
    conn.execute(
        """
        INSERT INTO prediction (run_id, task, session_id, cycle_index, split, predicted_value,
                                true_value)
        SELECT %s, 'soh', session_id, cycle_index, 'test', soh - 0.02, soh FROM label_soh""",
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
    params = {"soc training window": (sessions[0],), "soh trend of a cell": (cell,)}
    answers = {}
    for name, query in QUERIES.items():
        text = query if conn.kind != "sqlite" else query.replace("AS numeric", "AS REAL")
        answers[name] = conn.query(text, params.get(name, ()))
    answers["sessions"] = sessions
    return answers


@pytest.fixture(scope="module")
def answers(request, tmp_path_factory):
    results = {}
    with contextlib.ExitStack() as stack:
        conns = [stack.enter_context(sqlite_conn(tmp_path_factory.mktemp("flow")))]
        for fixture, target in (
            ("pg15", "postgres"),
            ("pg18", "postgres"),
            ("timescale", "timescaledb"),
        ):
            engine = request.getfixturevalue(fixture)
            conns.append(stack.enter_context(pg_conn(engine, target, "flow")))
        for conn in conns:
            results[conn.name] = run_flow(conn)
    return results


ENGINES = ("sqlite", "postgres15", "postgres18", "timescaledb")


@pytest.mark.parametrize("query", list(QUERIES))
def test_every_engine_gives_the_same_answer(answers, query):
    reference = answers["sqlite"][query]
    assert reference, f"{query}: no rows"
    for engine in ENGINES[1:]:
        got = answers[engine][query]
        assert len(got) == len(reference), f"{query}: {engine} has {len(got)} rows"
        for mine, theirs in zip(got, reference, strict=True):
            assert same_row(mine, theirs), f"{query}: {engine} {mine} != sqlite {theirs}"


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


def test_cycles_and_features_match_the_profile(answers):
    rows = answers["sqlite"]["cycles with features"]
    assert len(rows) == 2 * CYCLES
    expected_charge = CURRENT_A * (int(CHARGE_S / STEP_S)) * STEP_S / 3600
    for n, (_sid, cycle, samples, charge, discharge) in enumerate(rows):
        fade = 1 - FADE * (cycle + (n // CYCLES) * CYCLES)
        # the first sample of a session has no time step: one step less of charge
        assert charge == pytest.approx(expected_charge, abs=CURRENT_A * STEP_S / 3600 + 1e-3)
        assert discharge == pytest.approx(CURRENT_A * CHARGE_S * fade / 3600, rel=5e-3)
        assert samples == int(CHARGE_S / STEP_S) + int(CHARGE_S * fade / STEP_S)


def test_soc_labels_follow_coulomb_counting(answers):
    count, _mean_voltage, soc_min, soc_max = answers["sqlite"]["soc training window"][0]
    assert count == 401  # samples with 1000 s <= test time <= 5000 s at 10 s steps
    assert 0.0 <= soc_min < soc_max <= 1.05


def test_soh_trend_fades_across_sessions(answers):
    trend = [row[2] for row in answers["sqlite"]["soh trend of a cell"]]
    assert len(trend) == 2 * CYCLES
    assert trend == sorted(trend, reverse=True), "capacity-based SOH must fade"
    assert trend[0] == pytest.approx(CHARGE_S * CURRENT_A / 3600 / CAPACITY_AH, rel=5e-3)


def test_predictions_trace_to_run_point_or_cycle_session_and_asset(answers):
    rows = {r[0]: r for r in answers["sqlite"]["prediction traceability"]}
    soc_points = sum(
        int(CHARGE_S / STEP_S) + int(CHARGE_S * (1 - FADE * (c + CYCLES)) / STEP_S)
        for c in range(CYCLES)
    )
    assert rows["soc"][1:] == (soc_points, 1, "C-1", soc_points)
    assert rows["soh"][1:] == (2 * CYCLES, 2, "C-1", 2 * CYCLES)
    metrics = {r[0]: r for r in answers["sqlite"]["model metrics"]}
    assert metrics["soc"][2] == pytest.approx(0.01, abs=1e-4)
    assert metrics["soh"][2] == pytest.approx(0.02, abs=1e-4)
