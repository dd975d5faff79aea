"""`python -m demo [--db URL]` (`make demo`): a database filled from the demo files
shipped under data/demo/ (simulated with PyBaMM by scripts/demo/make_demo_data.py): the schema
created when the database has none, every demo file loaded with the loader, then cycles,
features, SOC and SOH labels (and the aging cells' curves) derived with `derive.run`, and last
the baseline SOH and SOC models fitted and their predictions imported (demo/model.py).

SQLite by default (db/battery.sqlite, made anew); a PostgreSQL URL gets the PostgreSQL DDL, or
the TimescaleDB DDL where the timescaledb extension is installed in it; a ClickHouse URL
(`chdb:///dir?database=NAME`, chdb in process) gets sql/clickhouse/schema.sql, with the data
directory and the database made when missing. Loading twice is a no-op (the loader knows the
files by their hash; the derivations update in place).
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import derive as derivations
from derive import CurveSettings, DeriveError
from ingest.db import Database, connect
from ingest.errors import IngestError, UsageError
from ingest.load import Options, load_file, read_sidecar

from . import model
from .model import Baseline

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "demo"
DEFAULT_DB = ROOT / "db" / "battery.sqlite"


@dataclass(frozen=True)
class DemoSession:
    name: str  # the session's handle in this module and in the tests
    files: tuple[str, ...]  # under data/demo/
    sidecar: str
    file_format: str  # readers.FORMATS
    # the SOC the test starts at, for a coulomb count from it; None: derive's default, SOC
    # anchored at full charges (a session that charges to 4.2 V with the current tapered)
    initial_soc: float | None
    vendor: bool = False  # a vendor export (read by a vendor reader, not the BDF one)


def _bdf(name: str, initial_soc: float | None = None) -> DemoSession:
    return DemoSession(name, (f"{name}.bdf.csv.gz",), f"{name}.json", "bdf", initial_soc)


# The load order fixes the ids: session 1 is cell_aging (25 degC, 1C) and session 2 the drive
# cycle, as before there were more (the cookbook's recipes name them); cell 1 is cell_aging's
# (serial SIM-01), cell 2 the SOC tests' (SIM-02), cells 3-9 the other aging cells (SIM-03..09).
AGING = (
    "cell_aging",
    "aging_25degC_0p5C",
    "aging_25degC_2C",
    "aging_15degC_1C",
    "aging_15degC_2C",
    "aging_40degC_0p5C",
    "aging_40degC_1C",
    "aging_40degC_2C",
)
# delta-Q(V) of every ageing cell: cycle 35 against cycle 10 (each runs 40 cycles; Severson
# et al. compare 100 with 10 over a longer life: docs/features.md), as derive stores it; the
# baseline model (demo/model.py) takes each cycle's against the same reference, cycle 10
DELTA_Q_CYCLES = (10, 35)
SESSIONS = (
    _bdf("cell_aging"),
    _bdf("drive_cycle", 0.9),
    # the same drive cycle as the cycler's own export, read by the vendor library: a session
    # of its own, so the two can be compared sample for sample
    DemoSession(
        "drive_cycle_maccor",
        ("drive_cycle.001.gz",),
        "drive_cycle.json",
        "maccor",
        0.9,
        vendor=True,
    ),
    *(_bdf(name) for name in AGING[1:]),
    _bdf("ocv_c20"),
    _bdf("hppc", 1.0),  # from full, never charged full again: no anchor
)


@dataclass
class Built:
    url: str
    sessions: dict[str, int] = field(default_factory=dict)  # name -> session_id
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows
    seconds: float = 0.0
    model: Baseline | None = None  # the baseline SOH model's run (demo/model.py)
    soc_model: Baseline | None = None  # the OCV + coulomb-counting SOC baseline's run


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def create_schema(db: Database, ddl: str | None = None) -> bool:
    """Create the tables from the generated DDL unless the database has them; True if made.
    On PostgreSQL `ddl` picks sql/<ddl>/schema.sql; by default timescaledb where the server
    offers the extension, else postgres."""
    if db.kind == "clickhouse":
        return _create_clickhouse_schema(db)
    if db.has_table("test_session"):
        return False
    if db.kind == "sqlite":  # sqlite3 runs the script whole (the ADBC driver: one statement)
        conn = sqlite3.connect(db.path)
        try:
            conn.executescript((ROOT / "sql" / "sqlite" / "schema.sql").read_text())
        finally:
            conn.close()
        return True
    from generator.sqltext import split_statements

    if ddl is None:
        offered = db.query("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
        ddl = "timescaledb" if offered else "postgres"
    if ddl not in ("postgres", "timescaledb"):
        raise UsageError(f"--ddl {ddl!r}: postgres or timescaledb")
    text = (ROOT / "sql" / ddl / "schema.sql").read_text()
    db.begin()
    try:
        for statement in split_statements(text):
            db.execute(statement)
    except BaseException:
        db.rollback()
        raise
    db.commit()
    return True


def _create_clickhouse_schema(db: Database) -> bool:
    """The database (CREATE DATABASE IF NOT EXISTS) and sql/clickhouse/schema.sql in it, unless
    it has the tables. A statement ClickHouse refuses drops the tables made before it."""
    from generator.sqltext import split_statements

    db.raw.query(f"CREATE DATABASE IF NOT EXISTS {db.database}")
    if db.has_table("test_session"):
        return False
    made = []
    try:
        for statement in split_statements((ROOT / "sql" / "clickhouse" / "schema.sql").read_text()):
            db.execute(statement)
            found = re.match(r"\s*CREATE TABLE\s+(\w+)", statement)
            if found:
                made.append(found.group(1))
    except BaseException:
        for table in reversed(made):
            db.raw.query(f"DROP TABLE IF EXISTS {db.database}.{table}")
        raise
    return True


def _create_chdb_dir(url: str) -> None:
    """chdb:///dir?database=NAME: the data directory made when missing; a clear error for a URL
    without a directory or with a database name ClickHouse would not take unquoted."""
    rest = url[len("chdb://") :]
    path, _, query = rest.partition("?")
    options = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
    unknown = [part for part in query.split("&") if part and not part.startswith("database=")]
    if not path or unknown:
        raise UsageError(
            f"{url}: a ClickHouse URL is chdb:///path/to/data?database=NAME"
            + (f" (unknown {', '.join(unknown)})" if unknown else " (no data directory)")
        )
    name = options.get("database", "default")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise UsageError(
            f"{url}: database name {name!r}: letters, digits and _, not starting with a digit"
        )
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{url}: {path} exists and is not a directory")
    target.mkdir(parents=True, exist_ok=True)


def _create_sqlite_file(url: str) -> None:
    """The loader opens only a SQLite file that exists: make it, with the schema."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
    elif "://" in url or "dbname=" in url:
        return  # PostgreSQL: the server has the database; create_schema adds the tables
    else:
        path = Path(url)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    try:
        conn.executescript((ROOT / "sql" / "sqlite" / "schema.sql").read_text())
    finally:
        conn.close()


def build(
    url: str,
    data: Path = DATA,
    *,
    vendor: bool = True,
    derive: bool = True,
    ddl: str | None = None,
    models: bool = True,
) -> Built:
    """Fill the database at `url` from the demo files; `vendor=False` leaves out the sessions
    that need the vendor reader (the docs build draws from the BDF sessions only);
    `models=False` stops after the SQL and step derivations: no curves, no baseline models
    (what the query cookbook reads; the curves are most of a build's time on a slow server)."""
    started = time.monotonic()
    built = Built(url)
    if url.startswith("chdb://"):
        _create_chdb_dir(url)
    else:
        _create_sqlite_file(url)
    db = connect(url)
    try:
        if create_schema(db, ddl) and db.kind not in ("sqlite", "clickhouse"):
            db.close()  # the loader and derive see TimescaleDB by the extension, now there
            db = connect(url)
        cells: dict[str, int] = {}  # serial number -> cell_id: a cell made once, however many tests
        for session in SESSIONS:
            if session.vendor and not vendor:
                continue
            sidecar = read_sidecar(data / session.sidecar)
            serial = sidecar["cell"]["serial_number"]
            if serial in cells:
                sidecar = {"session": {**sidecar["session"], "cell_id": cells[serial]}}
            sidecar["session"]["notes"] = f"demo: {session.name}"
            session_id = _existing(db, session.name)
            for name in session.files:
                outcome = load_file(
                    db,
                    data / name,
                    session_id,
                    Options(file_format=session.file_format),
                    None if session_id else sidecar,
                )
                session_id = outcome.session_id
            built.sessions[session.name] = session_id
            if serial not in cells:
                rows = db.query(
                    "SELECT cell_id FROM test_session WHERE session_id = %s", [session_id]
                )
                cells[serial] = int(rows[0][0])
    finally:
        db.close()
    if derive:
        by_soc: dict[float | None, list[int]] = {}  # one derive run per initial SOC
        for session in SESSIONS:
            if session.name in built.sessions:
                by_soc.setdefault(session.initial_soc, []).append(built.sessions[session.name])
        for initial_soc, ids in by_soc.items():
            derivations.run(
                url,
                ids,
                initial_soc=initial_soc,
                strict=True,  # a refused derivation fails the demo, said in one line
            )
        # the ageing cells' curves, dQ/dV, dV/dQ and delta-Q(V) (derive/curves.py), unless an
        # earlier build wrote them: their 760,000 rows take about two minutes to write again
        # on the test TimescaleDB (the cycles re-derived in place keep them; re-segmented, the
        # cascade deletes them and they are derived anew)
        aging = [built.sessions[name] for name in AGING if name in built.sessions]
        settings = CurveSettings(delta_q_cycles=DELTA_Q_CYCLES)
        if not models:
            aging = []
        if aging and _curves_missing(url, aging, settings.curve_version):
            derivations.run(url, aging, what=("curves",), curves=settings, strict=True)
        if aging:
            # the baseline SOH model: exported, fitted, its predictions imported (model_run)
            built.model = model.run(url, aging, DELTA_Q_CYCLES[0], settings.curve_version)
        if models and "ocv_c20" in built.sessions and "drive_cycle" in built.sessions:
            # the SOC baseline: the C/20 test's OCV table, the drive cycle counted from it
            built.soc_model = model.soc_run(
                url, built.sessions["ocv_c20"], built.sessions["drive_cycle"]
            )
    db = connect(url)
    try:
        for table in (
            "battery_cell",
            "test_session",
            "source_file",
            "timeseries_point",
            "cycle",
            "cycle_feature",
            "label_soc",
            "label_soh",
            "cycle_curve",
            "cycle_curve_feature",
            "model_run",
            "prediction",
        ):
            built.rows[table] = int(db.query(f"SELECT count(*) FROM {table}")[0][0])
    finally:
        db.close()
    built.seconds = time.monotonic() - started
    return built


def _curves_missing(url: str, sessions: list[int], version: str) -> bool:
    """True unless every session has its delta-Q(V) row under `version` (written last)."""
    db = connect(url)
    try:
        rows = db.query(
            "SELECT count(DISTINCT session_id) FROM cycle_curve_feature WHERE curve_version = %s "
            f"AND delta_q_reference_cycle_index IS NOT NULL AND session_id IN "
            f"({', '.join(str(int(s)) for s in sessions)})",
            [version],
        )
    finally:
        db.close()
    return int(rows[0][0]) < len(set(sessions))


def _existing(db: Database, name: str) -> int | None:
    """The session of an earlier demo load (its notes name it), so a rerun is a no-op."""
    rows = db.query(
        "SELECT session_id FROM test_session WHERE notes = %s ORDER BY session_id",
        [f"demo: {name}"],
    )
    return int(rows[0][0]) if rows else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n")[0])
    p.add_argument(
        "--db",
        help="sqlite:///path, a SQLite path, postgresql://... or chdb:///dir?database=NAME "
        f"(default {DEFAULT_DB}, made anew)",
    )
    p.add_argument("--data", type=Path, default=DATA, help="the demo files (default data/demo)")
    p.add_argument(
        "--ddl",
        choices=("postgres", "timescaledb"),
        help="PostgreSQL: which DDL creates the tables (default: timescaledb where the server "
        "offers the extension)",
    )
    args = p.parse_args(argv)
    if args.db:
        url = args.db
    else:
        DEFAULT_DB.parent.mkdir(parents=True, exist_ok=True)
        DEFAULT_DB.unlink(missing_ok=True)
        url = sqlite_url(DEFAULT_DB)
    try:
        built = build(url, args.data, ddl=args.ddl)
    except (IngestError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except DeriveError as exc:  # said, not a traceback
        print(f"error: deriving: {exc}", file=sys.stderr)
        return 1
    print(
        f"demo database {url}: "
        + ", ".join(f"{n} {t}" for t, n in built.rows.items())
        + f" rows in {built.seconds:.1f} s",
        file=sys.stderr,
    )
    out = {"sessions": built.sessions, "rows": built.rows}
    for key, run, name in (
        ("model", built.model, f"{model.MODEL_NAME} {model.MODEL_VERSION}"),
        ("soc_model", built.soc_model, f"{model.SOC_MODEL_NAME} {model.SOC_MODEL_VERSION}"),
    ):
        if run is not None:
            out[key] = _report_model(url, run, name)
    print(json.dumps(out))
    return 0


def _report_model(url: str, run: Baseline, name: str) -> dict:
    """The baseline model's evaluation (python -m predictions evaluate --run ID --per-cell),
    said on stderr and returned for the JSON line."""
    from predictions import evaluate

    scores = evaluate(url, [run.run_id]) + evaluate(url, [run.run_id], per_cell=True)
    said = "imported" if run.imported else "found (built before)"
    print(
        f"model_run {run.run_id} ({name}, {said}): {run.rows} predictions in {run.seconds:.1f} s",
        file=sys.stderr,
    )
    for s in sorted(scores, key=lambda s: (s.split, s.cell_id is not None, s.cell_id or 0)):
        cell = "all cells" if s.cell_id is None else f"cell {s.cell_id}"
        print(
            f"  {s.split:<5} {cell:<9} {s.count:>4} rows: MAE {s.mae:.4f}, "
            f"RMSE {s.rmse:.4f}, max {s.max_error:.4f}",
            file=sys.stderr,
        )
    return {"run_id": run.run_id, "scores": [s.__dict__ for s in scores]}


if __name__ == "__main__":
    sys.exit(main())
