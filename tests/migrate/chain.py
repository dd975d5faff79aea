"""The released versions of the schema and their committed migrations, for the chain tests:
the frozen copies tests/fixtures/schema_v<N>.yaml (freeze one when schema.yaml moves on), then
schema.yaml once its version has committed migration files; the seed rows
(tests/support/seed.py, written for today's schema) as each older version stores them.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path

from generator import load_schema, migrate
from tests.support.dbkit import ROOT
from tests.support.seed import SEED

FIXTURES = ROOT / "tests" / "fixtures"


@functools.cache
def released() -> list:
    """The model of every released version, oldest first (1, 2, then schema.yaml)."""
    frozen = sorted(FIXTURES.glob("schema_v*.yaml"), key=lambda p: int(p.stem[8:]))
    models = [load_schema(path) for path in frozen]
    assert [m.version for m in models] == list(range(1, len(models) + 1)), frozen
    current = load_schema(ROOT / "schema.yaml")
    committed = {int(p.name[:4]) for p in (ROOT / "sql" / "sqlite" / "migrations").glob("*.sql")}
    if current.version > models[-1].version and current.version in committed:
        models.append(current)
    return models


@functools.cache
def plans() -> list:
    """The plan of each step of the chain: [1 -> 2, 2 -> 3, ...]."""
    models = released()
    return [migrate.diff(a, b) for a, b in zip(models, models[1:], strict=False)]


def seed(version_index: int) -> list[tuple[str, dict]]:
    """The seed rows as released version `version_index` (0: the first) stores them: old table
    and column names, only its tables and columns, enum values renamed back."""
    rows = [(t, dict(r)) for t, r in SEED]
    for plan in reversed(plans()[version_index:]):
        back = plan.renames.inverted()
        values = {
            (table.name, column.name): back.enum_values.get(column.enum or "", {})
            for table in plan.new.tables
            for column in table.columns
        }
        out = []
        for table, row in rows:
            old = plan.old_table(table)
            if old is None:
                continue
            renamed = {}
            for column, value in row.items():
                if isinstance(value, str):
                    value = values.get((table, column), {}).get(value, value)
                renamed[back.column(old.name, column)] = value
            out.append((old.name, {c: v for c, v in renamed.items() if c in old.column_map}))
        rows = out
    return rows


@functools.cache
def folder(target: str, upto: int | None = None) -> Path:
    """A folder with the committed migration files of one target (what dbmate reads), those
    of schema versions up to `upto` (None: all)."""
    out = Path(tempfile.mkdtemp(prefix=f"chain-{target}-"))
    directory = TARGET_FOLDERS.get(target, f"sql/{target}/migrations")
    for path in (ROOT / directory).glob("*.sql"):
        if upto is None or int(path.name[:4]) <= upto:
            shutil.copy(path, out / path.name)
    return out


TARGET_FOLDERS = {"clickhouse-cluster": "sql/clickhouse/migrations-cluster"}
