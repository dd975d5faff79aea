"""The bench's experiments (bench/variants.py): a change the model can state is an edit of the
loaded model rendered by the generator's target; the rest is an asserted edit of that text.
Each variant's DDL for each of its engines is checked for the change it names."""

from __future__ import annotations

import pytest

from bench import engines, variants
from generator.targets import TARGETS

CASES = [(v, e) for v in variants.VARIANTS for e in v.engines]


def _ddl(variant, engine) -> str:
    return variant.ddl(engines.model(), engines.TARGET[engine])


def _generated(engine) -> str:
    return engines.ddl_file(engine).read_text(encoding="utf-8")


def test_each_engine_runs_its_targets_file():
    for engine, target in engines.TARGET.items():
        assert engines.ddl_file(engine) == engines.ROOT / TARGETS[target].path


@pytest.mark.parametrize(("variant", "engine"), CASES, ids=[f"{e}-{v.key}" for v, e in CASES])
def test_variant_ddl_renders_or_says_why_not(variant, engine):
    if variant.model_edit is None and variant.ddl_edit is None:
        assert variant.loader or variant.options  # a loader or data experiment
        return
    try:
        text = _ddl(variant, engine)
    except variants.NotApplicable as exc:
        assert "already" in str(exc) or "has no" in str(exc)
        return
    assert text.endswith(";\n")
    if variant.ddl_change:  # a schema change: the DDL is not the generated one
        assert text != _generated(engine)


def test_the_edits_state_their_change():
    def ddl(key, engine):
        return _ddl(variants.by_key(key), engine)

    for engine in ("sqlite", "postgres18", "timescaledb"):
        assert variants.TIME_INDEX in _generated(engine)
        assert variants.TIME_INDEX not in ddl("time-no-index", engine)
    sqlite = ddl("sqlite-key-time-first", "sqlite")
    assert "PRIMARY KEY (session_id, recorded_at, record_index)," in sqlite
    assert "CONSTRAINT uq_timeseries_point_record UNIQUE (session_id, record_index)," in sqlite
    assert "PRIMARY KEY (session_id, recorded_at, record_index)," in ddl(
        "ts-key-time-first", "timescaledb"
    )
    assert "INTERVAL '1 day'" in ddl("ts-chunk-1-day", "timescaledb")
    rollup = ddl("ts-chunk-1-day-rollup", "timescaledb")
    assert "INTERVAL '1 day'" in rollup and "compress_chunk_time_interval = '7 days'" in rollup
    assert "DEFERRABLE INITIALLY DEFERRED" in ddl("pg-fk-deferred", "postgres18")
    # the exact-clock run changes the data only: its DDL is the generated one
    assert ddl("ts-exact-clock", "timescaledb") == _generated("timescaledb")


def test_integer_test_time_is_one_model_edit():
    """Milliseconds or microseconds: one schema change (bigint), the loader scales."""
    ms, us = variants.by_key("ts-test-time-ms"), variants.by_key("ts-test-time-us")
    assert ms.model_edit is us.model_edit
    assert ms.options != us.options
    # on a schema that stores test_time_second itself, the edit makes it an integer
    schema = variants.edit_timescale(engines.model(), elapsed_as_start=None)
    text = ms.ddl(schema, "timescaledb")
    assert "    test_time_second bigint NOT NULL," in text
