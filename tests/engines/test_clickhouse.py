"""ClickHouse on the real engine (chdb 4.4 = ClickHouse 26.9 in process).

The single-server file is loaded, then proven three ways: the seed's data flow gives the same
answers as SQLite; the constraint-parity corpus is accepted or rejected as the model says,
except where the file's header says ClickHouse cannot enforce a rule (keys), and those
exceptions are checked too; the catalog (system.tables, system.columns,
system.data_skipping_indices) reads back what the generator meant. The cluster file cannot run
in chdb (no server, no Keeper): every statement goes through ClickHouse's own parser instead.
"""

from __future__ import annotations

import re

import pytest

import harness
from generator.targets import TARGETS
from tests.engines.flow import QUERIES, run_flow, same_row
from tests.engines.parity import ACCEPTED, CASES, REJECTED, SCHEMA, Case
from tests.support.chkit import clickhouse
from tests.support.dbkit import ROOT, Rejected, split_statements, sqlite_conn
from tests.support.seed import BASE_ROWS, load_seed

# ClickHouse (chdb) runs in this process or a child of it
pytestmark = pytest.mark.engines

SINGLE = TARGETS["clickhouse"]
CLUSTER = TARGETS["clickhouse-cluster"]


def _need_chdb():
    try:
        import chdb  # noqa: F401
    except ImportError as exc:
        message = f"chdb (the ClickHouse engine) is not installed: {exc}"
        if harness.engines_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="module")
def ch(tmp_path_factory):
    _need_chdb()
    with clickhouse(tmp_path_factory.getbasetemp(), SCHEMA, "battery") as conn:
        yield conn


# -- the files ------------------------------------------------------------------------------
def test_committed_files_are_current():
    for target in (SINGLE, CLUSTER):
        committed = (ROOT / target.path).read_text(encoding="utf-8")
        assert committed == target.render(SCHEMA), f"{target.path} is stale: run make sql"


def test_header_names_every_foreign_key_count_and_the_null_setting():
    text = (ROOT / SINGLE.path).read_text(encoding="utf-8")
    assert f"Foreign keys ({len(SCHEMA.foreign_keys)}) are not enforced" in text
    assert "SET input_format_null_as_default = 0, insert_null_as_default = 0;" in text
    for fk in SCHEMA.foreign_keys:  # each table lists the keys a writer must keep
        assert f"--   {fk.name}: " in text, fk.name


# -- catalog round-trip ---------------------------------------------------------------------
def _rows(ch, sql):
    """The schema's own tables: schema_migrations, dbmate's, is checked on its own below."""
    return ch.query(
        sql + " AND database = currentDatabase() AND "
        f"{'table' if 'system.tables' not in sql else 'name'} != 'schema_migrations'"
    )


def test_the_schema_version_is_where_dbmates_clickhouse_driver_keeps_it(ch):
    """The DDL records every migration up to its version as applied, in the table dbmate's
    ClickHouse driver creates and reads (its columns and engine), so `dbmate migrate` on a
    fresh build starts after it."""
    from generator.targets.base import migration_version

    engine, sorting = ch.query(
        "SELECT engine, sorting_key FROM system.tables WHERE database = currentDatabase() "
        "AND name = 'schema_migrations'"
    )[0]
    assert (engine, sorting) == ("ReplacingMergeTree", "version")
    columns = ch.query(
        "SELECT name, type FROM system.columns WHERE database = currentDatabase() "
        "AND table = 'schema_migrations' ORDER BY position"
    )
    assert [tuple(c) for c in columns] == [
        ("version", "String"), ("ts", "DateTime"), ("applied", "UInt8"),
    ]  # fmt: skip
    applied = ch.query("SELECT version FROM schema_migrations FINAL WHERE applied ORDER BY 1")
    assert [r[0] for r in applied] == [migration_version(v) for v in range(1, SCHEMA.version + 1)]


def test_catalog_tables_engine_keys_partitions_comments(ch):
    rows = {
        r[0]: r[1:]
        for r in _rows(
            ch,
            "SELECT name, engine, sorting_key, primary_key, partition_key, comment "
            "FROM system.tables WHERE 1",
        )
    }
    assert set(rows) == {t.name for t in SCHEMA.tables}
    for table in SCHEMA.tables:
        engine, sorting, primary, partition, comment = rows[table.name]
        order = ", ".join(SINGLE.order_key(table))
        assert (engine, sorting, primary) == ("MergeTree", order, order), table.name
        time_column = SINGLE.time_column(table)
        assert partition == (f"toYYYYMM({time_column})" if time_column else ""), table.name
        assert comment == table.description


def test_catalog_columns_types_comments_codecs(ch):
    got = {
        (r[0], r[1]): r[2:]
        for r in _rows(
            ch,
            "SELECT table, name, type, comment, compression_codec, position "
            "FROM system.columns WHERE 1",
        )
    }
    SINGLE.blocks(SCHEMA)  # the codec hook reads the schema the blocks were built for
    assert len(got) == sum(len(t.columns) for t in SCHEMA.tables)
    for table in SCHEMA.tables:
        for position, column in enumerate(table.columns, start=1):
            ctype, comment, codec, pos = got[(table.name, column.name)]
            where = f"{table.name}.{column.name}"
            assert ctype == SINGLE.column_type(table, column), where
            assert ("Nullable" in ctype) == column.nullable, where
            assert comment == SINGLE.column_description(column), where
            expected = SINGLE.codec(table, column)
            # ClickHouse writes Delta with the width it chose from the type: Delta(4), Delta(8)
            assert re.sub(r"Delta\(\d\)", "Delta", codec) == (
                f"CODEC({expected})" if expected else ""
            ), where
            assert pos == position, where
    # the time-series table, spelled out: the measured codecs and millisecond UTC time
    assert got[("timeseries_point", "recorded_at")][:1] == ("DateTime64(3, 'UTC')",)
    assert got[("timeseries_point", "voltage_volt")][2] == "CODEC(Delta(4), ZSTD(3))"


def test_catalog_skipping_indexes_and_named_checks(ch):
    indexes = {
        r[0]: r[1:]
        for r in _rows(
            ch, "SELECT name, table, type, expr FROM system.data_skipping_indices WHERE 1"
        )
    }
    expected = {}
    for table in SCHEMA.tables:
        order = SINGLE.order_key(table)
        for index in table.indexes:
            if tuple(order[: len(index.columns)]) != index.columns:
                expected[index.name] = table.name
    assert {n: v[0] for n, v in indexes.items()} == expected
    assert all(v[1] == "minmax" for v in indexes.values())
    assert indexes["ix_label_soc_session_time"][2] == "session_id, recorded_at"
    creates = dict(_rows(ch, "SELECT name, create_table_query FROM system.tables WHERE 1"))
    for table in SCHEMA.tables:
        for check in SINGLE.checks(table):
            assert f"CONSTRAINT {check.name} CHECK" in creates[table.name], check.name


# -- data flow ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def flow(ch, tmp_path_factory):
    with sqlite_conn(tmp_path_factory.mktemp("chflow")) as lite:
        reference = run_flow(lite)
        # derive/ does not target ClickHouse: its derived rows come from SQLite's
        return reference, run_flow(ch, derived_from=lite)


@pytest.mark.parametrize("query", list(QUERIES))
def test_flow_gives_the_same_answers_as_sqlite(flow, query):
    reference, got = flow[0][query], flow[1][query]
    assert reference, f"{query}: no rows"
    assert len(got) == len(reference), f"{query}: {len(got)} rows, SQLite {len(reference)}"
    for mine, theirs in zip(got, reference, strict=True):
        assert same_row(mine, theirs), f"{query}: ClickHouse {mine} != SQLite {theirs}"


def test_flow_bigint_keys_are_generated_and_distinct(ch, flow):
    for table, key in (("label_soc", "label_soc_id"), ("prediction", "prediction_id")):
        total, distinct, zero = ch.query(
            f"SELECT count(), uniqExact({key}), countIf({key} = 0) FROM {table}"
        )[0]
        assert total > 0 and total == distinct and zero == 0, table


# -- constraint parity ----------------------------------------------------------------------
# Cases the model rejects through a key, which ClickHouse accepts: the header says so.
UNIQUE = "ClickHouse enforces no primary or unique key"
FOREIGN = "ClickHouse enforces no foreign key"
ACCEPTED_HERE = {
    "battery_pack:uq_serial": UNIQUE,
    "battery_cell:uq_position": UNIQUE,
    "cycle:duplicate-key": UNIQUE,
    "timeseries_point:duplicate-key": UNIQUE,
    "timeseries_point:duplicate-index-other-time": UNIQUE,
    "label_soc:same-definition-twice": UNIQUE,
    "cycle_feature:other-session-cycle": FOREIGN,
    "label_soc:point-of-other-session": FOREIGN,
    "label_soh:cycle-of-other-session": FOREIGN,
    "prediction:task-differs-from-run": FOREIGN,
    "prediction:soh-on-cycle-of-other-session": FOREIGN,
    "prediction:point-of-other-session": FOREIGN,
    "cell_channel_point:same-cell-twice": UNIQUE,
    "cell_channel_point:sample-of-other-session": FOREIGN,
    "source_file:same-file-twice": UNIQUE,
    "eis_spectrum:cycle-of-other-session": FOREIGN,
    "eis_point:same-point-twice": UNIQUE,
    "cycle_curve:same-point-twice": UNIQUE,
    "cycle_curve:unknown-definition": FOREIGN,
    "cycle_curve:cycle-of-other-session": FOREIGN,
}

# Dangling-key rows that also break a CHECK, which ClickHouse does enforce: rejected by it.
REJECTED_BY_CHECK = {
    "battery_cell.fk_battery_cell_pack_id:dangling": "ck_battery_cell_position_with_pack",
    "test_session.fk_test_session_pack_id:dangling": "ck_test_session_one_asset",
    "prediction.fk_prediction_cycle:dangling": "ck_prediction_target",
}


def clickhouse_expectation(case: Case) -> tuple[str, str]:
    if case.delete:  # no ON DELETE: the parent goes, its children stay
        return ACCEPTED, "children remain"
    if case.id in REJECTED_BY_CHECK:
        return REJECTED, f"Constraint `{REJECTED_BY_CHECK[case.id]}`"
    if case.id.endswith(":dangling"):
        return ACCEPTED, FOREIGN
    if case.id in ACCEPTED_HERE:
        return ACCEPTED, ACCEPTED_HERE[case.id]
    return case.expect, ""


def run_case(ch, case: Case) -> tuple[str, str]:
    try:
        if case.delete:
            table, key, fk = case.delete
            where = " AND ".join(f"{c} = %s" for c in key)
            child_where = " AND ".join(f"{c} = %s" for c in fk.columns)
            child_key = tuple(key[r] for r in fk.ref_columns)
            before = ch.query(f"SELECT count() FROM {fk.table} WHERE {child_where}", child_key)
            ch.execute(f"DELETE FROM {table} WHERE {where}", tuple(key.values()))
            after = ch.query(f"SELECT count() FROM {fk.table} WHERE {child_where}", child_key)
            gone = ch.query(f"SELECT count() FROM {table} WHERE {where}", tuple(key.values()))
            load_seed_row(ch, table, key)  # put the parent back for the next cases
            if gone[0][0] == 0 and after == before and before[0][0] > 0:
                return ACCEPTED, "children remain"
            return ACCEPTED, f"children before {before}, after {after}, parent left {gone}"
        ch.insert(case.table, {**BASE_ROWS[case.table], **case.changes})
    except Rejected as exc:
        return REJECTED, exc.detail
    return ACCEPTED, ""


def load_seed_row(ch, table: str, key: dict) -> None:
    from tests.support.seed import SEED

    for name, row in SEED:
        if name == table and all(row.get(c) == v for c, v in key.items()):
            ch.insert(name, row)


@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    _need_chdb()
    with clickhouse(tmp_path_factory.getbasetemp(), SCHEMA, "parity") as conn:
        load_seed(conn)
        yield {case.id: run_case(conn, case) for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_constraint_parity(parity, case):
    outcome, detail = parity[case.id]
    expected, why = clickhouse_expectation(case)
    assert outcome == expected, (
        f"{case.id}: ClickHouse {outcome}, expected {expected} {why}: {detail}"
    )
    if case.delete:
        assert detail == "children remain", f"{case.id}: {detail}"
    if case.id in REJECTED_BY_CHECK:
        assert why in detail, f"{case.id}: {detail}"


def test_parity_rejections_name_the_constraint(parity):
    """A rejected CHECK names the model's constraint, as on the other engines."""
    named = [
        detail
        for case in CASES
        for outcome, detail in [parity[case.id]]
        if outcome == REJECTED and "VIOLATED_CONSTRAINT" in detail
    ]
    assert len(named) > 100
    assert all(re.search(r"Constraint `ck_\w+`", d) for d in named)


# -- the cluster file -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster_statements():
    return split_statements((ROOT / CLUSTER.path).read_text(encoding="utf-8"))


def test_every_cluster_statement_passes_clickhouses_parser(ch, cluster_statements):
    assert len(cluster_statements) > len(SCHEMA.tables)
    for statement in cluster_statements:
        formatted = ch.query("SELECT formatQuery(%s)", (statement,))[0][0]
        if formatted.startswith("INSERT INTO schema_migrations"):
            continue  # an INSERT has no ON CLUSTER: the replicated table carries the rows
        assert "ON CLUSTER `{cluster}`" in formatted or "ON CLUSTER '{cluster}'" in formatted, (
            statement
        )


def test_parser_rejects_a_broken_statement(ch):
    with pytest.raises(Rejected, match="SYNTAX_ERROR"):
        ch.query("SELECT formatQuery(%s)", ("CREATE TABLE t ON CLUSTER (a Int32",))


def test_cluster_shards_every_session_table_by_session(cluster_statements):
    text = "\n".join(cluster_statements)
    sharded = {t.name for t in SCHEMA.tables if "session_id" in t.column_map}
    assert sharded == {
        "test_session", "cycle", "timeseries_point", "cycle_feature",
        "label_soc", "label_soh", "prediction",
        "cell_channel_point", "eis_spectrum", "source_file",
        "cycle_curve", "cycle_curve_feature",
    }  # fmt: skip
    for table in SCHEMA.tables:
        if table.name in sharded:
            assert re.search(
                rf"CREATE TABLE {table.name} ON CLUSTER '{{cluster}}' AS {table.name}_local\n"
                rf"ENGINE = Distributed\('{{cluster}}', currentDatabase\(\), {table.name}_local, "
                r"cityHash64\(session_id\)\)",
                text,
            ), table.name
            assert f"CREATE TABLE {table.name}_local ON CLUSTER '{{cluster}}' (" in text
        else:
            assert f"CREATE TABLE {table.name} ON CLUSTER '{{cluster}}' (" in text
    assert text.count("/clickhouse/tables/{shard}/{database}/{table}") == len(sharded)
    assert text.count("/clickhouse/tables/all/{database}/{table}") == len(SCHEMA.tables) - len(
        sharded
    )


def test_cluster_local_tables_have_the_single_server_columns(ch, cluster_statements):
    """The cluster's tables, with ON CLUSTER and replication taken out, load in chdb and match
    the single-server tables column for column."""
    ch.execute("CREATE DATABASE IF NOT EXISTS cluster_copy")
    for statement in cluster_statements:
        if "ENGINE = Distributed" in statement or "schema_migrations" in statement:
            continue  # the version record: checked above
        local = statement.replace(" ON CLUSTER '{cluster}'", "")
        local = re.sub(r"ReplicatedMergeTree\('[^']*', '\{replica\}'\)", "MergeTree", local)
        ch.execute(
            re.sub(r"^CREATE TABLE (\w+)", r"CREATE TABLE cluster_copy.\1", local, flags=re.M)
        )
    for table in SCHEMA.tables:
        name = table.name + ("_local" if "session_id" in table.column_map else "")
        mine, single = (
            ch.query(
                "SELECT name, type, comment, compression_codec FROM system.columns "
                f"WHERE database = '{db}' AND table = '{t}' ORDER BY position"
            )
            for db, t in (("cluster_copy", name), ("battery", table.name))
        )
        assert mine and mine == single, table.name


# -- docs -----------------------------------------------------------------------------------
def test_docs_take_tabs_downloads_and_load_commands_from_the_registry():
    from generator import docs

    pages = docs.render(SCHEMA)
    downloads = pages[f"{docs.REFERENCE}/downloads.md"]
    for name, target in TARGETS.items():
        assert f'=== "{target.title}"' in downloads
        for line in target.load_command(f"{name}.sql").splitlines():
            assert f"    {line}" in downloads, (name, line)
    assert "clickhouse-client --database battery --multiquery < clickhouse.sql" in downloads
    page = pages[docs.table_page("timeseries_point")]
    assert "ENGINE = Distributed('{cluster}', currentDatabase(), timeseries_point_local" in page
    assert "PARTITION BY toYYYYMM(recorded_at)" in page
    assert '"When one server is not enough"' in pages[f"{docs.REFERENCE}/nav.yml"]
    assert (ROOT / "docs" / "scale-out.md").is_file()
