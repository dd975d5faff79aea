"""How the export reads its rows. On PostgreSQL the ADBC driver streams a statement by binary
COPY only when it has no parameters, so the export puts a query's values into its text as
literals (read.inline): a value with a quote, a backslash or a `%s` of its own comes back as it
went in. A set of few sessions is read a session at a time (Plan.fetch_one), a larger one by one
query over all of them (Plan.fetch_sql, its batches crossing sessions): the same rows either
way, on SQLite and PostgreSQL 18."""

from __future__ import annotations

import contextlib
import dataclasses

import pyarrow as pa
import pytest

import export
from export.read import inline, open_source
from export.training import plan, stream
from tests.export.cells import load
from tests.support.dbkit import fresh_urls

pytestmark = pytest.mark.engines

VALUES = ["o'brien \\ 100%s", 7, "plain"]


def test_values_inlined_as_literals_read_back_as_they_were(pg18):
    sql = "SELECT %s::text AS a, %s::integer AS b, %s::text AS c"
    assert "%s" not in inline(sql, VALUES).replace("100%s", "")
    with open_source(pg18.conninfo()) as source:
        (batch,) = [b for b in source.batches(sql, VALUES) if b.num_rows]
    assert [batch.column(i)[0].as_py() for i in range(3)] == VALUES


@pytest.fixture(scope="module")
def urls(request, tmp_path_factory):
    with contextlib.ExitStack() as stack:
        found = {}
        for name, url, tmp in fresh_urls(
            request, tmp_path_factory, stack, "read", names=["sqlite", "pg18"]
        ):
            load(url, tmp)
            found[name] = url
        yield found


@pytest.mark.parametrize("engine", ["sqlite", "pg18"])
@pytest.mark.parametrize("task", ["soh", "soc"])
def test_a_query_per_session_and_one_query_give_the_same_rows(urls, engine, task):
    rows = 3 if task == "soh" else 97  # batches smaller than a session's rows
    with open_source(urls[engine]) as source:
        p = plan(source, export.api.request(task, split="none"))
        assert p.fetch_one and p.sessions.num_rows > 1
        per_session = pa.Table.from_batches(list(stream(source, p, rows=rows)))
        one = dataclasses.replace(p, fetch_one="")  # as a set of many sessions is read
        batches = list(stream(source, one, rows=rows))
    table = pa.Table.from_batches(batches)
    assert table.equals(per_session) and table.num_rows > rows
    crossing = [b for b in batches if len(set(b.column("session_id").to_pylist())) > 1]
    assert crossing  # a batch of two sessions: their columns taken row by row
