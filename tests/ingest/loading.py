"""The loader tests' common ground (tests/ingest/): a fresh database per engine with the generated
schema (`fresh_target`, behind the `target` and `sqlite_target` fixtures of conftest.py), the
sidecar and the command line as the tests run them, and the BDF CSV files more than one module
loads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import harness
from ingest.cli import main
from ingest.db import connect
from tests.support.dbkit import ddl_text, load_pg_ddl, sqlite_db

ENGINES = ["sqlite"] + (["pg_env"] if harness.own_dsn_is_set() else ["pg15", "pg18"])
ENGINES.append("timescale")
TABLES = ("battery_cell", "test_session", "timeseries_point", "source_file")

CELL = {
    "chemistry": "NMC",
    "form_factor": "cylindrical",
    "nominal_capacity_ah": 5.0,
    "nominal_voltage_volt": 3.6,
    "voltage_min_volt": 2.5,
    "voltage_max_volt": 4.2,
}
SESSION = {"protocol_name": "RPT 0.5C", "protocol_type": "rpt"}
START = "2024-03-31T00:00:00Z"  # 1711843200


@dataclass
class Target:
    name: str
    url: str
    kind: str  # sqlite | postgres

    def query(self, sql: str, params=()) -> list[tuple]:
        db = connect(self.url)
        try:
            return db.query(sql, params)
        finally:
            db.close()

    def epoch(self, column: str) -> str:
        return column if self.kind == "sqlite" else f"extract(epoch FROM {column})::float8"

    def counts(self) -> dict[str, int]:
        return {t: self.query(f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}


def fresh_target(request, tmp_path_factory, label: str) -> Iterator[Target]:
    """A fresh database with the generated schema on the engine `request.param` names."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp(label) / "battery.sqlite"
        sqlite_db(path)
        yield Target("sqlite", f"sqlite:///{path}", "sqlite")
        return
    engine = request.getfixturevalue(request.param)
    ddl = "timescaledb" if request.param == "timescale" else "postgres"
    with engine.fresh_database(label) as database:
        with database.connect() as raw:
            load_pg_ddl(raw, ddl_text(ddl))
        yield Target(engine.name, database.conninfo(), "postgres")


def sidecar(tmp_path: Path, started_at: str = START) -> Path:
    path = tmp_path / "sidecar.json"
    path.write_text(json.dumps({"cell": CELL, "session": {**SESSION, "started_at": started_at}}))
    return path


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def ingest(target: Target, files: list[Path], *options: str, capsys=None) -> tuple[int, str]:
    code = main([*map(str, files), "--db", target.url, *options])
    err = capsys.readouterr().err if capsys else ""
    return code, err


def session_of(target: Target, path: Path) -> int:
    return target.query("SELECT session_id FROM source_file WHERE uri = %s", [str(path)])[0][0]


MACHINE_FILE = """\
record_index,test_time_second,unix_time_second,voltage_volt,current_ampere,cycle_count,step_id
10,0,1711843200,3.6,2.5,0,1
11,10,1711843210,3.65,2.5,0,1
12,20,1711843220,3.7,0,0,2
"""


QUALITY_FILE = """\
Test Time / s,Voltage / V,Current / A,Cycle Count / 1,Step Type
0,3.6,1,0,rest
1,2000,1,0,rest
2,3.6,1,0,charging
3,3.6,1,0,rest
2.5,3.6,1,0,rest
5,3.6,1,-1,rest
"""
