"""Experiments: one change to the schema, to the generated DDL, or to the loader.

A change the schema model can state (an index dropped, another primary key, a chunk interval,
a column type) is an edit of the loaded model (`model_edit`), rendered by the generator's own
target: the DDL is what the generator would write had schema.yaml said so. What the model
cannot state (DEFERRABLE, a fillfactor, a BRIN index, a TimescaleDB option it does not read) is
an exact, asserted edit of that text (`ddl_edit`). The files under sql/ are never modified: a
variant's DDL is written to the scratch directory. Each variant answers one question raised by
a missed target; docs/performance.md reports its before/after numbers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from generator.model import Index, Schema, Table, Unique

TABLE = "timeseries_point"
TIME_INDEX = "ix_timeseries_point_session_time"


def replace_once(text: str, old: str, new: str) -> str:
    count = text.count(old)
    if count != 1:
        raise ValueError(f"expected exactly one {old!r} in the DDL, found {count}")
    return text.replace(old, new)


class NotApplicable(Exception):
    """The generated DDL already has what the experiment would change."""


@dataclass(frozen=True)
class Variant:
    key: str
    engines: tuple[str, ...]
    title: str
    question: str
    model_edit: Callable[[Schema, str], Schema] | None = None  # (model, target name)
    ddl_edit: Callable[[str], str] | None = None  # the rendered text, after model_edit
    loader: str | None = None
    ddl_change: str = ""  # the exact change, as recommended to the generator owner
    options: dict = field(default_factory=dict)

    def ddl(self, schema: Schema, target: str) -> str:
        """This variant's DDL for `target` (NotApplicable when the schema already has it)."""
        from generator.targets import TARGETS

        if self.model_edit is not None:
            schema = self.model_edit(schema, target)
        text = TARGETS[target].render(schema, self_check=False)
        return self.ddl_edit(text) if self.ddl_edit is not None else text


PG = ("postgres15", "postgres18")
TS = ("timescaledb",)
TIMESERIES_FK = "fk_timeseries_point_session_id"


# -- edits of the model ---------------------------------------------------------------------


def edit_table(schema: Schema, name: str, **changes) -> Schema:
    """The model with table `name` changed (dataclasses.replace of its fields)."""
    tables = tuple(
        dataclasses.replace(t, **changes) if t.name == name else t for t in schema.tables
    )
    return dataclasses.replace(schema, tables=tables)


def edit_timescale(schema: Schema, **changes) -> Schema:
    ts = schema.table(TABLE).timescaledb
    return edit_table(schema, TABLE, timescaledb=dataclasses.replace(ts, **changes))


def edit_column(schema: Schema, column: str, **changes) -> Schema:
    table = schema.table(TABLE)
    columns = tuple(
        dataclasses.replace(c, **changes) if c.name == column else c for c in table.columns
    )
    return edit_table(schema, TABLE, columns=columns)


def _indexes_without(table: Table, name: str) -> tuple[Index, ...]:
    if name not in {i.name for i in table.indexes}:
        raise ValueError(f"{table.name} has no index {name}")
    return tuple(i for i in table.indexes if i.name != name)


def _without_time_index(schema: Schema, target: str) -> Schema:
    """The schema without the (session_id, recorded_at) b-tree, as it was before (on
    TimescaleDB the target puts the index on the store table behind the view, as ever)."""
    return edit_table(schema, TABLE, indexes=_indexes_without(schema.table(TABLE), TIME_INDEX))


def _key_time_first(schema: Schema, target: str) -> Schema:
    """The key (session_id, recorded_at, record_index), without the time b-tree. SQLite: the
    WITHOUT ROWID table b-tree in time order, the record key a UNIQUE constraint (what the
    references into the table need). TimescaleDB: its key holds the time column anyway (the
    target adds it last); here it comes second."""
    table = schema.table(TABLE)
    if table.primary_key != ("session_id", "record_index"):
        raise ValueError(f"{TABLE}'s primary key is {table.primary_key}")
    uniques = table.uniques
    if target == "sqlite":
        uniques = (Unique("uq_timeseries_point_record", table.primary_key), *uniques)
    return edit_table(
        schema,
        TABLE,
        primary_key=("session_id", "recorded_at", "record_index"),
        uniques=uniques,
        indexes=_indexes_without(table, TIME_INDEX),
    )


def _inbound_constraint_fks(schema: Schema, target: str):
    """(table, foreign key) of the FOREIGN KEY constraints into timeseries_point the target
    writes (TimescaleDB enforces references into a hypertable by triggers instead)."""
    from generator.targets import TARGETS

    emitter = TARGETS[target]
    return [
        (t.name, fk)
        for t in schema.tables
        for fk in emitter.constraint_foreign_keys(schema, t)
        if fk.ref_table == TABLE
    ]


def _no_inbound_fks(schema: Schema, target: str) -> Schema:
    """Without the FOREIGN KEY constraints into timeseries_point, if the target writes any.
    References the target enforces by triggers are kept."""
    for table, fk in _inbound_constraint_fks(schema, target):
        fks = tuple(f for f in schema.table(table).foreign_keys if f != fk)
        schema = edit_table(schema, table, foreign_keys=fks)
    return schema


def _no_inbound_fks_or_skip(schema: Schema, target: str) -> Schema:
    if not _inbound_constraint_fks(schema, target):
        raise NotApplicable("the generated DDL has no FOREIGN KEY into timeseries_point")
    return _no_inbound_fks(schema, target)


def _ts_chunk_1_day(schema: Schema, target: str) -> Schema:
    return _no_inbound_fks(edit_timescale(schema, chunk_interval="1 day"), target)


def _stored_as_start(schema: Schema) -> None:
    if schema.table(TABLE).timescaledb.elapsed_as_start is not None:
        raise NotApplicable(
            "the generated DDL already stores test_started_at instead of test_time_second "
            "(schema.yaml: elapsed_as_start)"
        )


def _ts_test_time_integer(schema: Schema, target: str) -> Schema:
    """test_time_second as an integer count (milliseconds or microseconds: the loader scales
    it, options test_time_ms / test_time_us)."""
    _stored_as_start(schema)
    schema = edit_column(schema, "test_time_second", type="bigint", unit=None)
    return _no_inbound_fks(schema, target)


def _ts_test_started_at(schema: Schema, target: str) -> Schema:
    """Test time stored as the instant it counts from: recorded_at - test_time_second.

    The column keeps its name so the benchmark's queries run unchanged (they only select it);
    the design would call it test_started_at and give test_time_second back through a view
    (schema.yaml's elapsed_as_start does so now).
    """
    _stored_as_start(schema)
    schema = edit_column(schema, "test_time_second", type="timestamptz", unit=None, range=None)
    table = schema.table(TABLE)
    checks = tuple(
        dataclasses.replace(c, expression="test_time_second <= recorded_at", kind="explicit")
        if c.column == "test_time_second" and c.kind == "range"
        else c
        for c in table.checks
    )
    return _no_inbound_fks(edit_table(schema, TABLE, checks=checks), target)


def _ts_started_at_order_record(schema: Schema, target: str) -> Schema:
    return _ts_test_started_at(edit_timescale(schema, order_by=("record_index",)), target)


# -- edits of the text: what the model cannot state -------------------------------------------


def _fk_deferred(text: str) -> str:
    return replace_once(
        text,
        "REFERENCES test_session (session_id) ON DELETE RESTRICT,\n"
        "    CONSTRAINT ck_timeseries_point_test_time_second_range",
        "REFERENCES test_session (session_id) ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED,\n"
        "    CONSTRAINT ck_timeseries_point_test_time_second_range",
    )


def _pk_fillfactor(text: str) -> str:
    return replace_once(
        text,
        "CONSTRAINT pk_timeseries_point PRIMARY KEY (session_id, record_index),",
        "CONSTRAINT pk_timeseries_point PRIMARY KEY (session_id, record_index)"
        " WITH (fillfactor = 100),",
    )


def _time_brin(text: str) -> str:
    return replace_once(
        text,
        f"CREATE INDEX {TIME_INDEX} ON timeseries_point (session_id, recorded_at);",
        "CREATE INDEX ix_timeseries_point_recorded_at ON timeseries_point"
        " USING brin (recorded_at) WITH (pages_per_range = 32);",
    )


def _compress_rollup(text: str) -> str:
    """compress_chunk_time_interval: a TimescaleDB option the model does not read."""
    return replace_once(
        text,
        "timescaledb.compress_orderby = 'recorded_at, record_index'",
        "timescaledb.compress_orderby = 'recorded_at, record_index', "
        "timescaledb.compress_chunk_time_interval = '7 days'",
    )


VARIANTS: tuple[Variant, ...] = (
    Variant(
        key="sqlite-executemany-single-row",
        engines=("sqlite",),
        title="SQLite: executemany with one row per INSERT",
        question="How much does the multi-row INSERT of the fast path gain over the textbook "
        "executemany of single-row INSERTs?",
        loader="executemany_single_row",
    ),
    Variant(
        key="pg-fk-validated-after-copy",
        engines=PG,
        title="PostgreSQL: COPY, then validate the foreign key once",
        question="Is the per-row foreign-key trigger what slows COPY? "
        "In one transaction, drop fk_timeseries_point_session_id, COPY, re-add it (validated "
        "by one anti-join over the new rows); keys, FKs and CHECKs are all in force at commit.",
        loader="copy_fk_after",
    ),
    Variant(
        key="pg-keys-rebuilt-after-copy",
        engines=PG,
        title="PostgreSQL: COPY, then build the primary key and validate the foreign keys",
        question="With the FK out of the way, what does the unique primary-key index cost "
        "during COPY? The bulk-load recipe of the PostgreSQL manual: in one transaction drop "
        "the FKs into timeseries_point, its FK and its primary key, COPY, re-add them (index "
        "built by one sort, FKs validated). Suits an initial load, not an incremental one.",
        loader="copy_keys_after",
    ),
    Variant(
        key="pg-fk-deferred",
        engines=("postgres18",),
        title="PostgreSQL: DEFERRABLE INITIALLY DEFERRED foreign key",
        question="Does deferring the foreign-key check to commit make COPY faster?",
        ddl_edit=_fk_deferred,
        ddl_change="fk_timeseries_point_session_id ... DEFERRABLE INITIALLY DEFERRED",
    ),
    Variant(
        key="pg-pk-fillfactor-100",
        engines=("postgres18",),
        title="PostgreSQL: primary-key index with fillfactor 100",
        question="The key only ever grows at its right edge; does packing its leaves fully "
        "save space?",
        ddl_edit=_pk_fillfactor,
        ddl_change="CONSTRAINT pk_timeseries_point PRIMARY KEY (session_id, record_index) "
        "WITH (fillfactor = 100)",
    ),
    Variant(
        key="time-no-index",
        engines=("sqlite", "postgres18", "timescaledb"),
        title="No time index (the DDL before ix_timeseries_point_session_time)",
        question="What does the (session_id, recorded_at) b-tree cost in bytes/row and ingest, "
        "and what do the time-ordered queries cost without it (a sort of the session)?",
        model_edit=_without_time_index,
        ddl_change="drop ix_timeseries_point_session_time",
    ),
    Variant(
        key="pg-time-brin",
        engines=("postgres18",),
        title="PostgreSQL: BRIN on recorded_at instead of the time b-tree",
        question="A BRIN index costs a few kB: does it serve the time-ordered queries? (It "
        "cannot return rows in order, so they sort; it cannot bound the latest N at all.)",
        ddl_edit=_time_brin,
        ddl_change="ix_timeseries_point_session_time -> CREATE INDEX "
        "ix_timeseries_point_recorded_at ON timeseries_point USING brin (recorded_at) "
        "WITH (pages_per_range = 32);",
    ),
    Variant(
        key="sqlite-key-time-first",
        engines=("sqlite",),
        title="SQLite: table ordered by (session_id, recorded_at, record_index)",
        question="Reorder the key: the WITHOUT ROWID table b-tree in time order (time queries "
        "read contiguous rows), the record key as a UNIQUE index instead of the time index.",
        model_edit=_key_time_first,
        ddl_change="PRIMARY KEY (session_id, recorded_at, record_index), "
        "UNIQUE (session_id, record_index), no ix_timeseries_point_session_time",
    ),
    Variant(
        key="ts-key-time-first",
        engines=TS,
        title="TimescaleDB: key (session_id, recorded_at, record_index), no time b-tree",
        question="The hypertable's key must contain the time column anyway: with time second, "
        "does the key alone serve the time-ordered queries, and at what cost to the cycle "
        "query (a record-index range)?",
        model_edit=_key_time_first,
        ddl_change="timescaledb: PRIMARY KEY (session_id, recorded_at, record_index), no "
        "ix_timeseries_point_session_time",
    ),
    Variant(
        key="ts-no-inbound-fks",
        engines=TS,
        title="TimescaleDB: no foreign keys into the hypertable",
        question="compress_chunk refuses chunks that foreign keys point into (label_soc and "
        "prediction reference timeseries_point). Without those two FKs, how small does "
        "compression get?",
        model_edit=_no_inbound_fks_or_skip,
        ddl_change="sql/timescaledb only: omit fk_label_soc_point and fk_prediction_point "
        "(keep them on PostgreSQL and SQLite)",
    ),
    Variant(
        key="ts-chunk-1-day",
        engines=TS,
        title="TimescaleDB: 1-day chunks",
        question="What do smaller chunks change: chunk exclusion in the queries, and the "
        "compressed size?",
        model_edit=_ts_chunk_1_day,
        ddl_change="timescaledb: hypertable: chunk_interval: 1 day",
    ),
    Variant(
        key="ts-chunk-1-day-rollup",
        engines=TS,
        title="TimescaleDB: 1-day chunks, rolled up into 7-day chunks when compressed",
        question="compress_chunk_time_interval merges small chunks as they are compressed: "
        "chunk exclusion on fresh data, fewer and fuller compressed chunks. What does it "
        "save against 1-day chunks compressed one by one?",
        model_edit=_ts_chunk_1_day,
        ddl_edit=_compress_rollup,
        ddl_change="timescaledb: chunk_interval: 1 day; compress_chunk_time_interval = '7 days'",
    ),
    Variant(
        key="ts-test-time-ms",
        engines=TS,
        title="TimescaleDB: test time as integer milliseconds",
        question="test_time_second is the largest compressed column: a double with "
        "millisecond jitter defeats Gorilla XOR compression. How much would an integer "
        "(delta-of-delta) representation save?",
        model_edit=_ts_test_time_integer,
        ddl_change="timeseries_point.test_time_second double precision -> "
        "test_time_millisecond bigint",
        options={"test_time_ms": True},
    ),
    Variant(
        key="ts-test-time-us",
        engines=TS,
        title="TimescaleDB: test time as integer microseconds",
        question="Integer milliseconds lose what a finer cycler clock records; integer "
        "microseconds keep the resolution of recorded_at: what do they cost compressed?",
        model_edit=_ts_test_time_integer,
        ddl_change="timeseries_point.test_time_second double precision -> "
        "test_time_microsecond bigint",
        options={"test_time_us": True},
    ),
    Variant(
        key="ts-test-started-at",
        engines=TS,
        title="TimescaleDB: test time stored as the instant it counts from",
        question="recorded_at and test_time_second carry the same clock jitter twice. Store "
        "test_started_at = recorded_at - test_time_second instead (a timestamptz, exact to "
        "the microsecond; constant while the cycler's two clocks agree) and give "
        "test_time_second back as recorded_at - test_started_at: how small does it get?",
        model_edit=_ts_test_started_at,
        ddl_change="timeseries_point.test_time_second double precision -> test_started_at "
        "timestamptz; test_time_second = extract(epoch FROM recorded_at - test_started_at)",
        options={"test_started_at": True},
    ),
    Variant(
        key="ts-started-at-order-record",
        engines=TS,
        title="TimescaleDB: test_started_at, compressed in record-index order",
        question="With test time stored as its origin, does ordering the compressed batches "
        "by record_index instead of (recorded_at, record_index) change the size?",
        model_edit=_ts_started_at_order_record,
        ddl_change="test_started_at as above; compress_orderby = 'record_index'",
        options={"test_started_at": True},
    ),
    Variant(
        key="ts-exact-clock",
        engines=TS,
        title="TimescaleDB: the same record with an exact 1 Hz clock",
        question="Data, not schema: how much of the compressed size is the cycler clock's "
        "millisecond jitter? The dataset is regenerated with integral-second times.",
        model_edit=_no_inbound_fks,
        options={"dataset": "exact-clock"},
    ),
)


def variants_for(engine: str) -> list[Variant]:
    return [v for v in VARIANTS if engine in v.engines]


def by_key(key: str) -> Variant:
    for variant in VARIANTS:
        if variant.key == key:
            return variant
    raise KeyError(key)
