"""The real Liam ERD CLI builds the ERD from sql/liam/schema.sql; everything in the model must
be in the schema.json it writes, and each relationship must be drawn with the model's true
cardinality.

Liam stores no relationships: its page derives them from FOREIGN KEY constraints, drawing a
key as one-to-one when a UNIQUE constraint of the child contains all of the key's columns
(Liam's constraintsToRelationships). `liam_cardinality` applies that same rule to the parsed
schema.json, so the test sees what a user would see.
"""

from __future__ import annotations

import pytest

from generator import load_schema
from generator.model import ONE_TO_MANY, ONE_TO_ONE
from generator.targets import TARGETS
from tests.support.dbkit import ROOT

SCHEMA = load_schema(ROOT / "schema.yaml")
LIAM = TARGETS["liam"]
LIAM_TYPES = {
    "smallint": "int2",
    "integer": "int4",
    "bigint": "int8",
    "real": "float4",
    "double": "float8",
    "text": "text",
    "boolean": "bool",
    "timestamptz": "timestamptz",
    "json": "jsonb",
}


@pytest.fixture(scope="module")
def erd(liam_cli, tmp_path_factory):
    out = tmp_path_factory.mktemp("liam")
    return liam_cli.build(ROOT / LIAM.path, out)


def liam_cardinality(table: dict, fk_columns: list[str]) -> str:
    for constraint in table["constraints"].values():
        if constraint["type"] == "UNIQUE" and set(fk_columns) <= set(constraint["columnNames"]):
            return ONE_TO_ONE
    return ONE_TO_MANY


def test_every_table_and_table_comment(erd):
    assert sorted(erd["tables"]) == sorted(t.name for t in SCHEMA.tables)
    for table in SCHEMA.tables:
        assert erd["tables"][table.name]["comment"] == table.description, table.name


def test_every_column_with_type_nullability_and_comment(erd):
    problems = []
    for table in SCHEMA.tables:
        columns = erd["tables"][table.name]["columns"]
        if list(columns) != [c.name for c in table.columns]:
            problems.append(f"{table.name}: columns {list(columns)}")
            continue
        for column in table.columns:
            got = columns[column.name]
            expected = (
                LIAM_TYPES[column.type],
                not column.nullable,
                LIAM.column_description(column),
            )
            actual = (got["type"], got["notNull"], got["comment"])
            if actual != expected:
                problems.append(
                    f"{table.name}.{column.name}: Liam shows {actual}, model says {expected}"
                )
    assert not problems, "\n".join(problems)


def test_every_foreign_key_and_its_cardinality(erd):
    problems = []
    for table in SCHEMA.tables:
        liam_table = erd["tables"][table.name]
        fks = {
            name: c for name, c in liam_table["constraints"].items() if c["type"] == "FOREIGN KEY"
        }
        if sorted(fks) != sorted(fk.name for fk in table.foreign_keys):
            problems.append(f"{table.name}: Liam has foreign keys {sorted(fks)}")
            continue
        for fk in table.foreign_keys:
            got = fks[fk.name]
            actual = (
                got["columnNames"],
                got["targetTableName"],
                got["targetColumnNames"],
                got["deleteConstraint"],
            )
            expected = (
                list(fk.columns),
                fk.ref_table,
                list(fk.ref_columns),
                fk.on_delete.upper().replace(" ", "_"),
            )
            if actual != expected:
                problems.append(f"{fk.name}: Liam has {actual}, model says {expected}")
            drawn = liam_cardinality(liam_table, got["columnNames"])
            if drawn != fk.cardinality:
                problems.append(f"{fk.name}: Liam draws {drawn}, the model is {fk.cardinality}")
    assert not problems, "\n".join(problems)


def test_primary_keys_and_uniques_survive(erd):
    for table in SCHEMA.tables:
        constraints = erd["tables"][table.name]["constraints"]
        pk = constraints[table.primary_key_name]
        assert (pk["type"], pk["columnNames"]) == ("PRIMARY KEY", list(table.primary_key))
        indexes = erd["tables"][table.name]["indexes"]
        for unique in table.uniques:
            # a unique constraint or, where Liam would misdraw it, a unique index
            shown = constraints.get(unique.name) or indexes.get(unique.name)
            assert shown is not None, f"{unique.name} missing"
            assert list(shown.get("columnNames", shown.get("columns"))) == list(unique.columns)


def test_liam_rule_would_catch_a_misleading_unique_constraint():
    """The check above can fail: the PostgreSQL DDL, fed to the same rule, misdraws keys."""
    for table in SCHEMA.tables:
        plain = {
            "constraints": {
                u.name: {"type": "UNIQUE", "columnNames": list(u.columns)} for u in table.uniques
            }
        }
        for fk in table.foreign_keys:
            if fk.name == "fk_label_soc_point":
                assert liam_cardinality(plain, list(fk.columns)) == ONE_TO_ONE
                assert fk.cardinality == ONE_TO_MANY
                return
    pytest.fail("fk_label_soc_point not found")


def big_schema_text(tables: int) -> str:
    """A schema long enough that its Liam file spans several 500-line parser chunks."""
    lines = [
        "format_version: 1",
        "name: big",
        "title: Big",
        "description: Many tables.",
        "layers: {main: {title: Main, description: All.}}",
        "tables:",
    ]
    for n in range(tables):
        lines += [
            f"  t{n:02d}:",
            "    layer: main",
            "    usage: [soc]",
            f"    description: Table number {n}.",
            "    columns:",
            f"      t{n:02d}_id: {{type: integer, identity: true, description: Key {n}.}}",
        ]
        if n:
            lines += [
                "      parent_id:",
                "        type: integer",
                f"        references: {{table: t{n - 1:02d}, on_delete: cascade, why: Chain.}}",
                f"        description: Parent of {n}.",
            ]
        lines += [f"      c{i}: {{type: text, description: Column {i} of {n}.}}" for i in range(12)]
        lines += [f"    primary_key: [t{n:02d}_id]"]
        if n:
            lines += ["    indexes:", f"      ix_t{n:02d}_parent: {{columns: [parent_id]}}"]
    return "\n".join(lines) + "\n"


def test_comments_and_indexes_survive_liam_chunking(liam_cli, tmp_path):
    from generator import load_schema_text

    schema = load_schema_text(big_schema_text(40), "big.yaml")
    text = LIAM.render(schema)
    assert text.count("\n") > 2 * 500, "the file must span several chunks"
    path = tmp_path / "big.sql"
    path.write_text(text)
    erd = liam_cli.build(path, tmp_path / "out")
    missing = []
    for table in schema.tables:
        got = erd["tables"].get(table.name)
        if got is None or got["comment"] != table.description:
            missing.append(f"{table.name} comment")
            continue
        missing += [
            f"{table.name}.{c.name} comment"
            for c in table.columns
            if got["columns"][c.name]["comment"] != c.description
        ]
        missing += [i.name for i in table.indexes if i.name not in got["indexes"]]
    assert not missing, f"lost by Liam's chunked parser: {missing}"


def test_refusal_line_bound_is_never_below_the_rendered_block():
    """Liam's refusals render only the blocks whose cheap line bound reaches a chunk: the
    bound must never be below the rendered count, or a too-long table would slip through."""
    from generator import load_schema_text
    from generator.errors import SchemaError
    from generator.targets.liam import CHUNK_LINES, LiamTarget

    for schema in (SCHEMA, load_schema_text(big_schema_text(3))):
        for block in LIAM.blocks(schema):
            rendered = LIAM.render_block(block).count("\n") + 1
            assert rendered <= LiamTarget.block_lines_at_most(block) <= rendered + 8
    wide = [
        "format_version: 1",
        "name: w",
        "title: W",
        "description: Wide.",
        "layers: {main: {title: Main, description: All.}}",
        "tables:",
        "  w:",
        "    layer: main",
        "    usage: [soc]",
        "    description: Wide.",
        "    columns:",
        "      w_id: {type: integer, identity: true, description: Key.}",
    ]
    wide += [f"      c{i}: {{type: text, description: Column {i}.}}" for i in range(CHUNK_LINES)]
    wide += ["    primary_key: [w_id]", ""]
    with pytest.raises(SchemaError, match="Liam ERD reads 500-line chunks"):
        load_schema_text("\n".join(wide))
