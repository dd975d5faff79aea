"""Run the derivations on a database: per session and derivation, one transaction (or one
savepoint when the caller's connection is already inside a transaction), the SQL texts of
`derive.sql` in order; a derivation that is refused or skipped is recorded in the session's
SessionResult and the others go on. Set-based: every row is written by one INSERT ... SELECT
per derivation; Python only reads a few scalars first (derive/plan.py: the temperature channel,
the SOC anchors, the nominal capacity, the reference capacity of the first full cycles). The
cycles and cycle features are the exception: their SQL texts' rows come from one read of the
session's samples and numpy where numpy is installed (derive/sqlite_features.py)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from connection import ConnectionFailed, Url, parse
from connection.clickhouse import ChdbConnection
from connection.dbapi import DbapiConnection, is_dbapi
from connection.postgres import open_psycopg
from connection.sqlite import open_sqlite3

from . import sql
from .curve_settings import CurveReport, CurveSettings
from .curve_settings import check as check_curves
from .defaults import (
    EOL_THRESHOLD_SOH,
    NO_NUMPY,
    OCV_MIN_REST_SECOND,
    RELAXATION_TIMES,
    SOH_MAX,
    soh_bound,
)
from .defaults import check as check_defaults
from .errors import DeriveError, Skipped
from .plan import (
    STEP,
    numpy_features,
    reference_capacity,
    soc_capacities,
    soc_plan,
    temperature_channel,
)

WHAT = ("cycles", "features", "steps", "soc", "soh", "life", "ocv", "curves")
# the default derivations: SOC by OCV lookup needs a table (--ocv-table), and is added with it;
# the curves (derive/curves.py, numpy) run only on request
DEFAULT_WHAT = ("cycles", "features", "steps", "soc", "soh", "life")
# the derivations computed in Python (derive/py_steps.py), after the SQL ones on ClickHouse
PYTHON_WHAT = ("steps", "life", "ocv")
# derive-2: SOC labels anchored at full charges against the measured capacity, temperature
# features from the best channel present, CV time from the current taper, coulombic efficiency
# paired with the charge before the discharge (docs/deriving.md)
DEFAULT_FEATURE_VERSION = "derive-2"
DEFAULT_LABEL_VERSION = "derive-2"
# The CV phase of a charge, where the cycler does not label it: charging samples within this
# many volts of the cycle's highest charging voltage (a cycler holds CV to about 1 mV).
CV_TOLERANCE_VOLT = 0.002
# A full cycle for SOH: coulombic efficiency within this band.
FULL_CYCLE_CE = (0.9, 1.1)
# SOC anchors: a charge is full at the asset's upper voltage (within the tolerance) with the
# current tapered to this fraction of the capacity (C/10: a CV charge cut off at C/20 logs its
# last sample at or just above C/20, and a tighter cut-off qualifies too) or below...
FULL_CURRENT_C = 0.1
FULL_TOLERANCE_VOLT = 0.01
# ...and a discharge from full measured the capacity when it reached the lower voltage limit
# within this tolerance (the last sample before a cut-off lies above it on a steep knee).
EMPTY_TOLERANCE_VOLT = 0.05


@dataclass
class Settings:
    feature_version: str = DEFAULT_FEATURE_VERSION
    label_version: str = DEFAULT_LABEL_VERSION
    reference_capacity_ah: float | None = None  # None: measured, else the asset's nominal
    initial_soc: float | None = None  # None: SOC anchored at full charges
    soh_reference_cycles: int | None = None  # K: reference = first K full cycles
    what: tuple[str, ...] = DEFAULT_WHAT
    curves: CurveSettings = field(default_factory=CurveSettings)
    cv_tolerance_volt: float = CV_TOLERANCE_VOLT
    full_cycle_ce: tuple[float, float] = FULL_CYCLE_CE
    full_voltage: float | None = None  # None: the asset's voltage_max_volt
    full_current_c: float = FULL_CURRENT_C
    full_tolerance_volt: float = FULL_TOLERANCE_VOLT
    empty_voltage: float | None = None  # None: the asset's voltage_min_volt
    empty_tolerance_volt: float = EMPTY_TOLERANCE_VOLT
    # derive/py_steps.py: relaxation times, the RUL/EOL threshold, the OCV table and rest
    relaxation_times: tuple[float, float] = RELAXATION_TIMES
    eol_threshold_soh: float = EOL_THRESHOLD_SOH
    ocv_table: Any = None  # an ocv.OcvTable (read from --ocv-table) or None
    ocv_cycle: int | None = None  # else: the table from this slow cycle of each session
    ocv_min_rest_second: float = OCV_MIN_REST_SECOND


@dataclass
class SessionResult:
    session_id: int
    cycles: int = 0  # rows written (inserted or changed) by each derivation
    features: int = 0
    soc_labels: int = 0
    soh_labels: int = 0
    reference_capacity_ah: float | None = None  # SOC labels from an initial SOC
    soc_basis: str | None = None  # "full charge" (anchored) | "initial SOC"
    soc_anchors: int = 0  # full charges the SOC labels are anchored at
    soc_measured: int = 0  # distinct capacities measured by full discharges (0: nominal)
    soc_capacity_ah: tuple[float, float] | None = None  # lowest, highest capacity counted against
    temperature_channel: str | None = None  # the column the temperature features come from
    soh_reference_capacity_ah: float | None = None
    soh_reference_basis: str | None = None  # nominal | first_measured
    # full cycles left out of the SOH labels for discharging more than SOH_MAX x the reference
    soh_left_out: int = 0
    curves: CurveReport | None = None  # the curves derivation's counts and NULL reasons
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)  # seconds per derivation
    refused: dict[str, str] = field(default_factory=dict)  # step -> why (nothing of it written)
    skipped: dict[str, str] = field(default_factory=dict)  # step -> why and what to give
    step_features: int = 0  # cycle_feature rows given step features (derive/steps.py)
    reference_cycles: int = 0  # cycles found to be reference cycles by their C-rate
    life_labels: int = 0  # label_soh rows given RUL/EOL
    ocv_labels: int = 0  # label_soc rows by OCV lookup
    null_reasons: dict[str, int] = field(default_factory=dict)  # reason -> NULL values

    @property
    def complete(self) -> bool:
        """Every requested derivation of the session was written."""
        return not self.refused and not self.skipped


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
    initial_soc: float | None = None,
    soh_reference_cycles: int | None = None,
    what: Iterable[str] | str | None = None,
    curves: CurveSettings | None = None,
    cv_tolerance_volt: float = CV_TOLERANCE_VOLT,
    full_cycle_ce: tuple[float, float] = FULL_CYCLE_CE,
    full_voltage: float | None = None,
    full_current_c: float = FULL_CURRENT_C,
    full_tolerance_volt: float = FULL_TOLERANCE_VOLT,
    empty_voltage: float | None = None,
    empty_tolerance_volt: float = EMPTY_TOLERANCE_VOLT,
    strict: bool = False,
    relaxation_times: tuple[float, float] = RELAXATION_TIMES,
    eol_threshold_soh: float = EOL_THRESHOLD_SOH,
    ocv_table: Any = None,
    ocv_min_rest_second: float = OCV_MIN_REST_SECOND,
    ocv_cycle: int | None = None,
) -> list[SessionResult]:
    """Derive cycles, cycle features, SOC and SOH labels for `sessions` (default: every
    session with samples). `db`: a URL (`sqlite:///path`, a path, `postgresql://...`), an
    `ingest.db.Database`, or an open sqlite3 / psycopg connection. Each derivation of each
    session is one transaction (a savepoint inside the caller's): one that is refused or
    skipped is said in its SessionResult (`.refused`, `.skipped`) and leaves its rows as they
    were, while the session's other derivations and the other sessions go on. `strict=True`
    raises DeriveError at the first session that is not complete instead. Rerunning with the
    same versions updates the rows in place (same row ids); other versions are written beside
    them. Usage problems (settings, database) raise DeriveError."""
    if isinstance(ocv_table, str | bytes) or hasattr(ocv_table, "__fspath__"):
        try:
            from .ocv import read_table
        except ImportError:
            raise DeriveError(f"--ocv-table: {NO_NUMPY}") from None
        ocv_table = read_table(ocv_table)
    if what is None:
        with_ocv = ocv_table is not None or ocv_cycle is not None
        what = DEFAULT_WHAT + (("ocv",) if with_ocv else ())
    if isinstance(what, str):  # "cycles,features" as on the command line
        what = [w.strip() for w in what.split(",") if w.strip()]

    def number(x: float | None) -> float | None:
        # floats whatever the caller passed (1 for a full cell): one parameter type everywhere
        return None if x is None else float(x)

    settings = Settings(
        feature_version=feature_version,
        label_version=label_version,
        reference_capacity_ah=number(reference_capacity_ah),
        initial_soc=number(initial_soc),
        soh_reference_cycles=soh_reference_cycles,
        what=tuple(what),
        curves=curves or CurveSettings(),
        cv_tolerance_volt=float(cv_tolerance_volt),
        full_cycle_ce=(float(full_cycle_ce[0]), float(full_cycle_ce[1])),
        full_voltage=number(full_voltage),
        full_current_c=float(full_current_c),
        full_tolerance_volt=float(full_tolerance_volt),
        empty_voltage=number(empty_voltage),
        empty_tolerance_volt=float(empty_tolerance_volt),
        relaxation_times=(float(relaxation_times[0]), float(relaxation_times[1])),
        eol_threshold_soh=float(eol_threshold_soh),
        ocv_table=ocv_table,
        ocv_min_rest_second=float(ocv_min_rest_second),
        ocv_cycle=ocv_cycle,
    )
    _check(settings)
    results = []
    with _open(db) as conn:
        if sessions is None:
            ids = [row[0] for row in conn.query(sql.SESSIONS_WITH_SAMPLES)]
        else:
            ids = list(sessions)
        for session_id in ids:
            result = _session(conn, session_id, settings)
            if strict and not result.complete:
                step, why = next(iter({**result.refused, **result.skipped}.items()))
                raise DeriveError(f"session {session_id}: {step}: {why}", session_id)
            results.append(result)
    return results


def _check(s: Settings) -> None:
    unknown = [w for w in s.what if w not in WHAT]
    if unknown or not s.what:
        raise DeriveError(
            f"unknown derivation {', '.join(unknown) or '(none)'}: choose from {', '.join(WHAT)}"
        )
    if "curves" in s.what:
        check_curves(s.curves)
    for name in ("feature_version", "label_version"):
        if not getattr(s, name):
            raise DeriveError(f"{name} must not be empty")
    if s.reference_capacity_ah is not None and not s.reference_capacity_ah > 0:
        raise DeriveError(f"reference capacity {s.reference_capacity_ah} Ah: must be > 0")
    if s.initial_soc is not None and not -0.05 <= s.initial_soc <= 1.05:
        raise DeriveError(f"initial SOC {s.initial_soc}: must be within [-0.05, 1.05]")
    if s.soh_reference_cycles is not None and s.soh_reference_cycles < 1:
        raise DeriveError(f"SOH reference cycles {s.soh_reference_cycles}: must be >= 1")
    if not s.cv_tolerance_volt >= 0:
        raise DeriveError(f"CV tolerance {s.cv_tolerance_volt} V: must be >= 0")
    if not 0 < s.full_current_c <= 1:
        raise DeriveError(f"full-charge current {s.full_current_c} C: must be in (0, 1]")
    for name in ("full_voltage", "empty_voltage"):
        value = getattr(s, name)
        if value is not None and not value > 0:
            raise DeriveError(f"{name.replace('_', ' ')} {value} V: must be > 0")
    for name in ("full_tolerance_volt", "empty_tolerance_volt"):
        if not getattr(s, name) >= 0:
            raise DeriveError(f"{name.replace('_', ' ')} {getattr(s, name)}: must be >= 0")
    check_defaults(s)


# derivation -> (the derivation it builds on, whether a skip of that one blocks it too, why)
_NEEDS = {
    "features": ("cycles", False, "the session's cycles were refused"),
    "curves": ("cycles", False, "the session's cycles were refused"),
    "soh": ("features", True, "the session's cycle features were not derived"),
    "steps": ("features", True, "the session's cycle features were not derived"),
    "life": ("soh", True, "the session's SOH labels were not derived"),
}


def _blocked(w: str, s: Settings, result: SessionResult) -> str | None:
    """Why derivation `w` cannot run after what happened to the ones before it, or None."""
    if w not in _NEEDS:
        return None
    before, skip_blocks, why = _NEEDS[w]
    failed = result.refused | result.skipped if skip_blocks else result.refused
    if before in s.what and STEP[before] in failed:
        return f"not derived: {why}"
    return None


def _session(conn: _Connection, session_id: int, s: Settings) -> SessionResult:
    """Each requested derivation of one session in its own transaction; what one refuses or
    skips is recorded and the next goes on (a refusal rolls back that derivation only)."""
    result = SessionResult(session_id)
    started = time.perf_counter()
    if not conn.query(sql.SESSION_EXISTS, [session_id])[0][0]:
        result.refused["session"] = "no such test_session"
        return result
    if isinstance(conn, _ClickHouse):
        return _clickhouse_derive(conn, session_id, s, result, started)
    shared: dict[str, Any] = {}  # what the session's derivations read once (_samples)
    for w in s.what:
        step = STEP[w]
        if why := _blocked(w, s, result):
            result.skipped[step] = why
            continue
        began = time.perf_counter()
        try:
            with conn.transaction():
                written = _DERIVE[w](conn, session_id, s, result, shared)
        except conn.errors as exc:
            result.refused[step] = _refusal(step, exc)
            continue
        except DeriveError as exc:
            result.refused[step] = str(exc)
            continue
        except Skipped as exc:
            result.skipped[step] = str(exc)
            continue
        result.steps[step] = time.perf_counter() - began
        setattr(result, _COUNT[w], written)
    result.seconds = time.perf_counter() - started
    return result


_COUNT = {
    "cycles": "cycles",
    "features": "features",
    "soc": "soc_labels",
    "soh": "soh_labels",
    "steps": "step_features",
    "life": "life_labels",
    "ocv": "ocv_labels",
    "curves": "curves",
}


def _refusal(step: str, exc: BaseException) -> str:
    """The engine refused a derivation's statement: what it said, and a hint."""
    return f"the database refused it: {_first_line(exc)}" + _hint(step, str(exc))


def _samples(conn: _Connection, session_id: int, shared: dict) -> Any:
    """The session's samples for the cycles and features in numpy (derive/sqlite_features.py),
    read once for both, and its temperature channel (shared["channel"]); None where they
    cannot be read so (no numpy, PGlite): the SQL texts then."""
    if "samples" not in shared:
        channel = temperature_channel(conn.query, session_id)
        features = numpy_features()
        shared["channel"] = channel
        shared["samples"] = (
            None
            if features is None
            else features.read(conn, session_id, channel or sql.TEMPERATURE_CHANNELS[0])
        )
    return shared["samples"]


def _cycles(conn: _Connection, session_id: int, s: Settings, result: SessionResult, shared) -> int:
    # with the features: from the samples they read anyway (the same min and max per cycle as
    # the SQL's GROUP BY, which sorts the whole session first)
    if "features" in s.what and (samples := _samples(conn, session_id, shared)) is not None:
        from .sqlite_features import derive_cycles

        return derive_cycles(conn, session_id, samples)
    return conn.execute(sql.CYCLES, [session_id, session_id])


def _features(
    conn: _Connection, session_id: int, s: Settings, result: SessionResult, shared
) -> int:
    tol = s.cv_tolerance_volt
    samples = _samples(conn, session_id, shared)
    result.temperature_channel = channel = shared["channel"]
    column = channel or sql.TEMPERATURE_CHANNELS[0]
    if samples is not None:  # the same rows from numpy (derive/sqlite_features.py)
        from .sqlite_features import derive as derive_features

        return derive_features(conn, session_id, column, s.feature_version, tol, samples=samples)
    return conn.execute(sql.features(column), [session_id, tol, tol, s.feature_version])


def _soc(
    conn: _Connection, session_id: int, s: Settings, result: SessionResult, shared: dict
) -> int:
    kind, params = soc_plan(conn.query, session_id, s, result)
    if kind == "initial":
        return conn.execute(sql.SOC, params)
    written = conn.execute(sql.SOC_ANCHORED, params)
    soc_capacities(conn.query, session_id, s, result, "label_soc")
    return written


def _soh_step(
    conn: _Connection, session_id: int, s: Settings, result: SessionResult, shared: dict
) -> int:
    return _soh(conn, session_id, s, result)


def _curves(
    conn: _Connection, session_id: int, s: Settings, result: SessionResult, shared: dict
) -> Any:
    from .curve_store import run as run_curves  # numpy, only when curves are derived

    return run_curves(conn, session_id, s.curves, conn.query)


def _python(w: str):
    def derive(conn: Any, session_id: int, s: Settings, result: SessionResult, shared=None) -> int:
        try:
            from . import py_steps
        except ImportError:
            raise Skipped(NO_NUMPY) from None
        return py_steps.DERIVE[w](conn, session_id, s, result)

    return derive


_DERIVE = {
    "cycles": _cycles,
    "features": _features,
    "soc": _soc,
    "soh": _soh_step,
    "curves": _curves,
    **{w: _python(w) for w in PYTHON_WHAT},
}


def _clickhouse_derive(
    conn: _ClickHouse, session_id: int, s: Settings, result: SessionResult, started: float
) -> SessionResult:
    """ClickHouse: staged, then published (derive/clickhouse.py); the same outcomes."""
    from . import clickhouse

    def refuse(step: str, exc: BaseException) -> None:
        if isinstance(exc, Skipped):
            result.skipped[step] = str(exc)
        elif isinstance(exc, DeriveError):
            result.refused[step] = str(exc)
        else:
            result.refused[step] = _refusal(step, exc)

    def blocked(w: str) -> str | None:
        return _blocked(w, s, result)

    core = replace(s, what=tuple(w for w in s.what if w not in PYTHON_WHAT and w != "curves"))
    clickhouse.session(
        conn.db,
        session_id,
        core,
        result,
        lambda query: reference_capacity(query, session_id, s),
        refuse,
        blocked,
    )
    for w in s.what:
        if w not in PYTHON_WHAT:
            continue
        step = STEP[w]
        if why := _blocked(w, s, result):
            result.skipped[step] = why
            continue
        began = time.perf_counter()
        try:
            setattr(result, _COUNT[w], _DERIVE[w](conn, session_id, s, result))
        except (*conn.errors, DeriveError, Skipped) as exc:
            refuse(step, exc)
            continue
        result.steps[step] = time.perf_counter() - began
    if "curves" in s.what:
        if why := _blocked("curves", s, result):
            result.skipped[STEP["curves"]] = why
        else:
            began = time.perf_counter()
            from .curve_store import run as run_curves  # numpy, only when curves are derived

            def query(text: str, params: Sequence[Any] = ()) -> list[tuple]:
                return conn.db.query(clickhouse.clickhouse_sql(text), params)

            try:
                result.curves = run_curves(conn, session_id, s.curves, query)
                result.steps[STEP["curves"]] = time.perf_counter() - began
            except DeriveError as exc:
                result.refused[STEP["curves"]] = str(exc)
            except conn.errors as exc:
                result.refused[STEP["curves"]] = _refusal(STEP["curves"], exc)
    result.seconds = time.perf_counter() - started
    return result


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
        reference, basis = reference_capacity(conn.query, session_id, s), "nominal"
    result.soh_reference_capacity_ah, result.soh_reference_basis = reference, basis
    above = conn.query(
        sql.SOH_ABOVE, [SOH_MAX * reference, session_id, s.feature_version, low, high]
    )[0]
    largest, result.soh_left_out = soh_bound(
        above,
        reference,
        lambda: conn.query(
            sql.SOH_SEVERAL_DISCHARGES,
            [session_id, session_id, s.feature_version, low, high, SOH_MAX * reference],
        )[0][0],
    )
    conn.execute(
        sql.SOH_STALE,
        [session_id, basis, s.label_version, session_id, s.feature_version, low, high, largest],
    )
    return conn.execute(
        sql.SOH,
        [
            *(basis, s.label_version, reference, reference, session_id, s.feature_version),
            *(low, high, largest),
        ],
    )


def _first_line(exc: BaseException) -> str:
    """The engine's message, on one line and without the statement ClickHouse quotes."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    line = text.splitlines()[0].split(" In scope ")[0]
    return line if len(line) <= 400 else line[:400] + "..."


def _hint(step: str, message: str) -> str:
    if "FOREIGN KEY" in message.upper() and step == "cycle features":
        return " (the session's cycles are missing: derive cycles first)"
    if "foreign key" in message.lower() and step == "SOH labels":
        return " (derive cycles first)"
    if "soc_range" in message or ("CHECK" in message and step == "SOC labels"):
        return (
            " (coulomb counting left [-0.25, 1.25]: check the reference capacity and the"
            " initial SOC, or the full-charge anchor)"
        )
    if "soh" in message and step == "SOH labels":
        return (
            " (SOH must be in (0, 3]: check the reference capacity, or whether the cycler's"
            " cycle count holds several discharges)"
        )
    return ""
