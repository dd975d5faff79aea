"""bench/ingest.py: its figures on docs/loading.md are the committed results' (no drift), and
a small run of its file generator and measurement works end to end on SQLite."""

from __future__ import annotations

import json

from bench import ingest as bench_ingest


def test_loading_page_figures_come_from_the_results():
    results = json.loads(bench_ingest.RESULTS.read_text())
    page = bench_ingest.DOCS.read_text()
    assert bench_ingest.with_docs_block(page, results) == page, (
        "docs/loading.md differs from bench/ingest-results.json: run python -m bench.ingest"
    )
    assert results["machine"]["cpu_model"] in page


def test_a_small_run_measures_the_loader_and_its_baseline(tmp_path):
    csv = tmp_path / "samples.csv"
    assert bench_ingest.make_csv(csv, 2_000, chunk=700) > 0
    url = bench_ingest._sqlite_url(tmp_path, "small")
    run = bench_ingest._measure(csv, url, tmp_path)
    assert run["rows"] == 2_000 and run["baseline"]["rows"] == 2_000
    assert run["bulk_mode"] == "checks-in-arrow+indexes-rebuilt"  # into an empty table
    assert run["peak_rss_mib"] > 0 and run["ratio_to_baseline"] > 0
    lines = bench_ingest.markdown(
        {
            "n": 2_000,
            "date": "today",
            "machine": {"cpu_model": "X", "cpu_count": 2},
            "engines": {"sqlite": run},
        }
    )
    assert any(line.startswith("| SQLite |") for line in lines)
