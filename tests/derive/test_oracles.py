"""derive's curve features against the field's own implementations on the same data
(issue 23, item 7): the peers' values were written once by scripts/oracles/make_references.sh
(each peer in a venv of its own, beside the fixture: tests/fixtures/oracles/, with the peer's
version, what it ran and the SHA-256 of its input) and are compared here with what derive
stores on SQLite, PostgreSQL, TimescaleDB and ClickHouse (chdb, in a child process: one engine
per process; marked slow as in test_curves.py).

The data: the curve tests' aging session (tests/derive/oracle_data.py), loaded by the loader
and derived with `what=cycles,curves` on the voltage window 3.1..4.1 V (1,000 points) with
delta-Q(V) of cycle 11 against cycle 9. No real file in tests/fixtures has the cycles for it
(the cycler samples there hold one to four cycles, the corpus's longest are half cells).

BEEP 2026.2.7 (beep.features.core.DeltaQFastCharge over BEEPDatapath.structure's
cycles_interpolated, Severson et al.'s path):
- Where the definitions differ: BEEP sorts a discharge step's samples by voltage and
  interpolates linearly (pandas), derive keeps the samples that set a new voltage minimum and
  interpolates linearly (numpy); on a monotone discharge the two are the same points. BEEP
  fills the grid above a discharge's highest voltage with its last value and leaves NaN below
  its lowest, derive leaves both out: hence the window, inside every discharge (3.0 V to
  about 4.17 V), where both grids are the same 1,000 points. BEEP's reference cycle is index 9
  whatever its hyperparameters say (Severson's cycle 10 counted from 0); it reports log10 of
  the absolute min, mean, variance, skewness, kurtosis and first value, derive the values
  themselves (and log10 |variance|): compared as log10 |ours|.
- Tolerances: BEEP casts its interpolated frame to float32 (beep.structure.base
  ._cast_dtypes), so its Q(V) carries up to half an ulp of 4.3 Ah, 2.4e-7 Ah (found 2.4e-7).
  Q(V) pointwise within 1e-6 Ah; the log10 features within 1e-5, a relative error of 2.3e-5
  (found 1.6e-6 at most: float32 rounding of Q values near 4 Ah in delta-Q values of
  0.05 to 0.1 Ah).

cellpy 2.1.5.post10 (cellpy.ica.transform_half_cycle, what cellpy.ica.dqdv and
cellpy.utils.ica run per half-cycle; area normalisation off so both are in Ah/V), on the CC
samples of the charge and the discharge of cycles 0 and 10:
- Where the definitions differ: cellpy interpolates V(q) on as many points as samples, inverts
  it to q(V) on as many voltages over the half-cycle's own range (240 samples: a 4.9 mV step),
  takes forward differences at the midpoints and smooths them with a Gaussian of 10 mV FWHM
  (one step of sigma here); derive interpolates Q(V) on its 1,000-point grid (1 mV) and
  differentiates it with a Savitzky-Golay filter (21 points, order 3), which keeps a peak's
  height where the Gaussian lowers it a little. Derive stores |dQ/dV|; cellpy's discharge is
  negative (compared as its absolute value).
- Tolerances: the peak voltages within 5 mV, about one step of cellpy's (found 0.1 to 2.0 mV
  apart); the peak heights within 2 % (found 0.5 to 0.9 %, cellpy's lower); the curve, 30 mV
  inside both ends (where the two smoothers treat the edges differently), within 2 % of the
  highest peak at every point (found 0.8 to 1.0 %). What this checks is the quantity: its
  scale (Ah/V), sign and placement on the voltage axis, with the capacity each half-cycle
  moved (a voltage step 5 % off fails it); the Savitzky-Golay filter's own parameters are
  checked against scipy in test_curves.py (a 101-point window still agrees with cellpy's
  Gaussian within these tolerances).

BatteryML (microsoft/BatteryML 0.0.1, not on PyPI, at the commit its reference names;
batteryml.feature.severson: get_Qdlin and SeversonFeatureExtractor, what its variance model
runs), with torch 2.13.0, which stays out of every environment of the project:
- Where the definitions differ: Qdlin is the discharge capacity at the samples with current
  below -0.1 A interpolated linearly (scipy interp1d) on 1,000 voltages from the upper limit
  down to the lower one, derive's Q(V) the same from the lower up (compared reversed). Its
  features are log10(|min| + 1e-8), log10(var + 1e-8) with torch's variance (1/(n-1)),
  log10(|m3| / (std^3 + 1e-8) + 1e-8) and log10(m4 / (var^2 + 1e-8) + 1e-8) (kurtosis not
  in excess, its std and var 1/(n-1) too): derive's biased moments are converted to these
  in the test. By default BatteryML first replaces delta-Q by its running median over 21
  points (severson.smooth returns the medians); derive does not smooth delta-Q.
- Tolerances: Qdlin pointwise within 1e-6 Ah (found 0: the same interpolation in float64);
  the unsmoothed features within 1e-6 in log10 (torch computes them in float32; found 7e-8);
  the default, median-smoothed features within 2e-3 in log10, 0.5 % (found 7.6e-4 on the
  minimum, which lies at the grid's end where the median moves most, 7e-5 on the others).
"""

from __future__ import annotations

import contextlib
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import derive
import harness
from tests.derive.oracle_data import (
    BEEP_COMPARED,
    BEEP_REFERENCE,
    GRID_POINTS,
    ICA_CYCLES,
    SETTINGS,
    WINDOW,
    load,
    reference,
    session_sha256,
    stored,
)
from tests.support.chkit import CREATE, chdb_or_skip
from tests.support.dbkit import ROOT, ddl_text, load_pg_ddl, sqlite_db

EPS = 1e-8  # BatteryML's, inside its logarithms
PG = "pg_env" if harness.own_dsn_is_set() else "pg18"
ENGINES = [
    "sqlite",
    pytest.param(PG, marks=pytest.mark.engines),
    pytest.param("timescale", marks=pytest.mark.engines),
    pytest.param("clickhouse", marks=[pytest.mark.engines, pytest.mark.slow]),
]

CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.derive.oracle_data import SETTINGS, load, stored
import derive
url = {url!r}
sid = load(url, Path({tmp!r}))
derive.run(url, what=["cycles", "curves"], curves=SETTINGS)
print(json.dumps(stored(url, sid)))
"""


def build(name: str, request, tmp_path_factory, stack: contextlib.ExitStack) -> dict:
    """The session loaded into one engine and derived; what derive stored (oracle_data.stored),
    keys as text as the ClickHouse child's JSON hands them back."""
    tmp = tmp_path_factory.mktemp(f"oracles-{name}")
    if name == "clickhouse":
        chdb_or_skip()
        data = tmp / "chdb"
        data.mkdir()
        ddl = str(ROOT / "sql/clickhouse/schema.sql")
        code = CREATE.format(root=str(ROOT), path=str(data), ddl=ddl)
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=300)
        url = f"chdb://{data}?database=battery"
        child = CHILD.format(root=str(ROOT), url=url, tmp=str(tmp))
        proc = subprocess.run(
            [sys.executable, "-c", child], capture_output=True, text=True, cwd=ROOT, timeout=600
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])
    if name == "sqlite":
        path = tmp / "battery.sqlite"
        sqlite_db(path)
        url = f"sqlite:///{path}"
    else:
        engine = request.getfixturevalue(name)
        database = stack.enter_context(engine.fresh_database("oracles"))
        with database.connect() as raw:
            load_pg_ddl(raw, ddl_text("timescaledb" if name == "timescale" else "postgres"))
        url = database.conninfo()
    sid = load(url, tmp)
    derive.run(url, what=["cycles", "curves"], curves=SETTINGS)
    return json.loads(json.dumps(stored(url, sid)))  # the keys as text, as from the child


@pytest.fixture(scope="module")
def engine_results(request, tmp_path_factory):
    """One build per engine for the module, made when a test first asks for it."""
    built: dict[str, dict] = {}
    with contextlib.ExitStack() as stack:

        def get(name: str) -> dict:
            if name not in built:
                built[name] = build(name, request, tmp_path_factory, stack)
            return built[name]

        yield get


def peer(name: str) -> dict:
    ref = reference(name)
    assert ref["input_sha256"] == session_sha256(), (
        f"tests/fixtures/oracles/{name}.json was made from other data than the session "
        "tests/derive/oracle_data.py makes now: run bash scripts/oracles/make_references.sh"
    )
    return ref


def test_the_references_name_the_peer_and_what_it_ran():
    for name, version in (("beep", "2026.2.7"), ("cellpy", "2.1.5.post10")):
        ref = peer(name)
        assert ref["peer"] == name and ref["version"] == version
        assert f"{name}=={version}" in ref["installed"] and ref["what"]
    batteryml = peer("batteryml")
    assert batteryml["version"].startswith("microsoft/BatteryML 0.0.1 at ")
    commit = batteryml["version"].rsplit(" ", 1)[1]
    assert f"microsoft/BatteryML@{commit}" in batteryml["installed"]
    assert batteryml["torch"].startswith("2.13.0") and batteryml["window"] == list(WINDOW)
    beep = reference("beep")
    assert (beep["reference_cycle"], beep["compared_cycle"]) == (BEEP_REFERENCE, BEEP_COMPARED)
    assert beep["grid"] == pytest.approx([*WINDOW, GRID_POINTS], abs=1e-6)  # float32


@pytest.mark.parametrize("engine", ENGINES)
def test_discharge_curves_are_beeps_cycles_interpolated(engine_results, engine):
    got = engine_results(engine)
    beep = peer("beep")
    for cycle in (BEEP_REFERENCE, BEEP_COMPARED):
        index, _, q, _ = got["curves"][f"{cycle}/discharge"]
        assert index == list(range(GRID_POINTS)), (engine, cycle)  # every point, both grids
        theirs = np.array(beep["discharge_capacity_ah"][str(cycle)])
        np.testing.assert_allclose(q, theirs, rtol=0, atol=1e-6, err_msg=f"{engine} {cycle}")


@pytest.mark.parametrize("engine", ENGINES)
def test_delta_q_features_are_beeps_delta_q_fast_charge(engine_results, engine):
    row = engine_results(engine)["features"][str(BEEP_COMPARED)]
    theirs = peer("beep")["features"]
    assert row["delta_q_grid_points"] == GRID_POINTS
    ours = {
        "min": math.log10(abs(row["delta_q_min_ah"])),
        "mean": math.log10(abs(row["delta_q_mean_ah"])),
        "variance": row["delta_q_log10_abs_variance"],
        "skew": math.log10(abs(row["delta_q_skewness"])),
        "kurtosis": math.log10(abs(row["delta_q_kurtosis"])),
        "first": math.log10(abs(row["delta_q_at_min_voltage_ah"])),
    }
    for name, value in ours.items():
        beeps = theirs[f"abs_{name}_discharge_capacity_difference_cycles_2:100"]
        assert value == pytest.approx(beeps, abs=1e-5), (engine, name)
    assert row["delta_q_mean_ah"] < 0  # the capacity faded from cycle 9 to cycle 11


def cellpy_curve(key: str) -> tuple[np.ndarray, np.ndarray]:
    curve = peer("cellpy")["curves"][key]
    assert not curve["notes"], curve["notes"]  # cellpy smoothed as asked, nothing skipped
    return np.array(curve["voltage_volt"]), np.abs(np.array(curve["dq_dv_ah_per_volt"]))


def two_highest_peaks(v: np.ndarray, y: np.ndarray, apart: int) -> list[tuple[float, float]]:
    """(voltage, height) of the two highest local maxima at least `apart` points apart."""
    inner = np.arange(1, len(y) - 1)
    maxima = inner[(y[inner] > y[inner - 1]) & (y[inner] >= y[inner + 1])]
    chosen: list[int] = []
    for k in sorted(maxima, key=lambda k: -y[k]):
        if all(abs(k - c) >= apart for c in chosen):
            chosen.append(int(k))
        if len(chosen) == 2:
            break
    return sorted((float(v[k]), float(y[k])) for k in chosen)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("cycle", ICA_CYCLES)
@pytest.mark.parametrize("direction", ["charge", "discharge"])
def test_dqdv_is_cellpys_ica(engine_results, engine, cycle, direction):
    got = engine_results(engine)
    key = f"{cycle}/{direction}"
    cv, cy = cellpy_curve(key)
    _, volts, _, dqdv = got["curves"][key]
    v = np.array(volts)
    y = np.array([np.nan if d is None else d for d in dqdv])
    inner = (v > cv[0] + 0.03) & (v < cv[-1] - 0.03) & ~np.isnan(y)
    assert inner.sum() > 900, (engine, key)
    theirs = np.interp(v[inner], cv, cy)
    worst = np.abs(y[inner] - theirs).max()
    assert worst <= 0.02 * cy.max(), (engine, key, worst, cy.max())
    # the stored peak features against the peaks of cellpy's curve
    row = got["features"][str(cycle)]
    peak = f"dqdv_{direction}_peak"
    ours = sorted(
        (row[f"{peak}{n}_voltage_volt"], row[f"{peak}{n}_height_ah_per_volt"]) for n in (1, 2)
    )
    for (v_ours, h_ours), (v_cellpy, h_cellpy) in zip(
        ours, two_highest_peaks(cv, cy, 5), strict=True
    ):
        assert v_ours == pytest.approx(v_cellpy, abs=0.005), (engine, key)
        assert h_ours == pytest.approx(h_cellpy, rel=0.02), (engine, key)


@pytest.mark.parametrize("engine", ENGINES)
def test_discharge_curves_are_batterymls_qdlin(engine_results, engine):
    got = engine_results(engine)
    batteryml = peer("batteryml")
    for cycle in (BEEP_REFERENCE, BEEP_COMPARED):
        _, _, q, _ = got["curves"][f"{cycle}/discharge"]
        theirs = np.array(batteryml["qdlin_ah"][str(cycle)])[::-1]  # Qdlin: from the top down
        np.testing.assert_allclose(q, theirs, rtol=0, atol=1e-6, err_msg=f"{engine} {cycle}")


def as_batteryml(row: dict) -> dict[str, float]:
    """derive's delta-Q statistics as BatteryML's Severson features state them."""
    n, var = row["delta_q_grid_points"], row["delta_q_variance_ah2"]
    unbiased = var * n / (n - 1)
    m3 = abs(row["delta_q_skewness"]) * var**1.5
    m4 = (row["delta_q_kurtosis"] + 3) * var**2
    return {
        "Minimum": math.log10(abs(row["delta_q_min_ah"]) + EPS),
        "Variance": math.log10(unbiased + EPS),
        "Skewness": math.log10(m3 / (unbiased**1.5 + EPS) + EPS),
        "Kurtosis": math.log10(m4 / (unbiased**2 + EPS) + EPS),
    }


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("smoothed,tolerance", [(False, 1e-6), (True, 2e-3)])
def test_delta_q_features_are_batterymls_severson(engine_results, engine, smoothed, tolerance):
    row = engine_results(engine)["features"][str(BEEP_COMPARED)]
    theirs = peer("batteryml")["features"]
    for name, value in as_batteryml(row).items():
        got = theirs["smoothed" if smoothed else "unsmoothed"][name]
        assert value == pytest.approx(got, abs=tolerance), (engine, name, smoothed)
    assert theirs["variance_model"] == [theirs["smoothed"]["Variance"]]
