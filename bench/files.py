"""Where each measuring command writes its results, and where bench/report.py reads them from:
the file names in one place, so the measuring modules and the renderer never import each other.
"""

from __future__ import annotations

from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results.json"  # python -m bench (bench/cli.py)
INGEST_RESULTS = BENCH / "ingest-results.json"  # python -m bench.ingest
CLICKHOUSE_RESULTS = BENCH / "clickhouse-results.json"  # python -m bench.clickhouse
STARTUP_RESULTS = BENCH / "startup-results.json"  # python -m bench.startup
EXPORT_RESULTS = BENCH / "export-results.json"  # python -m bench.export
DERIVE_RESULTS = BENCH / "derive-results.json"  # python -m bench.derive
SIDEBYSIDE_RESULTS = BENCH / "sidebyside-results.json"  # python -m bench.sidebyside
SIDEBYSIDE_REPORT = BENCH / "sidebyside.md"  # python -m bench.sidebyside: its report
