"""connection/schema.py: the model of the schema in force is read from the run cache where a
load of the same schema left it (the loader's start-up, issue 22 item 9), equal to a fresh
load; a changed schema, a damaged entry or a schema with problems never gets a stale model."""

from __future__ import annotations

import dataclasses
import pickle
import shutil

import pytest

from connection import schema
from generator import load_schema
from generator.errors import SchemaError
from tests.support.dbkit import ROOT


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    where = tmp_path / "cache"
    where.mkdir(mode=0o700)
    monkeypatch.setenv("LIAM_ERD_SCHEMA_CACHE", str(where))
    schema._load.cache_clear()
    yield where
    schema._load.cache_clear()


def _model(path):
    schema._load.cache_clear()
    return schema._load(path)


def test_a_second_load_reads_the_model_its_first_load_stored(cache_dir, tmp_path):
    path = tmp_path / "schema.yaml"
    shutil.copy(ROOT / "schema.yaml", path)
    first = _model(path)
    (entry,) = cache_dir.glob("model-*.pickle")
    marked = dataclasses.replace(pickle.loads(entry.read_bytes()), description="from the cache")
    entry.write_bytes(pickle.dumps(marked))
    assert _model(path).description == "from the cache"
    fresh = load_schema(path)
    assert [t.name for t in first.tables] == [t.name for t in fresh.tables]
    assert first.table("timeseries_point") == fresh.table("timeseries_point")


def test_a_changed_schema_or_a_damaged_entry_is_loaded_again(cache_dir, tmp_path):
    path = tmp_path / "schema.yaml"
    text = (ROOT / "schema.yaml").read_text()
    path.write_text(text)
    _model(path)
    (entry,) = cache_dir.glob("model-*.pickle")
    entry.write_bytes(b"not a pickle")
    assert _model(path).table("timeseries_point")  # a miss, loaded and stored again
    assert pickle.loads(entry.read_bytes()).table("timeseries_point")
    path.write_text(text.replace("One sample recorded by the cycler", "One sample, changed", 1))
    assert "One sample, changed" in _model(path).table("timeseries_point").description
    assert len(list(cache_dir.glob("model-*.pickle"))) == 2


def test_a_schema_with_problems_is_never_stored(cache_dir, tmp_path):
    path = tmp_path / "schema.yaml"
    path.write_text((ROOT / "schema.yaml").read_text().replace("version: ", "version: x", 1))
    with pytest.raises(SchemaError):
        _model(path)
    assert list(cache_dir.glob("model-*.pickle")) == []
