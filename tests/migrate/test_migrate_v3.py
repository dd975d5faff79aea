"""The migration from schema version 2 to 3, as committed under sql/<engine>/migrations/:
TimescaleDB stores test_time_second as the instant it counts from (timescaledb:
elapsed_as_start). A version 2 TimescaleDB database (tests/fixtures/schema_v2.yaml) holding a
row in every table and samples with fractional test times, its chunks compressed, is migrated by
dbmate and compared with a fresh version 3 build: catalog equal, every row kept, and every
sample's test_time_second, read through the view by its old name, within 1 microsecond of what
version 2 stored. PostgreSQL and SQLite only record the version.
"""

from __future__ import annotations

import datetime as dt
import functools

import pytest

from generator import load_schema, migrate
from generator.targets import TARGETS
from tests.migrate.machinery import committed, dbmate, load_ddl, pg_full_catalog, pg_rows, pg_url
from tests.support.dbkit import ROOT, Conn
from tests.support.seed import SEED

V2 = ROOT / "tests" / "fixtures" / "schema_v2.yaml"
V3 = ROOT / "tests" / "fixtures" / "schema_v3.yaml"  # frozen when version 4 came
SAMPLES = 3000  # over two 7-day chunks


@functools.cache
def plan():
    return migrate.diff(load_schema(V2), load_schema(V3))


def test_the_plan_is_what_version_3_means():
    p = plan()
    assert p.old.version == 2 and p.new.version == 3
    assert [(op.kind, op.table) for op in p.ops] == [("timescaledb", "timeseries_point")]


@pytest.mark.parametrize("target", ["postgres", "sqlite", "timescaledb"])
def test_committed_files_are_what_the_tool_writes(target):
    files = migrate.render(plan(), "timescaledb_test_started_at", targets=[target])
    on_disk = {
        f"sql/{target}/migrations/{p.name}": p.read_text(encoding="utf-8")
        for p in committed(target, 3).glob("*.sql")
    }
    assert on_disk == files, (
        "run `make migration NAME=timescaledb_test_started_at FROM=tests/fixtures/schema_v2.yaml`"
    )


def samples(conn) -> dict[tuple, float]:
    rows = conn.execute(
        "SELECT session_id, record_index, test_time_second FROM timeseries_point"
    ).fetchall()
    return {(s, r): t for s, r, t in rows}


def test_timescaledb(timescale):
    p = plan()
    with timescale.fresh_database("v3") as database:
        url = pg_url(timescale, database.name)
        with database.connect() as conn:
            load_ddl(conn, TARGETS["timescaledb"].render(p.old, self_check=False))
            wrapper = Conn("pg", "postgres", conn, ())
            for table, row in SEED:  # what version 2 has of the current seed
                old = p.old.table(table) if table in {t.name for t in p.old.tables} else None
                if old is not None:
                    wrapper.insert(table, {c: v for c, v in row.items() if c in old.column_map})
            # fractional, irregular test times, the clock's microseconds included
            start = dt.datetime(2024, 1, 10, 18, tzinfo=dt.UTC)
            conn.execute(
                """INSERT INTO timeseries_point (recorded_at, test_time_second, session_id,
                       record_index, cycle_count, voltage_volt, current_ampere)
                   SELECT %s + make_interval(secs => i * 401.000137), 5.25 + i * 401.000137,
                          101, 100000 + i, 0, 3.7, 0.5
                   FROM generate_series(0, %s - 1) AS i""",
                (start, SAMPLES),
            )
            for (chunk,) in conn.execute("SELECT show_chunks('timeseries_point')").fetchall():
                conn.execute("SELECT compress_chunk(%s)", (chunk,))
            before_rows = pg_rows(conn, p.old)
            before = samples(conn)
        assert len(before) > SAMPLES
        dbmate(url, committed("timescaledb", 3), "migrate")  # not version 4's files
        with database.connect() as conn:
            migrated = pg_full_catalog(conn)
            after_rows = pg_rows(conn, p.new)
            after = samples(conn)
            applied = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            kind = conn.execute(
                "SELECT pg_typeof(test_time_second)::text FROM timeseries_point LIMIT 1"
            ).fetchone()[0]
        timescale.wipe()
        with database.connect() as conn:
            load_ddl(conn, TARGETS["timescaledb"].render(p.new, self_check=False))
            fresh = pg_full_catalog(conn)
    problems = [
        f"{key}: migrated {migrated.get(key)!r}\n   fresh {fresh[key]!r}"
        for key in fresh
        if migrated.get(key) != fresh[key]
    ]
    assert not problems, "\n".join(problems)
    assert migrate.version_id(3) in applied
    assert kind == "double precision"
    assert after.keys() == before.keys()
    worst = max(abs(after[k] - before[k]) for k in before)
    assert worst <= 1e-6, f"test_time_second moved by up to {worst} s"
    # every other table, row for row
    del before_rows["timeseries_point"], after_rows["timeseries_point"]
    assert after_rows == before_rows


def test_a_change_to_the_stored_column_is_refused_with_a_clear_message():
    """test_time_second is not a column of the TimescaleDB hypertable: a migration that
    changes it is refused when generated, naming the table and the column."""
    import yaml

    from generator import load_schema_text

    data = yaml.safe_load((ROOT / "schema.yaml").read_text(encoding="utf-8"))
    data["version"] += 1
    column = data["tables"]["timeseries_point"]["columns"]["test_time_second"]
    column["description"] = "Seconds since the session started, as the cycler counts them."
    with pytest.raises(migrate.MigrationError, match="changing test_time_second"):
        migrate.render(
            migrate.diff(
                load_schema(ROOT / "schema.yaml"), load_schema_text(yaml.dump(data), "next")
            ),
            "x",
            targets=["timescaledb"],
        )
