"""Run the derivations on a database: per session, one transaction (or one savepoint when the
caller's connection is already inside a transaction), the SQL texts of `derive.sql` in order.
Set-based: every row is written by one INSERT ... SELECT per derivation; Python only reads a
few scalars (the nominal capacity, the reference capacity of the first full cycles)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from connection import ConnectionFailed, Url, parse
from connection.clickhouse import ChdbConnection
from connection.dbapi import DbapiConnection, is_dbapi
from connection.postgres import open_psycopg
from connection.sqlite import open_sqlite3

from . import sql
from .errors import DeriveError

WHAT = ("cycles", "features", "soc", "soh")
DEFAULT_FEATURE_VERSION = "derive-1"
DEFAULT_LABEL_VERSION = "derive-1"
# The CV phase of a charge, where the cycler does not label it: charging samples within this
# many volts of the cycle's highest charging voltage (a cycler holds CV to about 1 mV).
CV_TOLERANCE_VOLT = 0.002
# A full cycle for SOH: coulombic efficiency within this band.
FULL_CYCLE_CE = (0.9, 1.1)


@dataclass
class Settings:
    feature_version: str = DEFAULT_FEATURE_VERSION
    label_version: str = DEFAULT_LABEL_VERSION
    reference_capacity_ah: float | None = None  # None: the asset's nominal capacity
    initial_soc: float = 0.0
    soh_reference_cycles: int | None = None  # K: reference = first K full cycles
    what: tuple[str, ...] = WHAT
    cv_tolerance_volt: float = CV_TOLERANCE_VOLT
    full_cycle_ce: tuple[float, float] = FULL_CYCLE_CE


@dataclass
class SessionResult:
    session_id: int
    cycles: int = 0  # rows written (inserted or changed) by each derivation
    features: int = 0
    soc_labels: int = 0
    soh_labels: int = 0
    reference_capacity_ah: float | None = None  # SOC labels
    soh_reference_capacity_ah: float | None = None
    soh_reference_basis: str | None = None  # nominal | first_measured
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)  # seconds per derivation


_Connection = DbapiConnection  # sqlite3 (`?`) and psycopg (`%s`): connection/dbapi.py


@contextmanager
def _open(db: Any) -> Iterator[_Connection]:
    """A URL (as `python -m ingest --db` takes), or an open sqlite3 / psycopg connection (or an
    object whose `.raw` is one); only what this opened is closed. The loader's own connections
    are Arrow (ADBC) drivers, so a URL is opened here with sqlite3 or psycopg."""
    if isinstance(db, str):
        try:
            where = parse(db)
        except ConnectionFailed as exc:
            raise DeriveError(str(exc)) from None
        if where.kind == "clickhouse":
            with _clickhouse_session(where) as conn:
                yield conn
            return
        raw = _connect(where)
        try:
            yield _Connection(raw, savepoint="derive_session")
        finally:
            raw.close()
        return
    if getattr(db, "kind", None) == "clickhouse":  # an open ingest.db.ClickHouseDatabase
        yield _ClickHouse(db)
        return
    raw = getattr(db, "raw", db)
    if not is_dbapi(raw):
        raise DeriveError(
            f"cannot derive through a {type(raw).__name__}: pass the database URL, "
            "an ingest.db.Database, or a sqlite3 or psycopg connection"
        )
    yield _Connection(raw, savepoint="derive_session")


def _connect(where: Url) -> Any:
    """A sqlite3 or psycopg connection to a URL of `python -m ingest --db` (connection.parse)."""
    try:
        if where.kind == "postgres":
            return open_psycopg(where.text)
        return open_sqlite3(where.path)  # derive says BEGIN and COMMIT itself
    except ConnectionFailed as exc:
        raise DeriveError(str(exc)) from None


class _ClickHouse:
    """A ClickHouse connection (connection.clickhouse.ChdbConnection, or an
    ingest.db.ClickHouseDatabase) as derive uses it: no transactions (derive/clickhouse.py
    stages and publishes instead)."""

    clickhouse = True

    def __init__(self, db: Any):
        self.db = db
        self.errors = db.errors

    def query(self, text: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.db.query(text, params)


@contextmanager
def _clickhouse_session(where: Url) -> Iterator[_ClickHouse]:
    db = ChdbConnection()
    try:
        db.open_chdb(where)
    except ConnectionFailed as exc:
        raise DeriveError(str(exc)) from None
    try:
        if not db.has_table("test_session"):
            raise DeriveError(
                f"{where.text}: database {db.database!r} has no test_session table "
                "(create it with sql/clickhouse/schema.sql)"
            )
        yield _ClickHouse(db)
    finally:
        db.close()


def run(
    db: Any,
    sessions: Iterable[int] | None = None,
    *,
    feature_version: str = DEFAULT_FEATURE_VERSION,
    label_version: str = DEFAULT_LABEL_VERSION,
    reference_capacity_ah: float | None = None,
    initial_soc: float = 0.0,
    soh_reference_cycles: int | None = None,
    what: Iterable[str] | str = WHAT,
    cv_tolerance_volt: float = CV_TOLERANCE_VOLT,
    full_cycle_ce: tuple[float, float] = FULL_CYCLE_CE,
) -> list[SessionResult]:
    """Derive cycles, cycle features, SOC and SOH labels for `sessions` (default: every
    session with samples). `db`: a URL (`sqlite:///path`, a path, `postgresql://...`), an
    `ingest.db.Database`, or an open sqlite3 / psycopg connection. Each session is one
    transaction; the first session that fails raises DeriveError and leaves that session as
    it was (sessions before it stay derived). Rerunning with the same versions updates the
    rows in place (same row ids); other versions are written beside them."""
    if isinstance(what, str):  # "cycles,features" as on the command line
        what = [w.strip() for w in what.split(",") if w.strip()]
    settings = Settings(
        feature_version=feature_version,
        label_version=label_version,
        # floats whatever the caller passed (1 for a full cell): one parameter type everywhere
        reference_capacity_ah=None
        if reference_capacity_ah is None
        else float(reference_capacity_ah),
        initial_soc=float(initial_soc),
        soh_reference_cycles=soh_reference_cycles,
        what=tuple(what),
        cv_tolerance_volt=float(cv_tolerance_volt),
        full_cycle_ce=(float(full_cycle_ce[0]), float(full_cycle_ce[1])),
    )
    _check(settings)
    with _open(db) as conn:
        if sessions is None:
            ids = [row[0] for row in conn.query(sql.SESSIONS_WITH_SAMPLES)]
        else:
            ids = list(sessions)
        return [_session(conn, session_id, settings) for session_id in ids]


def _check(s: Settings) -> None:
    unknown = [w for w in s.what if w not in WHAT]
    if unknown or not s.what:
        raise DeriveError(
            f"unknown derivation {', '.join(unknown) or '(none)'}: choose from {', '.join(WHAT)}"
        )
    for name in ("feature_version", "label_version"):
        if not getattr(s, name):
            raise DeriveError(f"{name} must not be empty")
    if s.reference_capacity_ah is not None and not s.reference_capacity_ah > 0:
        raise DeriveError(f"reference capacity {s.reference_capacity_ah} Ah: must be > 0")
    if not -0.05 <= s.initial_soc <= 1.05:
        raise DeriveError(f"initial SOC {s.initial_soc}: must be within [-0.05, 1.05]")
    if s.soh_reference_cycles is not None and s.soh_reference_cycles < 1:
        raise DeriveError(f"SOH reference cycles {s.soh_reference_cycles}: must be >= 1")
    if not s.cv_tolerance_volt >= 0:
        raise DeriveError(f"CV tolerance {s.cv_tolerance_volt} V: must be >= 0")


def _session(conn: _Connection, session_id: int, s: Settings) -> SessionResult:
    result = SessionResult(session_id)
    started = time.perf_counter()
    if not conn.query(sql.SESSION_EXISTS, [session_id])[0][0]:
        raise DeriveError(f"session {session_id}: no such test_session", session_id)
    if isinstance(conn, _ClickHouse):
        return _clickhouse_derive(conn, session_id, s, result, started)
    step = "reading the session"
    try:
        with conn.transaction():
            if "cycles" in s.what:
                step = "cycles"
                result.cycles = _timed(result, step, conn, sql.CYCLES, [session_id, session_id])
            if "features" in s.what:
                step = "cycle features"
                tol = s.cv_tolerance_volt
                result.features = _timed(
                    result, step, conn, sql.FEATURES, [session_id, tol, tol, s.feature_version]
                )
            if "soc" in s.what:
                step = "SOC labels"
                ref = _reference_capacity(conn, session_id, s)
                result.reference_capacity_ah = ref
                params = [session_id, s.label_version, s.initial_soc, ref, ref, s.initial_soc]
                result.soc_labels = _timed(result, step, conn, sql.SOC, params)
            if "soh" in s.what:
                step = "SOH labels"
                result.soh_labels = _soh(conn, session_id, s, result)
    except conn.errors as exc:
        raise _refused(session_id, step, exc) from None
    except DeriveError as exc:
        raise DeriveError(f"session {session_id}: {step}: {exc}", session_id) from None
    result.seconds = time.perf_counter() - started
    return result


def _refused(session_id: int, step: str, exc: BaseException) -> DeriveError:
    """The engine refused a derivation's statement: say which session and step, and a hint."""
    return DeriveError(
        f"session {session_id}: {step}: the database refused it: {_first_line(exc)}"
        + _hint(step, str(exc)),
        session_id,
    )


def _clickhouse_derive(
    conn: _ClickHouse, session_id: int, s: Settings, result: SessionResult, started: float
) -> SessionResult:
    """ClickHouse: staged, then published (derive/clickhouse.py); the same errors."""
    from . import clickhouse

    try:
        clickhouse.session(
            conn.db, session_id, s, result, lambda: _reference_capacity(conn, session_id, s)
        )
    except conn.errors as exc:
        raise _refused(session_id, _failed_step(s, result), exc) from None
    except DeriveError as exc:
        raise DeriveError(
            f"session {session_id}: {_failed_step(s, result)}: {exc}", session_id
        ) from None
    result.seconds = time.perf_counter() - started
    return result


def _failed_step(s: Settings, result: SessionResult) -> str:
    """The first requested derivation that did not finish (its time is recorded on success)."""
    names = {
        "cycles": "cycles",
        "features": "cycle features",
        "soc": "SOC labels",
        "soh": "SOH labels",
    }
    for w in s.what:
        if names[w] not in result.steps:
            return names[w]
    return "publishing"


def _timed(result: SessionResult, step: str, conn: _Connection, text: str, params) -> int:
    started = time.perf_counter()
    rows = conn.execute(text, params)
    result.steps[step] = time.perf_counter() - started
    return rows


def _reference_capacity(conn: _Connection, session_id: int, s: Settings) -> float:
    if s.reference_capacity_ah is not None:
        return s.reference_capacity_ah
    nominal = conn.query(sql.NOMINAL_CAPACITY, [session_id])[0][0]
    if nominal is None:
        raise DeriveError(
            "the session's asset has no nominal capacity: give --reference-capacity-ah"
        )
    return float(nominal)


def _soh(conn: _Connection, session_id: int, s: Settings, result: SessionResult) -> int:
    low, high = s.full_cycle_ce
    if s.soh_reference_cycles:
        k = s.soh_reference_cycles
        rows = conn.query(sql.FIRST_FULL_CYCLES, [session_id, s.feature_version, low, high, k])
        if len(rows) < k:
            raise DeriveError(
                f"{len(rows)} full cycles (coulombic efficiency {low}..{high}) under feature "
                f"version {s.feature_version!r}, {k} needed for the reference capacity "
                "(derive features first, or lower --soh-reference-cycles)"
            )
        reference, basis = sum(r[0] for r in rows) / k, "first_measured"
    else:
        reference, basis = _reference_capacity(conn, session_id, s), "nominal"
    result.soh_reference_capacity_ah, result.soh_reference_basis = reference, basis
    started = time.perf_counter()
    conn.execute(
        sql.SOH_STALE,
        [session_id, basis, s.label_version, session_id, s.feature_version, low, high],
    )
    rows = conn.execute(
        sql.SOH,
        [basis, s.label_version, reference, reference, session_id, s.feature_version, low, high],
    )
    result.steps["SOH labels"] = time.perf_counter() - started
    return rows


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _hint(step: str, message: str) -> str:
    if "FOREIGN KEY" in message.upper() and step == "cycle features":
        return " (the session's cycles are missing: derive cycles first)"
    if "foreign key" in message.lower() and step == "SOH labels":
        return " (derive cycles first)"
    if "soc_range" in message or ("CHECK" in message and step == "SOC labels"):
        return (
            " (coulomb counting left [-0.25, 1.25]: check the reference capacity and the"
            " initial SOC)"
        )
    if "soh" in message and step == "SOH labels":
        return " (SOH must be in (0, 3]: check the reference capacity)"
    return ""
