"""Splits that cannot leak: whole cells (the default) or whole operating-condition groups
(a session's ambient temperature and charge and discharge C-rates) go to train, validation or
test, never single cycles or samples; drawn deterministically from a seed (Python's
random.Random(seed) shuffling the sorted keys), or given explicitly. A split in which one cell
would be on two sides (a cell tested under two conditions that fall on different sides, or a
cell named in two parts of a given split) is refused with the cell and its sessions. In a set
of pack sessions (--asset pack) the pack is what a cell is here: `--split cell` draws whole
packs, and the spec lists them under "packs"."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from .errors import LEAK, USAGE, ExportError

if TYPE_CHECKING:
    from .training import Request

PARTS = ("train", "validation", "test")
BY = ("cell", "condition", "none")


def condition(row: tuple) -> list:
    """The operating-condition group of a session row (cell, session, T, C charge, C discharge)."""
    return [None if v is None else float(v) for v in row[2:5]]


def _said(group: list) -> str:
    t, c, d = group
    return f"{t:g} degC, {c:g}C/{d:g}C" if None not in group else json.dumps(group)


@dataclass
class Split:
    by: str
    seed: int | None
    parts: dict[str, list] = field(default_factory=dict)  # part -> its keys
    cells: dict[int, str] = field(default_factory=dict)  # cell (or pack) -> its part
    asset: str = "cell"  # what `cells` holds: cell or pack ids

    def spec(self) -> dict[str, Any]:
        out: dict[str, Any] = {"by": self.by}
        if self.seed is not None:
            out["seed"] = self.seed
        if self.by != "none":
            out.update({p: self.parts.get(p, []) for p in PARTS})
            out[f"{self.asset}s"] = {
                p: sorted(c for c, s in self.cells.items() if s == p) for p in PARTS
            }
        return out

    def sides(self) -> dict[int, str]:
        return self.cells

    def column(self, batch: pa.RecordBatch, side: dict[int, str]) -> pa.Array:
        """The part of each row's cell (null when the split is none), without a Python loop."""
        if not side:
            return pa.nulls(batch.num_rows, pa.string())
        import pyarrow.compute as pc

        own = batch.column(f"{self.asset}_id")
        cells = pa.array(list(side), own.type)
        parts = pa.array(list(side.values()), pa.string())
        return parts.take(pc.index_in(own, value_set=cells))


def _draw(keys: list, request: Request) -> dict[str, list]:
    keys = sorted(keys, key=lambda k: json.dumps(k))
    n = len(keys)
    n_test = max(1, round(request.test_fraction * n)) if request.test_fraction > 0 else 0
    n_val = max(1, round(request.validation_fraction * n)) if request.validation_fraction > 0 else 0
    if n - n_test - n_val < 1:
        what = f"{request.asset}s" if request.split == "cell" else "operating-condition groups"
        raise ExportError(
            f"--split {request.split}: {n} {what} cannot give a training part beside "
            f"{n_test} for test and {n_val} for validation: add {what}, lower "
            "--test-fraction / --validation-fraction, or export with --split none",
            USAGE,
        )
    shuffled = list(keys)
    random.Random(request.seed).shuffle(shuffled)
    test, val = shuffled[:n_test], shuffled[n_test : n_test + n_val]
    train = shuffled[n_test + n_val :]
    order = {json.dumps(k): i for i, k in enumerate(keys)}
    return {
        p: sorted(v, key=lambda k: order[json.dumps(k)])
        for p, v in (("train", train), ("validation", val), ("test", test))
    }


def _given(spec: dict, by: str) -> dict[str, list]:
    if spec.get("by", by) != by:
        raise ExportError(f"the split spec says by {spec.get('by')!r}, --split says {by}", USAGE)
    parts = {p: list(spec.get(p) or []) for p in PARTS}
    seen: dict[str, str] = {}
    for p, keys in parts.items():
        for k in keys:
            if json.dumps(k) in seen and seen[json.dumps(k)] != p:
                raise ExportError(
                    f"the split leaks: {by} {json.dumps(k)} is in both {seen[json.dumps(k)]} and "
                    f"{p}: each {by} belongs to one part only",
                    LEAK,
                )
            seen[json.dumps(k)] = p
    return parts


def plan_split(rows: list[tuple], request: Request) -> Split:
    """rows: (cell_id, session_id, T, charge C, discharge C) of every session in the set
    (pack_id first in a set of packs)."""
    by = request.split
    if by not in BY:
        raise ExportError(f"--split {by}: choose {', '.join(BY)}", USAGE)
    asset = request.asset
    if by == "none":
        return Split("none", None, asset=asset)
    spec = request.split_spec
    key_of = (lambda r: r[0]) if by == "cell" else condition
    keys = {json.dumps(key_of(r)): key_of(r) for r in rows}
    parts = _given(spec, by) if spec is not None else _draw(list(keys.values()), request)
    part_of = {json.dumps(k): p for p, ks in parts.items() for k in ks}
    missing = sorted(k for k in keys if k not in part_of)
    if missing:
        raise ExportError(
            f"the split names no part for {by} {', '.join(missing)}: list every {by} of the "
            "set in train, validation or test",
            USAGE,
        )
    cells: dict[int, str] = {}
    where: dict[int, dict[str, list]] = {}
    for r in rows:
        part = part_of[json.dumps(key_of(r))]
        where.setdefault(r[0], {}).setdefault(part, []).append(r)
        cells[r[0]] = part
    for cell, sides in sorted(where.items()):
        if len(sides) > 1:
            said = "; ".join(
                f"{part}: session {', '.join(str(r[1]) for r in rs)} ({_said(condition(rs[0]))})"
                for part, rs in sides.items()
            )
            raise ExportError(
                f"the split leaks: {asset} {cell} would be on {len(sides)} sides ({said}); "
                f"a model tested on a {asset} it trained on is not tested: split by {asset} "
                f"(--split cell), or filter the set to one condition per {asset}",
                LEAK,
            )
    seed = None if spec is not None else request.seed
    return Split(by, seed, {p: parts.get(p, []) for p in PARTS}, cells, asset)
