"""The curves derivation (derive/curves.py, derive/curve_store.py): checked against
independent implementations on the same data, and the same numbers on SQLite, PostgreSQL,
TimescaleDB and ClickHouse (chdb, in a child process: one engine per process).

Oracles and tolerances:
- the Savitzky-Golay derivative against scipy.signal.savgol_filter(deriv=1, mode="interp"):
  1e-9 relative;
- mean, variance, skewness and kurtosis against numpy and scipy.stats (biased defaults): 1e-9;
- delta-Q(V) features against an independent computation following Severson et al. 2019:
  each cycle's discharge capacity interpolated (scipy interp1d) on a linear voltage grid
  from its discharge samples as loaded, the difference, scipy statistics: 1e-4 relative on
  the moments, 2e-4 Ah on min/mean (the stored reals are float4 on PostgreSQL);
- dQ/dV peaks: at the simulated cell's peak voltages (3.45 V and 3.85 V, within 15 mV, the
  IR shift of 2.5 A x 10 mOhm included) and where scipy.signal.find_peaks puts the highest
  peaks of the stored curve.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats
from scipy.interpolate import interp1d
from scipy.signal import find_peaks, savgol_filter

import derive
from derive import curves as cv
from derive.curve_settings import CurveSettings
from ingest.db import connect
from tests.derive.curve_sessions import (
    COMPARED,
    CURVES,
    FEATURES,
    HIGH,
    LOW,
    PEAKS,
    POINTS,
    REFERENCE,
    load,
    sessions,
    soc_of_ocv,
)
from tests.derive.sessions import close
from tests.support.chkit import CREATE, chdb_or_skip
from tests.support.dbkit import ROOT, fresh_urls, row_engine_names

SETTINGS = CurveSettings(delta_q_cycles=(REFERENCE, COMPARED))
CAPACITY_POINTS = (
    "SELECT point_index, normalised_capacity, capacity_ah, dv_dq_volt_per_ah FROM cycle_curve"
    " WHERE session_id = %s AND cycle_index = %s AND direction = %s"
    " AND grid = 'normalised_capacity' ORDER BY point_index"
)


# ---------------------------------------------------------------- numeric oracles (no engine)
@pytest.mark.parametrize("window,order", [(5, 2), (21, 3), (31, 4)])
def test_savgol_derivative_is_scipys(window, order):
    rng = np.random.default_rng(window)
    y = np.cumsum(rng.normal(size=400))
    mine = cv.savgol_derivative(y, window, order, 0.0017)
    theirs = savgol_filter(y, window, order, deriv=1, delta=0.0017, mode="interp")
    np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-9 * np.abs(theirs).max())


def test_moments_are_numpys_and_scipys():
    x = np.random.default_rng(7).gamma(2.0, size=1000) - 3
    mean, var, skew, kurt = cv.moments(x)
    assert mean == pytest.approx(np.mean(x), rel=1e-12)
    assert var == pytest.approx(np.var(x), rel=1e-9)
    assert skew == pytest.approx(stats.skew(x), rel=1e-9)
    assert kurt == pytest.approx(stats.kurtosis(x), rel=1e-9)
    assert cv.moments(np.ones(5))[2:] == (None, None)  # no spread: no shape to state


def test_a_too_short_window_is_refused():
    with pytest.raises(ValueError, match="fewer than the window"):
        cv.savgol_derivative(np.arange(4.0), 5, 2, 1.0)


# ------------------------------------------------------------------------- on every engine
ENGINES = row_engine_names()

CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, {root!r})
import derive
from derive.curve_settings import CurveSettings
from ingest.db import connect
from tests.derive.curve_sessions import CURVES, FEATURES, load
url = {url!r}
ids = load(url, Path({tmp!r}))
derive.run(url)
results = derive.run(url, what=["curves"], curves=CurveSettings(delta_q_cycles=({ref}, {cmp})))
derive.run(url, what=["curves"], curves=CurveSettings(delta_q_cycles=({ref}, {cmp})))  # again
db = connect(url)
out = {{"features": db.query(FEATURES), "curves": db.query(CURVES), "ids": ids,
        "nulls": {{r.session_id: dict(r.curves.nulls) for r in results}}}}
db.close()
print(json.dumps(out, default=str))
"""


def rows_of(url: str, text: str, params=()) -> list[list]:
    db = connect(url)
    try:
        return [list(r) for r in db.query(text, params)]
    finally:
        db.close()


@pytest.fixture(scope="module")
def engines(request, tmp_path_factory):
    """Each engine loaded with the curve sessions, derived (defaults, then curves twice: the
    rerun replaces the rows); what each stored."""
    found = {}
    with contextlib.ExitStack() as stack:
        for name, url, tmp in fresh_urls(request, tmp_path_factory, stack, "curves", ENGINES):
            ids = load(url, tmp)
            derive.run(url)
            results = derive.run(url, what=["curves"], curves=SETTINGS)
            derive.run(url, what=["curves"], curves=SETTINGS)
            found[name] = {
                "url": url,
                "ids": ids,
                "features": rows_of(url, FEATURES),
                "curves": rows_of(url, CURVES),
                "nulls": {r.session_id: dict(r.curves.nulls) for r in results},
            }
        yield found


def norm(value):
    """A JSON column as a dict, whichever way the engine hands it out (text or parsed)."""
    return json.loads(value) if isinstance(value, str) and value.startswith("{") else value


def same(a: list[list], b: list[list]) -> list:
    """The cells that differ beyond the room's tolerance (float4 rounding of stored reals)."""
    wrong = []
    assert len(a) == len(b), (len(a), len(b))
    for ra, rb in zip(a, b, strict=True):
        for x, y in zip(map(norm, ra), map(norm, rb), strict=True):
            if not (x is None and y is None) and not close(x, y):
                wrong.append((ra[:4], x, y))
    return wrong


@pytest.mark.engines
@pytest.mark.parametrize("table", ["features", "curves"])
def test_every_engine_stores_the_same_curves(engines, table):
    base = engines["sqlite"][table]
    assert base
    for name, got in engines.items():
        assert not same(got[table], base)[:5], name


@pytest.mark.engines
@pytest.mark.slow
def test_clickhouse_stores_the_same_curves(engines, tmp_path):
    chdb_or_skip()
    data = tmp_path / "chdb"
    data.mkdir()
    code = CREATE.format(
        root=str(ROOT), path=str(data), ddl=str(ROOT / "sql/clickhouse/schema.sql")
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=300)
    files = tmp_path / "files"
    files.mkdir()
    child = CHILD.format(
        root=str(ROOT),
        url=f"chdb://{data}?database=battery",
        tmp=str(files),
        ref=REFERENCE,
        cmp=COMPARED,
    )
    proc = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, cwd=ROOT, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ch = json.loads(proc.stdout.strip().splitlines()[-1])
    lite = engines["sqlite"]
    for table in ("features", "curves"):
        assert not same(ch[table], lite[table])[:5], table
    assert sorted(ch["nulls"].values(), key=str) == sorted(lite["nulls"].values(), key=str)


def discharge_q(rows: list[dict], cycle: int, grid: np.ndarray) -> np.ndarray:
    """Severson et al.'s Q_d(V) of one cycle, independently: the discharge samples as the
    cycler counted them (its counter since the discharge began), interpolated on the grid."""
    dis = [r for r in rows if r["cycle_count"] == cycle and r["current_ampere"] < 0]
    v = np.array([r["voltage_volt"] for r in dis])
    before = [r for r in rows if r["cycle_count"] == cycle].index(dis[0]) - 1
    q0 = [r for r in rows if r["cycle_count"] == cycle][before]["discharging_capacity_ah"]
    q = np.array([r["discharging_capacity_ah"] for r in dis]) - q0
    return interp1d(v, q, bounds_error=False)(grid)


@pytest.mark.engines
def test_delta_q_is_severson_computed_independently(engines):
    rows = sessions()["aging"]
    grid = np.linspace(LOW, HIGH, cv.VOLTAGE_GRID_POINTS)
    dq = discharge_q(rows, COMPARED, grid) - discharge_q(rows, REFERENCE, grid)
    dq = dq[~np.isnan(dq)]
    for name, got in engines.items():
        sid = got["ids"]["aging"]
        row = next(r for r in got["features"] if r[0] == sid and r[1] == COMPARED)
        (ref, dmin, dmean, dvar, dlog, dskew, dkurt, dlow, n) = row[10:19]
        assert ref == REFERENCE
        assert abs(n - len(dq)) <= 2, name  # the grid ends, where a sample lands on them
        assert dmin == pytest.approx(dq.min(), abs=2e-4), name
        assert dmean == pytest.approx(dq.mean(), abs=2e-4), name
        assert dvar == pytest.approx(np.var(dq), rel=2e-3), name
        assert dlog == pytest.approx(np.log10(np.var(dq)), abs=1e-3), name
        assert dskew == pytest.approx(stats.skew(dq), rel=2e-2, abs=2e-3), name
        assert dkurt == pytest.approx(stats.kurtosis(dq), rel=2e-2, abs=2e-3), name
        assert dlow == pytest.approx(dq[0], abs=2e-3), name
        assert dmean < 0  # the capacity faded between the two cycles


@pytest.mark.engines
def test_dqdv_peaks_sit_at_the_cells_plateaus_and_where_scipy_finds_them(engines):
    got = engines["sqlite"]
    sid = got["ids"]["aging"]
    row = next(r for r in got["features"] if r[0] == sid and r[1] == 0)
    charge = sorted([row[3], row[5]])
    discharge = sorted([row[6], row[8]])
    for (v, _, _), c, d in zip(sorted(PEAKS), charge, discharge, strict=True):
        assert c == pytest.approx(v + 2.5 * 0.01, abs=0.015)  # charging: above the OCV
        assert d == pytest.approx(v - 2.5 * 0.01, abs=0.015)  # discharging: below it
    points = rows_of(got["url"], POINTS, [sid, 0, "charge"])
    volts = np.array([p[1] for p in points])
    dqdv = np.array([p[3] for p in points])
    found, _ = find_peaks(dqdv, distance=cv.SMOOTHING_WINDOW)
    top = sorted(volts[found[np.argsort(dqdv[found])[::-1][:2]]])
    assert top == pytest.approx(charge, abs=1e-9)
    assert row[4] == pytest.approx(dqdv[found].max(), rel=1e-5)


@pytest.mark.engines
def test_dvdq_peak_sits_between_the_plateaus_and_where_scipy_finds_it(engines):
    """dV/dQ is highest where dQ/dV is lowest: on the floor between the two plateaus (more
    than three widths from either peak). In discharged capacity that is between the capacity
    out when the OCV reaches 3.85 V - 3 x 0.04 and when it reaches 3.45 V + 3 x 0.05, counted
    from the end of the CV charge (cycle 0 holds 5.0 Ah); and it is the highest peak scipy
    finds on the stored V(q) curve inside q 0.1..0.9."""
    (upper, s_up, _), (lower, s_low, _) = sorted(PEAKS, reverse=True)
    start = soc_of_ocv(HIGH - 0.25 * 0.01)  # the CV charge ends at 0.25 A
    first = (start - soc_of_ocv(upper - 3 * s_up)) * 5.0
    last = (start - soc_of_ocv(lower + 3 * s_low)) * 5.0
    assert 0.5 < first < last
    for name, got in engines.items():
        sid = got["ids"]["aging"]
        row = next(r for r in got["features"] if r[0] == sid and r[1] == 0)
        assert first - 0.01 <= row[9] <= last + 0.01, (name, row[9], first, last)
    points = rows_of(engines["sqlite"]["url"], CAPACITY_POINTS, [sid, 0, "discharge"])
    q = np.array([p[1] for p in points])
    ah = np.array([p[2] for p in points])
    dvdq = np.array([p[3] for p in points])
    inside = np.flatnonzero((q >= 0.1) & (q <= 0.9))
    found, _ = find_peaks(dvdq[inside], distance=cv.SMOOTHING_WINDOW)
    top = inside[found[np.argmax(dvdq[inside][found])]]
    row = next(r for r in engines["sqlite"]["features"] if r[0] == sid and r[1] == 0)
    assert row[9] == pytest.approx(ah[top], rel=1e-6)


@pytest.mark.engines
def test_a_short_cycle_and_a_missing_reference_are_null_with_their_reason(engines):
    for name, got in engines.items():
        sid = got["ids"]["short"]
        rows = {r[1]: r for r in got["features"] if r[0] == sid}
        reasons = norm(rows[1][-1])
        assert all(v is None for v in rows[1][3:10]), name
        assert "fewer than 10" in reasons["dqdv_discharge_peak1_voltage_volt"], name
        counted = got["nulls"][sid]
        assert any("compared cycle" in why for why in counted), (name, counted)
        assert not [r for r in rows_of(got["url"], CURVES) if r[0] == sid and r[1] == 1]
