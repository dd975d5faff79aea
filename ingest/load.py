"""Load cycler files into a database: one file, one transaction. Rows are staged in a
temporary table, the quality report runs over them, and only then are they copied into
timeseries_point and the file recorded in source_file (with its content hash, which makes a
second load of the same bytes a no-op)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from . import bdf, quality, readers
from .db import Database
from .errors import IngestError, UsageError

STAGE_KINDS = [("line", "integer")] + [
    (
        name,
        "integer"
        if name in bdf.INTEGER_COLUMNS
        else "text"
        if name in bdf.TEXT_COLUMNS
        else "real",
    )
    for name in bdf.STAGED_COLUMNS
]
FILE_FORMAT = "bdf_csv"


@dataclass
class Options:
    strict: bool = True
    discharge_positive: bool = False
    time_zone: str | None = None
    progress: bool = False
    file_format: str = "bdf"  # a name of readers.FORMATS (--format)


@dataclass
class Outcome:
    file: str
    status: str  # loaded | duplicate
    rows_loaded: int = 0
    rows_rejected: int = 0
    source_file_id: int | None = None
    session_id: int | None = None
    report: quality.Report | None = None
    rejects: list[tuple[int, list[str]]] = field(default_factory=list)
    seconds: float = 0.0


class Refused(IngestError):
    """The quality report refused the file; `.report` says why."""

    def __init__(self, file: str, report: quality.Report, why: str):
        super().__init__(file, why)
        self.report = report


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_schema(db: Database) -> None:
    for table in ("test_session", "timeseries_point", "source_file"):
        if not db.has_table(table):
            raise UsageError(
                f"the database has no table {table}: load the schema first "
                "(sql/<engine>/schema.sql, or make db for SQLite)"
            )


def create_session(db: Database, sidecar: dict[str, Any]) -> int:
    """Insert the cell (unless `cell_id` is given) and the session a sidecar describes."""
    session = dict(sidecar.get("session") or {})
    if not session:
        raise UsageError("the sidecar has no 'session' object")
    if "cell" in sidecar:
        cell = dict(sidecar["cell"])
        session["cell_id"] = _insert(db, "battery_cell", cell, "cell_id")
    if "started_at" in session and isinstance(session["started_at"], str):
        session["started_at"] = _unix(session["started_at"])
    return _insert(db, "test_session", session, "session_id", timestamps={"started_at"})


def _unix(text: str) -> float:
    stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        raise UsageError(f"started_at {text!r} has no UTC offset")
    return stamp.timestamp()


def _insert(
    db: Database, table: str, row: dict[str, Any], key: str, timestamps: set[str] = frozenset()
) -> int:
    names = list(row)
    for name in names:
        if not name.isidentifier():
            raise UsageError(f"{table}: {name!r} is not a column name")
    marks = ", ".join(db.timestamp("%s") if n in timestamps else "%s" for n in names)
    db.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", list(row.values()))
    if db.kind == "sqlite":
        return int(db.query("SELECT last_insert_rowid()")[0][0])
    return int(db.query(f"SELECT currval(pg_get_serial_sequence('{table}', '{key}'))")[0][0])


def session_start(db: Database, session_id: int) -> float:
    expression = "started_at" if db.kind == "sqlite" else "extract(epoch FROM started_at)"
    rows = db.query(f"SELECT {expression} FROM test_session WHERE session_id = %s", [session_id])
    if not rows:
        raise UsageError(f"no test_session with session_id {session_id}")
    return float(rows[0][0])


def load_file(
    db: Database,
    path: Path,
    session_id: int | None,
    options: Options,
    sidecar: dict[str, Any] | None = None,
) -> Outcome:
    """Load one file whole into `session_id` (or a session the sidecar describes, created in
    the same transaction), or raise and write nothing."""
    started = time.monotonic()
    file = str(path)
    if not path.is_file():
        raise IngestError(file, "no such file")
    digest = sha256(path)
    seen = db.query(
        "SELECT source_file_id, session_id FROM source_file WHERE content_sha256 = %s", [digest]
    )
    if seen:
        return Outcome(
            file, "duplicate", source_file_id=int(seen[0][0]), session_id=int(seen[0][1])
        )
    read_options = bdf.ReadOptions(
        discharge_positive=options.discharge_positive, time_zone=options.time_zone
    )
    info, chunks = readers.reader(options.file_format)(path, read_options)
    report = quality.Report(file)
    db.begin()
    try:
        if session_id is None:
            if sidecar is None:
                raise UsageError("say which session: --session ID or --sidecar FILE.json")
            session_id = create_session(db, sidecar)
        read_options.started_at = session_start(db, session_id)
        db.create_stage(STAGE_KINDS)
        offset = _record_offset(db, session_id)
        base: int | None = None
        last_progress = started
        for _first_line, table in chunks:
            records = table.column("record_index")
            if base is None:
                base = records[0].as_py() or 0
            records = pc.add(pc.subtract(records, base), offset)
            table = table.set_column(
                table.column_names.index("record_index"), "record_index", records
            )
            db.stage(table)
            report.rows += table.num_rows
            now = time.monotonic()
            if options.progress and now - last_progress >= 1:
                rate = report.rows / max(now - started, 1e-9)
                print(
                    f"\r{file}: {report.rows:,} rows staged, {rate:,.0f} rows/s",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
                last_progress = now
        quality.run(db, report)
        refusing = ("error", "refuse", "warning") if options.strict else ("refuse",)
        failed = report.failed(refusing)
        if failed:
            raise Refused(
                file, report, f"refused ({len(failed)} rule(s) fail); nothing was written"
            )
        outcome = Outcome(file, "loaded", report=report, session_id=session_id)
        if report.failed(("error",)):
            outcome.rejects = quality.rejected_rows(db)
        failing = bool(report.failed(("error",)))
        condition = quality.passing_condition(db.target) if failing else "TRUE"
        outcome.rows_loaded = _copy_in(db, session_id, condition)
        outcome.rows_rejected = report.rows - outcome.rows_loaded
        first_last = db.query(
            f"SELECT min(record_index), max(record_index) FROM ingest_stage WHERE {condition}"
        )[0]
        outcome.source_file_id = _insert(
            db,
            "source_file",
            {
                "session_id": session_id,
                "uri": file,
                "content_sha256": digest,
                "file_format": readers.file_format(options.file_format),
                "cycler_software": getattr(info, "cycler_software", None),
                "original_units": _original_units(db, info),
                "assumed_time_zone": info.assumed_time_zone,
                "record_index_first": first_last[0],
                "record_index_last": first_last[1],
                "imported_at": time.time(),
            },
            "source_file_id",
            timestamps={"imported_at"},
        )
        db.commit()
    except db.errors as exc:
        # a constraint the staged rules do not cover (a sidecar value, a foreign key): the
        # engine's own words, located at the file, and nothing kept
        db.rollback()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IngestError(file, f"the database refused the load: {first}") from None
    except BaseException:
        db.rollback()
        raise
    finally:
        if options.progress and time.monotonic() - started >= 1:
            print(file=sys.stderr)
    outcome.seconds = time.monotonic() - started
    return outcome


def _original_units(db: Database, info: bdf.FileInfo) -> str | None:
    """NULL when the file was in BDF units already; but the generated SQLite CHECK
    json_valid(original_units) is false for NULL on SQLite < 3.45 (json_valid(NULL) = 0), so
    there an empty object says the same."""
    text = info.original_units_json()
    if text is None and db.kind == "sqlite":
        return "{}"
    return text


def _record_offset(db: Database, session_id: int) -> int:
    """Record indexes continue the session's: a second file starts after the first."""
    last = db.query(
        "SELECT max(record_index) FROM timeseries_point WHERE session_id = %s", [session_id]
    )[0][0]
    return 0 if last is None else int(last) + 1


def _copy_in(db: Database, session_id: int, condition: str) -> int:
    """Copy the staged rows that pass `condition` (TRUE when no row failed a rule: the
    engine's own CHECKs still guard the insert)."""
    columns = list(bdf.STAGED_COLUMNS)
    select = [db.timestamp(c) if c == "recorded_at" else c for c in columns]
    return db.execute(
        f"INSERT INTO timeseries_point (session_id, {', '.join(columns)}) "
        f"SELECT %s, {', '.join(select)} FROM ingest_stage "
        f"WHERE {condition}",
        [session_id],
    )


def read_sidecar(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read the sidecar: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: the sidecar must be a JSON object")
    return data
