"""export.read on PostgreSQL: the ADBC driver streams a statement by binary COPY only when it has
no parameters, so the export puts a query's values into its text as literals (read.inline);
a value with a quote, a backslash or a `%s` of its own comes back as it went in."""

from __future__ import annotations

from export.read import inline, open_source

VALUES = ["o'brien \\ 100%s", 7, "plain"]


def test_values_inlined_as_literals_read_back_as_they_were(pg18):
    sql = "SELECT %s::text AS a, %s::integer AS b, %s::text AS c"
    assert "%s" not in inline(sql, VALUES).replace("100%s", "")
    with open_source(pg18.conninfo()) as source:
        (batch,) = [b for b in source.batches(sql, VALUES) if b.num_rows]
    assert [batch.column(i)[0].as_py() for i in range(3)] == VALUES
