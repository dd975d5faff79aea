"""Liam ERD: PostgreSQL DDL shaped for Liam's parser (libpg_query, read in 500-line chunks).

What Liam does with plain PostgreSQL DDL, and what this target does about it:
- It draws a foreign key as one-to-one when any UNIQUE *constraint* of the child contains all
  the key's columns, even a composite one that only includes them. Such constraints are
  written as UNIQUE *indexes* here (same guarantee, not counted by Liam); a truly one-to-one
  key whose uniqueness comes from the primary key gets a UNIQUE constraint of its own.
- It reads the file in chunks of 500 lines and merges them; a COMMENT or CREATE INDEX landing
  in another chunk than its CREATE TABLE loses the comments. Each table's statements are kept
  together and blank lines pad a block that would straddle a chunk boundary into the next.
- It ignores constraint comments, so only table and column comments are written.
"""

from __future__ import annotations

from ..model import ONE_TO_ONE, Schema, Table
from .base import GeneratorBug, Statement
from .postgres import PostgresTarget

CHUNK_LINES = 500  # Liam's CHUNK_SIZE in its PostgreSQL parser


class LiamTarget(PostgresTarget):
    name = "liam"
    title = "Liam ERD"
    versions = "@liam-hq/cli 0.7 (erd build --format postgres)"

    def migration_writer(self) -> None:
        """None: Liam ERD reads the DDL file, there is no database to migrate."""
        return None

    def prose(self, text: str) -> str:
        """Descriptions on one line: Liam reads the file in 500-line chunks (a literal across a
        chunk boundary is lost) and table blocks are padded at blank lines."""
        return super().prose(" ".join(str(text).split()))

    def misleading_uniques(self, table: Table) -> set[str]:
        """Unique constraints Liam would read as making a one-to-many key one-to-one."""
        return {
            u.name
            for u in table.uniques
            for fk in table.foreign_keys
            if fk.cardinality != ONE_TO_ONE and set(fk.columns) <= set(u.columns)
        }

    def unique_constraints(self, table: Table):
        hidden = self.misleading_uniques(table)
        out = [(u.name, u.columns) for u in table.uniques if u.name not in hidden]
        for fk in table.foreign_keys:
            if fk.cardinality == ONE_TO_ONE and not any(
                set(fk.columns) <= set(cols) for _, cols in out
            ):
                out.append((self.generated_name(f"uq_{fk.name}"), fk.columns))
        return out

    def index_statements(self, table: Table) -> list[Statement]:
        hidden = self.misleading_uniques(table)
        out = [
            Statement(
                f"CREATE UNIQUE INDEX {self.quote(u.name)} ON {self.quote(table.name)} "
                f"({self.quote_all(u.columns)});"
            )
            for u in table.uniques
            if u.name in hidden
        ]
        return out + super().index_statements(table)

    def constraint_comment_statements(self, schema: Schema, table: Table) -> list[Statement]:
        return []

    def refusals(self, schema: Schema) -> list[tuple[tuple, str, str]]:
        """A table block longer than one parser chunk cannot be drawn whole."""
        out = super().refusals(schema)
        for block in self.blocks(schema):
            if self.block_lines_at_most(block) < CHUNK_LINES:
                continue  # surely fits: rendering every block here cost a third of validation
            lines = self.render_block(block).count("\n") + 1
            if lines >= CHUNK_LINES:
                out.append(
                    (
                        ("tables", block.table.name),
                        f"the table's DDL is {lines} lines; Liam ERD reads {CHUNK_LINES}-line "
                        "chunks and would lose its comments",
                        "split the table",
                    )
                )
        return out

    @staticmethod
    def block_lines_at_most(block) -> int:
        """An upper bound of the lines render_block gives (base.layout_table): one per
        comment, item and statement after it, plus the line breaks inside them, plus
        CREATE TABLE, the closing line and the final line break, with room to spare. Only
        a block this bound does not clear is rendered to be counted exactly."""
        texts = [
            *block.comments,
            *(sql for sql, _ in block.items),
            *(note for _, note in block.items if note),
            block.suffix,
            *(s.sql for s in block.after),
        ]
        pieces = len(block.comments) + len(block.items) + len(block.after)
        return pieces + sum(t.count("\n") for t in texts) + 3 + 4  # 4: slack

    def finish(self, text: str) -> str:
        return self.pad_to_chunks(text)

    def pad_to_chunks(self, text: str) -> str:
        """Move any table block that would cross a 500-line boundary to the next chunk."""
        blocks = text.split("\n\n")  # layout_file separates table blocks by one blank line
        lines: list[str] = []
        for i, block in enumerate(blocks):
            block_lines = block.split("\n")
            needed = len(block_lines) + (1 if i else 0)
            if len(block_lines) >= CHUNK_LINES:
                raise GeneratorBug(f"a block of {len(block_lines)} lines cannot fit one Liam chunk")
            used = len(lines) % CHUNK_LINES
            if used and used + needed > CHUNK_LINES:
                lines.extend([""] * (CHUNK_LINES - used))
            elif i:
                lines.append("")
            lines.extend(block_lines)
        return "\n".join(lines)

    def epilogue(self, schema: Schema) -> list:
        return []  # the ERD shows the schema only; the version stands in the header

    def load_hint(self) -> str:
        return (
            f"npx @liam-hq/cli erd build --input {self.path} --format postgres "
            "--output-dir erd && npx http-server erd"
        )

    def load_command(self, file: str) -> str:
        return (
            f"npx @liam-hq/cli erd build --input {file} --format postgres --output-dir erd\n"
            "npx http-server erd   # the page loads schema.json, so serve it over HTTP"
        )

    def limitations(self, schema: Schema) -> list[str]:
        return [
            "  - Liam shows tables, columns, keys, foreign keys and table/column comments only: "
            "no CHECK constraints in the diagram, no defaults, no hypertables.",
            "  - Composite unique constraints that include a foreign key are written as unique "
            "indexes, so Liam draws those keys as one-to-many, as they are.",
            "  - Blank lines pad table blocks to Liam's 500-line parser chunks; they are "
            "deliberate.",
            "  - For a database, load sql/postgres/schema.sql instead: this file is for viewing.",
        ]

    def purpose(self) -> list[str]:
        return ["For viewing in Liam ERD; it is valid PostgreSQL too."]
