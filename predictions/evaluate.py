"""Evaluation: per model run and split, and per cell (per pack for a run on a set of pack
sessions), the count of predictions with a label,
their mean absolute error, root-mean-square error and largest absolute error. One query, the
same text on every engine but for how a value is widened to double precision (ClickHouse's
CAST of a NULL to a type that is not Nullable fails: toFloat64 there). It is a query of this
room and not a view: a view would belong in schema.yaml (docs/modelling.md says so)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from export.read import open_source

# {e}: the error, each value widened to double precision (PostgreSQL and ClickHouse
# store `real` in 4 bytes)
QUERY = """
SELECT p.run_id, p.split, {cell} COUNT(*), AVG(ABS({e})), AVG({e} * {e}), MAX(ABS({e}))
FROM prediction p{join}
WHERE p.true_value IS NOT NULL{runs}
GROUP BY p.run_id, p.split{cell_group}
ORDER BY p.run_id, p.split{cell_group}
"""


@dataclass(frozen=True)
class Score:
    run_id: int
    split: str
    cell_id: int | None  # None: the whole split (or a pack)
    count: int
    mae: float
    rmse: float
    max_error: float
    pack_id: int | None = None  # per asset: the pack of a run on pack sessions


def query(kind: str, per_cell: bool, runs: int = 0) -> str:
    """The evaluation query as `kind` (sqlite, postgres, clickhouse) runs it; `runs`
    placeholders for run ids (0: every run)."""
    widen = "toFloat64" if kind == "clickhouse" else "_double"
    text = QUERY.format(
        e=f"({widen}(p.predicted_value) - {widen}(p.true_value))",
        cell="s.cell_id, s.pack_id," if per_cell else "",
        join=" JOIN test_session s ON s.session_id = p.session_id" if per_cell else "",
        runs=f" AND p.run_id IN ({', '.join(['%s'] * runs)})" if runs else "",
        cell_group=", s.cell_id, s.pack_id" if per_cell else "",
    )
    if kind != "clickhouse":  # CAST(x AS DOUBLE PRECISION): SQLite and PostgreSQL alike
        import re

        text = re.sub(r"_double\((p\.\w+)\)", r"CAST(\1 AS DOUBLE PRECISION)", text)
    return " ".join(text.split())


def evaluate(db: str, runs: list[int] | None = None, per_cell: bool = False) -> list[Score]:
    with open_source(db) as source:
        rows = source.query(query(source.kind, per_cell, len(runs or [])), list(runs or []))
    out = []
    for r in rows:
        run_id, split, *rest = r
        cell = pack = None
        if per_cell:  # a session runs on a cell or on a pack, never both
            cell, pack = (None if v is None else int(v) for v in (rest.pop(0), rest.pop(0)))
        count, mae, mse, worst = rest
        out.append(
            Score(
                int(run_id),
                split,
                cell,
                int(count),
                float(mae),
                math.sqrt(float(mse)),
                float(worst),
                pack,
            )
        )
    return out
