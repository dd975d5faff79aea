"""The DDL compiler every target shares.

`Target.render` builds each table's block of statements by calling hooks (column type, column
spec, table constraints, table suffix, statements after the table); a target is a subclass that
overrides only what differs, with its type mapping in a lookup table. Identifiers are passed
through `quote`, the one place a target decides quoting. Jinja templates only lay the result out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache, lru_cache

import jinja2
import sqlglot
from sqlglot import exp

from ..model import Check, Column, ForeignKey, Schema, Table

HEADER_WIDTH = 100
VERSION_TABLE = "schema_migrations"  # dbmate's table of applied migrations


MIGRATION_STEPS = (0, 1)  # the files of one schema version: the change, its validation


def migration_version(version: int, step: int = 0) -> str:
    """A migration's version as dbmate stores it: schema version and step, e.g. 000200."""
    return f"{version:04d}{step:02d}"


@dataclass(frozen=True)
class Statement:
    sql: str  # one statement, terminated by ';'
    # Statements sqlglot cannot parse (TimescaleDB options, COMMENT ON CONSTRAINT): the
    # self-check skips them; the engine tests still load them for real.
    opaque: bool = False


@dataclass
class TableBlock:
    table: Table
    comments: list[str]
    items: list[tuple[str, str | None]]  # (column or constraint SQL, trailing comment)
    suffix: str
    after: list[Statement] = field(default_factory=list)


@cache
def templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("generator", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


class GeneratorBug(RuntimeError):
    """An emitted statement failed the self-check: a bug in a target, not in schema.yaml."""


class Target:
    name = "base"
    title = "base"
    dialect = "postgres"
    template = "schema.sql.j2"
    type_map: dict[str, str] = {}

    # -- naming ----------------------------------------------------------------------------
    @property
    def path(self) -> str:
        return f"sql/{self.name}/schema.sql"

    def quote(self, name: str) -> str:
        """The one place identifiers are written; validated names never need quotes."""
        return quote_identifier(name, self.dialect)

    def quote_all(self, names) -> str:
        return ", ".join(self.quote(n) for n in names)

    def literal(self, text: str) -> str:
        return exp.Literal.string(text).sql(self.dialect)

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

    def check_sql(self, check: Check) -> str:
        expression = transpile(check.expression, self.dialect)
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
            out.append(
                Statement(
                    f"CREATE {unique}INDEX {self.quote(index.name)} ON "
                    f"{self.quote(table.name)} ({self.quote_all(index.columns)});"
                )
            )
        return out

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
        return [
            TableBlock(
                table=t,
                comments=self.table_comments(t),
                items=self.table_items(schema, t),
                suffix=self.table_suffix(t),
                after=self.after_table(schema, t),
            )
            for t in schema.tables
        ]

    def render_block(self, block: TableBlock) -> str:
        return (
            templates()
            .get_template("create_table.sql.j2")
            .render(block=block, name=self.quote(block.table.name))
        )

    def render(self, schema: Schema, *, self_check: bool = True) -> str:
        """The target's DDL. With self_check, every statement is parsed back with sqlglot
        (about half the run time; `check` and the tests always do it)."""
        blocks = self.blocks(schema)
        preamble, epilogue = self.preamble(schema), self.epilogue(schema)
        text = (
            templates()
            .get_template(self.template)
            .render(
                header=self.header(schema),
                preamble=preamble,
                tables=[self.render_block(b) for b in blocks],
                epilogue=epilogue,
            )
        )
        if self_check:
            statements = [Statement(self.create_sql(b)) for b in blocks]
            statements += [s for b in blocks for s in b.after] + preamble + epilogue
            self.self_check(statements, text)
        self.load_check(text)
        return text

    def create_sql(self, block: TableBlock) -> str:
        items = ", ".join(sql for sql, _ in block.items)
        return f"CREATE TABLE {self.quote(block.table.name)} ({items}){block.suffix};"

    def load_check(self, text: str) -> None:
        """Checks cheap enough for every run (a target may load the text into an engine)."""
        if not text.endswith(";\n"):
            raise GeneratorBug(f"{self.path}: the last statement must end with ';'")

    def self_check(self, statements: list[Statement], text: str) -> None:
        """Parse every statement back: a guard against emitting broken SQL."""
        sqlglot_logger = logging.getLogger("sqlglot")
        level = sqlglot_logger.level
        sqlglot_logger.setLevel(logging.ERROR)
        try:
            for statement in statements:
                # COMMENT ON is one fixed shape around literal() and quote(); parsing its long
                # string literals was half the cost of `make sql`, for no protection.
                if statement.opaque or statement.sql.startswith("COMMENT ON "):
                    continue
                try:
                    tree = sqlglot.parse_one(statement.sql, read=self.dialect)
                except sqlglot.errors.ParseError as exc:
                    raise GeneratorBug(
                        f"{self.path}: does not parse: {statement.sql}\n{exc}"
                    ) from None
                if tree is None:
                    raise GeneratorBug(f"{self.path}: empty statement: {statement.sql!r}")
        finally:
            sqlglot_logger.setLevel(level)


@lru_cache(maxsize=8192)
def quote_identifier(name: str, dialect: str) -> str:
    return exp.to_identifier(name).sql(dialect)


@lru_cache(maxsize=4096)
def transpile(expression: str, dialect: str) -> str:
    """A CHECK expression (PostgreSQL syntax) in another dialect; cached across targets."""
    return sqlglot.transpile(expression, read="postgres", write=dialect)[0]


@lru_cache(maxsize=8192)
def parse_problem(sql: str, dialect: str) -> str | None:
    """Why sqlglot cannot parse a statement, or None; cached since targets share statements."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.ParseError as exc:
        return f"does not parse ({exc})"
    return None if tree is not None else "empty statement"


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
