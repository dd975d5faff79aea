"""The query cookbook (docs/cookbook.md), run as printed on the demo database on every engine.

Each ```sql block with a title is a recipe; a block inside a content tab runs on the engines the
tab's title names, any other block on all four. Every recipe must cover SQLite, PostgreSQL,
TimescaleDB and ClickHouse exactly once, give the same rows on every engine as on SQLite, and
give what its text promises (checked below per recipe), so the page cannot go stale.
ClickHouse (chdb, one engine per process) runs in a child process.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ingest.db import connect

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "cookbook.md"
ENGINES = ("SQLite", "PostgreSQL", "TimescaleDB", "ClickHouse")
REL, ABS = 1e-5, 1e-9  # float32 columns (voltage, current) read back as float or double


def recipes(text: str) -> dict[str, dict[str, str]]:
    """{title: {engine: sql}} from the page's ```sql title="..." blocks."""
    found: dict[str, dict[str, str]] = {}
    tab = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if m := re.match(r'^=== "(.+)"', line):
            tab = m.group(1)
        elif line and not line.startswith(" "):
            tab = None  # text at the margin ends a set of tabs
        if m := re.match(r'^( *)```sql title="([^"]+)"', line):
            indent, name = m.groups()
            body = []
            i += 1
            while not lines[i].startswith(f"{indent}```"):
                body.append(lines[i])
                i += 1
            engines = [e for e in ENGINES if tab is None or e in tab]
            assert engines, f"{name}: tab {tab!r} names no engine"
            for engine in engines:
                assert engine not in found.get(name, {}), f"{name}: {engine} given twice"
                found.setdefault(name, {})[engine] = textwrap.dedent("\n".join(body))
        i += 1
    return found


RECIPES = recipes(PAGE.read_text(encoding="utf-8"))


def test_the_page_has_its_recipes_for_every_engine():
    assert set(RECIPES) == {
        "capacity-fade",
        "soh-training-table",
        "discharge-curve",
        "soc-against-time",
        "latest-samples",
        "cells-of-one-chemistry",
    }
    for name, by_engine in RECIPES.items():
        assert set(by_engine) == set(ENGINES), f"{name}: runs on {sorted(by_engine)} only"


def test_the_parser_sees_tabs_and_shared_blocks():
    page = (
        '```sql title="a"\nSELECT 1;\n```\n\n=== "ClickHouse"\n\n    ```sql title="b"\n'
        '    SELECT 2;\n    ```\n\n=== "SQLite, PostgreSQL"\n\n    ```sql title="b"\n'
        "    SELECT 3;\n    ```\n\nText.\n"
    )
    found = recipes(page)
    assert found["a"] == dict.fromkeys(ENGINES, "SELECT 1;")
    assert found["b"] == {
        "ClickHouse": "SELECT 2;",
        "SQLite": "SELECT 3;",
        "PostgreSQL": "SELECT 3;",
    }


def run_all(url: str, engine: str) -> dict[str, list[tuple]]:
    db = connect(url)
    try:
        return {name: db.query(sqls[engine]) for name, sqls in RECIPES.items()}
    finally:
        db.close()


CHILD = """
import json, sys
sys.path.insert(0, {root!r})
from ingest.db import connect
recipes = json.loads({recipes!r})
db = connect({url!r})
print(json.dumps({{name: [list(r) for r in db.query(sql)] for name, sql in recipes.items()}}))
"""


def clickhouse_rows(url: str) -> dict[str, list[tuple]]:
    """The recipes on the session's chdb demo (tests/conftest.py), from a process of their own
    (chdb holds one session per process)."""
    sqls = {name: by_engine["ClickHouse"] for name, by_engine in RECIPES.items()}
    code = CHILD.format(root=str(ROOT), recipes=json.dumps(sqls), url=url)
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {k: [tuple(r) for r in v] for k, v in json.loads(proc.stdout.splitlines()[-1]).items()}


@pytest.fixture(scope="module")
def sqlite_url(sqlite_demo) -> str:
    return sqlite_demo


@pytest.fixture(scope="module")
def on_sqlite(sqlite_url) -> dict[str, list[tuple]]:
    return run_all(sqlite_url, "SQLite")


@pytest.fixture(scope="module")
def on_engine(request):
    """The recipes' rows on the demo database built once per test session on each engine
    (tests/conftest.py), shared with the demo's own tests."""
    engine = request.param
    if engine == "ClickHouse":
        return clickhouse_rows(request.getfixturevalue("chdb_demo")[0])
    if engine == "TimescaleDB":
        return run_all(request.getfixturevalue("timescale_demo"), engine)
    return run_all(request.getfixturevalue("pg_demo"), engine)


def number(value):
    """ClickHouse's JSON writes 64-bit integers as strings."""
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def same_rows(mine: list[tuple], theirs: list[tuple]) -> list[str]:
    problems = []
    if len(mine) != len(theirs):
        return [f"{len(mine)} rows, SQLite {len(theirs)}"]
    for n, (a, b) in enumerate(zip(mine, theirs, strict=True)):
        a = tuple(number(v) for v in a)
        ok = len(a) == len(b) and all(
            math.isclose(x, y, rel_tol=REL, abs_tol=ABS)
            if isinstance(x, int | float) and isinstance(y, int | float)
            else x == y
            for x, y in zip(a, b, strict=False)
        )
        if not ok:
            problems.append(f"row {n}: {a} != SQLite {b}")
    return problems[:5]


@pytest.mark.parametrize(
    "on_engine",
    [
        pytest.param("PostgreSQL", marks=pytest.mark.engines),
        pytest.param("TimescaleDB", marks=pytest.mark.engines),
        pytest.param("ClickHouse", marks=[pytest.mark.engines, pytest.mark.slow]),  # chdb
    ],
    indirect=True,
)
def test_every_engine_gives_sqlites_rows(on_engine, on_sqlite):
    for name, rows in on_sqlite.items():
        assert rows, f"{name}: no rows on SQLite"
        assert same_rows(on_engine[name], rows) == [], name


def test_the_comparison_can_fail(on_sqlite):
    rows = on_sqlite["capacity-fade"]
    bent = [rows[0][:1] + (rows[0][1] * (1 + 10 * REL),) + rows[0][2:], *rows[1:]]
    assert same_rows(bent, rows)
    assert same_rows(rows[1:], rows)


def scalar(url: str, sql: str):
    db = connect(url)
    try:
        return db.query(sql)[0][0]
    finally:
        db.close()


def test_capacity_fade_fades_and_soh_is_capacity_over_nominal(on_sqlite):
    rows = on_sqlite["capacity-fade"]
    assert len(rows) >= 35
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert rows[-1][1] < rows[0][1] * 0.9  # the demo cell loses more than 10 %
    for _, capacity, soh in rows:
        assert math.isclose(soh, capacity / 5.0, rel_tol=1e-9)  # nominal 5 Ah


def test_the_leakage_warning_is_true_and_the_table_heeds_it(on_sqlite):
    """The warning's number (correlation 1.000 between discharge capacity and SOH in the demo)
    is measured, and the training table selects none of the columns it names."""
    import numpy as np

    fade = np.array([r[1:] for r in on_sqlite["capacity-fade"]], dtype=float)
    r = np.corrcoef(fade[:, 0], fade[:, 1])[0, 1]
    assert f"{r:.3f}" == "1.000"
    sql = RECIPES["soh-training-table"]["SQLite"]
    for leaky in ("discharge_capacity_ah", "discharge_energy_wh", "charge_capacity_ah"):
        assert leaky not in sql, leaky
    rows = on_sqlite["soh-training-table"]
    assert {r[1] for r in rows} == {"NMC"}
    # every aging cell's labelled cycles, session 1's among them as capacity-fade gives them
    by_cell: dict[int, int] = {}
    for row in rows:
        by_cell[row[0]] = by_cell.get(row[0], 0) + 1
    assert len(by_cell) == 8 and set(by_cell.values()) == {len(on_sqlite["capacity-fade"])}
    assert [r[3] for r in rows if r[2] == 1] == [r[0] for r in on_sqlite["capacity-fade"]]
    assert [r[-1] for r in rows if r[2] == 1] == [r[2] for r in on_sqlite["capacity-fade"]]


def test_the_discharge_curve_ends_at_the_cycles_capacity(on_sqlite, sqlite_url):
    rows = on_sqlite["discharge-curve"]
    assert len(rows) > 20
    charge = [r[2] for r in rows]
    assert charge == sorted(charge) and charge[0] > 0
    capacity = scalar(
        sqlite_url,
        "SELECT discharge_capacity_ah FROM cycle_feature "
        "WHERE session_id = 1 AND cycle_index = 10 AND feature_version = 'derive-2'",
    )
    assert math.isclose(charge[-1], capacity, rel_tol=1e-9), (charge[-1], capacity)
    assert min(r[1] for r in rows) < rows[0][1] - 0.5  # the voltage falls along the discharge


def test_soc_against_time_labels_every_sample_of_the_drive_cycle(on_sqlite, sqlite_url):
    rows = on_sqlite["soc-against-time"]
    samples = scalar(sqlite_url, "SELECT count(*) FROM timeseries_point WHERE session_id = 2")
    assert len(rows) == samples > 100
    assert rows[0][3] == pytest.approx(0.9)  # the demo's drive cycle starts at SOC 0.9
    assert all(0.0 <= r[3] <= 1.0 for r in rows)
    assert rows[-1][3] < rows[0][3]


def test_latest_samples_are_the_last_ten(on_sqlite, sqlite_url):
    rows = on_sqlite["latest-samples"]
    last = scalar(sqlite_url, "SELECT max(record_index) FROM timeseries_point WHERE session_id = 1")
    assert [r[0] for r in rows] == list(range(last, last - 10, -1))


def test_cells_of_one_chemistry_count_their_labels(on_sqlite, sqlite_url):
    rows = on_sqlite["cells-of-one-chemistry"]
    labels = scalar(
        sqlite_url,
        "SELECT count(*) FROM label_soh WHERE definition = 'capacity' "
        "AND label_version = 'derive-2'",
    )
    # the eight aging cells; the SOC tests' cell (cell 2) has no SOH label
    assert [r[0] for r in rows] == [1, 3, 4, 5, 6, 7, 8, 9]
    assert sum(r[2] for r in rows) == labels
    assert rows[0][3] == min(r[2] for r in on_sqlite["capacity-fade"])  # cell 1: session 1
    assert min(r[3] for r in rows) < rows[0][3]  # a warmer cell fades further
