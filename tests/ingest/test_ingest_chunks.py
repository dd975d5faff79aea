"""The loader streaming a file in several chunks (a tiny --block-size makes a small file span
many): rows, rules and record-index checks carried across chunk boundaries, strict and
lenient mode with a bad row in a later chunk, the content hash taken while streaming, and on
PostgreSQL the bulk-load recipe leaving every constraint, index and comment as it was."""

from __future__ import annotations

import hashlib
import json
import secrets

import pyarrow.csv as pacsv
import pytest

from ingest.cli import main
from tests.ingest.loading import ENGINES, Target, ingest, session_of, sidecar, write
from tests.support.dbkit import ddl_text, load_pg_ddl

TARGET_ENGINES = ENGINES  # the `target` fixture (conftest.py) on every engine


HEADER = "Record Index / 1,Test Time / s,Voltage / V,Current / A,Cycle Count / 1,Step Type\n"
ROWS = 3000
BLOCK = ["--block-size", "4096"]  # about 130 rows a chunk: the file spans ~23 chunks


def rows(n: int = ROWS, start: int = 0, **replace: str) -> str:
    """n valid rows; replace={"line": "text"} swaps the row at that file line."""
    out = []
    for i in range(start, start + n):
        line = i - start + 2
        out.append(replace.get(str(line), f"{i},{i},3.7,1.5,{i // 1000},cc_charge"))
    return HEADER + "\n".join(out) + "\n"


def chunks_of(path, block: int = 4096) -> int:
    return -(-path.stat().st_size // block)


def test_a_file_of_many_chunks_loads_whole(target, tmp_path, capsys):
    path = write(tmp_path, "many.csv", rows())
    assert chunks_of(path) > 10
    report = tmp_path / "report.json"
    code, err = ingest(
        target,
        [path],
        "--sidecar",
        str(sidecar(tmp_path)),
        "--report",
        str(report),
        *BLOCK,
        capsys=capsys,
    )
    assert code == 0, err
    session = session_of(target, path)
    count, low, high, volts = target.query(
        "SELECT count(*), min(record_index), max(record_index), "
        "sum(CAST(voltage_volt AS double precision)) FROM timeseries_point WHERE session_id = %s",
        [session],
    )[0]
    assert (count, low, high) == (ROWS, 0, ROWS - 1)
    assert volts == pytest.approx(3.7 * ROWS, rel=1e-6)
    digest, first, last = target.query(
        "SELECT content_sha256, record_index_first, record_index_last FROM source_file "
        "WHERE uri = %s",
        [str(path)],
    )[0]
    # the hash taken on the bytes as pyarrow streamed them is the file's
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (first, last) == (0, ROWS - 1)
    (record,) = json.loads(report.read_text())
    assert record["rows_loaded"] == ROWS and record["findings"] == []


def test_a_channel_empty_in_the_first_chunks_and_filled_later_loads_whole(target, tmp_path, capsys):
    """A chunk leaves an empty optional channel out of the write (Database.without_empty):
    the chunks before the channel fills and those after go in with different columns (on
    PostgreSQL, a COPY stream of its own each), every row and value landing."""
    if target.name == "timescaledb":
        pytest.skip("PGlite inserts chunk by chunk: the stream is the PostgreSQL servers'")
    lines = rows().splitlines()
    head = lines[0] + ",Surface Temperature / degC"
    body = [f"{line},{'' if i < ROWS // 2 else '25.0'}" for i, line in enumerate(lines[1:])]
    path = write(tmp_path, "filled-later.csv", "\n".join([head, *body]) + "\n")
    code, err = ingest(target, [path], "--sidecar", str(sidecar(tmp_path)), *BLOCK, capsys=capsys)
    assert code == 0, err
    count, filled, total, high = target.query(
        "SELECT count(*), count(surface_temperature_celsius), "
        "sum(CAST(surface_temperature_celsius AS double precision)), max(record_index) "
        "FROM timeseries_point WHERE session_id = %s",
        [session_of(target, path)],
    )[0]
    assert (count, filled, high) == (ROWS, ROWS - ROWS // 2, ROWS - 1)
    assert total == pytest.approx(25.0 * (ROWS - ROWS // 2))


def test_a_value_the_reader_cannot_read_in_a_later_chunk_writes_nothing(target, tmp_path, capsys):
    """The reading thread's error, raised while the earlier chunks are being written (on
    PostgreSQL inside an open COPY stream): the same one line and exit code as anywhere,
    and nothing of the file written."""
    if target.name == "timescaledb":
        pytest.skip("PGlite inserts chunk by chunk: the stream is the PostgreSQL servers'")
    line = 2500  # well past the first chunks
    path = write(tmp_path, "unreadable-late.csv", rows(**{str(line): "2498,2498,3.7x,1.5,2,rest"}))
    before = target.counts()
    code, err = ingest(target, [path], "--sidecar", str(sidecar(tmp_path)), *BLOCK, capsys=capsys)
    assert code == 1
    assert f"{path}:{line}: column 'Voltage / V': value '3.7x' is not a number" in err
    assert target.counts() == before


BAD_LINE = 2000  # well past the first chunk


def test_strict_refuses_a_bad_row_in_a_later_chunk_and_writes_nothing(target, tmp_path, capsys):
    path = write(
        tmp_path, "late.csv", rows(**{str(BAD_LINE): f"{BAD_LINE - 2},1998,9999,1.5,1,cc_charge"})
    )
    before = target.counts()
    code, err = ingest(target, [path], "--sidecar", str(sidecar(tmp_path)), *BLOCK, capsys=capsys)
    assert code == 1
    assert "nothing was written" in err
    rule = "ck_timeseries_point_voltage_volt_range: column 'voltage_volt'"
    assert f"{rule} 1 row(s) at line(s) {BAD_LINE}:" in err
    assert target.counts() == before


def test_lenient_keeps_every_other_row_of_every_chunk(target, tmp_path, capsys):
    bad = {str(BAD_LINE): f"{BAD_LINE - 2},1998,9999,1.5,1,cc_charge", "2": "0,0,3.7,1.5,-1,rest"}
    path = write(tmp_path, "late-lenient.csv", rows(**bad))
    report = tmp_path / "report.json"
    code, err = ingest(
        target,
        [path],
        "--sidecar",
        str(sidecar(tmp_path)),
        "--lenient",
        "--report",
        str(report),
        *BLOCK,
        capsys=capsys,
    )
    assert code == 0, err
    (record,) = json.loads(report.read_text())
    assert record["rows_loaded"] == ROWS - 2 and record["rows_rejected"] == 2
    assert record["rejects"] == [
        {"line": 2, "rules": ["ck_timeseries_point_cycle_count_range"]},
        {"line": BAD_LINE, "rules": ["ck_timeseries_point_voltage_volt_range"]},
    ]
    session = session_of(target, path)
    count, missing = target.query(
        "SELECT count(*), sum(CASE WHEN record_index = %s THEN 1 ELSE 0 END) "
        "FROM timeseries_point WHERE session_id = %s",
        [BAD_LINE - 2, session],
    )[0]
    assert count == ROWS - 2 and not missing


@pytest.mark.parametrize(
    ("name", "replace", "message"),
    [
        # the index steps back exactly where a chunk begins or anywhere later
        (
            "decreasing",
            {"2500": "10,2498,3.7,1.5,2,cc_charge"},
            "record_index_order: column 'record_index' 1 row(s) at line(s) 2500:",
        ),
        # a duplicate far from its twin (different chunks): both lines are named
        (
            "duplicate",
            {"2500": "100,2498,3.7,1.5,2,cc_charge"},
            "duplicate_record_index: column 'record_index' 2 row(s) at line(s) 102, 2500:",
        ),
    ],
)
def test_record_index_rules_across_chunks(target, tmp_path, capsys, name, replace, message):
    path = write(tmp_path, f"{name}.csv", rows(**replace))
    before = target.counts()
    code, err = ingest(
        target, [path], "--sidecar", str(sidecar(tmp_path)), "--lenient", *BLOCK, capsys=capsys
    )
    assert code == 1, err
    assert message in err
    assert target.counts() == before


def first_line_of_second_chunk(path) -> int:
    """Where pyarrow's reader (the loader's, with the tests' block size) starts chunk 2."""
    reader = pacsv.open_csv(
        path, read_options=pacsv.ReadOptions(block_size=4096, use_threads=False)
    )
    return reader.read_next_batch().num_rows + 2


def test_time_stepping_back_at_a_chunk_boundary_is_seen(target, tmp_path, capsys):
    """The first row of a chunk is compared with the last row of the chunk before."""
    path = write(tmp_path, "boundary.csv", rows())
    boundary = first_line_of_second_chunk(path)
    assert 2 < boundary < ROWS
    i = boundary - 2
    bad = {str(boundary): f"{i},{i - 1.5},3.7,1.5,{i // 1000},cc_charge"}
    path = write(tmp_path, "boundary-back.csv", rows(**bad))
    assert first_line_of_second_chunk(path) == boundary
    code, err = ingest(target, [path], "--sidecar", str(sidecar(tmp_path)), *BLOCK, capsys=capsys)
    assert code == 1
    assert f"test_time_backwards: column 'test_time_second' 1 row(s) at line(s) {boundary}:" in err


CATALOG = """
SELECT 'constraint', conrelid::regclass::text, conname::text, pg_get_constraintdef(oid),
       convalidated, obj_description(oid, 'pg_constraint')
FROM pg_constraint WHERE conrelid::regclass::text IN
    ('timeseries_point', 'label_soc', 'prediction', 'cell_channel_point')
   OR confrelid = 'timeseries_point'::regclass
UNION ALL
SELECT 'index', indrelid::regclass::text, indexrelid::regclass::text,
       pg_get_indexdef(indexrelid), indisvalid, obj_description(indexrelid, 'pg_class')
FROM pg_index WHERE indrelid = 'timeseries_point'::regclass
ORDER BY 1, 2, 3
"""


def _load_modes(target, url, tmp_path, capsys, files) -> list[str]:
    """Load each (name, rows) file into `url`; the bulk_mode of each load, the catalog
    compared with `before` after each."""
    before = target.query(CATALOG)
    modes = []
    for name, n in files:
        path = write(tmp_path, f"{name}.csv", rows(n, start=len(name) * 10_000_000))
        report = tmp_path / f"{name}.json"
        side = str(sidecar(tmp_path))
        code = main([str(path), "--db", url, "--sidecar", side, "--report", str(report), *BLOCK])
        assert code == 0, capsys.readouterr().err
        modes.append(json.loads(report.read_text())[0]["bulk_mode"])
        assert target.query(CATALOG) == before
    return modes


def test_bulk_load_keeps_every_constraint_and_checks_the_foreign_key_once(target, tmp_path, capsys):
    """PostgreSQL, a role that may set session_replication_role (the tests' superuser): every
    key, index and CHECK stays in place whatever the file's size against the table's, the
    foreign key to test_session is checked by the loader once per session (`foreign-key-once`),
    and after each load every constraint, index and comment is exactly as the DDL made it,
    and valid. A role without that right COPYs with every constraint and trigger (`plain`)."""
    if target.kind != "postgres" or target.name == "timescaledb":
        pytest.skip("PostgreSQL servers only (TimescaleDB and SQLite: their own paths)")
    before = target.query(CATALOG)
    assert any(r[2] == "fk_timeseries_point_session_id" and r[5] for r in before)
    existing = target.query("SELECT count(*) FROM timeseries_point")[0][0]
    files = (("big", existing + 500), ("small", 20))
    assert _load_modes(target, target.url, tmp_path, capsys, files) == ["foreign-key-once"] * 2
    role = f"loader_{secrets.token_hex(4)}"
    target.query(f"CREATE ROLE {role} LOGIN")
    try:
        target.query(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        target.query(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
        url = f"{target.url} user={role}"
        more = (("big_plain", existing + 2000), ("small_plain", 20))
        assert _load_modes(target, url, tmp_path, capsys, more) == ["plain", "plain"]
    finally:
        target.query(f"DROP OWNED BY {role}")
        target.query(f"DROP ROLE {role}")


@pytest.mark.engines  # PostgreSQL 18, asked for by name
def test_without_the_right_an_empty_table_gets_the_keys_recipe(request, tmp_path, capsys):
    """A role that may not set session_replication_role, loading into a timeseries_point that
    holds no row at all: the primary key, indexes and foreign keys are dropped and rebuilt once
    (`keys`; its ACCESS EXCLUSIVE lock holds back nobody's samples), every one as before."""
    engine = request.getfixturevalue("pg18")
    with engine.fresh_database("recipe_keys") as database:
        with database.connect() as raw:
            load_pg_ddl(raw, ddl_text("postgres"))
        target = Target(engine.name, database.conninfo(), "postgres")
        role = f"loader_{secrets.token_hex(4)}"
        target.query(f"CREATE ROLE {role} LOGIN")
        try:
            # the recipe alters the tables: the loading role owns them, as a schema's owner does
            for table in ("timeseries_point", "label_soc", "prediction", "cell_channel_point"):
                target.query(f"ALTER TABLE {table} OWNER TO {role}")
            target.query(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
            target.query(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
            target.query(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}")
            url = f"{target.url} user={role}"
            files = (("first", 3000), ("second", 3000))
            assert _load_modes(target, url, tmp_path, capsys, files) == ["keys", "plain"]
        finally:
            target.query(f"DROP OWNED BY {role}")
            target.query(f"DROP ROLE {role}")


SQLITE_INDEXES = (
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'timeseries_point' "
    "ORDER BY name"
)


def test_sqlite_rebuilds_the_time_index_only_into_a_smaller_table(target, tmp_path, capsys):
    """SQLite: a file bigger than the table builds the (session, time) index once at the end;
    a small file into a bigger table keeps it and inserts row by row. Either way the index is
    there afterwards, the same, and answers; a refused big file leaves it as it was."""
    if target.kind != "sqlite":
        pytest.skip("the index rebuild is SQLite's (PostgreSQL: the recipe test above)")
    before = target.query(SQLITE_INDEXES)
    assert any(name == "ix_timeseries_point_session_time" for name, _ in before)
    existing = target.query("SELECT count(*) FROM timeseries_point")[0][0]
    modes = []
    for name, n in (("bigger", existing + 500), ("smaller", 20)):
        path = write(tmp_path, f"{name}.csv", rows(n))
        report = tmp_path / f"{name}.json"
        args = ["--sidecar", str(sidecar(tmp_path)), "--report", str(report), *BLOCK]
        code, err = ingest(target, [path], *args, capsys=capsys)
        assert code == 0, err
        modes.append(json.loads(report.read_text())[0]["bulk_mode"])
        assert target.query(SQLITE_INDEXES) == before
        session = session_of(target, path)
        plan = " ".join(
            str(r[-1])
            for r in target.query(
                "EXPLAIN QUERY PLAN SELECT count(*) FROM timeseries_point "
                "WHERE session_id = %s AND recorded_at > 0",
                [session],
            )
        )
        assert "ix_timeseries_point_session_time" in plan, plan
        assert target.query(
            "SELECT count(*) FROM timeseries_point WHERE session_id = %s AND recorded_at > 0",
            [session],
        ) == [(n,)]
    assert modes == ["checks-in-arrow+indexes-rebuilt", "checks-in-arrow"]
    existing = target.query("SELECT count(*) FROM timeseries_point")[0][0]
    bad = write(tmp_path, "bad.csv", rows(existing + 500, **{"900": "899,899,3.7,1.5,0,cc_charge"}))
    code, _err = ingest(target, [bad], "--sidecar", str(sidecar(tmp_path)), *BLOCK, capsys=capsys)
    assert code != 0
    assert target.query(SQLITE_INDEXES) == before
    assert target.query("SELECT count(*) FROM timeseries_point")[0][0] == existing


def test_progress_bar_shows_rows_per_second_after_a_second(capsys):
    from ingest.load import _Progress

    quick = _Progress("quick.csv", 1000, enabled=True)
    quick.update(500, 1234)  # under a second: no bar yet
    quick.close()
    assert capsys.readouterr().err == ""
    slow = _Progress("slow.csv", 1000, enabled=True)
    slow.started -= 2  # as if the load had run for two seconds
    slow.update(500, 1234)
    slow.update(1000, 2468)
    slow.close()
    err = capsys.readouterr().err
    assert "slow.csv" in err and "2,468 rows" in err and "rows/s" in err
    off = _Progress("off.csv", 1000, enabled=False)
    off.started -= 2
    off.update(1000, 10)
    off.close()
    assert capsys.readouterr().err == ""
