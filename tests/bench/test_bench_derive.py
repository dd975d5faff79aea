"""bench/derive.py at a tiny size, so it cannot rot: one SQLite round times derive and the
pandas baseline in child processes, the baseline computes the capacities derive stores, and
the performance page renders the run (BEEP, in its own /tmp environment, runs only in
`make bench`)."""

from __future__ import annotations

import sqlite3

import pytest

from bench import derive as bench_derive
from bench import report

# slow: a loader and four derive/pandas child processes
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny():
    return bench_derive.run(3_000, ["sqlite"], rounds=1, with_beep=False)


def test_a_tiny_run_times_every_side_and_reports_the_ratio(tiny):
    run = tiny["engines"]["sqlite"]
    assert run["load"]["rows"] == 3_000
    assert run["features"]["cycles"] == 3 and run["features"]["features"] == 3
    assert run["curves"]["seconds"] > 0 and run["pandas"]["rows"] == 3_000
    assert run["ratio_to_pandas"] == round(run["pandas"]["seconds"] / run["features"]["seconds"], 2)
    assert "ratio_to_beep" not in run and "beep" not in tiny
    text = bench_derive.summary(tiny)
    assert "sqlite: derive cycles,features" in text and "target 1.0" in text
    page = report.render({}, None, None, None, tiny)
    section = page[page.index("## Deriving") : page.index("## `make sql`")]
    assert "| SQLite 3." in section
    assert "**missed**" in section or " met " in section
    assert "Not measured in this run" not in section


def test_the_baseline_computes_the_capacities_derive_stores(tmp_path):
    """The pandas side is a fair baseline: its per-cycle capacities and energies are derive's
    integrals (the file's counters removed, so derive integrates too; derive counts the
    interval that crosses into a cycle in that cycle, pandas in neither: within 0.5 %)."""
    import pandas as pd

    import derive
    from bench.ingest import _load, _sqlite_url, make_csv

    csv = tmp_path / "samples.csv"
    make_csv(csv, 3_000)
    url = _sqlite_url(tmp_path, "baseline")
    _load(csv, url, tmp_path)
    conn = sqlite3.connect(url)
    conn.execute(
        "UPDATE timeseries_point SET charging_capacity_ah = NULL, discharging_capacity_ah = NULL"
    )
    conn.commit()
    derive.run(url, what="cycles,features")
    try:
        frame = pd.read_sql(bench_derive.SAMPLES.format(p="1"), conn)
        stored = dict(
            (c, values)
            for c, *values in conn.execute(
                "SELECT cycle_index, charge_capacity_ah, discharge_capacity_ah, charge_energy_wh, "
                "discharge_energy_wh FROM cycle_feature"
            )
        )
    finally:
        conn.close()
    baseline = bench_derive.per_cycle(frame)
    assert baseline.keys() == stored.keys()
    for cycle, values in baseline.items():
        assert list(values) == pytest.approx(stored[cycle], rel=5e-3), cycle
