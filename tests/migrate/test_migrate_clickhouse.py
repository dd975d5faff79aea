"""ClickHouse migrations (generator/targets/migrations/clickhouse.py), on the real engine in
process (chdb: ClickHouse 26.9), applied section by section as dbmate's ClickHouse driver
applies them (tests/migrate/chrunner.py):

- the committed files (sql/clickhouse/migrations/, migrations-cluster/) are what the tool
  writes, every section holds one statement, and every cluster statement passes ClickHouse's
  own parser (formatQuery: chdb has no cluster);
- the chain: a version 1 database holding a row in every table, migrated to 2 then to today's
  version, equals a fresh build at each step (catalog: tables, keys, columns with their
  positions, types, defaults, comments and codecs, CHECKs, skipping indexes) with every value
  kept; each rollback returns to the previous version's fresh build and rows;
- the corpus (tests/migrate/edits.py): every edit applied with the data kept and rolled back,
  or its rollback refused saying why, changing nothing; every narrowing with rows that fit
  (applied, rolled back) and rows that break it (refused by the first statement with the count
  and the first keys, nothing changed, no version recorded), with and without
  --allow-destructive.
"""

from __future__ import annotations

import copy
import functools
import re

import pytest

from generator import load_schema_text, migrate
from generator.sqltext import split_statements
from tests.migrate import chain
from tests.migrate.chrunner import Chdb, ChdbMigrationError, sections
from tests.migrate.edits import BASE, CORPUS, DESTRUCTIVE, NARROWINGS, dump
from tests.migrate.machinery import expected_after, project, write_files
from tests.support.chkit import chdb_or_skip, chdb_session, literal
from tests.support.dbkit import ROOT
from tests.support.seed import SEED

FOLDERS = {
    "clickhouse": ROOT / "sql" / "clickhouse" / "migrations",
    "clickhouse-cluster": ROOT / "sql" / "clickhouse" / "migrations-cluster",
}


# -- the files, offline -----------------------------------------------------------------------
@pytest.mark.parametrize("target", list(FOLDERS))
def test_committed_files_are_what_the_tool_writes(target):
    on_disk = {
        f"{FOLDERS[target].relative_to(ROOT).as_posix()}/{p.name}": p.read_text(encoding="utf-8")
        for p in FOLDERS[target].glob("*.sql")
    }
    written = {}
    for plan in chain.plans():
        name = next(
            p.name.split("_", 1)[1][:-4]
            for p in (ROOT / "sql" / "postgres" / "migrations").glob(
                f"{migrate.version_id(plan.new.version)}_*.sql"
            )
        )
        written.update(migrate.render(plan, name, targets=[target]))
    assert on_disk == written, (
        "run `make migration NAME=<name> FROM=tests/fixtures/schema_v<N>.yaml` for the version"
    )


def every_file():
    for target, folder in FOLDERS.items():
        for path in sorted(folder.glob("*.sql")):
            yield pytest.param(target, path, id=f"{target}-{path.name}")


@pytest.mark.parametrize(("target", "path"), list(every_file()))
def test_one_statement_per_section_and_the_checks_first(target, path):
    text = path.read_text(encoding="utf-8")
    blocks = sections(text)
    assert blocks, path
    ups, downs = [], []
    for up, down in blocks:
        for block, out in ((up, ups), (down, downs)):
            statements = [s for s in split_statements(block) if s.strip()]
            assert len(statements) == 1, block
            out.append(statements[0])
    # every check of existing rows comes before the first change, in both directions
    for statements in (ups, downs):
        kinds = ["check" if "toUInt8(message)" in s else "change" for s in statements]
        assert "check" not in kinds[kinds.index("change") :] if "change" in kinds else True
    if target == "clickhouse-cluster":
        for statement in ups + downs:
            body = "\n".join(ln for ln in statement.splitlines() if not ln.startswith("--"))
            if body.startswith(("ALTER", "CREATE", "DROP", "RENAME")):
                assert "ON CLUSTER '{cluster}'" in body, body


# -- chdb ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def session(tmp_path_factory):
    chdb_or_skip()
    return chdb_session(tmp_path_factory.getbasetemp())


def seed(db: Chdb, rows) -> None:
    """One INSERT per table and set of columns (ClickHouse keeps no keys to order by)."""
    groups: dict[tuple, list[str]] = {}
    for table, row in rows:
        values = ", ".join(literal(row[c], c) for c in row)
        groups.setdefault((table, tuple(row)), []).append(f"({values})")
    for (table, columns), values in groups.items():
        db.run(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join(values)}")


def cluster_statements(files: dict[str, str]) -> list[str]:
    return [
        statement
        for rel, text in files.items()
        if "migrations-cluster" in rel
        for block in sections(text)
        for part in block
        for statement in split_statements(part)
        if statement.strip()
    ]


def assert_parsed(db: Chdb, statements: list[str]) -> None:
    for statement in statements:
        text = "\n".join(ln for ln in statement.splitlines() if not ln.lstrip().startswith("--"))
        formatted = db.rows(f"SELECT formatQuery({literal(text)})")[0][0]
        if text.startswith(("ALTER", "CREATE", "DROP", "RENAME")):
            assert "ON CLUSTER `{cluster}`" in formatted, formatted


@pytest.mark.engines
def test_every_committed_cluster_statement_passes_clickhouses_parser(session):
    db = Chdb(session, "parse")
    db.build(chain.released()[0])
    files = {
        f"migrations-cluster/{p.name}": p.read_text(encoding="utf-8")
        for p in FOLDERS["clickhouse-cluster"].glob("*.sql")
    }
    statements = cluster_statements(files)
    assert len(statements) > 100
    assert_parsed(db, statements)
    with pytest.raises(Exception, match="SYNTAX_ERROR"):
        db.rows(f"SELECT formatQuery({literal('ALTER TABLE t ON CLUSTER x ADD COLUMN')})")
    db.drop()


@pytest.mark.engines
def test_chain_from_version_1_and_every_rollback(session):
    """Version 1 with a row in every table -> every committed migration -> today's version,
    equal to a fresh build at every step with every value kept; then each rollback back to the
    previous version's fresh build and rows."""
    models, plans = chain.released(), chain.plans()
    folder = chain.folder("clickhouse")
    db, fresh = Chdb(session, "chain"), Chdb(session, "chain_fresh")
    db.build(models[0])
    seed(db, chain.seed(0))
    assert all(db.rows(f"SELECT count() FROM {t.name}")[0][0] for t in models[0].tables), (
        "a table of version 1 holds no row"
    )
    catalogs, rows = [db.catalog()], [db.snapshot(models[0])]
    for step, plan in enumerate(plans, 1):
        upto = chain.folder("clickhouse", plan.new.version)
        assert db.migrate(upto) == [migrate.version_id(plan.new.version)]
        fresh.build(models[step])
        assert db.catalog() == fresh.catalog(), f"version {plan.new.version}: catalog differs"
        after = db.snapshot(models[step])
        expected = expected_after(plan, rows[-1], float4=True)
        assert project(after, expected) == expected, f"version {plan.new.version}: rows differ"
        catalogs.append(fresh.catalog())
        rows.append(after)
    for step in range(len(plans), 0, -1):
        assert db.rollback(folder) == migrate.version_id(plans[step - 1].new.version)
        assert db.catalog() == catalogs[step - 1], f"rollback to step {step - 1}: catalog"
        assert db.snapshot(models[step - 1]) == rows[step - 1], f"rollback to {step - 1}: rows"
    assert db.applied() == [migrate.version_id(1)]  # what version 1's DDL records itself
    db.drop()
    fresh.drop()


# -- the corpus ---------------------------------------------------------------------------------
@functools.cache
def versions(edit):
    old = load_schema_text(dump(BASE), "v1.yaml")
    data = copy.deepcopy(BASE)
    edit(data)
    data["version"] = BASE.get("version", 1) + 1
    return old, load_schema_text(dump(data), "v2.yaml")


def narrowing_rows(name: str, violate: bool):
    case = NARROWINGS[name]
    key = BASE["tables"][case.table]["primary_key"]
    for table, row in SEED:
        if violate and table == case.table and tuple(row[k] for k in key) in case.keys:
            row = {**row, **case.values}
        yield table, row


def files_for(plan, name: str, allow: bool, destructive: bool):
    """Both ClickHouse targets' files, or None when there is nothing more to run: generating
    them is refused (destructive, no flag), or the flag changes nothing (the same files as
    with it, which the `allow` case runs)."""
    targets = list(FOLDERS)
    if destructive and not allow:
        with pytest.raises(migrate.MigrationRefused):
            migrate.render(plan, name, targets=targets)
        return None
    files = migrate.render(plan, name, allow_destructive=allow, targets=targets)
    if not allow:
        assert files == migrate.render(plan, name, allow_destructive=True, targets=targets)
        return None
    return files


def single(files: dict[str, str], tmp_path):
    return write_files(
        {k: v for k, v in files.items() if "migrations-cluster" not in k}, tmp_path / "m"
    )


@pytest.mark.engines
@pytest.mark.slow  # a chdb database per edit
@pytest.mark.parametrize("edit", list(CORPUS))
@pytest.mark.parametrize("allow", [True, False], ids=["allow", "no-flag"])
def test_corpus(session, edit, allow, tmp_path):
    old, new = versions(CORPUS[edit])
    plan = migrate.diff(old, new)
    files = files_for(plan, edit, allow, edit in DESTRUCTIVE)
    if files is None:
        return
    db, fresh = Chdb(session, "corpus"), Chdb(session, "corpus_fresh")
    assert_parsed(Chdb(session, "default"), cluster_statements(files))
    folder = single(files, tmp_path)
    db.build(old)
    seed(db, SEED)
    first, before = db.catalog(), db.snapshot(old)
    recorded = db.applied()  # the versions the old DDL records itself
    db.migrate(folder)
    fresh.build(new)
    assert db.catalog() == fresh.catalog()
    expected = expected_after(plan, before, float4=True)
    assert project(db.snapshot(new), expected) == expected
    if not migrate.irreversible(plan):
        db.rollback(folder)
        assert db.catalog() == first and db.snapshot(old) == before
    else:  # the down fails on its first statement, saying why, and changes nothing
        migrated = db.catalog()
        with pytest.raises(ChdbMigrationError, match="irreversible: .*cannot be rolled back"):
            db.rollback(folder)
        assert db.catalog() == migrated
        assert db.applied() == [*recorded, migrate.version_id(new.version)]
    db.drop()
    fresh.drop()


NARROWING_CASES = [
    pytest.param(
        name,
        violate,
        allow,
        id=f"{name}-{'violates' if violate else 'fits'}-{'allow' if allow else 'no-flag'}",
    )
    for name in NARROWINGS
    for violate in (False, True)
    for allow in (True, False)
]


@pytest.mark.engines
@pytest.mark.slow  # a chdb database per case
@pytest.mark.parametrize(("name", "violate", "allow"), NARROWING_CASES)
def test_narrowing(session, name, violate, allow, tmp_path):
    case = NARROWINGS[name]
    old, new = versions(case.edit)
    plan = migrate.diff(old, new)
    files = files_for(plan, name, allow, case.destructive)
    if files is None:
        return
    assert_parsed(Chdb(session, "default"), cluster_statements(files))
    folder = single(files, tmp_path)
    db = Chdb(session, "narrow")
    db.build(old)
    seed(db, narrowing_rows(name, violate))
    first, before = db.catalog(), db.snapshot(old)
    recorded = db.applied()  # the versions the old DDL records itself
    if violate:
        with pytest.raises(ChdbMigrationError) as refused:
            db.migrate(folder)
        message = str(refused.value)
        key = ", ".join(BASE["tables"][case.table]["primary_key"])
        assert "section 1:" in message, message  # the first statement: nothing ran before it
        assert "migration refused, nothing changed" in message, message
        assert f"rows of {case.table} violating " in message, message
        assert f": {len(case.keys)}; first keys ({key}): {case.first_keys};" in message, message
        assert db.catalog() == first and db.snapshot(old) == before
        assert db.applied() == recorded
    else:
        db.migrate(folder)
        fresh = Chdb(session, "narrow_fresh")
        fresh.build(new)
        assert db.catalog() == fresh.catalog()
        fresh.drop()
        expected = expected_after(plan, before, float4=True)
        assert project(db.snapshot(new), expected) == expected
        db.rollback(folder)
        assert db.catalog() == first and db.snapshot(old) == before
    db.drop()


def test_the_refusal_names_rows_in_their_old_names():
    """A check on a renamed column reads the old table under the new names (the check runs
    before the rename)."""
    data = copy.deepcopy(BASE)
    CORPUS["rename_column_and_table"](data)
    data["tables"]["timeseries_point"]["columns"]["program_step_id"]["nullable"] = False
    data["version"] = BASE.get("version", 1) + 1
    plan = migrate.diff(versions(CORPUS["widen_enum"])[0], load_schema_text(dump(data), "v2"))
    text = migrate.render(plan, "x", targets=["clickhouse"])[
        f"sql/clickhouse/migrations/{migrate.version_id(plan.new.version)}_x.sql"
    ]
    first = sections(text)[0][0]
    assert re.search(r"FROM \(SELECT .*step_id AS program_step_id", first), first


def stop_growing_with_the_samples(d):
    """label_soc no longer references timeseries_point: it is a small table for ClickHouse
    now, so its columns lose the per-type codecs (only ClickHouse sees a change of codecs)."""
    del d["tables"]["label_soc"]["foreign_keys"]["fk_label_soc_point"]


@pytest.mark.engines
def test_codecs_follow_the_table(session, tmp_path):
    old, new = versions(stop_growing_with_the_samples)
    plan = migrate.diff(old, new)
    files = migrate.render(plan, "codecs", targets=list(FOLDERS))
    text = "".join(files.values())
    assert "REMOVE CODEC" in text and "Skipped: drop foreign_key fk_label_soc_point" in text
    assert_parsed(Chdb(session, "default"), cluster_statements(files))
    folder = single(files, tmp_path)
    db, fresh = Chdb(session, "codecs"), Chdb(session, "codecs_fresh")
    db.build(old)
    seed(db, SEED)
    first, before = db.catalog(), db.snapshot(old)
    db.migrate(folder)
    fresh.build(new)
    assert db.catalog() == fresh.catalog() != first
    assert db.snapshot(new) == before
    db.rollback(folder)
    assert db.catalog() == first and db.snapshot(old) == before
    db.drop()
    fresh.drop()


def test_a_description_with_a_semicolon_and_a_line_break_stays_one_statement():
    data = copy.deepcopy(BASE)
    text = "Free text;\nsecond line; third -- not a comment"
    data["tables"]["battery_pack"]["columns"]["notes"]["description"] = text
    data["version"] = BASE.get("version", 1) + 1
    plan = migrate.diff(versions(CORPUS["widen_enum"])[0], load_schema_text(dump(data), "v2"))
    for rel, body in migrate.render(plan, "notes", targets=list(FOLDERS)).items():
        comments = []
        for up, down in sections(body):
            for block in (up, down):
                statements = [s for s in split_statements(block) if s.strip()]
                assert len(statements) == 1, (rel, block)
                if "COMMENT COLUMN notes" in statements[0]:
                    comments.append(statements[0])
        assert any("Free text;\nsecond line;" in c for c in comments), rel
