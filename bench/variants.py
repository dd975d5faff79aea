"""Experiments: one change to the generated DDL (edited in a scratch copy) or to the loader.

The generated files under sql/ are never modified: a variant's DDL is the generated text with
an exact, asserted edit, written to the scratch directory. Each variant answers one question
raised by a missed target; docs/performance.md reports its before/after numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .ddl import split_statements


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


def _brin_recorded_at(text: str) -> str:
    return text + (
        "\nCREATE INDEX ix_timeseries_point_recorded_at ON timeseries_point"
        " USING brin (recorded_at) WITH (pages_per_range = 32);\n"
    )


def _has_label_soc_time_index(text: str) -> bool:
    return "ON label_soc (session_id, recorded_at)" in text


def _label_soc_time_index(text: str) -> str:
    if _has_label_soc_time_index(text):
        raise NotApplicable("the generated DDL already indexes label_soc (session_id, recorded_at)")
    return text + "\nCREATE INDEX ix_label_soc_time ON label_soc (session_id, recorded_at);\n"


def _window_indexes(text: str) -> str:
    text = _brin_recorded_at(text)
    return text if _has_label_soc_time_index(text) else _label_soc_time_index(text)


def _ts_chunk_1_day(text: str) -> str:
    text = replace_once(
        text,
        "by_range('recorded_at', INTERVAL '7 days')",
        "by_range('recorded_at', INTERVAL '1 day')",
    )
    return _no_inbound_fks(text)


def _ts_test_time_ms(text: str) -> str:
    text = replace_once(
        text,
        "    test_time_second double precision NOT NULL,",
        "    test_time_second bigint NOT NULL,",
    )
    return _no_inbound_fks(text)


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
        question="Ingest misses 400k rows/s: is the per-row foreign-key trigger the cause? "
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
        key="pg-brin-recorded-at",
        engines=("postgres18",),
        title="PostgreSQL: BRIN index on recorded_at",
        question="The SOC window query reads the whole session through the key prefix; does a "
        "BRIN index (a few kB) let it read only the hour it asks for?",
        ddl_edit=_brin_recorded_at,
        ddl_change="CREATE INDEX ix_timeseries_point_recorded_at ON timeseries_point "
        "USING brin (recorded_at) WITH (pages_per_range = 32);",
    ),
    Variant(
        key="label-soc-time-index",
        engines=("sqlite",),
        title="Index label_soc (session_id, recorded_at)",
        question="The SOC window query reads every label of the session (no access path by "
        "time on label_soc or on the samples). Does an index on the labels' copied time make "
        "it proportional to the window, without touching the time-series table?",
        ddl_edit=_label_soc_time_index,
        ddl_change="CREATE INDEX ix_label_soc_time ON label_soc (session_id, recorded_at); "
        "(schema.yaml: label_soc.indexes.ix_label_soc_time: {columns: [session_id, "
        "recorded_at]})",
    ),
    Variant(
        key="pg-window-indexes",
        engines=("postgres18",),
        title="PostgreSQL: BRIN on recorded_at and label_soc (session_id, recorded_at)",
        question="Both sides of the SOC window by time: is the query then proportional to "
        "the window?",
        ddl_edit=_window_indexes,
        ddl_change="both of the above",
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
        title="TimescaleDB: 1-day chunks (no FKs into the hypertable)",
        question="What do smaller chunks change: chunk exclusion in the queries, and the "
        "compressed size?",
        ddl_edit=_ts_chunk_1_day,
        ddl_change="timescaledb: hypertable: chunk_interval: 1 day",
    ),
    Variant(
        key="ts-test-time-ms",
        engines=TS,
        title="TimescaleDB: test time as integer milliseconds (no FKs into the hypertable)",
        question="test_time_second is the largest compressed column: a double with "
        "millisecond jitter defeats Gorilla XOR compression. How much would an integer "
        "(delta-of-delta) representation save?",
        ddl_edit=_ts_test_time_ms,
        ddl_change="timeseries_point.test_time_second double precision -> "
        "test_time_millisecond bigint",
        options={"test_time_ms": True},
    ),
    Variant(
        key="ts-exact-clock",
        engines=TS,
        title="TimescaleDB: the same record with an exact 1 Hz clock (no FKs into it)",
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
