"""The SQLite DDL runs in a real SQLite with foreign keys on, and its catalog matches the model."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from generator import load_schema
from generator.targets import TARGETS

ROOT = Path(__file__).resolve().parents[2]
SQLITE = TARGETS["sqlite"]


@pytest.fixture(scope="module")
def schema():
    return load_schema(ROOT / "schema.yaml")


@pytest.fixture(scope="module")
def db(schema, tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite") / "battery.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA foreign_keys = ON")
    connection.executescript((ROOT / SQLITE.path).read_text(encoding="utf-8"))
    yield connection
    connection.close()


def test_committed_sqlite_file_is_what_the_model_renders(schema):
    assert (ROOT / SQLITE.path).read_text(encoding="utf-8") == SQLITE.render(schema)


def test_foreign_keys_are_on_and_integrity_holds(db):
    assert db.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_tables(db, schema):
    rows = db.execute(
        "SELECT name, strict, wr FROM pragma_table_list "
        "WHERE schema = 'main' AND type = 'table' "
        "AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations'"
    ).fetchall()
    found = {name: (strict, wr) for name, strict, wr in rows}
    assert set(found) == {t.name for t in schema.tables}
    for table in schema.tables:
        strict, without_rowid = found[table.name]
        assert strict == 1, f"{table.name} is not STRICT"
        assert bool(without_rowid) == SQLITE.without_rowid(table), table.name


def test_columns_types_nullability_and_primary_keys(db, schema):
    for table in schema.tables:
        info = db.execute(f"PRAGMA table_xinfo({table.name})").fetchall()
        columns = [(r[1], r[2], bool(r[3]), r[5]) for r in info]
        expected = [
            (
                c.name,
                SQLITE.type_map[c.type],
                not c.nullable,
                table.primary_key.index(c.name) + 1 if c.name in table.primary_key else 0,
            )
            for c in table.columns
        ]
        assert columns == expected, table.name


def test_foreign_keys_with_on_delete(db, schema):
    for table in schema.tables:
        rows = db.execute(f"PRAGMA foreign_key_list({table.name})").fetchall()
        found: dict[int, dict] = {}
        for fk_id, seq, ref_table, col, ref_col, _on_update, on_delete, _match in rows:
            entry = found.setdefault(
                fk_id, {"table": ref_table, "cols": [], "refs": [], "on_delete": on_delete}
            )
            entry["cols"].append((seq, col))
            entry["refs"].append((seq, ref_col))
        actual = sorted(
            (
                e["table"],
                tuple(c for _, c in sorted(e["cols"])),
                tuple(r for _, r in sorted(e["refs"])),
                e["on_delete"],
            )
            for e in found.values()
        )
        expected = sorted(
            (fk.ref_table, fk.columns, fk.ref_columns, fk.on_delete.upper())
            for fk in table.foreign_keys
        )
        assert actual == expected, table.name


def index_columns(db, name):
    return tuple(r[2] for r in db.execute(f"PRAGMA index_info({name})").fetchall())


def test_unique_constraints_and_indexes(db, schema):
    for table in schema.tables:
        rows = db.execute(f"PRAGMA index_list({table.name})").fetchall()
        uniques = sorted(index_columns(db, r[1]) for r in rows if r[3] == "u")
        created = {r[1]: (index_columns(db, r[1]), bool(r[2])) for r in rows if r[3] == "c"}
        assert uniques == sorted(u.columns for u in table.uniques), table.name
        assert created == {i.name: (i.columns, i.unique) for i in table.indexes}, table.name


def test_every_named_check_is_in_the_table(db, schema):
    for table in schema.tables:
        sql = db.execute("SELECT sql FROM sqlite_schema WHERE name = ?", (table.name,)).fetchone()[
            0
        ]
        names = set(re.findall(r"CONSTRAINT (ck_\w+) CHECK", sql))
        assert names == {c.name for c in SQLITE.checks(table)}, table.name


def test_checks_reject_what_they_should(db):
    """A smoke test of the CHECKs through SQLite itself; the engine tests cover parity."""
    insert = (
        "INSERT INTO battery_cell (manufacturer, model_name, serial_number, chemistry, "
        "form_factor, nominal_capacity_ah, nominal_voltage_volt, voltage_min_volt, "
        "voltage_max_volt) VALUES (?, 'm', ?, ?, 'pouch', ?, 3.6, 2.5, 4.2)"
    )
    db.execute(insert, ("acme", "s1", "NMC", 5.0))
    for serial, chemistry, capacity in (("s2", "NMX", 5.0), ("s3", "NMC", 0.0)):
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            db.execute(insert, ("acme", serial, chemistry, capacity))
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        db.execute(insert, ("acme", "s1", "NMC", 5.0))
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        db.execute(
            "INSERT INTO test_session (cell_id, protocol_name, protocol_version, "
            "protocol_type, equipment, started_at) VALUES (999, 'p', '1', 'rpt', 'e', 0)"
        )
    db.rollback()


def test_sqlites_reserved_words_are_the_ones_it_refuses_unquoted():
    """generator/targets/sqlite.py's SQLITE_RESERVED against the SQLite in use: each word is
    refused unquoted as a table, a column or an index name, or read as something else than the
    column in an expression (CURRENT_DATE is the date), and taken quoted; words outside the list
    are taken in every place."""
    from generator.targets.sqlite import SQLITE_RESERVED

    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE host (x)")

    def takes(name: str) -> bool:
        statements = (
            (f"CREATE TABLE {name} (x)", f"DROP TABLE {name}"),
            (f"CREATE TABLE probe ({name} INTEGER)", "DROP TABLE probe"),
            (f"CREATE INDEX {name} ON host (x)", f"DROP INDEX {name}"),
        )
        for create, drop in statements:
            try:
                con.execute(create)
            except sqlite3.OperationalError:
                return False
            if create.startswith("CREATE TABLE probe"):
                con.execute("INSERT INTO probe VALUES (7)")
                try:
                    read = con.execute(f"SELECT {name} FROM probe").fetchone()
                except sqlite3.OperationalError:
                    read = None
                if read != (7,):
                    con.execute(drop)
                    return False
            con.execute(drop)
        return True

    taken = sorted(word for word in SQLITE_RESERVED if takes(word))
    assert not taken, f"SQLite takes these unquoted: {taken}"
    assert all(takes(f'"{word}"') for word in SQLITE_RESERVED)
    assert all(takes(word) for word in ("cell", "voltage", "key", "action", "temp", "replace"))
