"""The export streams: its peak memory does not grow with the set. The per-sample training set
of 40,000 and of 320,000 labelled samples (eight times the rows) is written to Parquet in
batches of 8,192 rows (several batches for both) by a child process each, whose peak RSS
(VmHWM) is compared: the larger may use at most 25 MiB more, where holding its rows would
take some 100 MiB more (Arrow, 32 columns)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import derive
from bench.ingest import SIDECAR, make_csv
from ingest.cli import main as ingest_main
from tests.support.dbkit import ROOT, sqlite_db

pytestmark = pytest.mark.slow

# VmHWM, the peak of this process's own memory: ru_maxrss would carry the parent's peak over
# exec (Linux), and the parent has just loaded the samples
CHILD = """
import sys
sys.path.insert(0, {root!r})
import export
written = export.write_training_set({url!r}, {out!r}, "soc", split="none", batch_rows=8192)
status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
print(written.rows, int(status) // 1024)
"""


def _peak(tmp, n: int) -> tuple[int, int]:
    csv, side, path = tmp / f"{n}.csv", tmp / "side.json", tmp / f"{n}.sqlite"
    make_csv(csv, n)
    side.write_text(json.dumps(SIDECAR))
    sqlite_db(path)
    assert ingest_main([str(csv), "--db", str(path), "--sidecar", str(side)]) == 0
    derive.run(str(path), what=["cycles", "soc"], initial_soc=0.5)
    code = CHILD.format(root=str(ROOT), url=str(path), out=str(tmp / f"{n}.parquet"))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows, peak = map(int, proc.stdout.split())
    return rows, peak


def test_the_exports_peak_memory_does_not_grow_with_the_set(tmp_path):
    small_rows, small = _peak(tmp_path, 40_000)
    big_rows, big = _peak(tmp_path, 320_000)
    assert (small_rows, big_rows) == (40_000, 320_000)
    assert big - small < 25, f"peak {small} MiB for 40,000 rows, {big} MiB for 320,000"
