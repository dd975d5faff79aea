"""bench/ingest.py: a small run of its file generator and measurement works end to end on
SQLite, and bench/report.py renders what it records (docs/loading.md's block of the committed
results is checked in tests/bench/test_bench_report.py)."""

from __future__ import annotations

import sqlite3

import pytest

from bench import ingest as bench_ingest
from bench import report

# slow: a small benchmark run
pytestmark = pytest.mark.slow


def markdown(results: dict) -> list[str]:
    """The performance page's loader section for `results`, with the targets bench.ingest
    records in its file."""
    targets = {"rows_per_second": bench_ingest.TARGETS, "peak_rss_mib": bench_ingest.PEAK_MIB}
    return report.ingest_section({"targets": targets, **results}).splitlines()


def test_a_small_run_measures_the_loader_and_its_baseline(tmp_path):
    csv = tmp_path / "samples.csv"
    assert bench_ingest.make_csv(csv, 2_000, chunk=700) > 0
    url = bench_ingest._sqlite_url(tmp_path, "small")
    spare = bench_ingest._sqlite_url(tmp_path, "spare")
    run = bench_ingest._measure(csv, url, tmp_path, spare)
    assert run["rows"] == 2_000 and run["baseline"]["rows"] == 2_000
    assert run["bulk_mode"] == "checks-in-arrow+indexes-rebuilt"  # into an empty table
    assert run["peak_rss_mib"] > 0 and run["ratio_to_baseline"] > 0
    # the engine alone wrote every row into the real table, committed, its index rebuilt
    assert run["ceiling"]["rows"] == 2_000 and run["ratio_to_ceiling"] > 0
    with sqlite3.connect(spare) as conn:
        assert conn.execute("SELECT count(*) FROM timeseries_point").fetchone() == (2_000,)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        indexes = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name = 'timeseries_point'"
        ).fetchall()
        assert indexes == [("ix_timeseries_point_session_time",)]
    results = {
        "n": 2_000,
        "date": "today",
        "machine": {"cpu_model": "X", "cpu_count": 2},
        "engines": {"sqlite": run},
    }
    assert any(line.startswith("| SQLite |") for line in markdown(results))
    assert f"sqlite: {run['rows_per_second']:,} rows/s" in bench_ingest.summary(results)


def _results(loader: int, alone: int) -> dict:
    run = {
        "rows": 1_000_000,
        "seconds": 1e6 / loader,
        "rows_per_second": loader,
        "bulk_mode": "keys",
        "cpu_seconds": 3.0,
        "baseline": {"rows_per_second": 300_000},
        "ratio_to_baseline": loader / 300_000,
        "ceiling": {"rows": 1_000_000, "rows_per_second": alone},
        "ratio_to_ceiling": loader / alone,
    }
    return {
        "n": 1_000_000,
        "date": "today",
        "machine": {"cpu_model": "X", "cpu_count": 2},
        "engines": {"postgres18": run},
    }


def test_a_target_above_the_engine_alone_is_called_out_of_reach():
    target = bench_ingest.TARGETS["postgres18"]
    below = "\n".join(markdown(_results(target // 2, target - 1)))
    assert "target is out of reach on this machine" in below
    assert f"{target - 1:,} rows/s" in below
    above = "\n".join(markdown(_results(target // 2, target + 1)))
    assert "out of reach" not in above
    assert "the loader's own work (reading, checking) is what the target asks to shrink" in above
    met = "\n".join(markdown(_results(target + 5, target + 10)))
    assert "out of reach" not in met and "asks to shrink" not in met
    assert f"{target:,} (met)" in met
