"""Experiments: one change to the generated DDL (edited in a scratch copy) or to the loader.

The generated files under sql/ are never modified: a variant's DDL is the generated text with
an exact, asserted edit, written to the scratch directory. Each variant answers one question
raised by a missed target; docs/performance.md reports its before/after numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from generator.sqltext import split_statements


def replace_once(text: str, old: str, new: str) -> str:
    count = text.count(old)
    if count != 1:
        raise ValueError(f"expected exactly one {old!r} in the DDL, found {count}")
    return text.replace(old, new)


def drop_statements(text: str, predicate: Callable[[str], bool]) -> str:
    """Remove whole statements (e.g. COMMENTs on a dropped constraint)."""
    kept = [s for s in split_statements(text) if not predicate(s)]
    return ";\n\n".join(kept) + ";\n"


class NotApplicable(Exception):
    """The generated DDL already has what the experiment would change."""


def drop_constraint_line(text: str, name: str) -> str:
    """Remove one `CONSTRAINT name ...` line of a CREATE TABLE, and statements naming it.

    A DDL without that constraint is returned unchanged.
    """
    lines = text.split("\n")
    hits = [i for i, line in enumerate(lines) if line.strip().startswith(f"CONSTRAINT {name} ")]
    if not hits:
        return text
    if len(hits) != 1:
        raise ValueError(f"expected one CONSTRAINT {name} line, found {len(hits)}")
    del lines[hits[0]]
    text = "\n".join(lines)
    return drop_statements(text, lambda s: f"CONSTRAINT {name} ON" in s)


@dataclass(frozen=True)
class Variant:
    key: str
    engines: tuple[str, ...]
    title: str
    question: str
    ddl_edit: Callable[[str], str] | None = None
    loader: str | None = None
    ddl_change: str = ""  # the exact change, as recommended to the generator owner
    options: dict = field(default_factory=dict)


PG = ("postgres15", "postgres18")
TS = ("timescaledb",)
TIMESERIES_FK = "fk_timeseries_point_session_id"


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


TIME_INDEX = (
    "CREATE INDEX ix_timeseries_point_session_time ON timeseries_point (session_id, recorded_at);"
)


def _without_time_index(text: str) -> str:
    """The generated DDL without the (session_id, recorded_at) b-tree, as it was before. On
    TimescaleDB the index is on the stored table (timeseries_point_store, behind the view)."""
    stored = TIME_INDEX.replace(" ON timeseries_point (", " ON timeseries_point_store (")
    return replace_once(text, (stored if stored in text else TIME_INDEX) + "\n", "")


def _time_brin(text: str) -> str:
    return replace_once(
        text,
        TIME_INDEX,
        "CREATE INDEX ix_timeseries_point_recorded_at ON timeseries_point"
        " USING brin (recorded_at) WITH (pages_per_range = 32);",
    )


def _sqlite_key_time_first(text: str) -> str:
    """SQLite: the table b-tree ordered by (session, time); the record key a secondary index."""
    text = replace_once(
        text,
        "CONSTRAINT pk_timeseries_point PRIMARY KEY (session_id, record_index),",
        "CONSTRAINT pk_timeseries_point PRIMARY KEY (session_id, recorded_at, record_index),\n"
        "    CONSTRAINT uq_timeseries_point_record UNIQUE (session_id, record_index),",
    )
    return _without_time_index(text)


def _ts_key_time_first(text: str) -> str:
    """TimescaleDB: the key already holds the time column; put it second, drop the b-tree."""
    text = replace_once(
        text,
        "CONSTRAINT pk_timeseries_point PRIMARY KEY (session_id, record_index, recorded_at),",
        "CONSTRAINT pk_timeseries_point PRIMARY KEY (session_id, recorded_at, record_index),",
    )
    return _without_time_index(text)


def _ts_chunk_1_day(text: str) -> str:
    text = replace_once(
        text,
        "by_range('recorded_at', INTERVAL '7 days')",
        "by_range('recorded_at', INTERVAL '1 day')",
    )
    return _no_inbound_fks(text)


def _ts_chunk_1_day_rollup(text: str) -> str:
    text = _ts_chunk_1_day(text)
    return replace_once(
        text,
        "timescaledb.compress_orderby = 'recorded_at, record_index'",
        "timescaledb.compress_orderby = 'recorded_at, record_index', "
        "timescaledb.compress_chunk_time_interval = '7 days'",
    )


def _stored_as_start(text: str) -> None:
    if "test_started_at timestamptz NOT NULL" in text:
        raise NotApplicable(
            "the generated DDL already stores test_started_at instead of test_time_second "
            "(schema.yaml: elapsed_as_start)"
        )


def _ts_test_time_ms(text: str) -> str:
    _stored_as_start(text)
    text = replace_once(
        text,
        "    test_time_second double precision NOT NULL,",
        "    test_time_second bigint NOT NULL,",
    )
    return _no_inbound_fks(text)


def _ts_test_time_us(text: str) -> str:
    _stored_as_start(text)
    text = replace_once(
        text,
        "    test_time_second double precision NOT NULL,",
        "    test_time_second bigint NOT NULL,",
    )
    return _no_inbound_fks(text)


def _ts_test_started_at(text: str) -> str:
    """Test time stored as the instant it counts from: recorded_at - test_time_second.

    The column keeps its name so the benchmark's queries run unchanged (they only select it);
    the design would call it test_started_at and give test_time_second back through a view.
    """
    _stored_as_start(text)
    text = replace_once(
        text,
        "    test_time_second double precision NOT NULL,",
        "    test_time_second timestamptz NOT NULL,",
    )
    text = replace_once(
        text,
        "CHECK (test_time_second >= 0)",
        "CHECK (test_time_second <= recorded_at)",
    )
    return _no_inbound_fks(text)


def _ts_started_at_order_record(text: str) -> str:
    text = replace_once(
        text,
        "timescaledb.compress_orderby = 'recorded_at, record_index'",
        "timescaledb.compress_orderby = 'record_index'",
    )
    return _ts_test_started_at(text)


def _no_inbound_fks(text: str) -> str:
    """Drop the FOREIGN KEY constraints into timeseries_point, if the DDL has them.

    The generated tables list CHECKs after the FKs, so removing a FK line keeps the commas
    right. Triggers that stand in for those keys are kept.
    """
    for name in ("fk_label_soc_point", "fk_prediction_point"):
        text = drop_constraint_line(text, name)
    return text


def _no_inbound_fks_or_skip(text: str) -> str:
    edited = _no_inbound_fks(text)
    if edited == text:
        raise NotApplicable("the generated DDL has no FOREIGN KEY into timeseries_point")
    return edited


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
        ddl_edit=_without_time_index,
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
        ddl_edit=_sqlite_key_time_first,
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
        ddl_edit=_ts_key_time_first,
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
        ddl_edit=_no_inbound_fks_or_skip,
        ddl_change="sql/timescaledb only: omit fk_label_soc_point and fk_prediction_point "
        "(keep them on PostgreSQL and SQLite)",
    ),
    Variant(
        key="ts-chunk-1-day",
        engines=TS,
        title="TimescaleDB: 1-day chunks",
        question="What do smaller chunks change: chunk exclusion in the queries, and the "
        "compressed size?",
        ddl_edit=_ts_chunk_1_day,
        ddl_change="timescaledb: hypertable: chunk_interval: 1 day",
    ),
    Variant(
        key="ts-chunk-1-day-rollup",
        engines=TS,
        title="TimescaleDB: 1-day chunks, rolled up into 7-day chunks when compressed",
        question="compress_chunk_time_interval merges small chunks as they are compressed: "
        "chunk exclusion on fresh data, fewer and fuller compressed chunks. What does it "
        "save against 1-day chunks compressed one by one?",
        ddl_edit=_ts_chunk_1_day_rollup,
        ddl_change="timescaledb: chunk_interval: 1 day; compress_chunk_time_interval = '7 days'",
    ),
    Variant(
        key="ts-test-time-ms",
        engines=TS,
        title="TimescaleDB: test time as integer milliseconds",
        question="test_time_second is the largest compressed column: a double with "
        "millisecond jitter defeats Gorilla XOR compression. How much would an integer "
        "(delta-of-delta) representation save?",
        ddl_edit=_ts_test_time_ms,
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
        ddl_edit=_ts_test_time_us,
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
        ddl_edit=_ts_test_started_at,
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
        ddl_edit=_ts_started_at_order_record,
        ddl_change="test_started_at as above; compress_orderby = 'record_index'",
        options={"test_started_at": True},
    ),
    Variant(
        key="ts-exact-clock",
        engines=TS,
        title="TimescaleDB: the same record with an exact 1 Hz clock",
        question="Data, not schema: how much of the compressed size is the cycler clock's "
        "millisecond jitter? The dataset is regenerated with integral-second times.",
        ddl_edit=_no_inbound_fks,
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
