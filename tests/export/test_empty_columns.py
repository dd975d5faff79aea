"""The export does not fetch a per-sample column that is NULL in every sample of the set's
sessions (export.training._empty): it puts it back as a NULL column of its type, with its unit.
What it returns is what `pandas.read_sql` of the set's own query returns, value for value,
with a channel the file lacks (NULL everywhere) and one set in the last sample alone (which
the check must not take for empty). One simulated session on SQLite; the other row engines
run the same path in test_export.py (their samples have the same empty channels)."""

from __future__ import annotations

import json
import math
import sqlite3

import pandas as pd
import pytest

import derive
import export
from export.read import open_source
from export.training import plan
from ingest.cli import main as ingest_main
from tests.derive.sessions import SIM_COLUMNS, WINDOW_CELL, csv_text
from tests.export.cells import START, simulate
from tests.support.dbkit import sqlite_db

OPTIONS = {"split": "none"}


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("empty-columns")
    path = tmp / "battery.sqlite"
    sqlite_db(path)
    csv, side = tmp / "cell.csv", tmp / "cell.json"
    csv.write_text(csv_text(simulate(0.02, cycles=2).rows, SIM_COLUMNS))
    cell = {**WINDOW_CELL, "nominal_capacity_ah": 4.8, "serial_number": "cell-N"}
    session = {"protocol_name": "p", "protocol_type": "cycle_aging", "started_at": START}
    side.write_text(json.dumps({"cell": cell, "session": session}))
    assert ingest_main([str(csv), "--db", str(path), "--sidecar", str(side)]) == 0
    derive.run(str(path))
    conn = sqlite3.connect(path)
    with conn:  # one channel set in the last sample alone
        conn.execute(
            "UPDATE timeseries_point SET temperature_t1_celsius = 21.5"
            " WHERE record_index = (SELECT max(record_index) FROM timeseries_point)"
        )
    conn.close()
    return str(path)


def test_an_empty_channel_is_not_fetched_and_comes_back_null(url):
    with open_source(url) as source:
        p = plan(source, export.api.request("soc", **OPTIONS))
    assert "temperature_t2_celsius" in p.empty
    assert "temperature_t1_celsius" not in p.empty  # set in one sample: fetched
    assert "temperature_t2_celsius" not in p.fetch_sql and "temperature_t2_celsius" in p.sql
    table = export.training_set(url, "soc", as_="arrow", **OPTIONS)
    t2 = table.schema.field("temperature_t2_celsius")
    assert str(t2.type) == "float" and t2.metadata[b"unit"] == b"degC"
    assert table.column("temperature_t2_celsius").null_count == table.num_rows
    t1 = table.column("temperature_t1_celsius").to_pylist()
    assert t1[-1] == 21.5 and t1.count(None) == len(t1) - 1


def test_the_export_is_read_sql_of_its_own_query(url):
    with open_source(url) as source:
        p = plan(source, export.api.request("soc", **OPTIONS))
    conn = sqlite3.connect(url)
    try:
        theirs = pd.read_sql(p.sql.replace("%s", "?"), conn, params=p.params)
    finally:
        conn.close()
    ours = export.training_set(url, "soc", as_="arrow", **OPTIONS)
    assert ours.num_rows == len(theirs) > 100
    names = [f.name for f in p.columns]
    assert ours.column_names[: len(names)] == names
    assert len(theirs.columns) == len(names)
    for i, name in enumerate(names):  # by position: read_sql repeats a name met twice
        got, want = ours.column(name).to_pylist(), theirs.iloc[:, i].tolist()
        if name == "recorded_at":  # SQLite keeps Unix seconds
            got = [v.timestamp() for v in got]
        for a, b in zip(got, want, strict=True):
            if b is None or (isinstance(b, float) and math.isnan(b)):
                assert a is None, (name, a, b)
            elif isinstance(b, float):
                assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6), (name, a, b)
            else:
                assert a == b, (name, a, b)
