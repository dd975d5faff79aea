"""Training sets: the rows a model trains on, read in one query per set that runs unchanged on
every engine, streamed in Arrow batches.

- per cycle (task soh): the features of one `cycle_feature.feature_version` beside the SOH
  labels of one definition, with the cell, session and protocol they come from;
- per sample (task soc): the samples beside the SOC labels of one definition, optionally cut
  into windows of test time.

Which columns come from where is read from the schema (connection.schema.model()): the label
table's definition is its unique key minus the foreign key to what it labels (label_soh:
definition, reference_basis, label_version), its values every other column but its own key
(so a label column added to schema.yaml is exported without a change here), and the features
are every column of cycle_feature but its key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connection import schema

from .columns import Out, arrow_schema, columns_of, conform
from .errors import REFUSED, USAGE, ExportError
from .read import BATCH_ROWS, Source
from .split import Split, plan_split

TASKS = ("soh", "soc")
# what a set's rows were measured on: a session runs on a cell or on a pack
# (test_session.cell_id or pack_id); a set holds one kind (docs/modelling.md, Pack sessions)
ASSETS = ("cell", "pack")


def placeholders(values) -> str:
    """`(%s, %s, ...)`, one per value: the parameter list of an IN."""
    return f"({', '.join(['%s'] * len(values))})"


@dataclass(frozen=True)
class Task:
    """What one task's training set joins: the label table, what it labels, the label value."""

    name: str
    label_table: str
    target_table: str  # what a label labels: cycle (SOH) or timeseries_point (SOC)

    def label_key(self) -> tuple[str, ...]:
        table = schema.model().table(self.label_table)
        return next(fk.columns for fk in table.foreign_keys if fk.ref_table == self.target_table)

    def definition(self) -> tuple[str, ...]:
        """The columns that name one label definition: the label table's unique key minus the
        key of what it labels."""
        table = schema.model().table(self.label_table)
        key = set(self.label_key())
        unique = next(u.columns for u in table.uniques if key <= set(u.columns))
        return tuple(c for c in unique if c not in key)

    def values(self) -> list[str]:
        """The label table's value columns: everything but its keys and its definition."""
        table = schema.model().table(self.label_table)
        target = schema.model().table(self.target_table)
        skip = {*table.primary_key, *self.label_key(), *self.definition()}
        skip |= {c.name for c in target.columns}  # copies of the labelled row (recorded_at)
        return [c.name for c in table.columns if c.name not in skip]


TASK = {
    "soh": Task("soh", "label_soh", "cycle"),
    "soc": Task("soc", "label_soc", "timeseries_point"),
}
# the asset and the operating conditions of each row (ids for the split and for tracing)
IDS = [
    Out("cell_id", "battery_cell", "cell_id", "b.cell_id"),
    Out("session_id", "test_session", "session_id", "s.session_id"),
    Out("protocol_name", "test_session", "protocol_name", "s.protocol_name"),
    Out("protocol_version", "test_session", "protocol_version", "s.protocol_version"),
    Out("chemistry", "battery_cell", "chemistry", "b.chemistry"),
    Out("ambient_temperature_celsius", "test_session", "ambient_temperature_celsius",
        "s.ambient_temperature_celsius"),
    Out("charge_c_rate", "test_session", "charge_c_rate", "s.charge_c_rate"),
    Out("discharge_c_rate", "test_session", "discharge_c_rate", "s.discharge_c_rate"),
]  # fmt: skip


def ids(asset: str = "cell") -> list[Out]:
    """IDS of a set of `asset` sessions: the asset's key and chemistry from its own table,
    joined as `b` (battery_cell or battery_pack)."""
    return [
        Out(f"{asset}_id", f"battery_{asset}", f"{asset}_id", f"b.{asset}_id"),
        *IDS[1:4],
        Out("chemistry", f"battery_{asset}", "chemistry", "b.chemistry"),
        *IDS[5:],
    ]


def asset_join(asset: str) -> str:
    return f" JOIN battery_{asset} b ON b.{asset}_id = s.{asset}_id"


# a set of at most this many sessions is read by one query per session (Plan.fetch_one)
PER_SESSION = 32
# the operating-condition group of a session (split by condition)
CONDITION = ["ambient_temperature_celsius", "charge_c_rate", "discharge_c_rate"]


@dataclass
class Filters:
    cells: list[int] | None = None
    sessions: list[int] | None = None
    protocols: list[str] | None = None
    chemistries: list[str] | None = None
    cycle_types: list[str] | None = None

    def where(self) -> tuple[list[str], list[Any]]:
        parts: list[str] = []
        params: list[Any] = []
        for values, expression in (
            (self.cells, "b.cell_id"),
            (self.sessions, "s.session_id"),
            (self.protocols, "s.protocol_name"),
            (self.chemistries, "b.chemistry"),
            (self.cycle_types, "c.cycle_type"),
        ):
            if values:
                parts.append(f"{expression} IN {placeholders(values)}")
                params += list(values)
        return parts, params

    def said(self) -> str:
        named = [
            f"{name} {', '.join(str(v) for v in values)}"
            for name, values in (
                ("--cell", self.cells),
                ("--session", self.sessions),
                ("--protocol", self.protocols),
                ("--chemistry", self.chemistries),
                ("--cycle-type", self.cycle_types),
            )
            if values
        ]
        return "; ".join(named) or "no filter"


@dataclass
class Request:
    task: str = "soh"
    feature_version: str | None = None  # SOH: None = the only one in the database
    definition: dict[str, str | None] = field(default_factory=dict)  # None = the only one
    filters: Filters = field(default_factory=Filters)
    split: str = "cell"  # cell | condition | none
    seed: int = 0
    test_fraction: float = 0.2
    validation_fraction: float = 0.0
    split_spec: dict | None = None  # an explicit split: {"by": ..., "train": [...], ...}
    window_seconds: float | None = None  # SOC: window_index = floor(test_time / W)
    drop: tuple[str, ...] = ()
    asset: str = "cell"  # cell | pack: the kind of session the set holds


@dataclass
class Plan:
    """A request checked against the database: the query, its output schema, the split.

    `sql` is the set's query, every output column in it (what `pandas.read_sql` would run);
    the export reads the same rows with `fetch_sql`, which leaves out the session's columns
    (`IDS`: cell, session, protocol, chemistry, set points) and selects the row's session id
    in their place: they are read once per session into `sessions` and repeated in Arrow, so
    the engine and its driver produce a quarter fewer values per row. It leaves out too the
    per-sample columns that are NULL in every sample of the set's sessions (`empty`: the
    channels a cycler did not log); `stream` puts them back as NULL columns. Nor does it join
    the session and its asset: the rows' own session id is kept to the set's sessions
    (`fetch_params` its values, fewer than `params`). A set of up to PER_SESSION sessions is
    read a session at a time (`fetch_one`), which leaves out the session id too: a column
    fewer for the engine and the driver, at the price of a query per session."""

    request: Request
    sql: str
    params: list[Any]
    columns: list[Out]
    definition: dict[str, str]
    feature_version: str | None
    split: Split
    features: list[str]  # the columns checked for leakage
    label: str  # the label value column
    fetch_sql: str = ""
    fetch_params: list[Any] = field(default_factory=list)
    fetch_one: str = ""  # one session's rows (its id the last parameter); "": fetch_sql alone
    sessions: pa.RecordBatch | None = None  # IDS, one row per session of the set
    notes: list[str] = field(default_factory=list)  # warnings: pack sessions left out
    empty: frozenset[str] = frozenset()  # columns NULL in every row: not fetched (_empty)

    def description(self) -> dict:
        """What the export holds, as the predictions import reads it back."""
        return {
            "task": self.request.task,
            "feature_version": self.feature_version,
            "label": {"table": TASK[self.request.task].label_table, **self.definition},
            "split": self.split.spec(),
            "filters": self.request.filters.said(),
            **({"asset": self.request.asset} if self.request.asset != "cell" else {}),
        }

    def schema(self) -> pa.Schema:
        import json

        target = arrow_schema(self.columns)
        extra = []
        if self.request.window_seconds:
            extra.append(
                pa.field(
                    "window_index",
                    pa.int64(),
                    metadata={
                        b"description": f"floor(test_time_second / {self.request.window_seconds:g})"
                        ": the window of test time the sample falls in".encode(),
                        b"unit": b"1",
                    },
                )
            )
        extra.append(
            pa.field(
                "split",
                pa.string(),
                metadata={
                    b"description": f"The part of the split the row's cell is in "
                    f"({self.split.by}, seed {self.split.seed}).".encode(),
                    b"unit": b"",
                    b"source": b"export split",
                },
            )
        )
        fields = [*target, *extra]
        meta = {b"liam_erd_schema.export": json.dumps(self.description()).encode()}
        return pa.schema(fields, metadata=meta)


def _one_of(source: Source, what: str, option: str, sql: str, params: list, chosen):
    """The value the user chose for `what` if the database has it, else the only one there
    is; ExportError listing what there is otherwise."""
    if chosen is not None:  # is it there? (one row, not every distinct value)
        column = sql.split("SELECT DISTINCT ")[1].split(" FROM ")[0]
        where = " AND " if " WHERE " in sql else " WHERE "
        found = source.query(
            f"{sql.replace('DISTINCT ', '')}{where}{column} = %s LIMIT 1", [*params, chosen]
        )
        if found:
            return chosen
    present = [r[0] for r in source.query(sql, params) if r[0] is not None]
    if chosen is not None:
        raise ExportError(
            f"{option} {chosen}: no such {what} in the database"
            + (f" (there is: {', '.join(map(str, sorted(present)))})" if present else ""),
            REFUSED,
        )
    if len(present) == 1:
        return present[0]
    if not present:
        raise ExportError(f"no {what} in the database: derive them first (python -m derive)")
    raise ExportError(
        f"{len(present)} {what}s in the database ({', '.join(map(str, sorted(present)))}): "
        f"choose one with {option}",
        USAGE,
    )


def plan(source: Source, request: Request) -> Plan:
    if request.task not in TASK:
        raise ExportError(f"--task {request.task}: choose soh or soc", USAGE)
    task = TASK[request.task]
    model = schema.model()
    where, params = request.filters.where()
    if request.task == "soh":
        feature_version = _one_of(
            source,
            "feature version",
            "--feature-version",
            "SELECT DISTINCT feature_version FROM cycle_feature",
            [],
            request.feature_version,
        )
    else:
        feature_version = None
    definition = {}
    for column in task.definition():
        option = "--" + column.replace("_", "-")
        conditions = [f"{c} = %s" for c in definition]
        text = f"SELECT DISTINCT {column} FROM {task.label_table}" + (
            " WHERE " + " AND ".join(conditions) if conditions else ""
        )
        what = f"{task.label_table}.{column}"
        definition[column] = _one_of(
            source, what, option, text, list(definition.values()), request.definition.get(column)
        )
    asset = request.asset
    if asset not in ASSETS:
        raise ExportError(f"--asset {asset}: choose cell or pack", USAGE)
    ids_out = ids(asset)
    lab = [Out(c, task.label_table, c, f"l.{c}") for c in task.values() if c not in request.drop]
    definition_where = [f"l.{c} = %s" for c in definition]
    if request.task == "soh":
        key = set(model.table("cycle_feature").primary_key)
        feats = [
            Out(c.name, "cycle_feature", c.name, f"f.{c.name}")
            for c in model.table("cycle_feature").columns
            if c.name not in key and c.name not in request.drop
        ]
        cyc = [
            Out("cycle_index", "cycle", "cycle_index", "c.cycle_index"),
            Out("cycle_type", "cycle", "cycle_type", "c.cycle_type"),
        ]
        columns = [*ids_out, *cyc, *feats, *lab]
        own = (  # the row's own tables: all but the session and its asset
            "cycle_feature f"
            " JOIN cycle c ON c.session_id = f.session_id AND c.cycle_index = f.cycle_index"
            " JOIN label_soh l ON l.session_id = f.session_id AND l.cycle_index = f.cycle_index"
        )
        tables = own + " JOIN test_session s ON s.session_id = f.session_id" + asset_join(asset)
        conditions = ["f.feature_version = %s", *definition_where]
        values = [feature_version, *definition.values()]
        order = "f.session_id, f.cycle_index"
    else:
        key = set(model.table("timeseries_point").primary_key) - {"record_index"}
        feats = columns_of("timeseries_point", {*key, *request.drop}, "p")
        columns = [*ids_out, *feats, *lab]
        own = (
            "label_soc l"
            " JOIN timeseries_point p ON p.session_id = l.session_id"
            " AND p.record_index = l.record_index"
        )
        tables = own + " JOIN test_session s ON s.session_id = l.session_id" + asset_join(asset)
        if request.filters.cycle_types:
            cycle = " JOIN cycle c ON c.session_id = p.session_id AND c.cycle_index = p.cycle_count"
            tables += cycle
            own += cycle
        conditions = definition_where
        values = list(definition.values())
        order = "l.session_id, l.record_index"  # the label key's index: no sort
    # a name met again (the sample's ambient temperature beside the session's set point)
    # is prefixed with its table
    seen: set[str] = set()
    for i, c in enumerate(columns):
        if c.name in seen:
            columns[i] = Out(f"{c.table}_{c.name}", c.table, c.column, c.expression)
        seen.add(columns[i].name)
    feats = [next(o for o in columns if o.expression == f.expression) for f in feats]
    where_sql = " WHERE " + " AND ".join([*conditions, *where]) if conditions or where else ""
    all_params = [*values, *params]
    conds = ", ".join("s." + c for c in CONDITION)
    if request.task == "soh":  # cycles: the set's own join is small
        groups = source.query(
            f"SELECT DISTINCT b.{asset}_id, s.session_id, {conds} FROM {tables}{where_sql}",
            all_params,
        )
    else:  # samples: the sessions with labels of the definition, without the samples
        labelled = (  # EXISTS: the label key's index finds a session's first label at once
            "EXISTS (SELECT 1 FROM label_soc x WHERE x.session_id = s.session_id AND "
            + " AND ".join(f"x.{c} = %s" for c in definition)
            + ")"
        )
        kept = [
            part.replace("c.cycle_type IN", "s.session_id IN (SELECT session_id FROM cycle"
                         " WHERE cycle_type IN") + (")" if part.startswith("c.") else "")
            for part in where
        ]  # fmt: skip
        groups = source.query(
            f"SELECT b.{asset}_id, s.session_id, {conds} FROM test_session s"
            + asset_join(asset)
            + " WHERE "
            + " AND ".join([labelled, *kept]),
            all_params,
        )
    other = "pack" if asset == "cell" else "cell"
    others = _other_sessions(source, request, definition, other)
    notes = []
    if others:
        which = ", ".join(f"{s} ({other} {k})" for s, k in others)
        why = (
            f"a training set holds one kind of asset, and this one holds {asset}s (a pack's "
            "samples and features are on the pack's scale, not a cell's): export the "
            f"{other} sessions with --asset {other} (docs/modelling.md, Pack sessions)"
        )
        if not groups:
            said = request.filters.said()
            chosen = "the labelled sessions are" if said == "no filter" else f"{said} selects"
            raise ExportError(
                f"nothing to export: {chosen} {other} session(s) {which} alone; {why}", REFUSED
            )
        notes.append(f"warning: left out {other} session(s) {which}: {why}")
    if not groups:
        said = ", ".join(f"{k} {v}" for k, v in definition.items())
        version = f"feature version {feature_version}, " if feature_version else ""
        raise ExportError(
            f"nothing to export: no {request.task.upper()} label ({version}{said}) matches "
            f"{request.filters.said()}: widen the filters or derive the labels first",
            REFUSED,
        )
    split = plan_split(groups, request)
    sql = (
        f"SELECT {', '.join(c.expression for c in columns)} FROM {tables}{where_sql}"
        f" ORDER BY {order}"
    )
    ids_out = columns[: len(IDS)]
    chosen = sorted({int(g[1]) for g in groups})
    empty = frozenset()
    if request.task == "soc" and source.kind != "clickhouse":  # columnar: NULLs cost nothing
        empty = _empty(source, feats, chosen)
    session_key = order.split(",")[0]  # the row's own session id (f. or l.), not s.'s
    fetched = [c.expression for c in columns[len(IDS) :] if c.name not in empty]
    # nor are the session and its asset joined: the filters on them chose `chosen`, to which
    # the row's own session id is kept (inlined: thousands of sessions would pass SQLite's
    # limit of bound parameters); a cycle type is the row's own, kept as it is
    cycle_types = request.filters.cycle_types or []
    fetch_where = [
        *conditions,
        *([f"c.cycle_type IN {placeholders(cycle_types)}"] if cycle_types else []),
        f"{session_key} IN ({', '.join(map(str, chosen))})",
    ]
    fetch_sql = (
        f"SELECT {', '.join([session_key, *fetched])} FROM {own}"
        f" WHERE {' AND '.join(fetch_where)} ORDER BY {order}"
    )
    fetch_params = [*values, *cycle_types]
    fetch_one = ""
    if len(chosen) <= PER_SESSION:  # a query per session, without its id on every row
        fetch_one = (
            f"SELECT {', '.join(fetched)} FROM {own}"
            f" WHERE {' AND '.join([*fetch_where[:-1], f'{session_key} = %s'])}"
            f" ORDER BY {order.split(', ')[1]}"
        )
    sessions = _sessions(source, ids_out, chosen, asset)
    label_value = next(c.name for c in lab if c.column == request.task) if lab else request.task
    checked = [
        c.name
        for c in feats
        if c.name not in empty  # NULL everywhere: nothing to correlate
        and model.table(c.table).column(c.column).type in ("real", "double", "integer", "smallint")
        and c.column not in ("record_index", "cycle_count", "step_count", "step_id")
    ]
    return Plan(
        request,
        sql,
        all_params,
        columns,
        definition,
        feature_version,
        split,
        checked,
        label_value,
        fetch_sql,
        fetch_params,
        fetch_one,
        sessions,
        notes,
        empty,
    )


def _empty(source: Source, outs: list[Out], sessions: list[int]) -> frozenset[str]:
    """The output names of `outs` (columns of one table, keyed by session_id) that are NULL in
    every row of `sessions`: the channels a file did not have (a cycler that logs no T1-T3, no
    energy, no step counter). A NULL costs the engine and its driver about as much as a value,
    so the export does not fetch them. Asks for one row with any of the nullable columns set,
    drops the ones it has and asks again: a few queries that stop at their first row, and one
    that reads through when the rest are NULL; after three rows that each had a column set, it
    stops asking and fetches the rest. Only ever reads the set's sessions' own samples: a
    column found NULL is NULL in every row of the set (a superset of it)."""
    model = schema.model()
    if not outs or not sessions:
        return frozenset()
    table = outs[0].table
    left = [o for o in outs if model.table(table).column(o.column).nullable]
    scope = f"session_id IN ({', '.join(map(str, sessions))})"
    for _ in range(3):
        if not left:
            return frozenset()
        flags = ", ".join(f"CASE WHEN {o.column} IS NULL THEN 0 ELSE 1 END" for o in left)
        anyset = " OR ".join(f"{o.column} IS NOT NULL" for o in left)
        rows = source.query(f"SELECT {flags} FROM {table} WHERE {scope} AND ({anyset}) LIMIT 1")
        if not rows:
            return frozenset(o.name for o in left)
        left = [o for o, flag in zip(left, rows[0], strict=True) if not flag]
    return frozenset()


def _other_sessions(
    source: Source, request: Request, definition: dict, other: str
) -> list[tuple[int, int]]:
    """(session_id, asset id) of the sessions of the `other` kind of asset (cell or pack) that
    the request's filters select and that have labels of the definition: the set, joined to
    its own asset's table, leaves them out."""
    f = request.filters
    if (f.cells and other == "pack") or f"battery_{other}" not in schema.model().table_map:
        return []  # a pack session has no cell; a schema of one's own may have no packs
    label = TASK[request.task].label_table
    parts = [
        f"s.{other}_id IS NOT NULL",
        f"EXISTS (SELECT 1 FROM {label} x WHERE x.session_id = s.session_id AND "
        + " AND ".join(f"x.{c} = %s" for c in definition)
        + ")",
    ]
    params: list[Any] = list(definition.values())
    for values, expression in (
        (f.sessions, "s.session_id"),
        (f.protocols, "s.protocol_name"),
        (f.chemistries, "k.chemistry"),
    ):
        if values:
            parts.append(f"{expression} IN {placeholders(values)}")
            params += list(values)
    if f.cycle_types:
        parts.append(
            "s.session_id IN (SELECT session_id FROM cycle WHERE cycle_type IN "
            f"{placeholders(f.cycle_types)})"
        )
        params += list(f.cycle_types)
    rows = source.query(
        f"SELECT s.session_id, s.{other}_id FROM test_session s"
        f" JOIN battery_{other} k ON k.{other}_id = s.{other}_id WHERE "
        + " AND ".join(parts)
        + " ORDER BY s.session_id",
        params,
    )
    return [(int(r[0]), int(r[1])) for r in rows]


def _sessions(source: Source, ids: list[Out], sessions: list[int], asset: str) -> pa.RecordBatch:
    """The IDS columns of `sessions`, one row each, in the export's types (integers inlined:
    a set of thousands of sessions would pass SQLite's limit of bound parameters)."""
    sql = (
        f"SELECT {', '.join(c.expression for c in ids)} FROM test_session s"
        f"{asset_join(asset)} WHERE s.session_id IN ({', '.join(map(str, sessions))})"
    )
    target = arrow_schema(ids)
    batches = [conform(b, target) for b in source.batches(sql) if b.num_rows]
    return pa.concat_batches(batches) if batches else pa.RecordBatch.from_pylist([], target)


class Leakage:
    """Pearson r of each feature with the label over the exported rows, accumulated batch by
    batch (shifted sums, flat memory)."""

    THRESHOLD = 0.999

    def __init__(self, features: list[str], label: str):
        self.features, self.label = features, label
        self.sums: dict[str, np.ndarray] = {f: np.zeros(6) for f in features}
        self.shift: dict[str, tuple[float, float]] = {}

    def add(self, batch: pa.RecordBatch) -> None:
        y_all = batch.column(self.label).to_numpy(zero_copy_only=False).astype(float)
        y_nan = np.isnan(y_all)
        y_gaps = bool(y_nan.any())
        shifted: dict[float, tuple[np.ndarray, float, float]] = {}  # y shifted, its sums
        for f in self.features:
            x = batch.column(f).to_numpy(zero_copy_only=False).astype(float)
            x_nan = np.isnan(x)
            whole = not (y_gaps or x_nan.any())  # the usual batch: no NaN, nothing to mask
            if whole:
                y = y_all
            else:
                ok = ~(x_nan | y_nan)
                if not ok.any():
                    continue
                x, y = x[ok], y_all[ok]
            if f not in self.shift:
                self.shift[f] = (float(x[0]), float(y[0]))
            sx, sy = self.shift[f]
            x -= sx  # x is a copy (astype, or the mask's)
            if whole and sy in shifted:  # the label's sums once per batch, not per feature
                y, y_sum, y_sq = shifted[sy]
            else:
                y = y - sy
                y_sum, y_sq = y.sum(), np.einsum("i,i->", y, y)
                if whole:
                    shifted[sy] = (y, y_sum, y_sq)
            # einsum: one pass, no temporary, no BLAS threads
            xy = np.einsum("i,i->", x, y)
            self.sums[f] += [len(x), x.sum(), y_sum, np.einsum("i,i->", x, x), y_sq, xy]

    def found(self) -> list[tuple[str, float, int]]:
        """(feature, r, rows) for every feature with |r| >= THRESHOLD."""
        out = []
        for f, (n, sx, sy, sxx, syy, sxy) in self.sums.items():
            if n < 3:
                continue
            vx, vy = sxx - sx * sx / n, syy - sy * sy / n
            if vx <= 1e-12 * max(sxx, 1e-300) or vy <= 0:
                continue
            r = (sxy - sx * sy / n) / np.sqrt(vx * vy)
            if abs(r) >= self.THRESHOLD:
                out.append((f, float(r), int(n)))
        return out

    def messages(self) -> list[str]:
        return [
            f"warning: {f} is almost a linear function of the label {self.label} (r = {r:.4f} "
            f"over {n} rows, |r| >= {self.THRESHOLD}): it may restate the label (capacity-based "
            f"SOH is discharge capacity / reference capacity); leave it out with --drop {f}"
            for f, r, n in self.found()
        ]


def stream(source: Source, p: Plan, rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """The plan's rows in batches of the export's schema, the split and window columns added:
    each batch of `fetch_sql` with the session's columns taken from `p.sessions` by its
    session id (or each of `fetch_one`'s, one session's, with that session's)."""
    n_ids = p.sessions.num_columns
    key = Out("session_id", "test_session", "session_id", "")
    values = [c for c in p.columns[n_ids:] if c.name not in p.empty]
    target = arrow_schema(p.columns)
    known = p.sessions.column("session_id")
    out = p.schema()
    side = p.split.sides()
    for session, raw in _fetch(source, p, rows):
        if raw.num_rows == 0:
            continue
        if session is None:
            part = conform(raw, arrow_schema([key, *values]))
            ids = part.column(0)
            got = iter(part.columns[1:])
            first, last = ids[0], ids[-1]
            session = first.as_py() if first == last else None  # rows in session order
        else:
            part = conform(raw, arrow_schema(values))
            got = iter(part.columns)
        if session is not None:  # a batch of one session: its values repeated
            at = pc.index_in(pa.array([session], known.type), value_set=known)
            one = [c.take(at)[0] for c in p.sessions.columns]
            own = [pa.repeat(v, part.num_rows) if v.is_valid else pa.nulls(part.num_rows, v.type)
                   for v in one]  # fmt: skip
        else:
            at = pc.index_in(ids, value_set=known)
            own = [c.take(at) for c in p.sessions.columns]
        if at.null_count:  # cannot be: the sessions are those of the set's own rows
            raise ExportError("internal: a row of a session the plan did not read")
        arrays = own + [
            pa.nulls(part.num_rows, f.type) if f.name in p.empty else next(got)
            for f in list(target)[n_ids:]
        ]
        batch = pa.RecordBatch.from_arrays(arrays, schema=target)
        arrays = list(batch.columns)
        if p.request.window_seconds:
            t = batch.column("test_time_second").cast(pa.float64())
            w = pc.floor(pc.divide(t, float(p.request.window_seconds)))
            arrays.append(w.cast(pa.int64()))
        arrays.append(p.split.column(batch, side))
        yield pa.RecordBatch.from_arrays(arrays, schema=out)


def _fetch(source: Source, p: Plan, rows: int) -> Iterator[tuple[int | None, pa.RecordBatch]]:
    """The rows as the engine gives them, in the set's order, each batch with its session
    when it was read by `fetch_one` (None: read by `fetch_sql`, the session id in column 0)."""
    if not p.fetch_one:
        for raw in source.batches(p.fetch_sql, p.fetch_params, rows):
            yield None, raw
        return
    for session in sorted(p.sessions.column("session_id").to_pylist()):
        for raw in source.batches(p.fetch_one, [*p.fetch_params, session], rows):
            yield session, raw
