"""Pack sessions (test_session.pack_id, no cell) in a training set: the set holds cell sessions
only (docs/modelling.md, Pack sessions), so an export whose filters select pack sessions alone
is refused in one line naming them and their pack, nothing written; one that selects cells
and packs exports the cells and warns, naming the pack sessions it left out. One cell session
and one pack session, derived with derive's defaults, on SQLite and PostgreSQL 18."""

from __future__ import annotations

import json
import sqlite3
import warnings

import pyarrow.parquet as pq
import pytest

import derive
import export
import harness
from export.cli import main as export_main
from ingest.cli import main as ingest_main
from ingest.db import connect
from tests.derive.sessions import SIM_COLUMNS, WINDOW_CELL, csv_text
from tests.export.cells import START, simulate
from tests.support.dbkit import ddl_text, load_pg_ddl

PACK = {
    "chemistry": "NMC",
    "series_count": 1,
    "parallel_count": 1,
    "nominal_capacity_ah": 4.8,
    "nominal_voltage_volt": 3.6,
    "voltage_min_volt": WINDOW_CELL["voltage_min_volt"],
    "voltage_max_volt": WINDOW_CELL["voltage_max_volt"],
}


def _load(url: str, tmp) -> dict[str, int]:
    """The cell session and the pack session, derived; name -> session_id, and the pack."""
    db = connect(url)
    try:
        columns = ", ".join(PACK)
        db.begin()
        db.execute(
            f"INSERT INTO battery_pack ({columns}) VALUES ({', '.join(['%s'] * len(PACK))})",
            list(PACK.values()),
        )
        db.commit()
        pack = int(db.query("SELECT max(pack_id) FROM battery_pack")[0][0])
    finally:
        db.close()
    session = {
        "protocol_type": "cycle_aging",
        "started_at": START,
        "ambient_temperature_celsius": 25.0,
        "charge_c_rate": 0.5,
        "discharge_c_rate": 1.0,
    }
    cell = {**WINDOW_CELL, "nominal_capacity_ah": 4.8, "serial_number": "cell-P"}
    sidecars = {
        "cell": {"cell": cell, "session": {**session, "protocol_name": "cell test"}},
        "pack": {"session": {**session, "protocol_name": "pack test", "pack_id": pack}},
    }
    ids = {"pack_id": pack}
    for fade, (name, sidecar) in zip((0.02, 0.03), sidecars.items(), strict=True):
        path, side = tmp / f"{name}.csv", tmp / f"{name}.json"  # two files: two hashes
        path.write_text(csv_text(simulate(fade, cycles=3).rows, SIM_COLUMNS))
        side.write_text(json.dumps(sidecar))
        assert ingest_main([str(path), "--db", url, "--sidecar", str(side)]) == 0
        db = connect(url)
        try:
            ids[name] = int(
                db.query("SELECT session_id FROM source_file WHERE uri = %s", [str(path)])[0][0]
            )
        finally:
            db.close()
    derive.run(url)
    return ids


@pytest.fixture(scope="module", params=["sqlite", "pg_env" if harness.own_dsn_is_set() else "pg18"])
def db(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"packs-{request.param}")
    if request.param == "sqlite":
        path = tmp / "battery.sqlite"
        conn = sqlite3.connect(path)
        conn.executescript(ddl_text("sqlite"))
        conn.close()
        url = f"sqlite:///{path}"
        yield {"url": url, "tmp": tmp, **_load(url, tmp)}
        return
    engine = request.getfixturevalue(request.param)
    with engine.fresh_database("packs") as database:
        with database.connect() as raw:
            load_pg_ddl(raw, ddl_text("postgres"))
        url = database.conninfo()
        yield {"url": url, "tmp": tmp, **_load(url, tmp)}


@pytest.mark.parametrize("task", ["soh", "soc"])
def test_a_filter_that_selects_pack_sessions_alone_is_refused(db, tmp_path, capsys, task):
    out = tmp_path / "set.parquet"
    args = ["training-set", "--db", db["url"], "--out", str(out), "--task", task]
    code = export_main([*args, "--session", str(db["pack"]), "--split", "none"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert (
        f"nothing to export: --session {db['pack']} selects pack session(s) {db['pack']} "
        f"(pack {db['pack_id']}) alone; training sets hold cell sessions only" in err
    ), err
    assert len(err.strip().splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the description


def test_cells_and_packs_export_the_cells_and_name_the_packs_left_out(db, tmp_path, capsys):
    out = tmp_path / "set.parquet"
    code = export_main(["training-set", "--db", db["url"], "--out", str(out), "--split", "none"])
    err = capsys.readouterr().err
    assert code == 0, err
    left_out = f"warning: left out pack session(s) {db['pack']} (pack {db['pack_id']})"
    assert left_out in err, err
    assert set(pq.read_table(out, columns=["session_id"]).column(0).to_pylist()) == {db["cell"]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = export.training_set(db["url"], "soc", as_="arrow", split="none")
    assert set(table.column("session_id").to_pylist()) == {db["cell"]}
    said = [str(w.message) for w in caught if issubclass(w.category, export.LeftOutWarning)]
    assert len(said) == 1 and said[0].startswith(left_out.removeprefix("warning: ")), said
