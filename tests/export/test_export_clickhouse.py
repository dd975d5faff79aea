"""The loop on ClickHouse (chdb, the real engine in process) gives SQLite's rows and numbers:
the same scenario (tests/export/scenario.py) run in a child process (chdb holds one engine per
process) on a database made from sql/clickhouse/schema.sql, compared with SQLite's within
1e-6 + 1e-5 |b|."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from tests.derive.sessions import close
from tests.export.scenario import run
from tests.support.chkit import CREATE, chdb_or_skip
from tests.support.dbkit import ROOT, ddl_text

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


def same(a, b) -> bool:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return close(a, b)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    chdb_or_skip()
    tmp = tmp_path_factory.mktemp("export-lite")
    path = tmp / "battery.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(ddl_text("sqlite"))
    conn.close()
    lite = json.loads(json.dumps(run(f"sqlite:///{path}", tmp), default=str))
    data = tmp_path_factory.mktemp("export-ch") / "chdb"
    data.mkdir()
    code = CREATE.format(
        root=str(ROOT), path=str(data), ddl=str(ROOT / "sql/clickhouse/schema.sql")
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=300)
    files = tmp_path_factory.mktemp("export-ch-files")
    child = CHILD.format(root=str(ROOT), url=f"chdb://{data}?database=battery", tmp=str(files))
    proc = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, cwd=ROOT, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return lite, json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("what", COMPARED)
def test_clickhouse_gives_sqlites_export_predictions_and_evaluation(both, what):
    lite, ch = both
    assert lite[what], what
    assert same(ch[what], lite[what]), f"{what}: clickhouse {ch[what]} != sqlite {lite[what]}"
