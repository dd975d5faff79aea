"""The DDL compiler every target shares.

`Target.render` builds each table's block of statements by calling hooks (column type, column
spec, table constraints, table suffix, statements after the table); a target is a subclass that
overrides only what differs, with its type mapping in a lookup table. Identifiers are passed
through `quote`, the one place a target decides quoting. `layout_table` and `layout_file` only
lay the result out (plain Python: a run that writes DDL does not import Jinja).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..model import Check, Column, ForeignKey, Node, Schema, Table, fit_name

if TYPE_CHECKING:
    from .migrations.base import MigrationWriter

# Libraries are imported where they are first used: the validator asks every target class for
# its facts (reserved words, name limits), and a run that renders one target, or none, should
# not pay for the libraries of the others (tests/generator/test_startup.py).

HEADER_WIDTH = 100
VERSION_TABLE = "schema_migrations"  # dbmate's table of applied migrations


MIGRATION_STEPS = (0, 1)  # the files of one schema version: the change, its validation


def migration_version(version: int, step: int = 0) -> str:
    """A migration's version as dbmate stores it: schema version and step, e.g. 000200."""
    return f"{version:04d}{step:02d}"


@dataclass(frozen=True)
class Statement:
    sql: str  # one statement, terminated by ';'


@dataclass
class TableBlock:
    table: Table
    comments: list[str]
    items: list[tuple[str, str | None]]  # (column or constraint SQL, trailing comment)
    suffix: str
    after: list[Statement] = field(default_factory=list)


def layout_table(block: TableBlock, name: str) -> str:
    """A table's block: its comment lines, CREATE TABLE with one item per line (commas between,
    a trailing `--` comment where there is one), then the statements after it."""
    out = [f"-- {line}\n" for line in block.comments]
    out.append(f"CREATE TABLE {name} (\n")
    last = len(block.items) - 1
    for i, (sql, comment) in enumerate(block.items):
        comma = "" if i == last else ","
        out.append(f"    {sql}{comma}{f'  -- {comment}' if comment else ''}\n")
    out.append(f"){block.suffix};\n")
    out += [f"{statement.sql}\n" for statement in block.after]
    return "".join(out)


def layout_file(header: list[str], preamble, tables: list[str], epilogue) -> str:
    """A whole file: the header's comment lines, then the preamble, each table block and the
    epilogue, each group after one blank line."""
    out = [f"--{' ' + line if line else ''}\n" for line in header]
    if preamble:
        out += ["\n", *(f"{statement.sql}\n" for statement in preamble)]
    out += [f"\n{table}" for table in tables]
    if epilogue:
        out += ["\n", *(f"{statement.sql}\n" for statement in epilogue)]
    return "".join(out)


class GeneratorBug(RuntimeError):
    """An emitted statement failed the self-check: a bug in a target, not in schema.yaml."""


class Target:
    name = "base"
    title = "base"
    dialect = "postgres"
    type_map: dict[str, str] = {}
    # Per-target facts the validator asks for (generator/rules/names.py): the longest name
    # the engine keeps (None: no limit), the words it cannot take as a name unquoted, and the
    # column names it reserves for itself.
    max_identifier_bytes: int | None = None
    reserved_words: frozenset[str] = frozenset()
    system_columns: frozenset[str] = frozenset()
    # Prefixes the engine keeps for its own tables, indexes and other objects.
    reserved_prefixes: tuple[str, ...] = ()
    max_columns: int | None = None  # columns per table
    # How expressions (the model's parsed CHECKs) are written here, as lookup tables over the
    # parent's (sqlglot's TYPE_MAPPING and TRANSFORMS): a function's name where it is not the
    # schema's name in capitals, and a cast's type where it is not the column type (type_map).
    function_names: dict[str, str] = {}
    cast_types: dict[str, str] = {}

    # -- naming ----------------------------------------------------------------------------
    @property
    def path(self) -> str:
        return f"sql/{self.name}/schema.sql"

    def migration_writer(self) -> MigrationWriter | None:
        """The writer of this engine's migration files (generator/targets/migrations/), or None
        when the target is regenerated, never migrated. The writer's module is imported when
        asked for: a run that only renders DDL does not load the migration code."""
        return None

    def quote(self, name: str) -> str:
        """The one place identifiers are written. Validated names never need quotes; anything
        else (a reserved word, an unsafe character) is double-quoted, quotes doubled."""
        if SAFE_NAME.match(name) and name not in self.reserved_words:
            return name
        return '"' + name.replace('"', '""') + '"'

    def quote_all(self, names) -> str:
        return ", ".join(self.quote(n) for n in names)

    def literal(self, text: str) -> str:
        """The one place a string literal is written: quotes doubled, and no character a
        PostgreSQL or SQLite text value cannot hold (NUL is refused by the loader)."""
        if "\x00" in text:
            raise GeneratorBug("a NUL character reached a string literal")
        return "'" + str(text).replace("'", "''") + "'"

    # -- expressions -----------------------------------------------------------------------
    def expression_sql(self, tree: Node) -> str:
        """An expression of the model (a parsed CHECK) as this engine writes it: the walk in
        generator/sqlexpr.py, with this target's names, literals, functions and casts."""
        from ..sqlexpr import render

        return render(tree, self)

    def function_name(self, name: str) -> str:
        return self.function_names.get(name, name.upper())

    def cast_type(self, type_name: str) -> str:
        return self.cast_types.get(type_name) or self.type_map[type_name]

    def truth_test(self, this: str, value: bool, negated: bool) -> str:
        """x IS [NOT] TRUE/FALSE."""
        return f"{this} IS {'NOT ' if negated else ''}{'TRUE' if value else 'FALSE'}"

    def prose(self, text: str) -> str:
        """The one place a description becomes a string literal (COMMENT ON, COMMENT '...'):
        as written, line breaks, Unicode spaces and joiners included, since the literal holds
        them; only the bidirectional controls are dropped, which could make the SQL read
        otherwise than it runs (docs/conventions.md)."""
        return self.literal(without_bidi_controls(text))

    def comment(self, text: str) -> str:
        """The one place text becomes a `--` comment: every line break, control or format
        character and every run of whitespace is one space, so nothing can end the comment."""
        return comment_text(text)

    def refusals(self, schema: Schema) -> list[tuple[tuple, str, str]]:
        """What this engine cannot take although the schema is valid, as (schema path,
        message, hint); the validator reports them (generator/rules/names.py)."""
        out = []
        for table in schema.tables:
            if self.max_columns and len(table.columns) > self.max_columns:
                out.append(
                    (
                        ("tables", table.name, "columns"),
                        f"{len(table.columns)} columns; {self.title} allows at most "
                        f"{self.max_columns} per table",
                        "split the table",
                    )
                )
        return out

    def generated_name(self, name: str) -> str:
        """A name this target derives (trigger functions, extra constraints), fitted to its
        identifier limit by the documented rule (model.fit_name)."""
        return fit_name(name, self.max_identifier_bytes)

    def engine_names(self, schema: Schema) -> list[tuple[str, str, str]]:
        """Every name this target creates, as (namespace, name, owning table): relations
        (tables, indexes, and the indexes behind keys) and constraints share one namespace
        here, as the validator has always required."""
        out = []
        for table in schema.tables:
            out.append(("relation", table.name, table.name))
            out.append(("relation", table.primary_key_name, table.name))
            out += [("relation", n, table.name) for n, _ in self.unique_constraints(table)]
            out += [
                ("relation", fk.name, table.name)
                for fk in self.constraint_foreign_keys(schema, table)
            ]
            out += [("relation", c.name, table.name) for c in self.checks(table)]
            out += [("relation", s.name, table.name) for s in self.named_statements(table)]
        return out

    def stored_schema(self, schema: Schema) -> Schema:
        """The model as this target stores it (the tables its catalog holds): the model
        itself, except where a target stores a table in another form (TimescaleDB's
        elapsed_as_start)."""
        return schema

    def named_statements(self, table: Table) -> list:
        """Indexes and other named objects besides constraints (see engine_names)."""
        return list(table.indexes)

    # -- hooks -----------------------------------------------------------------------------
    def column_type(self, table: Table, column: Column) -> str:
        return self.type_map[column.type]

    def column_spec(self, table: Table, column: Column) -> str:
        parts = [self.quote(column.name), self.column_type(table, column)]
        if not column.nullable:
            parts.append("NOT NULL")
        if column.default is not None:
            parts.append(f"DEFAULT {self.default_sql(column)}")
        return " ".join(parts)

    def default_sql(self, column: Column) -> str:
        value = column.default
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int | float):
            return str(value)
        return self.literal(str(value))

    def column_comment(self, table: Table, column: Column) -> str | None:
        return None

    def primary_key(self, table: Table) -> tuple[str, ...]:
        return table.primary_key

    def primary_key_sql(self, table: Table) -> str:
        return (
            f"CONSTRAINT {self.quote(table.primary_key_name)} "
            f"PRIMARY KEY ({self.quote_all(self.primary_key(table))})"
        )

    def unique_constraints(self, table: Table) -> list[tuple[str, tuple[str, ...]]]:
        return [(u.name, u.columns) for u in table.uniques]

    def constraint_foreign_keys(self, schema: Schema, table: Table) -> list[ForeignKey]:
        """The foreign keys written as FOREIGN KEY constraints; a target may enforce some
        another way."""
        return list(table.foreign_keys)

    def foreign_key_columns(
        self, schema: Schema, fk: ForeignKey
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return fk.columns, fk.ref_columns

    def foreign_key_sql(self, schema: Schema, fk: ForeignKey) -> str:
        cols, refs = self.foreign_key_columns(schema, fk)
        return (
            f"CONSTRAINT {self.quote(fk.name)} FOREIGN KEY ({self.quote_all(cols)}) "
            f"REFERENCES {self.quote(fk.ref_table)} ({self.quote_all(refs)}) "
            f"ON DELETE {fk.on_delete.upper()}"
        )

    def checks(self, table: Table) -> list[Check]:
        return list(table.checks)

    def check_expression_sql(self, check: Check) -> str:
        """A CHECK's condition here: its tree printed for this engine, or, for a check the
        target wrote in its engine's own words (a json test), that text."""
        return check.expression if check.tree is None else self.expression_sql(check.tree)

    def check_sql(self, check: Check) -> str:
        expression = self.check_expression_sql(check)
        return f"CONSTRAINT {self.quote(check.name)} CHECK ({expression})"

    def table_items(self, schema: Schema, table: Table) -> list[tuple[str, str | None]]:
        items = [(self.column_spec(table, c), self.column_comment(table, c)) for c in table.columns]
        items.append((self.primary_key_sql(table), None))
        for name, columns in self.unique_constraints(table):
            items.append(
                (f"CONSTRAINT {self.quote(name)} UNIQUE ({self.quote_all(columns)})", None)
            )
        for fk in self.constraint_foreign_keys(schema, table):
            items.append((self.foreign_key_sql(schema, fk), self.foreign_key_comment(fk)))
        for check in self.checks(table):
            items.append((self.check_sql(check), self.check_comment(check)))
        return items

    def foreign_key_comment(self, fk: ForeignKey) -> str | None:
        return None

    def check_comment(self, check: Check) -> str | None:
        return None

    def table_comments(self, table: Table) -> list[str]:
        """SQL comment lines above CREATE TABLE."""
        return [f"{table.name}: {table.description}"]

    def table_suffix(self, table: Table) -> str:
        return ""

    def index_statements(self, table: Table) -> list[Statement]:
        out = []
        for index in table.indexes:
            unique = "UNIQUE " if index.unique else ""
            columns = self.quote_all(self.index_columns(table, index))
            out.append(
                Statement(
                    f"CREATE {unique}INDEX {self.quote(index.name)} ON "
                    f"{self.quote(table.name)} ({columns});"
                )
            )
        return out

    def index_columns(self, table: Table, index) -> tuple[str, ...]:
        return index.columns

    def after_table(self, schema: Schema, table: Table) -> list[Statement]:
        return self.index_statements(table)

    def preamble(self, schema: Schema) -> list[Statement]:
        return []

    def epilogue(self, schema: Schema) -> list[Statement]:
        return []

    def version_record(self, schema: Schema) -> list[Statement]:
        """For targets that migrations serve (their epilogue): the schema version in the
        database, the rows the migration runner (dbmate) keeps in its own table (PostgreSQL
        and SQLite shape), so a fresh build counts every migration file up to this version as
        applied (see generator/migrate): per version, step 00 (the change) and step 01 (the
        validation of what step 00 added NOT VALID, where there is one)."""
        values = ", ".join(
            f"('{migration_version(v, step)}')"
            for v in range(1, schema.version + 1)
            for step in MIGRATION_STEPS
        )
        return [
            Statement(
                f"-- Schema version {schema.version}, recorded where the migration runner "
                "(dbmate) keeps applied migrations.\n"
                f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version varchar(128) PRIMARY KEY);"
            ),
            Statement(f"INSERT INTO {VERSION_TABLE} (version) VALUES {values};"),
        ]

    versions = ""

    def header(self, schema: Schema) -> list[str]:
        """What the file is for, which engines, how to load it, and what it cannot express."""
        return header_box(
            [
                f"{schema.title}: {self.title} DDL.",
                *self.purpose(),
                f"Schema version {schema.version}. Generated from schema.yaml by "
                "liam-erd-schema; do not edit.",
                "Change schema.yaml, then run `make sql`.",
                "",
                f"Targets: {self.versions}.",
                f"Load into an empty database: {self.load_hint()}",
                "",
                *self.header_notes(),
                "",
                "What this file cannot express that schema.yaml says:",
                *self.limitations(schema),
            ]
        )

    def purpose(self) -> list[str]:
        return []

    def load_hint(self) -> str:
        raise NotImplementedError

    def load_command(self, file: str) -> str:
        """Shell commands that load `file`, a downloaded copy of this target's DDL (the docs'
        downloads page); the registry is the only place they are written."""
        return f"# load {file} with your tools"

    def header_notes(self) -> list[str]:
        return []

    def limitations(self, schema: Schema) -> list[str]:
        return []

    # -- assembly --------------------------------------------------------------------------
    def blocks(self, schema: Schema) -> list[TableBlock]:
        return [self.block(schema, t) for t in schema.tables]

    def block(self, schema: Schema, table: Table) -> TableBlock:
        return TableBlock(
            table=table,
            comments=[self.comment(line) for line in self.table_comments(table)],
            items=[
                (sql, self.comment(note) if note else None)
                for sql, note in self.table_items(schema, table)
            ],
            suffix=self.table_suffix(table),
            after=self.after_table(schema, table),
        )

    def render_block(self, block: TableBlock) -> str:
        return layout_table(block, self.quote(block.table.name))

    def create_table_sql(self, schema: Schema, name: str) -> str:
        """Table `name`'s CREATE TABLE statement exactly as this target's file writes it,
        without the comment lines above it, the statements after it and the closing ';': the
        text an engine's catalog keeps (SQLite's sqlite_master.sql). Through `blocks`, which a
        target may override (TimescaleDB's store table, ClickHouse's schema-wide facts)."""
        block = next(b for b in self.blocks(schema) if b.table.name == name)
        block = TableBlock(block.table, [], block.items, block.suffix)
        return self.render_block(block).rstrip().removesuffix(";")

    def render(self, schema: Schema, *, self_check: bool = True) -> str:
        """The target's DDL. With self_check, the emitted text itself is parsed by the
        engine's own parser (see self_check); `check` and the tests always do it."""
        blocks = self.blocks(schema)
        preamble, epilogue = self.preamble(schema), self.epilogue(schema)
        text = layout_file(
            [self.comment(line) for line in self.header(schema)],
            preamble,
            [self.render_block(b) for b in blocks],
            epilogue,
        )
        text = self.finish(text)
        statements = preamble + [s for b in blocks for s in b.after] + epilogue
        if self_check:
            self.self_check(text, len(blocks) + len(statements), statements)
        self.load_check(text)
        return text

    def finish(self, text: str) -> str:
        """Last touches to the whole text before it is checked (Liam pads it to chunks)."""
        return text

    def load_check(self, text: str) -> None:
        """Checks cheap enough for every run (a target may load the text into an engine)."""
        if not text.endswith(";\n"):
            raise GeneratorBug(f"{self.path}: the last statement must end with ';'")

    def self_check(self, text: str, expected: int, statements: list[Statement]) -> None:
        """Parse exactly the emitted text with the engine's own parser and demand one parsed
        statement per statement emitted: a guard against emitting broken SQL."""
        raise NotImplementedError


SAFE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


# Unicode's Bidi_Control characters: ALM, LRM, RLM, the embeddings and overrides (LRE, RLE,
# PDF, LRO, RLO) and the isolates (LRI, RLI, FSI, PDI).
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_NO_BIDI = {ord(c): None for c in BIDI_CONTROLS}


def without_bidi_controls(text: str) -> str:
    return str(text).translate(_NO_BIDI)


def comment_text(text: str) -> str:
    """Text safe inside a `--` comment (and readable): see Target.comment. Leading spaces
    (the indentation of header lists) are kept."""
    text = str(text)
    indent = len(text) - len(text.lstrip(" "))
    cleaned = "".join(
        " " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Zs") else c for c in text
    )
    return " " * indent + " ".join(cleaned.split())


def header_box(lines: list[str]) -> list[str]:
    """Wrap header paragraphs to a readable width; '' keeps a blank comment line."""
    import textwrap

    out: list[str] = []
    for line in lines:
        if not line:
            out.append("")
            continue
        indent = len(line) - len(line.lstrip())
        out.extend(
            textwrap.wrap(
                line,
                HEADER_WIDTH - 3,
                subsequent_indent=" " * (indent + 2),
                break_long_words=False,
                break_on_hyphens=False,
            )
            or [""]
        )
    return out
