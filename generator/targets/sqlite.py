"""SQLite: STRICT tables, inline foreign keys, CHECKs for enums and ranges, WITHOUT ROWID.

SQLite has no COMMENT ON: descriptions become SQL comments beside each column. It has no
timestamp type: timestamptz becomes REAL Unix seconds (UTC by definition). JSON is TEXT with a
json_valid() CHECK; boolean is INTEGER restricted to 0 and 1.
"""

from __future__ import annotations

from datetime import datetime

from ..model import Check, Column, ForeignKey, Node, Schema, Table, json_check
from .base import GeneratorBug, Statement, Target
from .postgres import time_copy_notes

# Keywords SQLite refuses as a table, column, constraint or index name unquoted, or reads as
# something else in an expression (CURRENT_DATE); tests/engines/test_sqlite_catalog.py checks
# the list against the engine in use.
SQLITE_RESERVED = frozenset(
    """add all alter and as autoincrement between case cast check collate commit constraint
    create current_date current_time current_timestamp default deferrable delete distinct drop
    else escape except exists foreign from group having if in index insert intersect into is
    isnull join limit not nothing notnull null on or order primary raise references returning
    select set table then to transaction union unique update using values when where""".split()
)


class SqliteTarget(Target):
    name = "sqlite"
    title = "SQLite"
    dialect = "sqlite"
    versions = "SQLite 3.37 or newer (STRICT tables)"
    max_identifier_bytes = None  # SQLite keeps names of any length
    reserved_words = SQLITE_RESERVED
    # A column of these names would hide the rowid of a rowid table.
    system_columns = frozenset({"rowid", "oid", "_rowid_"})
    reserved_prefixes = ("sqlite_",)  # "object name reserved for internal use"
    max_columns = 2000  # SQLITE_MAX_COLUMN
    type_map = {
        "smallint": "INTEGER",
        "integer": "INTEGER",
        "bigint": "INTEGER",
        "real": "REAL",
        "double": "REAL",
        "text": "TEXT",
        "boolean": "INTEGER",
        "timestamptz": "REAL",
        "json": "TEXT",
    }

    def migration_writer(self):
        from .migrations.sqlite import SqliteWriter

        return SqliteWriter(self)

    def default_sql(self, column: Column) -> str:
        if isinstance(column.default, bool):
            return "1" if column.default else "0"
        if column.type == "timestamptz":  # REAL Unix seconds, like every stored time here
            seconds = datetime.fromisoformat(str(column.default)).timestamp()
            return repr(seconds)
        return super().default_sql(column)

    def column_comment(self, table: Table, column: Column) -> str | None:
        extras = []
        if column.unit:
            extras.append(column.unit)
        if column.type == "timestamptz":
            extras.append("Unix seconds, UTC")
        if column.identity:
            extras.append("rowid alias, assigned automatically")
        text = column.description
        return f"{text} [{'; '.join(extras)}]" if extras else text

    def foreign_key_comment(self, fk: ForeignKey) -> str | None:
        return f"ON DELETE {fk.on_delete.upper()}: {fk.why}"

    def check_comment(self, check: Check) -> str | None:
        return check.description

    def checks(self, table: Table) -> list[Check]:
        """The model's checks plus the ones that stand in for PostgreSQL types."""
        out = list(table.checks)
        for column in table.columns:
            if column.type == "boolean":
                tree = Node(
                    "in",
                    [
                        Node("column", value=column.name),
                        Node("number", value="0"),
                        Node("number", value="1"),
                    ],
                )
                out.append(
                    Check(
                        self.generated_name(f"ck_{table.name}_{column.name}_bool"),
                        self.expression_sql(tree),
                        f"{column.name} is 0 or 1.",
                        kind="boolean",
                        column=column.name,
                        tree=tree,
                    )
                )
            elif column.type == "json":
                # json_valid(NULL) is 0 before SQLite 3.45, so a nullable column says so.
                name = self.quote(column.name)
                test = f"json_valid({name})"
                out.append(
                    json_check(
                        self.generated_name(f"ck_{table.name}_{column.name}_json"),
                        column.name,
                        f"{name} IS NULL OR {test}" if column.nullable else test,
                    )
                )
        return out

    def without_rowid(self, table: Table) -> bool:
        """A table keyed by its own columns (no identity) stores rows in the key's b-tree:
        one structure instead of a rowid table plus a unique index."""
        return not any(c.identity for c in table.columns)

    def table_suffix(self, table: Table) -> str:
        return " STRICT, WITHOUT ROWID" if self.without_rowid(table) else " STRICT"

    def preamble(self, schema: Schema) -> list[Statement]:
        return [Statement("PRAGMA foreign_keys = ON;")]

    def epilogue(self, schema: Schema) -> list[Statement]:
        return self.version_record(schema)  # the schema version, where dbmate keeps it

    def self_check(self, text: str, expected: int, statements: list[Statement]) -> None:
        """SQLite's own parser: split the emitted text where SQLite sees a statement end and
        prepare each statement in an in-memory database (load_check then runs them all)."""
        import sqlite3  # only a run that writes SQLite DDL needs it

        connection = sqlite3.connect(":memory:")
        count, buffer = 0, ""
        try:
            for line in text.splitlines(keepends=True):
                buffer += line
                if sqlite3.complete_statement(buffer):
                    try:
                        connection.execute(buffer)
                    except sqlite3.Error as exc:
                        raise GeneratorBug(
                            f"{self.path}: SQLite rejects statement {count + 1}: {exc}"
                        ) from None
                    count, buffer = count + 1, ""
        finally:
            connection.close()
        if buffer.strip() or count != expected:
            raise GeneratorBug(
                f"{self.path}: SQLite reads {count} statements, {expected} were emitted"
            )

    def load_check(self, text: str) -> None:
        """Run the whole file in an in-memory SQLite with foreign keys on: cheap and real."""
        super().load_check(text)
        import sqlite3

        connection = sqlite3.connect(":memory:")
        try:
            connection.executescript(text)
        except sqlite3.Error as exc:
            raise GeneratorBug(f"{self.path}: SQLite rejects the DDL: {exc}") from None
        finally:
            connection.close()

    def load_hint(self) -> str:
        return f"sqlite3 battery.db < {self.path}"

    def load_command(self, file: str) -> str:
        return f"sqlite3 battery.db < {file}\n# then on every connection: PRAGMA foreign_keys = ON;"

    def header_notes(self) -> list[str]:
        return [
            "IMPORTANT: SQLite enforces foreign keys only when each connection runs",
            "    PRAGMA foreign_keys = ON;",
            "Run it on every connection (the line below only covers the loading session).",
            "",
            "Types: timestamptz columns hold REAL Unix seconds (UTC); json columns hold TEXT "
            "checked by json_valid(); integers of every width are INTEGER; real and double "
            "precision are both REAL (8 bytes).",
        ]

    def limitations(self, schema: Schema) -> list[str]:
        return [
            "  - No COMMENT ON: descriptions are the SQL comments beside each column.",
            "  - No timestamp type and no time zones: store Unix seconds (UTC) on ingest.",
            "  - Column widths (smallint/integer/bigint, real/double) are not enforced.",
            *(
                ["  - The timescaledb: options apply only to sql/timescaledb/schema.sql."]
                if schema.hypertables
                else []
            ),
            *time_copy_notes(schema),
        ]
