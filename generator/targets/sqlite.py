"""SQLite: STRICT tables, inline foreign keys, CHECKs for enums and ranges, WITHOUT ROWID.

SQLite has no COMMENT ON: descriptions become SQL comments beside each column. It has no
timestamp type: timestamptz becomes REAL Unix seconds (UTC by definition). JSON is TEXT with a
json_valid() CHECK; boolean is INTEGER restricted to 0 and 1.
"""

from __future__ import annotations

from ..model import Check, Column, ForeignKey, Schema, Table, json_check
from .base import Statement, Target
from .postgres import time_copy_notes


class SqliteTarget(Target):
    name = "sqlite"
    title = "SQLite"
    dialect = "sqlite"
    versions = "SQLite 3.37 or newer (STRICT tables)"
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

    def default_sql(self, column: Column) -> str:
        if isinstance(column.default, bool):
            return "1" if column.default else "0"
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
                out.append(
                    Check(
                        f"ck_{table.name}_{column.name}_bool",
                        f"{column.name} IN (0, 1)",
                        f"{column.name} is 0 or 1.",
                        kind="boolean",
                        column=column.name,
                    )
                )
            elif column.type == "json":
                out.append(json_check(table.name, column.name, "json_valid"))
        return out

    def check_sql(self, check: Check) -> str:
        if check.kind == "json":  # SQLite-only function: written directly, not transpiled
            return f"CONSTRAINT {self.quote(check.name)} CHECK ({check.expression})"
        return super().check_sql(check)

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

    def self_check(self, statements, text):
        # sqlglot cannot parse STRICT / WITHOUT ROWID tables; load_check runs them for real.
        super().self_check(
            [s for s in statements if "WITHOUT ROWID" not in s.sql and " STRICT" not in s.sql],
            text,
        )

    def load_check(self, text: str) -> None:
        """Run the whole file in an in-memory SQLite with foreign keys on: cheap and real."""
        import sqlite3

        from .base import GeneratorBug

        super().load_check(text)
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
