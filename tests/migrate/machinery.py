"""The machinery of the migration tests (tests/migrate/): the pinned dbmate runner, catalogs and
row snapshots of SQLite and PostgreSQL databases, the rows a plan says a migration keeps, and
the committed migration files of one schema version.
"""

from __future__ import annotations

import functools
import re
import shutil
import sqlite3
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

import harness
from generator import migrate
from generator.targets import TARGETS
from generator.targets.migrations.sqlite import sqlite_normal
from tests.support.dbkit import ROOT, Conn, load_pg_ddl
from tests.support.pgcatalog import catalog as pg_catalog

# The platform package of dbmate (package.json says why not the `dbmate` wrapper).
DBMATE = ROOT / "node_modules" / "@dbmate" / "linux-x64" / "bin" / "dbmate"


# -- engines -----------------------------------------------------------------------------
def dbmate_run(url: str, folder: Path, *args: str) -> subprocess.CompletedProcess:
    """dbmate's result, whatever its status (a refusal is a non-zero one)."""
    if not DBMATE.exists():
        message = f"dbmate is missing ({DBMATE}); run `{harness.base.SETUP_COMMAND}`"
        if harness.engines_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return subprocess.run(
        [str(DBMATE), "--url", url, "--migrations-dir", str(folder), "--no-dump-schema", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def dbmate(url: str, folder: Path, *args: str) -> str:
    result = dbmate_run(url, folder, *args)
    assert result.returncode == 0, f"dbmate {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def write_files(files: dict[str, str], folder: Path) -> Path:
    """Migration files {relative path: text} into one folder, as dbmate reads them."""
    folder.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        (folder / Path(rel).name).write_text(text)
    return folder


def column_map(plan) -> dict[str, tuple[str, dict[str, str | None]]]:
    """old table -> (new table, old column -> new column or None when dropped)."""
    out = {}
    for table in plan.old.tables:
        new_name = plan.renames.tables.get(table.name, table.name)
        new_table = plan.new.table_map.get(new_name)
        if new_table is None:
            continue
        renames = plan.renames.columns.get(new_name, {})
        out[table.name] = (
            new_name,
            {
                c.name: (
                    renames.get(c.name, c.name)
                    if renames.get(c.name, c.name) in new_table.column_map
                    else None
                )
                for c in table.columns
            },
        )
    return out


def enum_map(plan) -> dict[tuple[str, str], dict[str, str]]:
    out = {}
    for table in plan.new.tables:
        for column in table.columns:
            values = plan.renames.enum_values.get(column.enum or "")
            if values:
                out[(table.name, column.name)] = values
    return out


def snapshot(query, plan_or_schema) -> dict[str, list[tuple]]:
    """Every row of every table, columns in name order."""
    schema = getattr(plan_or_schema, "old", plan_or_schema)
    out = {}
    for table in schema.tables:
        names = sorted(c.name for c in table.columns)
        rows = query(f"SELECT {', '.join(names)} FROM {table.name}")
        out[table.name] = sorted((tuple(zip(names, r, strict=True)) for r in rows), key=repr)
    return out


def expected_after(plan, before: dict[str, list[tuple]], *, float4: bool) -> dict:
    """The rows `before` should become: renamed tables, columns and enum values followed,
    dropped columns and tables gone; with `float4` (PostgreSQL), a real widened to double
    precision reads back as its exact single-precision value."""
    cmap, emap = column_map(plan), enum_map(plan)
    widened = {
        (op.table, op.column)
        for op in plan.ops
        if op.kind == "alter_type" and (op.old.type, op.new.type) == ("real", "double")
    }
    out = {}
    for table, rows in before.items():
        if table not in cmap:
            continue
        new_name, cols = cmap[table]
        converted = []
        for row in rows:
            item = []
            for col, value in row:
                new_col = cols[col]
                if new_col is None:
                    continue
                if isinstance(value, str):
                    value = emap.get((new_name, new_col), {}).get(value, value)
                if float4 and (new_name, new_col) in widened and isinstance(value, float):
                    # the stored single-precision value, now read as double precision
                    value = struct.unpack("f", struct.pack("f", value))[0]
                item.append((new_col, value))
            converted.append(tuple(sorted(item)))
        out[new_name] = sorted(converted, key=repr)
    return out


def project(rows: dict[str, list[tuple]], like: dict[str, list[tuple]]) -> dict:
    """Keep only the columns `like` has (new columns hold defaults, compared by catalog)."""
    out = {}
    for table, expected in like.items():
        keep = {c for c, _ in expected[0]} if expected else set()
        out[table] = sorted(
            (tuple(sorted((c, v) for c, v in row if c in keep)) for row in rows.get(table, [])),
            key=repr,
        )
    return out


# -- SQLite --------------------------------------------------------------------------------
_CHECK = re.compile(r"CONSTRAINT (\w+) CHECK \(")


def _checks(sql: str) -> set[tuple[str, str]]:
    text = sqlite_normal(sql)
    found = set()
    for match in _CHECK.finditer(text):
        depth, i = 1, match.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        found.add((match.group(1), text[match.end() : i - 1]))
    return found


def sqlite_catalog(path: Path) -> dict:
    db = sqlite3.connect(path)
    try:
        out = {}
        tables = db.execute(
            "SELECT name, strict, wr FROM pragma_table_list WHERE schema = 'main' "
            "AND type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations'"
        ).fetchall()
        for name, strict, wr in tables:
            sql = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
            out[name] = {
                "strict": strict,
                "without_rowid": wr,
                # (name, type, notnull, default, pk, hidden) by name: ADD COLUMN appends
                "columns": sorted(r[1:] for r in db.execute(f"PRAGMA table_xinfo({name})")),
                "foreign_keys": sorted(
                    r[2:] for r in db.execute(f"PRAGMA foreign_key_list({name})")
                ),
                "indexes": sorted(
                    (
                        r[1],
                        r[2],
                        r[3],
                        tuple(c[2] for c in db.execute(f"PRAGMA index_info({r[1]})")),
                    )
                    for r in db.execute(f"PRAGMA index_list({name})")
                    if not r[1].startswith("sqlite_autoindex")
                ),
                "autoindexes": sorted(
                    tuple(c[2] for c in db.execute(f"PRAGMA index_info({r[1]})"))
                    for r in db.execute(f"PRAGMA index_list({name})")
                    if r[1].startswith("sqlite_autoindex")
                ),
                "checks": sorted(_checks(sql)),
            }
        return out
    finally:
        db.close()


def sqlite_build(path: Path, schema) -> None:
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    try:
        db.executescript(TARGETS["sqlite"].render(schema, self_check=False))
    finally:
        db.close()


def sqlite_rows(path: Path, schema) -> dict:
    db = sqlite3.connect(path)
    try:
        return snapshot(lambda q: db.execute(q).fetchall(), schema)
    finally:
        db.close()


# -- PostgreSQL family ---------------------------------------------------------------------
def pg_url(engine, dbname: str) -> str:
    p = engine.params
    password = p.get("password") or "x"
    return (
        f"postgres://{p['user']}:{password}@:{p.get('port', 5432)}/{dbname}"
        f"?socket={p['host']}&sslmode=disable"
    )


def pg_full_catalog(conn) -> dict:
    cat = pg_catalog(conn)
    cat["tables"] = sorted(t for t in cat["tables"] if t != "schema_migrations")
    cat["columns"] = {
        t: sorted(cols, key=lambda c: c["name"])
        for t, cols in cat["columns"].items()
        if t != "schema_migrations"
    }
    cat["constraints"] = {
        k: v for k, v in cat["constraints"].items() if v["table"] != "schema_migrations"
    }
    cat["comments"] = {k: v for k, v in cat["comments"].items() if k != "schema_migrations"}
    q = lambda sql: conn.execute(sql).fetchall()  # noqa: E731
    cat["triggers"] = sorted(
        q("""SELECT tgname, tgrelid::regclass::text, pg_get_triggerdef(t.oid),
                    obj_description(t.oid, 'pg_trigger')
             FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE NOT tgisinternal AND n.nspname = 'public'
               -- TimescaleDB's own triggers carry internal ids that differ between builds
               AND t.tgfoid NOT IN (SELECT p.oid FROM pg_proc p JOIN pg_namespace s
                                    ON s.oid = p.pronamespace
                                    WHERE s.nspname LIKE '\\_timescaledb%%')""")
    )
    cat["functions"] = sorted(
        q("""SELECT proname, prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public'""")
    )
    if q("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"):
        cat["dimensions"] = sorted(
            q("""SELECT hypertable_name, column_name, time_interval::text
                 FROM timescaledb_information.dimensions
                 WHERE hypertable_schema = 'public'""")
        )
        cat["compression"] = sorted(
            q("""SELECT hypertable_name, attname, segmentby_column_index,
                        orderby_column_index, orderby_asc
                 FROM timescaledb_information.compression_settings""")
        )
        cat["caggs"] = sorted(
            q("""SELECT view_name, view_definition
                 FROM timescaledb_information.continuous_aggregates""")
        )
    return cat


def pg_rows(conn, schema) -> dict:
    return snapshot(lambda q: [tuple(_plain(v) for v in r) for r in conn.execute(q)], schema)


def _plain(value):
    import datetime as dt

    return value.timestamp() if isinstance(value, dt.datetime) else value


def load_ddl(conn, text: str) -> None:
    """The whole file in one round trip (simple query protocol); on an error, again statement
    by statement so the message names the statement."""
    try:
        conn.execute(text)
    except Exception:
        load_pg_ddl(conn, text)
        raise


RESET = "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"


@functools.cache
def committed(target: str, version: int = 2) -> Path:
    """A folder with the committed migration files of one schema version (dbmate applies
    every file it finds; later versions have their own tests)."""
    folder = Path(tempfile.mkdtemp(prefix=f"migrations-v{version}-{target}-"))
    for path in (ROOT / "sql" / target / "migrations").glob(f"{version:04d}*.sql"):
        shutil.copy(path, folder / path.name)
    return folder


# -- one released version's step, proven the same way on every engine ---------------------------
def seeded(plan, seed) -> list[tuple[str, dict]]:
    """The seed rows as the plan's old version stores them: only its tables and columns."""
    old = {t.name: t for t in plan.old.tables}
    return [
        (table, {c: v for c, v in row.items() if c in old[table].column_map})
        for table, row in seed
        if table in old
    ]


def sqlite_step(tmp_path: Path, plan, seed, migrations: Path, *, insert_new=None) -> dict:
    """A SQLite database of the plan's old version holding `seed`, migrated by dbmate with the
    files of `migrations`, rolled back file by file (catalog and rows as before), migrated
    again: equal to a fresh build of the new version, every row kept, foreign keys whole;
    `insert_new(conn)` then inserts the new version's rows. Returns (before, after) rows."""
    db = tmp_path / "old.sqlite"
    url = f"sqlite:{db}"
    sqlite_build(db, plan.old)
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("PRAGMA foreign_keys = ON")
    conn = Conn("sqlite", "sqlite", raw, (sqlite3.IntegrityError,))
    for table, row in seed:
        conn.insert(table, row)
    raw.close()
    before = sqlite_rows(db, plan.old)
    first = sqlite_catalog(db)
    dbmate(url, migrations, "migrate")
    for _ in migrations.glob("*.sql"):
        dbmate(url, migrations, "rollback")
    assert sqlite_catalog(db) == first, "down migration: catalog differs"
    assert sqlite_rows(db, plan.old) == before, "down migration: rows differ"
    dbmate(url, migrations, "migrate")
    fresh = tmp_path / "fresh.sqlite"
    sqlite_build(fresh, plan.new)
    assert sqlite_catalog(db) == sqlite_catalog(fresh)
    after = sqlite_rows(db, plan.new)
    expected = expected_after(plan, before, float4=False)
    assert project(after, expected) == expected
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("PRAGMA foreign_keys = ON")
    try:
        assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
        applied = {r[0] for r in raw.execute("SELECT version FROM schema_migrations")}
        assert migrate.version_id(plan.new.version) in applied
        if insert_new:
            insert_new(Conn("sqlite", "sqlite", raw, (sqlite3.IntegrityError,)))
    finally:
        raw.close()
    return {"before": before, "after": after}


def pg_step(engine, target: str, plan, seed, migrations: Path, *, insert_new=None) -> dict:
    """As sqlite_step on a PostgreSQL-family engine (`target` postgres or timescaledb): on
    TimescaleDB every chunk of the samples is compressed before the migration, and the
    rollback is not run by dbmate (pglite takes one connection; `dbmate rollback` opens two:
    the chain test runs TimescaleDB's down blocks itself)."""
    timescale = target == "timescaledb"
    samples = "timeseries_point_store" if plan.old.version >= 3 else "timeseries_point"
    with engine.fresh_database(f"v{plan.new.version}") as database:
        url = pg_url(engine, database.name)
        with database.connect() as conn:
            load_ddl(conn, TARGETS[target].render(plan.old, self_check=False))
            wrapper = Conn("pg", "postgres", conn, ())
            for table, row in seed:
                wrapper.insert(table, row)
            if timescale:
                chunks = f"SELECT show_chunks('{samples}')"
                for (chunk,) in conn.execute(chunks).fetchall():
                    conn.execute("SELECT compress_chunk(%s)", (chunk,))
                compressed = conn.execute(
                    "SELECT count(*) FROM timescaledb_information.chunks WHERE is_compressed"
                ).fetchone()[0]
                assert compressed >= 1
            before = pg_rows(conn, plan.old)
            first = pg_full_catalog(conn)
        dbmate(url, migrations, "migrate")
        if not timescale:
            for _ in migrations.glob("*.sql"):
                dbmate(url, migrations, "rollback")
            with database.connect() as conn:
                assert pg_full_catalog(conn) == first, "down migration: catalog differs"
                assert pg_rows(conn, plan.old) == before, "down migration: rows differ"
            dbmate(url, migrations, "migrate")
        with database.connect() as conn:
            migrated = pg_full_catalog(conn)
            after = pg_rows(conn, plan.new)
            applied = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            if insert_new:
                insert_new(Conn("pg", "postgres", conn, ()))
        if timescale:
            engine.wipe()
        with database.connect() as conn:
            if not timescale:
                conn.execute(RESET)
            load_ddl(conn, TARGETS[target].render(plan.new, self_check=False))
            fresh = pg_full_catalog(conn)
    problems = [
        f"{key}: migrated {migrated.get(key)!r}\n   fresh {fresh[key]!r}"
        for key in fresh
        if migrated.get(key) != fresh[key]
    ]
    assert not problems, "\n".join(problems)
    expected = expected_after(plan, before, float4=True)
    assert project(after, expected) == expected
    assert migrate.version_id(plan.new.version) in applied
    return {"before": before, "after": after}
