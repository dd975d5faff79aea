"""ClickHouse migrations in chdb: the files applied as dbmate's ClickHouse driver applies them,
and the catalog and rows of a chdb database to compare a migrated one with a fresh build.

dbmate needs a ClickHouse server and chdb is the engine in process, so this applier stands in
for dbmate here and does what dbmate 2.36 does (pkg/dbmate/db.go, pkg/driver/clickhouse):
a file is split into sections at each `-- migrate:up`; on migrate each section's up block is
sent as one query (ClickHouse refuses two statements in one), then the version is inserted into
`schema_migrations` (ReplacingMergeTree(ts), dbmate's own table); on rollback each section's
down block runs, then the version is inserted with applied = 0. A block with more than one
statement is an error here as on a server.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from generator.sqltext import split_statements
from generator.targets import TARGETS
from tests.migrate.machinery import snapshot

UP = re.compile(r"(?m)^--\s*migrate:up(\s*$|\s+\S+)")
DOWN = re.compile(r"(?m)^--\s*migrate:down(\s*$|\s+\S+)")
MIGRATIONS_TABLE = """create table if not exists schema_migrations (
    version String,
    ts DateTime default now(),
    applied UInt8 default 1
) engine = ReplacingMergeTree(ts)
primary key version
order by version"""


class ChdbMigrationError(Exception):
    """A statement of a migration failed: the file, the section and ClickHouse's message."""


def sections(text: str) -> list[tuple[str, str]]:
    """(up block, down block) of each section, in file order, as dbmate parses them."""
    starts = [m.start() for m in UP.finditer(text)]
    if (
        not starts
        or text[: starts[0]].strip("\n")
        and any(
            line.strip() and not line.lstrip().startswith("--")
            for line in text[: starts[0]].splitlines()
        )
    ):
        raise ValueError("a statement before the first '-- migrate:up'")
    out = []
    for i, start in enumerate(starts):
        section = text[start : starts[i + 1] if i + 1 < len(starts) else len(text)]
        down = DOWN.search(section)
        if down is None:
            raise ValueError(f"section {i + 1} has no '-- migrate:down'")
        out.append((section[: down.start()], section[down.start() :]))
    return out


class Chdb:
    """One database of the process's chdb session, with dbmate's bookkeeping."""

    def __init__(self, session, database: str):
        self.session = session
        self.database = database

    def use(self) -> None:
        self.session.query(f"USE {self.database}")

    def run(self, text: str, fmt: str = "CSV"):
        self.use()
        return self.session.query(text, fmt)

    def rows(self, text: str) -> list[tuple]:
        data = json.loads(self.run(text, "JSONCompact").bytes() or b'{"data": []}')
        return [tuple(r) for r in data["data"]]

    def build(self, schema, target: str = "clickhouse") -> None:
        """A fresh database holding `schema` as the target's DDL writes it."""
        self.session.query(f"DROP DATABASE IF EXISTS {self.database} SYNC")
        self.session.query(f"CREATE DATABASE {self.database}")
        for statement in split_statements(TARGETS[target].render(schema, self_check=False)):
            self.run(statement)

    def drop(self) -> None:
        self.session.query(f"DROP DATABASE IF EXISTS {self.database} SYNC")

    # -- dbmate, as its ClickHouse driver does it ----------------------------------------------
    def applied(self) -> list[str]:
        self.run(MIGRATIONS_TABLE)
        return [
            r[0]
            for r in self.rows(
                "select version from schema_migrations final where applied order by version"
            )
        ]

    def _block(self, path: Path, index: int, block: str) -> None:
        body = "\n".join(
            line for line in block.splitlines()[1:] if line.strip()
        )  # the directive line off
        statements = [s for s in split_statements(body) if s.strip()]
        if len(statements) != 1:
            raise ChdbMigrationError(
                f"{path.name}: section {index}: {len(statements)} statements; ClickHouse takes "
                "one per query"
            )
        try:
            self.run(block)
        except Exception as exc:  # chdb raises RuntimeError with ClickHouse's message
            raise ChdbMigrationError(f"{path.name}: section {index}: {exc}") from None

    def migrate(self, folder: Path) -> list[str]:
        """Apply every file not yet applied, in version order; the versions applied."""
        done = set(self.applied())
        out = []
        for path in sorted(folder.glob("*.sql")):
            version = path.name.split("_", 1)[0]
            if version in done:
                continue
            for i, (up, _) in enumerate(sections(path.read_text(encoding="utf-8")), 1):
                self._block(path, i, up)
                self.run(f"insert into schema_migrations (version) values ('{version}')")
            out.append(version)
        return out

    def rollback(self, folder: Path) -> str:
        """Run the down blocks of the latest applied file; its version."""
        version = self.applied()[-1]
        path = next(folder.glob(f"{version}_*.sql"))
        for i, (_, down) in enumerate(sections(path.read_text(encoding="utf-8")), 1):
            self._block(path, i, down)
            self.run(f"insert into schema_migrations (version, applied) values ('{version}', 0)")
        return version

    # -- what to compare -----------------------------------------------------------------------
    def catalog(self) -> dict:
        """Tables (engine, keys, comment), columns (position, type, default, comment, codec),
        CHECK constraints by name and data-skipping indexes, schema_migrations left out."""
        db = self.database
        tables = self.rows(
            "SELECT name, engine, sorting_key, primary_key, partition_key, comment, "
            f"create_table_query FROM system.tables WHERE database = '{db}' "
            "AND name != 'schema_migrations' ORDER BY name"
        )
        columns: dict[str, list] = {}
        for table, *column in self.rows(
            "SELECT table, position, name, type, default_kind, default_expression, comment, "
            f"compression_codec FROM system.columns WHERE database = '{db}' "
            "ORDER BY table, position"
        ):
            columns.setdefault(table, []).append(column)
        indexes: dict[str, list] = {}
        for table, *index in self.rows(
            "SELECT table, name, type, expr, granularity FROM system.data_skipping_indices "
            f"WHERE database = '{db}' ORDER BY table, name"
        ):
            indexes.setdefault(table, []).append(index)
        return {
            name: {
                "engine": engine,
                "keys": (sorting, primary, partition),
                "comment": comment,
                "columns": columns.get(name, []),
                "checks": sorted(constraints(create)),
                "indexes": indexes.get(name, []),
            }
            for name, engine, sorting, primary, partition, comment, create in tables
        }

    def snapshot(self, schema) -> dict:
        """Every row of every table of `schema`, columns in name order (as machinery.snapshot)."""
        return snapshot(self.rows, schema)


_CONSTRAINT = re.compile(r"CONSTRAINT (\S+) CHECK ")


def constraints(create: str) -> set[tuple[str, str]]:
    """(name, expression) of each CHECK in a CREATE TABLE text as system.tables keeps it."""
    found = set()
    matches = list(_CONSTRAINT.finditer(create))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else create.index(") ENGINE")
        found.add((match.group(1), create[match.end() : end].rstrip(", ")))
    return found
