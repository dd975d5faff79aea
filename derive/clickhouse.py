"""The derivations on ClickHouse (chdb): the SELECTs of `derive.sql`, shared with SQLite and
PostgreSQL, written the way ClickHouse writes without transactions or upserts.

Per session, each derivation's rows go first to a staging table made `AS` its target (so
ClickHouse checks the target's CHECKs on every staged row): nothing in the derived tables
changes while a derivation can still be refused. A derivation that is refused or skipped is
dropped from the publishing (recorded by the caller); the ones that passed are published,
table by table: the rows of the session and version are
deleted (lightweight DELETE, synchronous) and the staging table's parts attached to the target
(`ATTACH PARTITION ... FROM`: the rows were written and checked once, when staged; nothing is
compared or deleted where the target holds none of the scope's rows). A rerun whose rows equal
the stored ones publishes nothing and reports 0 rows; changed rows keep their stored ids
(`label_soc_id`, `label_soh_id`) and a cycle keeps a `cycle_type` that was set. One writer at a
time per database (as for the loader).

Where ClickHouse SQL differs, `clickhouse_sql` rewrites the shared text, and only there:
`LAG(x) OVER w` becomes `lagInFrame(toNullable(x)) OVER w` (ClickHouse's lag returns the
column's default, 0, not NULL, before the first row, and only within the window frame, which
ORDER BY makes `UNBOUNDED PRECEDING .. CURRENT ROW`: the row before is in it), `LEAD(x)`
likewise `leadInFrame(toNullable(x))` (the shared text gives LEAD the frame `CURRENT ROW AND
1 FOLLOWING`, so the row after is in it), and
`CAST(x AS DOUBLE PRECISION)` becomes `CAST(x AS Nullable(Float64))` (ClickHouse's CAST of a
NULL to a type that is not Nullable is an error, not NULL)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import Any

from connection.clickhouse import literal as _literal

from . import sql
from .defaults import SOH_MAX, soh_bound
from .errors import DeriveError, Skipped
from .plan import STEP, numpy_features, soc_capacities, soc_plan, temperature_channel

# the columns whose stored values a republished row keeps (column -> expression over the
# staged row s and the stored row o), and the key they are found by: a cycle keeps a type
# that was set with its source, as sql.CYCLES does on the other engines
_KEEP = {
    "cycle": (
        "cycle_index",
        {
            "cycle_type": "coalesce(o.cycle_type, s.cycle_type)",
            "cycle_type_source": "if(o.cycle_type IS NULL, s.cycle_type_source, "
            "o.cycle_type_source)",
        },
    ),
    "label_soc": ("record_index", {"label_soc_id": "ifNull(o.label_soc_id, s.label_soc_id)"}),
    "label_soh": ("cycle_index", {"label_soh_id": "ifNull(o.label_soh_id, s.label_soh_id)"}),
}


def clickhouse_sql(text: str) -> str:
    """The shared SQL text as ClickHouse runs it (see the module's docstring)."""
    out, pos = [], 0
    for match in re.finditer(r"\b(LAG|LEAD)\(", text):
        if match.start() < pos:
            continue
        depth, end = 1, match.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            end += 1
        inner = text[match.end() : end - 1]
        function = "lagInFrame" if match.group(1) == "LAG" else "leadInFrame"
        out += [text[pos : match.start()], f"{function}(toNullable({inner}))"]
        pos = end
    out.append(text[pos:])
    return "".join(out).replace(" AS DOUBLE PRECISION)", " AS Nullable(Float64))")


class Staged:
    """The staging tables of one session's derivations; `publish` moves them in, `drop` removes
    them (always called)."""

    def __init__(self, db: Any):
        self.db = db
        self.tables: list[tuple[str, str, str]] = []  # (target, stage, WHERE of the old rows)
        self.made: list[str] = []  # every staging table, dropped at the end

    def name(self, table: str) -> str:
        name = f"{self.db.database}.derive_{table}_{os.getpid()}_{len(self.made)}"
        self.made.append(name)
        return name

    def stage(self, table: str, into: str, text: str, params: list, where: str) -> str:
        """Run `INSERT INTO <stage> <text>` (text: WITH ... SELECT ...) into a new staging
        table; `where` selects the rows of the target the staged rows replace."""
        stage = self.name(table)
        self.db.raw.query(f"DROP TABLE IF EXISTS {stage}")
        self.db.raw.query(f"CREATE TABLE {stage} AS {self.db.database}.{table}")
        self.tables.append((table, stage, where))
        into = into.replace(f"INSERT INTO {table} ", f"INSERT INTO {stage} ", 1)
        self.db.execute(clickhouse_sql(into + text), params)
        return stage

    def stage_rows(self, table: str, into: str, rows: list[tuple], where: str) -> str:
        """Like `stage`, the rows given (computed in Python) instead of a SELECT's."""
        stage = self.name(table)
        self.db.raw.query(f"DROP TABLE IF EXISTS {stage}")
        self.db.raw.query(f"CREATE TABLE {stage} AS {self.db.database}.{table}")
        self.tables.append((table, stage, where))
        into = into.replace(f"INSERT INTO {table} ", f"INSERT INTO {stage} ", 1)
        for lo in range(0, len(rows), 10_000):
            values = ", ".join(
                "(" + ", ".join(_literal(x) for x in row) + ")" for row in rows[lo : lo + 10_000]
            )
            self.db.run(f"{into} VALUES {values}")
        return stage

    def publish(self) -> dict[str, int]:
        """Each staged table into its target; rows written per target (0: unchanged)."""
        written = {}
        for table, stage, where in self.tables:
            written[table] = self._publish(table, stage, where)
        return written

    def _publish(self, table: str, stage: str, where: str) -> int:
        db = self.db
        target = f"{db.database}.{table}"
        stored = db.query(f"SELECT count() FROM {target} WHERE {where}")[0][0]
        if not stored:  # nothing to keep, compare or delete: the staged rows go in as they are
            staged = db.query(f"SELECT count() FROM {stage}")[0][0]
            if staged:
                self._attach(target, stage)
            return int(staged)
        columns = [
            r[0]
            for r in db.query(
                "SELECT name FROM system.columns WHERE database = %s AND table = %s "
                "ORDER BY position",
                [db.database, table],
            )
        ]
        final = stage
        if table in _KEEP:  # the stored value of the kept column, found by the key
            key, kept = _KEEP[table]
            final = self.name(table)
            db.raw.query(f"DROP TABLE IF EXISTS {final}")
            db.raw.query(f"CREATE TABLE {final} AS {target}")
            select = ", ".join(kept.get(c, f"s.{c}") for c in columns)
            keep = ", ".join(kept)
            db.execute(
                f"INSERT INTO {final} ({', '.join(columns)}) SELECT {select} FROM {stage} AS s "
                f"LEFT JOIN (SELECT {key}, {keep} FROM {target} WHERE {where}) "
                f"AS o ON s.{key} = o.{key} SETTINGS join_use_nulls = 1"
            )
        names = ", ".join(columns)
        changed, staged = db.query(
            f"SELECT (SELECT count() FROM {final} WHERE ({names}) NOT IN "
            f"(SELECT {names} FROM {target} WHERE {where})), "
            f"(SELECT count() FROM {final}) SETTINGS transform_null_in = 1"
        )[0]
        if changed == 0 and staged == stored:
            return 0
        db.execute(f"DELETE FROM {target} WHERE {where}")
        self._attach(target, final)
        return int(changed)

    def _attach(self, target: str, stage: str) -> None:
        """The staged parts themselves into the target (its structure; the CHECKs were checked
        when the rows were staged): an INSERT ... SELECT would write and check every row
        again, the slowest statement of a derivation on ClickHouse."""
        db = self.db
        for (partition,) in db.query(
            "SELECT DISTINCT partition_id FROM system.parts "
            "WHERE database = %s AND table = %s AND active",
            [db.database, stage.split(".", 1)[1]],
        ):
            db.execute(f"ALTER TABLE {target} ATTACH PARTITION ID %s FROM {stage}", [partition])

    def drop(self) -> None:
        for stage in self.made:
            self.db.raw.query(f"DROP TABLE IF EXISTS {stage}")
        self.tables, self.made = [], []


def session(
    db: Any,
    session_id: int,
    s: Any,
    result: Any,
    reference: Callable[[Callable], float],
    refuse: Callable[[str, BaseException], None],
    blocked: Callable[[str], str | None],
) -> None:
    """One session's derivations on ClickHouse (see the module's docstring): each staged on
    its own; one that is refused or skipped (`refuse(step, exc)` records it) is dropped from
    the publishing and the others are published. `reference(query)` gives the nominal reference
    capacity (run.py's rule); `blocked(what)` says why a derivation cannot follow the ones
    refused before it."""
    staged = Staged(db)
    sid = _literal(session_id)

    def query(text: str, params: list) -> list[tuple]:
        # a LEFT JOIN's missing row as NULL, as the shared texts mean it (ClickHouse's default
        # gives a non-Nullable column its type's default: a pack session's missing cell read 0)
        return db.query(clickhouse_sql(text) + " SETTINGS join_use_nulls = 1", params)

    features_from = f"{db.database}.cycle_feature"
    samples = channel = None  # the samples the cycles and features read once (numpy)
    read = False
    try:
        for w in s.what:
            step = STEP[w]
            if why := blocked(w):
                result.skipped[step] = why
                continue
            before = len(staged.tables)
            started = time.perf_counter()
            try:
                if w in ("cycles", "features") and "features" in s.what and not read:
                    channel = temperature_channel(query, session_id)
                    samples, read = _samples(db, session_id, channel), True
                if w == "cycles" and samples is not None:
                    (kind,) = query(sql.CYCLE_KIND, [session_id])[0]
                    staged.stage_rows(
                        "cycle",
                        sql.CYCLES_INTO,
                        numpy_features().cycle_rows(samples, session_id, kind),
                        f"session_id = {sid}",
                    )
                elif w == "features" and samples is not None:
                    result.temperature_channel = channel
                    features_from = staged.stage_rows(
                        "cycle_feature",
                        sql.FEATURES_INTO,
                        numpy_features().rows(
                            samples, session_id, s.feature_version, s.cv_tolerance_volt
                        ),
                        f"session_id = {sid} AND feature_version = {_literal(s.feature_version)}",
                    )
                elif w == "cycles":
                    staged.stage(
                        "cycle",
                        sql.CYCLES_INTO,
                        sql.CYCLES_WITH + sql.CYCLES_SELECT,
                        [session_id, session_id],
                        f"session_id = {sid}",
                    )
                elif w == "features":
                    channel = temperature_channel(query, session_id)
                    result.temperature_channel = channel
                    tol = s.cv_tolerance_volt
                    features_from = staged.stage(
                        "cycle_feature",
                        sql.FEATURES_INTO,
                        sql.features_with(channel or sql.TEMPERATURE_CHANNELS[0])
                        + sql.FEATURES_SELECT,
                        [session_id, tol, tol, s.feature_version],
                        f"session_id = {sid} AND feature_version = {_literal(s.feature_version)}",
                    )
                elif w == "soc":
                    kind, params = soc_plan(query, session_id, s, result)
                    text = (
                        sql.SOC_WITH + sql.SOC_SELECT
                        if kind == "initial"
                        else sql.SOC_ANCHORED_WITH + sql.SOC_ANCHORED_SELECT
                    )
                    stage = staged.stage(
                        "label_soc",
                        sql.SOC_INTO,
                        text,
                        params,
                        f"session_id = {sid} AND method = 'coulomb_counting' "
                        f"AND label_version = {_literal(s.label_version)}",
                    )
                    if kind == "anchored":
                        soc_capacities(query, session_id, s, result, stage)
                else:
                    soh(db, staged, session_id, s, result, reference, features_from, query)
            except (*db.errors, DeriveError, Skipped) as exc:
                del staged.tables[before:]  # its staging table is dropped with the others
                refuse(step, exc)
                continue
            result.steps[step] = time.perf_counter() - started
        written = staged.publish()
    finally:
        staged.drop()
    result.cycles = written.get("cycle", 0)
    result.features = written.get("cycle_feature", 0)
    result.soc_labels = written.get("label_soc", 0)
    result.soh_labels = written.get("label_soh", 0)


def _samples(db: Any, session_id: int, channel: str | None) -> Any:
    """The session's samples for the cycles and features in numpy (derive/sqlite_features.py,
    the values of the SQL texts), as its SAMPLES reads them, through chdb's Arrow output: one
    read instead of the SQL's two passes over the session. None without numpy, or where a
    value is NaN rather than NULL (the SQL texts keep ClickHouse's meaning of NaN)."""
    features = numpy_features()
    if features is None:
        return None
    import numpy as np

    column = sql._channel(channel or sql.TEMPERATURE_CHANNELS[0])
    text = features.SAMPLES.replace("TEMPERATURE_COLUMN", column)
    result = db.run(clickhouse_sql(text.replace("%s", _literal(session_id))), "Arrow")
    if not len(result):
        return np.empty((0, features.WIDTH), order="F")
    import pyarrow as pa

    # the Arrow file chdb wrote, read in place (chdb's own "ArrowTable" imports pandas first)
    table = pa.ipc.open_file(result.get_memview().view()).read_all()
    out = np.empty((table.num_rows, features.WIDTH), order="F")
    for k, got in enumerate(table.columns):
        out[:, k] = features.floats(got)
        if np.count_nonzero(np.isnan(out[:, k])) != got.null_count:
            return None
    return out


def soh(db, staged, session_id, s, result, reference, features_from: str, query) -> None:
    def reading(text: str) -> str:  # the features staged in this run, else the stored ones
        return text.replace("FROM cycle_feature", f"FROM {features_from}")

    low, high = s.full_cycle_ce
    if s.soh_reference_cycles:
        k = s.soh_reference_cycles
        rows = db.query(
            reading(sql.FIRST_FULL_CYCLES), [session_id, s.feature_version, low, high, k]
        )
        if len(rows) < k:
            raise DeriveError(
                f"{len(rows)} full cycles (coulombic efficiency {low}..{high}) under feature "
                f"version {s.feature_version!r}, {k} needed for the reference capacity "
                "(derive features first, or lower --soh-reference-cycles)"
            )
        ref, basis = sum(float(r[0]) for r in rows) / k, "first_measured"
    else:
        ref, basis = reference(query), "nominal"
    result.soh_reference_capacity_ah, result.soh_reference_basis = ref, basis
    above = db.query(
        reading(sql.SOH_ABOVE), [SOH_MAX * ref, session_id, s.feature_version, low, high]
    )[0]
    largest, result.soh_left_out = soh_bound(
        above,
        ref,
        lambda: query(
            reading(sql.SOH_SEVERAL_DISCHARGES),
            [session_id, session_id, s.feature_version, low, high, SOH_MAX * ref],
        )[0][0],
    )
    staged.stage(
        "label_soh",
        sql.SOH_INTO,
        reading(sql.SOH_SELECT),
        [basis, s.label_version, ref, ref, session_id, s.feature_version, low, high, largest],
        f"session_id = {_literal(session_id)} AND definition = 'capacity' "
        f"AND reference_basis = {_literal(basis)} AND label_version = {_literal(s.label_version)}",
    )
