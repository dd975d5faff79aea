"""Benchmark of the time-series table: storage, ingest and typical queries on every engine.

`python -m bench` (or `make bench N=...`) writes bench/results.json and renders
docs/performance.md from it; `python -m bench.report` re-renders the page from the JSON.
"""
