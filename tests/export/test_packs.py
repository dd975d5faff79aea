"""Pack sessions (test_session.pack_id, no cell) in training sets (docs/modelling.md, Pack
sessions): a set holds one kind of asset. A set of cells (the default) leaves the packs out
with a warning naming them, and is refused in one line when its filters select packs alone,
nothing written; a set of packs (--asset pack) is keyed by the pack, carries the pack's
chemistry, splits whole packs, leaves the cells out with a warning, and its predictions
import and evaluate per pack. One cell and two pack sessions (tests/export/packs.py) on
SQLite, PostgreSQL 18, TimescaleDB and ClickHouse (in a child process: chdb holds one engine
per process), every engine giving SQLite's rows and numbers."""

from __future__ import annotations

import contextlib
import json

import pytest

from tests.export.compare import same
from tests.export.packs import PACKS, run
from tests.support.chkit import chdb_child
from tests.support.dbkit import fresh_urls

pytestmark = [pytest.mark.engines, pytest.mark.slow]  # three engines load and derive: 13 s

CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.export.packs import run
print(json.dumps(run({url!r}, Path({tmp!r})), default=str))
"""


@pytest.fixture(scope="module")
def results(request, tmp_path_factory):
    found = {}
    with contextlib.ExitStack() as stack:
        for name, url, tmp in fresh_urls(request, tmp_path_factory, stack, "packs"):
            found[name] = json.loads(json.dumps(run(url, tmp), default=str))
    return found


@pytest.fixture(scope="module")
def clickhouse(tmp_path_factory):
    return chdb_child(tmp_path_factory, "packs", CHILD)


def test_a_set_of_cells_refuses_packs_alone_and_leaves_them_out_beside_cells(results):
    for name, r in results.items():
        ids = r["ids"]
        for task in ("soh", "soc"):
            code, lines = r[f"refused_{task}"]
            assert code == 1 and len(lines) == 1, (name, task, lines)
            assert lines[0].startswith(
                f"error: nothing to export: --session {ids['pack51']} selects pack session(s) "
                f"{ids['pack51']} (pack {PACKS[0]}) alone; a training set holds one kind of "
                "asset, and this one holds cells"
            ), (name, lines)
            assert "--asset pack" in lines[0]
        assert r["refused_files"] == [], name  # nothing written, not even the description
        assert r["cells_sessions"] == [ids["cell"]], name
        (said,) = r["cells_left_out"]
        assert said.startswith(
            f"left out pack session(s) {ids['pack51']} (pack {PACKS[0]}), "
            f"{ids['pack52']} (pack {PACKS[1]})"
        ), (name, said)


def test_a_set_of_packs_is_keyed_by_pack_and_split_by_whole_packs(results):
    for name, r in results.items():
        ids = r["ids"]
        code, err = r["pack_with_cell"]
        assert code == 2 and "--cell selects cell sessions" in err, (name, err)
        assert r["pack_columns"] == [
            "pack_id", "session_id", "protocol_name", "protocol_version", "chemistry"
        ], name  # fmt: skip
        assert r["pack_id_field"]["source"] == "battery_pack.pack_id", name
        rows = r["pack_rows"]
        assert {(p, s) for p, s, *_ in rows} == {
            (PACKS[0], ids["pack51"]),
            (PACKS[1], ids["pack52"]),
        }, name
        assert {row[3] for row in rows} == {"LFP"}, name  # the pack's chemistry, not a cell's
        split = r["pack_split"]
        assert "cells" not in split and sorted(sum(split["packs"].values(), [])) == list(PACKS)
        assert sorted(len(v) for v in split["packs"].values()) == [0, 1, 1], name
        part = {p: side for side, ps in split["packs"].items() for p in ps}
        assert all(row[4] == part[row[0]] for row in rows), name  # each pack on one side
        assert r["pack_description"]["asset"] == "pack", name
        warning = r["pack_warnings"][0]  # then the leakage warnings
        assert warning.startswith(f"warning: left out cell session(s) {ids['cell']} (cell "), name
        count, packs = r["pack_soc"]
        assert count > 100 and packs == list(PACKS), name
        assert len(r["pack_soc_left_out"]) == 1, name


def test_predictions_of_a_set_of_packs_import_and_evaluate_per_pack(results):
    for name, r in results.items():
        scores = r["pack_scores"]
        assert {s["pack_id"] for s in scores} == set(PACKS), (name, scores)
        assert all(s["cell_id"] is None for s in scores), name
        assert all(abs(s["mae"] - 0.01) < 1e-5 for s in scores), (name, scores)


@pytest.mark.parametrize(
    "what",
    ["refused_soh", "refused_soc", "cells_sessions", "cells_left_out", "pack_columns",
     "pack_rows", "pack_split", "pack_soc", "pack_metrics", "pack_scores"],
)  # fmt: skip
def test_every_engine_gives_sqlites_pack_sets(results, what):
    reference = results["sqlite"][what]
    assert reference, what
    for name, out in results.items():
        assert same(out[what], reference), f"{what}: {name} {out[what]} != {reference}"


def test_clickhouse_gives_sqlites_pack_sets(results, clickhouse):
    assert clickhouse.returncode == 0, clickhouse.stderr[-3000:]
    clickhouse = json.loads(clickhouse.stdout.strip().splitlines()[-1])
    for what in ("cells_sessions", "pack_columns", "pack_rows", "pack_split", "pack_soc",
                 "pack_metrics", "pack_scores", "refused_soh", "cells_left_out"):  # fmt: skip
        lite = results["sqlite"][what]
        assert same(clickhouse[what], lite), f"{what}: clickhouse {clickhouse[what]} != {lite}"
