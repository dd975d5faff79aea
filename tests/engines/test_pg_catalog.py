"""Catalog round-trip: load the generated DDL into PostgreSQL 15, 18 and TimescaleDB, read the
system catalog back and compare it with the model, object by object. A difference names the
object and both values.
"""

from __future__ import annotations

import json

import pytest

from generator import load_schema
from generator.targets import TARGETS
from tests.support.dbkit import ROOT, ddl_text, load_pg_ddl
from tests.support.pgcatalog import catalog

SCHEMA = load_schema(ROOT / "schema.yaml")
PG_TYPES = {"timestamptz": "timestamp with time zone"}


TARGET_OF = {"pg15": "postgres", "pg18": "postgres", "timescale": "timescaledb"}


@pytest.fixture(scope="module", params=list(TARGET_OF))
def loaded(request):
    engine = request.getfixturevalue(request.param)
    target = TARGETS[TARGET_OF[request.param]]
    with engine.fresh_database("catalog") as database, database.connect() as conn:
        load_pg_ddl(conn, ddl_text(target.name))
        yield engine, target, conn, catalog(conn)


def diff(where: str, expected, actual) -> str | None:
    return (
        None if expected == actual else f"{where}: model says {expected!r}, engine has {actual!r}"
    )


def check_all(problems: list[str | None]) -> None:
    problems = [p for p in problems if p]
    assert not problems, "\n".join(problems)


def test_tables(loaded):
    _, target, conn, cat = loaded
    model = target.stored_schema(SCHEMA)
    check_all([diff("tables", sorted(t.name for t in model.tables), sorted(cat["tables"]))])
    # the schema version, in the migration runner's table (left out of `catalog`)
    versions = conn.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
    assert versions == [
        (f"{v:04d}{step:02d}",) for v in range(1, SCHEMA.version + 1) for step in (0, 1)
    ]


def test_columns_types_nullability_defaults_comments(loaded):
    _, target, conn, cat = loaded
    problems = []
    for table in target.stored_schema(SCHEMA).tables:
        actual = cat["columns"].get(table.name, [])
        problems.append(
            diff(
                f"{table.name} columns",
                [c.name for c in table.columns],
                [c["name"] for c in actual],
            )
        )
        for column, got in zip(table.columns, actual, strict=False):
            where = f"{table.name}.{column.name}"
            problems.append(
                diff(
                    f"{where} type",
                    PG_TYPES.get(column.type, target.type_map[column.type]),
                    got["type"],
                )
            )
            problems.append(diff(f"{where} NOT NULL", not column.nullable, got["not_null"]))
            problems.append(
                diff(f"{where} identity", "d" if column.identity else "", got["identity"])
            )
            problems.append(
                diff(f"{where} comment", target.column_description(column), got["comment"])
            )
            if column.default is None:
                problems.append(diff(f"{where} default", None, got["default"]))
            else:
                value = conn.execute(f"SELECT {got['default']}").fetchone()[0]
                expected = json.loads(column.default) if column.type == "json" else column.default
                problems.append(diff(f"{where} default", expected, value))
        problems.append(
            diff(f"{table.name} comment", table.description, cat["comments"].get(table.name))
        )
    check_all(problems)


def test_keys_and_constraints(loaded):
    _, target, _, cat = loaded
    model = target.stored_schema(SCHEMA)
    cons = cat["constraints"]
    problems = []
    expected_names = set()
    for table in model.tables:
        pk = cons.get(table.primary_key_name, {})
        expected_names.add(table.primary_key_name)
        problems.append(
            diff(
                f"{table.primary_key_name} (primary key of {table.name})",
                ("p", target.primary_key(table)),
                (pk.get("kind"), pk.get("columns")),
            )
        )
        for name, columns in target.unique_constraints(table):
            expected_names.add(name)
            got = cons.get(name, {})
            problems.append(
                diff(
                    f"{name} (unique on {table.name})",
                    ("u", tuple(columns)),
                    (got.get("kind"), got.get("columns")),
                )
            )
        for fk in target.constraint_foreign_keys(model, table):
            expected_names.add(fk.name)
            cols, refs = target.foreign_key_columns(model, fk)
            got = cons.get(fk.name, {})
            problems.append(
                diff(
                    f"{fk.name} (foreign key of {table.name})",
                    ("f", tuple(cols), fk.ref_table, tuple(refs), fk.on_delete),
                    (
                        got.get("kind"),
                        got.get("columns"),
                        got.get("ref_table"),
                        got.get("ref_columns"),
                        got.get("on_delete"),
                    ),
                )
            )
            problems.append(
                diff(
                    f"{fk.name} comment",
                    f"ON DELETE {fk.on_delete.upper()}: {fk.why}",
                    got.get("comment"),
                )
            )
        for check in target.checks(table):
            expected_names.add(check.name)
            got = cons.get(check.name, {})
            problems.append(diff(f"{check.name} (CHECK on {table.name})", "c", got.get("kind")))
            problems.append(diff(f"{check.name} comment", check.description, got.get("comment")))
            for column in [check.column] if check.column else []:
                if column not in (got.get("definition") or ""):
                    problems.append(
                        f"{check.name}: definition {got.get('definition')!r} does "
                        f"not mention {column}"
                    )
    missing, extra = expected_names - set(cons), set(cons) - expected_names
    if missing or extra:
        problems.append(
            f"constraints missing in the engine: {sorted(missing)}; "
            f"not in the model: {sorted(extra)}"
        )
    check_all(problems)


def test_indexes(loaded):
    _, target, _, cat = loaded
    expected = {}
    for table in target.stored_schema(SCHEMA).tables:
        for index in table.indexes:
            expected[index.name] = {
                "table": table.name,
                "unique": index.unique,
                "columns": index.columns,
            }
    check_all([diff("indexes", expected, cat["indexes"])])


def test_timescaledb_objects(loaded):
    engine, target, conn, _ = loaded
    if target.name != "timescaledb":
        # the plain PostgreSQL target must load without the extension and create no view
        extensions = [r[0] for r in conn.execute("SELECT extname FROM pg_extension")]
        assert "timescaledb" not in extensions
        assert (
            conn.execute("SELECT count(*) FROM pg_views WHERE schemaname = 'public'").fetchone()[0]
            == 0
        )
        return
    problems = []
    for table in target.stored_schema(SCHEMA).hypertables:
        ts = table.timescaledb
        dims = conn.execute(
            """SELECT column_name, time_interval FROM
                               timescaledb_information.dimensions WHERE hypertable_name = %s""",
            (table.name,),
        ).fetchall()
        interval = conn.execute("SELECT %s::interval", (ts.chunk_interval,)).fetchone()[0]
        problems.append(
            diff(f"{table.name} hypertable dimension", [(ts.time_column, interval)], dims)
        )
        settings = conn.execute(
            """SELECT attname, segmentby_column_index,
                                          orderby_column_index, orderby_asc
                                   FROM timescaledb_information.compression_settings
                                   WHERE hypertable_name = %s""",
            (table.name,),
        ).fetchall()
        segment = [a for a, s, _, _ in sorted(settings, key=lambda r: r[1] or 0) if s]
        order = [a for a, _, o, _ in sorted(settings, key=lambda r: r[2] or 0) if o]
        problems.append(diff(f"{table.name} compression segment_by", list(ts.segment_by), segment))
        problems.append(diff(f"{table.name} compression order_by", list(ts.order_by), order))
        caggs = dict(
            conn.execute(
                """SELECT view_name, view_definition FROM
                                     timescaledb_information.continuous_aggregates
                                     WHERE hypertable_name = %s""",
                (table.name,),
            ).fetchall()
        )
        problems.append(
            diff(
                f"{table.name} continuous aggregates",
                sorted(c.name for c in ts.continuous_aggregates),
                sorted(caggs),
            )
        )
        for cagg in ts.continuous_aggregates:
            definition = caggs.get(cagg.name, "")
            for out_name, _expr in cagg.aggregates:
                if out_name not in definition:
                    problems.append(f"{cagg.name}: column {out_name} missing from {definition}")
            comment = conn.execute(
                "SELECT obj_description(%s::regclass, 'pg_class')", (cagg.name,)
            ).fetchone()[0]
            problems.append(diff(f"{cagg.name} comment", cagg.description, comment))
    check_all(problems)


def test_timeseries_row_has_no_alignment_padding(loaded):
    """Lay the time-series row out as PostgreSQL does (each column at its type's alignment)
    and require that no column starts after a gap: padding would cost bytes on every one of
    10^8..10^10 rows. A variable-length column (step_type, 1-byte aligned when short) may
    only come after every fixed-width one."""
    _, target, conn, _ = loaded
    # the table that stores the samples (on TimescaleDB timeseries_point is a view of it)
    stored = next(
        t.name
        for t in target.stored_schema(SCHEMA).tables
        if t.primary_key_name == "pk_timeseries_point"
    )
    rows = conn.execute(
        """SELECT a.attname, a.attlen, a.attalign FROM pg_attribute a
           WHERE a.attrelid = %s::regclass AND a.attnum > 0
             AND NOT a.attisdropped ORDER BY a.attnum""",
        (stored,),
    ).fetchall()
    align = {"c": 1, "s": 2, "i": 4, "d": 8}
    fixed = [r for r in rows if r[1] > 0]
    assert rows[: len(fixed)] == fixed, "a variable-length column sits before a fixed one"
    offset, gaps = 0, []
    for name, length, alignment in fixed:
        start = -(-offset // align[alignment]) * align[alignment]
        if start != offset:
            gaps.append(f"{start - offset} byte(s) before {name}")
        offset = start + length
    assert not gaps, f"padding in timeseries_point: {gaps}"
    # version 2: the 42 bytes of version 1 plus the optional channels, 102 bytes when all set;
    # version 5: + the cycler's resistance reading (real), 106
    assert offset == sum(length for _, length, _ in fixed) == 106


def test_references_into_hypertables_are_enforced_by_triggers(loaded):
    """TimescaleDB cannot compress chunks that a FOREIGN KEY points into, so its target
    enforces those references with a pair of triggers named after the key."""
    _, target, conn, cat = loaded
    rows = conn.execute("""SELECT t.tgname, c.relname, t.tgconstraint <> 0, p.proname
                           FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                           JOIN pg_proc p ON p.oid = t.tgfoid
                           JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE NOT t.tgisinternal AND n.nspname = 'public'
                             AND t.tgname NOT LIKE 'ts\\_%'""").fetchall()
    found = {
        (name, table): (is_constraint, function) for name, table, is_constraint, function in rows
    }
    expected = {}
    model = target.stored_schema(SCHEMA)
    for fk in model.foreign_keys:
        if fk in target.constraint_foreign_keys(model, model.table(fk.table)):
            continue
        expected[(fk.name, fk.table)] = (True, f"{fk.name}_check")
        expected[(fk.name, fk.ref_table)] = (False, f"{fk.name}_on_delete")
    if target.name == "timescaledb":
        assert expected, "the TimescaleDB target must have trigger-enforced references"
        # and the view that gives test_time_second back takes inserts through a trigger
        expected[("timeseries_point_insert", "timeseries_point")] = (
            False,
            "timeseries_point_insert",
        )
    check_all([diff("foreign-key triggers", expected, found)])


def test_users_query_every_table_by_its_model_name_and_column_types(loaded):
    """Whatever a target stores, each model table answers by its name with the model's columns,
    names, types and comments, in order: on TimescaleDB timeseries_point is a view of
    timeseries_point_store, and test_time_second comes back as double precision."""
    _, target, conn, _ = loaded
    problems = []
    for table in SCHEMA.tables:
        got = conn.execute(
            """SELECT a.attname, format_type(a.atttypid, a.atttypmod),
                      col_description(a.attrelid, a.attnum)
               FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0
                 AND NOT a.attisdropped ORDER BY a.attnum""",
            (table.name,),
        ).fetchall()
        expected = [
            (
                c.name,
                PG_TYPES.get(c.type, target.type_map[c.type]),
                target.column_description(c),
            )
            for c in table.columns
        ]
        problems.append(diff(f"{table.name} as users query it", expected, got))
    check_all(problems)
    kinds = dict(
        conn.execute(
            "SELECT relname, relkind FROM pg_class WHERE relname IN "
            "('timeseries_point', 'timeseries_point_store')"
        ).fetchall()
    )
    if target.name == "timescaledb":
        assert kinds == {"timeseries_point": "v", "timeseries_point_store": "r"}
        comment = conn.execute(
            "SELECT obj_description('timeseries_point'::regclass, 'pg_class')"
        ).fetchone()[0]
        assert comment == target.view_description(SCHEMA.table("timeseries_point"))
    else:
        assert kinds == {"timeseries_point": "r"}
