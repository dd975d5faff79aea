"""bench/sidebyside.py at a tiny size, so it cannot rot: every vendor layout it writes is read
by its reader with the BDF file's rows, and one SQLite round measures the loader, the pandas
load and the engine alone and reports every ratio against its target."""

from __future__ import annotations

import pytest

from bench import sidebyside
from bench.ingest import make_csv

# slow: a dozen child processes
pytestmark = pytest.mark.slow


def test_every_vendor_file_reads_the_same_rows(tmp_path):
    csv = tmp_path / "samples.csv"
    make_csv(csv, 1_500)
    rates = sidebyside.measure_readers(csv, tmp_path, rounds=1)
    assert set(rates) == {"bdf", *sidebyside.VENDORS}
    for fmt in sidebyside.VENDORS:
        path = tmp_path / f"bench.{fmt}.txt"
        assert sidebyside.read_rate(fmt, path)["rows"] == 1_500, fmt
        assert rates[fmt]["ratio_to_bdf"] > 0


def test_a_tiny_run_reports_every_ratio_against_its_target(tmp_path):
    results = sidebyside.run([1_000], ["sqlite"], rounds=1, reader_sizes=[])
    run = results["engines"]["sqlite"]["1000"]
    assert run["rows"] == 1_000
    assert run["loader_process_seconds"] > 0 and run["pandas_process_seconds"] > 0
    assert run["ratio_to_pandas"] > 0 and run["ratio_to_engine"] > 0
    text = sidebyside.report(results)
    assert "| SQLite | 1,000 |" in text
    assert "Targets met: " in text and " of 2." in text
