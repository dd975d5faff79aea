"""derive on ClickHouse (chdb, the real engine in process) gives SQLite's rows for the same
loaded files: cycles, cycle features, SOC and SOH labels, keyed, within 1e-6 + 1e-5 |b|.

chdb holds one engine per process, so the ClickHouse side runs in a child process that
reuses the room's files (tests/derive/sessions.py: load_sessions) and queries (QUERIES) and
prints the rows."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

import derive
from tests.derive.sessions import ABS, QUERIES, REL, close, load_sessions
from tests.support.chkit import CREATE, chdb_or_skip
from tests.support.dbkit import ROOT, sqlite_db

# ClickHouse (chdb) runs in this process or a child of it
pytestmark = pytest.mark.engines

CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, {root!r})
import derive
from ingest.db import connect
from tests.derive.sessions import QUERIES, load_sessions
url = {url!r}
ids = load_sessions(url, Path({tmp!r}))
outcomes = {{
    name: [sorted(r.refused), sorted(r.skipped)]
    for r in derive.run(url)
    for name, sid in ids.items()
    if sid == r.session_id
}}
derive.run(url, what=["soc"], initial_soc=0.5, label_version="from-start")
derive.run(url, [ids["cccv"]], what=["soh"], label_version="soh-k2", soh_reference_cycles=2)
derive.run(url)  # a rerun under the same versions
derive.run(url, what=["soc"], initial_soc=0.5, label_version="from-start")
db = connect(url)
out = {{t: db.query(q) for t, q in QUERIES.items()}}
# two failing runs under the stored versions: one refused by a CHECK while staging SOC labels
# (initial SOC 0.1 takes SOC below its range), one by the SOH reference (more reference cycles
# than the session has); the refused derivation publishes nothing, the others publish what
# is stored already
failed = []
for kw in (
    {{"initial_soc": 0.1, "label_version": "from-start", "what": ["soc"]}},
    {{"soh_reference_cycles": 10**6}},
):
    try:
        derive.run(url, [ids["cccv"]], strict=True, **kw)
        failed.append(None)
    except derive.DeriveError as exc:
        failed.append(str(exc))
after = {{t: db.query(q) for t, q in QUERIES.items()}}
tables = "SELECT name FROM system.tables WHERE database = 'battery' AND name LIKE 'derive\\_%'"
left = [r[0] for r in db.query(tables)]
db.close()
print(json.dumps(
    {{"rows": out, "failed": failed, "after": after, "left": left, "outcomes": outcomes}},
    default=str,
))
"""


def keyed(rows, width: int) -> dict:
    return {tuple(r[:width]): list(r[width:]) for r in rows}


KEYS = {"cycle": 2, "cycle_feature": 3, "label_soc": 4, "label_soh": 5}


def same(mine: dict, theirs: dict) -> list:
    """The keys and values where mine and theirs differ beyond the tolerance."""
    bad: list = list(set(mine) ^ set(theirs))
    for k in set(mine) & set(theirs):
        if not all(close(a, b) for a, b in zip(mine[k], theirs[k], strict=True)):
            bad.append((k, mine[k], theirs[k]))
    return bad


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    chdb_or_skip()
    tmp = tmp_path_factory.mktemp("derive-ch")
    path = tmp / "battery.sqlite"
    sqlite_db(path)
    url = f"sqlite:///{path}"
    ids = load_sessions(url, tmp)
    derive.run(url)
    derive.run(url, what=["soc"], initial_soc=0.5, label_version="from-start")
    derive.run(url, [ids["cccv"]], what=["soh"], label_version="soh-k2", soh_reference_cycles=2)
    db = sqlite3.connect(path)
    lite = {t: [list(r) for r in db.execute(q.replace("%s", "?"))] for t, q in QUERIES.items()}
    db.close()
    data = tmp / "chdb"
    data.mkdir()
    code = CREATE.format(
        root=str(ROOT), path=str(data), ddl=str(ROOT / "sql/clickhouse/schema.sql")
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=300)
    files = tmp / "chfiles"
    files.mkdir()
    child = CHILD.format(root=str(ROOT), url=f"chdb://{data}?database=battery", tmp=str(files))
    proc = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ch = json.loads(proc.stdout.strip().splitlines()[-1])
    return lite, ch


@pytest.mark.parametrize("table", list(QUERIES))
def test_clickhouse_derives_sqlites_rows(both, table):
    lite, ch = both
    ch = ch["rows"]
    assert lite[table], f"{table}: nothing derived on SQLite"
    width = KEYS[table]
    mine, theirs = keyed(ch[table], width), keyed(lite[table], width)
    assert len(ch[table]) == len(mine), f"{table}: duplicate keys on ClickHouse (rerun)"
    assert same(mine, theirs) == []
    # the comparison can fail: one perturbed value is seen
    k = next(iter(theirs))
    numeric = [i for i, v in enumerate(theirs[k]) if isinstance(v, int | float) and v]
    if numeric:
        bent = {**mine, k: list(mine[k])}
        bent[k][numeric[0]] = bent[k][numeric[0]] * (1 + 10 * REL) + 10 * ABS
        assert same(bent, theirs)


def test_a_failed_derivation_publishes_nothing(both):
    """Two failing runs under the stored versions: one refused by a CHECK while staging SOC
    labels, one by the SOH reference after cycles, features and SOC labels were staged. Each
    is a DeriveError (strict) naming the step; the refused derivation published nothing and
    the others only what was stored: the rows are exactly the ones before; no staging table
    is left."""
    _, ch = both
    soc, soh = ch["failed"]
    assert soc and "SOC labels: the database refused it" in soc, soc
    assert soh and "full cycles" in soh, soh
    assert ch["left"] == []
    for table in QUERIES:
        assert ch["after"][table] == ch["rows"][table], table


def test_each_session_and_derivation_on_its_own(both):
    """With the defaults: the session whose SOC labels the CHECK refuses and the one with no
    full charge to anchor on lose only their SOC labels, the sessions after them derive."""
    _, ch = both
    outcomes = ch["outcomes"]
    assert outcomes["wrong_nominal"] == [["SOC labels"], []]
    assert outcomes["half_start"] == [[], []] and outcomes["full_start"] == [[], []]
    assert outcomes["never_full"] == [[], ["SOC labels"]]
    for table, key in (("cycle", 0), ("cycle_feature", 0)):
        sessions = {r[key] for r in ch["rows"][table]}
        assert len(sessions) == len(outcomes), table  # every session has its cycles, features


def test_demo_fills_a_chdb_database(chdb_demo):
    """`python -m demo --db chdb:///dir?database=` makes the directory, the database and
    the schema, loads the shipped samples and derives them (run once per test session:
    tests/conftest.py's chdb_demo, which the query cookbook's tests read too)."""
    _url, rows = chdb_demo
    for table in ("timeseries_point", "cycle", "cycle_feature", "label_soc", "label_soh"):
        assert rows[table] > 0, (table, rows)
    assert rows["label_soc"] == rows["timeseries_point"]
