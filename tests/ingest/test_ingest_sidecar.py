"""The sidecar is checked against the schema before anything is written (ingest/sidecar.py):
each mistake is named by file and key with exit code 2, the database is left as it was, and a
good sidecar still loads. Before, a bad timestamp was a traceback and a bad value was reported
as the database refusing the CSV file."""

from __future__ import annotations

import json
import sqlite3

import pytest

from ingest.cli import main
from tests.ingest.loading import CELL, SESSION, START, write
from tests.support.dbkit import sqlite_db

GOOD = {"cell": CELL, "session": {**SESSION, "started_at": START}}
FILE = "Test Time / s,Voltage / V,Current / A,Cycle Count / 1\n0,3.6,1,0\n1,3.6,1,0\n"


def _with(part: str, **changes) -> dict:
    doc = json.loads(json.dumps(GOOD))
    doc[part].update(changes)
    return {k: {n: v for n, v in row.items() if v != "<drop>"} for k, row in doc.items()}


BAD = [
    ("not_json", "{", "cannot read the sidecar"),
    ("not_an_object", [], "the sidecar must be a JSON object"),
    ("unknown_key", {**GOOD, "cel": {}}, "'cel': not a sidecar key"),
    ("no_session", {"cell": CELL}, "session: the sidecar has no 'session' object"),
    ("cell_not_object", {**GOOD, "cell": 5}, "cell: must be an object of battery_cell columns"),
    (
        "unknown_column",
        _with("session", protocol_typ="rpt"),
        "session.protocol_typ: test_session has no column 'protocol_typ' (did you mean "
        "'protocol_type'?)",
    ),
    (
        "text_for_a_number",
        _with("cell", nominal_capacity_ah="five"),
        'cell.nominal_capacity_ah: "five" is not a number (real)',
    ),
    (
        "boolean_for_a_number",
        _with("cell", nominal_capacity_ah=True),
        "cell.nominal_capacity_ah: true is not a number",
    ),
    (
        "infinite",
        '{"cell": {"nominal_capacity_ah": 1e999}, "session": {"protocol_name": "x"}}',
        "cell.nominal_capacity_ah: Infinity is not a finite number",
    ),
    (
        "out_of_range",
        _with("cell", nominal_capacity_ah=-5),
        "cell.nominal_capacity_ah: -5 is outside the column's range > 0",
    ),
    (
        "not_an_enum_value",
        _with("cell", chemistry="NMC811"),
        'cell.chemistry: "NMC811" is not a chemistry value',
    ),
    (
        "not_a_timestamp",
        _with("session", started_at="yesterday"),
        'session.started_at: "yesterday" is not an ISO 8601 timestamp',
    ),
    (
        "timestamp_without_offset",
        _with("session", started_at="2024-03-31T00:00:00"),
        'session.started_at: "2024-03-31T00:00:00" has no UTC offset',
    ),
    (
        "required_column_missing",
        _with("cell", chemistry="<drop>"),
        "cell: missing required battery_cell column(s): chemistry",
    ),
]


@pytest.fixture()
def db(tmp_path):
    path = tmp_path / "battery.sqlite"
    sqlite_db(path)
    return path


def _counts(path) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        return [
            conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("battery_cell", "test_session", "timeseries_point", "source_file")
        ]
    finally:
        conn.close()


@pytest.mark.parametrize("name,doc,message", BAD, ids=[b[0] for b in BAD])
def test_a_bad_sidecar_is_named_and_writes_nothing(db, tmp_path, capsys, name, doc, message):
    side = write(tmp_path, "side.json", doc if isinstance(doc, str) else json.dumps(doc))
    data = write(tmp_path, "cell.csv", FILE)
    before = _counts(db)
    code = main([str(data), "--db", str(db), "--sidecar", str(side)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"error: {side}: {message}" in err, err
    assert "Traceback" not in err
    assert _counts(db) == before


def test_a_good_sidecar_loads(db, tmp_path, capsys):
    side = write(tmp_path, "side.json", json.dumps(GOOD))
    data = write(tmp_path, "cell.csv", FILE)
    code = main([str(data), "--db", str(db), "--sidecar", str(side)])
    assert code == 0, capsys.readouterr().err
    assert _counts(db) == [1, 1, 2, 1]
