"""docs/features.md's pictures (demo/plots.py FEATURE_PLOTS, drawn by docs_hooks.py at site
build time): they are drawn from the rows derive wrote (cycle_curve, cycle_curve_feature,
cycle_feature) of the demo database, the same database gives the same bytes, and every number
the page quotes about them is the database's (an edited figure or number fails here).

The SQLite demo database built once per test session (tests/conftest.py sqlite_demo), which
the demo's and the cookbook's tests read too: the curves of a session do not depend on the
others', so the docs build's (the BDF sessions only) draws the same pictures."""

from __future__ import annotations

import numpy as np
import pytest

import demo
from demo.database import DELTA_Q_CYCLES
from ingest.db import connect
from tests.support.dbkit import ROOT

# slow: the demo database (built once per session), its feature plots drawn
pytestmark = pytest.mark.slow

PAGE = ROOT / "docs" / "features.md"


class Built:
    def __init__(self, url: str):
        self.url = url
        self.session = demo.build(url).sessions["cell_aging"]  # built: finds every file loaded

    def query(self, sql: str, params=()) -> list[tuple]:
        db = connect(self.url)
        try:
            return [tuple(r) for r in db.query(sql, params)]
        finally:
            db.close()

    def curve(self, cycle: int, column: str) -> dict[int, tuple[float, float]]:
        """point_index -> (voltage, column) of a discharge curve on the voltage grid."""
        rows = self.query(
            f"SELECT point_index, voltage_volt, {column} FROM cycle_curve WHERE session_id = %s "
            "AND cycle_index = %s AND direction = 'discharge' AND grid = 'voltage' "
            f"AND {column} IS NOT NULL",
            [self.session, cycle],
        )
        return {r[0]: (r[1], r[2]) for r in rows}


@pytest.fixture(scope="module")
def built(sqlite_demo) -> Built:
    return Built(sqlite_demo)


@pytest.fixture(scope="module")
def drawn(built) -> dict[str, str]:
    from demo import plots

    return plots.draw(built.url, plots.FEATURE_PLOTS)


@pytest.fixture(scope="module")
def page() -> str:
    # the text as read, not as wrapped: one space for every run of spaces and line breaks
    return " ".join(PAGE.read_text(encoding="utf-8").split())


def test_the_feature_plots_are_deterministic_and_on_the_page(built, drawn, page):
    from demo import plots

    assert set(drawn) == set(plots.FEATURE_PLOTS) and len(drawn) == 4
    assert drawn == plots.draw(built.url, plots.FEATURE_PLOTS)
    for name, svg in drawn.items():
        assert f"](demo-plots/{name})" in page, name
        assert "<dc:date>" not in svg and svg.count("<path") > 5, name


def test_the_curves_are_the_stored_q_of_v(built, drawn, page):
    """Six discharge curves, cycle_index 1 to the last, each labelled with its stored Q at the
    grid's lowest voltage; the page quotes the first and the last."""
    svg = drawn["feature-curves.svg"]
    assert "cycle_curve.capacity_ah" in svg and svg.count(": Q = ") == 6
    ends = {}
    for cycle in (1, 39):
        points = built.curve(cycle, "capacity_ah")
        volts, q = points[min(points)]
        assert q == max(v for _, v in points.values())  # the discharge's end: its most charge
        assert f"cycle_index {cycle}: Q = {q:.3f} Ah at {volts:.2f} V" in svg
        ends[cycle] = q, volts
    assert f"grid's lowest voltage, {ends[1][1]:.2f} V" in page
    assert (
        f"falls from {ends[1][0]:.3f} Ah at `cycle_index` 1 to {ends[39][0]:.3f} Ah at 39" in page
    )
    last = built.query(
        "SELECT max(cycle_index) FROM cycle_curve WHERE session_id = %s", [built.session]
    )[0][0]
    assert last == 39


def test_the_dqdv_plot_marks_the_stored_peaks(built, drawn, page):
    svg = drawn["feature-dqdv.svg"]
    assert "dq_dv_ah_per_volt" in svg
    peaks = {}
    for cycle in (1, 39):
        row = built.query(
            "SELECT dqdv_discharge_peak1_voltage_volt, dqdv_discharge_peak1_height_ah_per_volt, "
            "dqdv_discharge_peak2_voltage_volt, dqdv_discharge_peak2_height_ah_per_volt "
            "FROM cycle_curve_feature WHERE session_id = %s AND cycle_index = %s",
            [built.session, cycle],
        )[0]
        peaks[cycle] = row
        for n, (volts, height) in enumerate((row[:2], row[2:]), start=1):
            assert f"cycle_index {cycle} peak{n}: {volts:.3f} V, {height:.2f} Ah/V" in svg
            # a peak of the stored curve: the curve's value at the grid point of its voltage
            curve = built.curve(cycle, "dq_dv_ah_per_volt")
            at = min(curve.values(), key=lambda p: abs(p[0] - volts))
            assert at[1] == pytest.approx(height, rel=1e-9)
    (v1, h1, _, _), (u1, g1, u2, g2) = peaks[1], peaks[39]
    assert (
        f"The main peak of cycle 1, {h1:.2f} Ah/V at {v1:.3f} V, falls to {g2:.2f} Ah/V at "
        f"{u2:.3f} V by cycle 39" in page
    )
    assert f"the lower peak ({g1:.2f} Ah/V at {u1:.3f} V) is now the highest" in page
    assert u1 < u2 and g1 > g2  # peak1 of cycle 39 is the lower-voltage one, as the page says


def test_the_delta_q_plot_is_the_stored_features(built, drawn, page):
    """The drawn difference is that of the stored curves, and its summary is the stored row
    (recomputed here from the curves: the features derive wrote describe what is drawn)."""
    reference, compared = DELTA_Q_CYCLES
    low, mean, variance, log10, n = built.query(
        "SELECT delta_q_min_ah, delta_q_mean_ah, delta_q_variance_ah2, "
        "delta_q_log10_abs_variance, delta_q_grid_points FROM cycle_curve_feature "
        "WHERE session_id = %s AND cycle_index = %s AND delta_q_reference_cycle_index = %s",
        [built.session, compared, reference],
    )[0]
    a, b = built.curve(compared, "capacity_ah"), built.curve(reference, "capacity_ah")
    dq = np.array([a[k][1] - b[k][1] for k in sorted(set(a) & set(b))])
    assert len(dq) == n
    assert (dq.min(), dq.mean(), dq.var()) == pytest.approx((low, mean, variance), rel=1e-9)
    svg = drawn["feature-delta-q.svg"]
    assert f"Q{compared}(V) - Q{reference}(V) at {n} grid points" in svg
    assert f"delta_q_mean_ah {mean:.4f} Ah" in svg and f"delta_q_min_ah {low:.4f} Ah" in svg
    assert f"variance {variance:.4g} Ah², log10 {log10:.3f}" in svg
    assert (
        f"Q{compared}(V) - Q{reference}(V) of the two stored discharge curves at the {n} grid "
        f"points both cover, with the features of `cycle_curve_feature`: `delta_q_mean_ah` "
        f"{mean:.4f} Ah, `delta_q_min_ah` {low:.4f} Ah, `delta_q_variance_ah2` {variance:.4g} "
        f"Ah², `delta_q_log10_abs_variance` {log10:.3f}." in page
    )
    assert f"`--delta-q-cycles {reference},{compared}`" in page


def test_the_resistance_plot_is_every_ageing_cells_step_resistance(built, drawn, page):
    svg = drawn["feature-resistance.svg"]
    assert "step_resistance_first_sample_ohm" in svg
    cells = built.query(
        "SELECT cell_id, ambient_temperature_celsius, discharge_c_rate FROM test_session "
        "WHERE protocol_type = 'cycle_aging'"
    )
    assert len(cells) == 8
    for cell, celsius, rate in cells:
        assert f"{celsius:g} degC, {rate:g}C (cell_id {cell})" in svg
    seconds = built.query(
        "SELECT DISTINCT step_resistance_first_sample_second FROM cycle_feature f "
        "JOIN test_session s ON s.session_id = f.session_id "
        "WHERE s.protocol_type = 'cycle_aging'"
    )
    assert seconds == [(60.0,)]
    assert "the first sample after a change is 60 s after it" in page
    rows = dict(
        (r[0], r[1:])
        for r in built.query(
            "SELECT cycle_index, step_resistance_first_sample_ohm, step_resistance_count "
            "FROM cycle_feature f JOIN test_session s ON s.session_id = f.session_id "
            "WHERE s.notes = 'demo: aging_25degC_0p5C' AND cycle_index IN (1, 39)"
        )
    )
    (r1, count1), (r39, count39) = rows[1], rows[39]
    assert count1 == count39
    assert (
        f"`aging_25degC_0p5C` from {r1 * 1000:.1f} mOhm at `cycle_index` 1 to "
        f"{r39 * 1000:.1f} mOhm at 39 (the median of its {count1} changes)" in page
    )
