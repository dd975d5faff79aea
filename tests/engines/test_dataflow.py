"""The data flow, end to end, on every engine: register assets, create sessions, record a few
thousand samples of a charge/discharge profile, segment cycles, extract features, label SOC
(coulomb counting) and SOH (capacity-based), record model runs and predictions; then query each
step back. The same data and the same derivations (derive/, the product's SQL) run on SQLite,
PostgreSQL 15/18 and TimescaleDB; the answers must be right (checked against the known profile)
and the same on every engine.
"""

from __future__ import annotations

import contextlib

import pytest

from tests.engines.flow import (
    CAPACITY_AH,
    CHARGE_S,
    CURRENT_A,
    CYCLES,
    FADE,
    QUERIES,
    SPREAD_V,
    STEP_S,
    run_flow,
    same_row,
)
from tests.support.dbkit import pg_conn, sqlite_conn

# every test reads `answers`, which starts every engine
pytestmark = pytest.mark.engines


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


def test_test_time_second_comes_back_by_name_to_the_microsecond(answers):
    """TimescaleDB stores test_started_at instead (schema.yaml: elapsed_as_start); the view
    gives every sample's test_time_second back, within 1 us of what was written."""
    reference = answers["sqlite"]["test time of every sample"]
    assert len(reference) > 1000
    for engine in ENGINES[1:]:
        got = answers[engine]["test time of every sample"]
        assert [r[:2] for r in got] == [r[:2] for r in reference], engine
        worst = max(abs(a[2] - b[2]) for a, b in zip(got, reference, strict=True))
        assert worst <= 1e-6, f"{engine}: test_time_second differs by up to {worst} s"
        assert all(isinstance(r[2], float) for r in got), engine


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


def test_cycler_counters_agree_with_integration(answers):
    rows = answers["sqlite"]["cycler counters per cycle"]
    features = answers["sqlite"]["cycles with features"]
    assert len(rows) == len(features) == 2 * CYCLES
    for (sid, cycle, charged, discharged, steps, kinds), feature in zip(
        rows, features, strict=True
    ):
        assert (sid, cycle) == feature[:2]
        # the features take the counters' increments, the one into a cycle's first sample
        # included (derive/, docs/deriving.md); max - min within the cycle misses that one:
        # one step of charge, at most
        assert charged == pytest.approx(feature[3], abs=CURRENT_A * STEP_S / 3600 + 1e-3)
        assert discharged == pytest.approx(feature[4], abs=CURRENT_A * STEP_S / 3600 + 1e-3)
        assert steps == 2 * (cycle + 1) and kinds == 2


def test_pack_test_gives_cell_voltage_spread_per_cycle(answers):
    rows = answers["sqlite"]["cell voltage spread per cycle"]
    assert [r[0] for r in rows] == list(range(CYCLES))
    for cycle, readings, spread in rows:
        assert readings > 0
        assert spread == pytest.approx(SPREAD_V * (cycle + 1), abs=1e-4)


def test_eis_and_provenance(answers):
    assert answers["sqlite"]["eis spectrum"] == [(0, 0.5, 8, 0.02, -0.007)]
    sessions = answers["sqlite"]["sessions"]
    assert answers["sqlite"]["source files per session"] == [
        (sessions[0], 2, "Europe/Berlin", 2000)
    ]


def test_predictions_reference_their_label_rows(answers):
    rows = {r[0]: r for r in answers["sqlite"]["predictions against label rows"]}
    assert rows["soc"][1] == rows["soc"][2] > 0  # every SOC prediction matches its label row
    assert rows["soh"][1] == rows["soh"][2] == 2 * CYCLES
    assert (rows["soc"][3], rows["soh"][3]) == ("cc-1", "soh-1")
