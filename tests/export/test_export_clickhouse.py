"""The loop on ClickHouse (chdb, the real engine in process) gives SQLite's rows and numbers:
the same scenario (tests/export/scenario.py) run in a child process (chdb holds one engine per
process) on a database made from sql/clickhouse/schema.sql, compared with SQLite's within
1e-6 + 1e-5 |b|."""

from __future__ import annotations

import json

import pytest

from tests.export.compare import same
from tests.export.scenario import run
from tests.support.chkit import chdb_child, chdb_or_skip
from tests.support.dbkit import sqlite_db

pytestmark = pytest.mark.engines

CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.export.scenario import run
print(json.dumps(run({url!r}, Path({tmp!r})), default=str))
"""

COMPARED = ["soh_rows", "soh_columns", "split", "soc_rows", "soc_count", "metrics", "scores",
            "cell_scores", "run_split", "bdf_rows", "bdf_header", "soc_run", "soc_scores",
     "soc_recorded_at", "bdf_same"]  # fmt: skip


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    chdb_or_skip()
    tmp = tmp_path_factory.mktemp("export-lite")
    path = tmp / "battery.sqlite"
    sqlite_db(path)
    lite = json.loads(json.dumps(run(f"sqlite:///{path}", tmp), default=str))
    proc = chdb_child(tmp_path_factory, "export", CHILD)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return lite, json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("what", COMPARED)
def test_clickhouse_gives_sqlites_export_predictions_and_evaluation(both, what):
    lite, ch = both
    assert lite[what], what
    assert same(ch[what], lite[what]), f"{what}: clickhouse {ch[what]} != sqlite {lite[what]}"
