"""bench/clickhouse.py end to end on a small record, in its own process (chdb opens one
data directory per process): it loads the generated DDL, measures, and shows from
EXPLAIN indexes = 1 that each typical query reads only part of the time-series table."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import harness
from bench.clickhouse import plan_verdict
from tests.support.dbkit import ROOT

# ClickHouse (chdb) runs in this process or a child of it
pytestmark = pytest.mark.engines


def test_bench_module_measures_a_small_record(tmp_path):
    try:
        import chdb  # noqa: F401
    except ImportError as exc:
        if harness.engines_required():
            pytest.fail(f"chdb is not installed: {exc}", pytrace=False)
        pytest.skip(f"chdb is not installed: {exc}")
    out = tmp_path / "ch.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.clickhouse", "--n", "40000", "--query-runs", "1",
         "--scratch", str(tmp_path / "data"), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(out.read_text())
    main = results["variants"]["generated"]
    assert main["load"]["rows"] == 40000 and main["labels"]["rows"] > 0
    assert (
        0
        < main["size"]["bytes_per_row"]
        < results["variants"]["lz4_default"]["size"]["bytes_per_row"]
    ), "the generated codecs must beat ClickHouse's default"
    for key in ("cycle", "soc_window"):  # too few samples here for a complete cycle's SOH
        query = main["queries"][key]
        assert query["rows"] > 0, key
        assert not query["full_scan_timeseries_point"], key
        assert any(r["table"] == "timeseries_point" for r in query["reads"]), key
    assert results["targets"]["queries_read_only_what_they_need"]


def test_plan_verdict_sees_a_full_scan():
    plan = """Expression
  ReadFromMergeTree (battery.timeseries_point)
  Indexes:
    PrimaryKey
      Condition: true
      Parts: 3/3
      Granules: 123/123
"""
    verdict = plan_verdict(plan, touches_timeseries=True)
    assert verdict["full_scan_timeseries_point"]
    narrowed = plan.replace("Granules: 123/123", "Granules: 2/123")
    assert not plan_verdict(narrowed, touches_timeseries=True)["full_scan_timeseries_point"]
