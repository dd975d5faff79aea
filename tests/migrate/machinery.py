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
from generator.targets import TARGETS
from generator.targets.migrations.sqlite import sqlite_normal
from tests.support.dbkit import ROOT, load_pg_ddl
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
