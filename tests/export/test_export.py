"""The loop on real engines: the same cells loaded and derived into SQLite, PostgreSQL 18 and
TimescaleDB (tests/export/scenario.py), then the per-cycle and per-sample training sets
exported, predictions imported and evaluated, and a session written as BDF and loaded back:
the same rows and the same numbers on every engine (within float4 rounding: PostgreSQL stores
`real` in 4 bytes, SQLite in 8). ClickHouse: test_export_clickhouse.py."""

from __future__ import annotations

import contextlib

import pytest

from tests.export.compare import same
from tests.export.scenario import error_of, run
from tests.support.dbkit import fresh_urls, row_engine_names

pytestmark = pytest.mark.engines

ENGINES = row_engine_names()


@pytest.fixture(scope="module")
def results(request, tmp_path_factory):
    found = {}
    with contextlib.ExitStack() as stack:
        for name, url, tmp in fresh_urls(request, tmp_path_factory, stack, "export"):
            found[name] = run(url, tmp)
    return found


@pytest.mark.parametrize(
    "what",
    ["soh_rows", "soh_columns", "split", "soc_rows", "soc_count", "metrics", "scores",
     "cell_scores", "run_split", "bdf_rows", "bdf_header", "soc_run", "soc_scores",
     "soc_recorded_at"],
)  # fmt: skip
def test_every_engine_gives_the_same_export_predictions_and_evaluation(results, what):
    reference = results["sqlite"][what]
    assert reference, what
    for name, out in results.items():
        assert same(out[what], reference), f"{what}: {name} {out[what]} != sqlite {reference}"
    # the comparison can fail: a value bent by 1e-4 is seen
    if what == "scores":
        bent = [{**s, "mae": s["mae"] + 1e-4} for s in reference]
        assert not same(bent, reference)


def test_fields_carry_the_schemas_units(results):
    units = results["sqlite"]["soh_units"]
    assert units["soh"] == "fraction"
    assert units["discharge_capacity_ah"] == "Ah"
    assert units["ambient_temperature_celsius"] == "degC"


def test_the_split_is_by_whole_cells_and_the_evaluation_has_the_known_error(results):
    out = results["sqlite"]
    side = {}
    for session, _cycle, part, *_ in out["soh_rows"]:
        side.setdefault(session, set()).add(part)
    assert all(len(parts) == 1 for parts in side.values())
    d, d2 = out["ids"]["D"], out["ids"]["D2"]
    assert side[d] == side[d2]  # one cell, two sessions: one side
    cells = out["split"]["cells"]
    assert not set(cells["train"]) & set(cells["test"]) and cells["test"]
    # the fake model's error per cycle is known: the evaluation finds it
    errors = [abs(error_of(c)) for _s, c, *_ in out["soh_rows"]]
    total = next(s for s in out["scores"] if s["split"] == "test")["count"]
    total += next(s for s in out["scores"] if s["split"] == "train")["count"]
    assert total == len(errors)
    worst = max(s["max_error"] for s in out["scores"])
    assert abs(worst - max(errors)) < 1e-5


def test_the_leakage_warning_names_discharge_capacity_with_its_r(results):
    warnings = results["sqlite"]["soh_warnings"]
    line = next(w for w in warnings if w.startswith("warning: discharge_capacity_ah "))
    assert "r = 1.0000 over 20 rows" in line and "--drop discharge_capacity_ah" in line
    assert not any("temperature" in w for w in warnings)


def test_the_bdf_file_loads_back_into_the_same_samples(results):
    for name, out in results.items():
        assert out["bdf_same"], name
        assert out["bdf_samples"] == out["bdf_rows"] > 1000, name
    assert results["sqlite"]["bdf_header"].startswith('"Test Time / s","Voltage / V"')


def test_soc_predictions_link_to_their_samples(results):
    for name, out in results.items():
        rows, metrics = out["soc_run"]
        assert rows == out["soc_recorded_at"] > 100, name  # recorded_at copied from the sample
        assert abs(metrics["test"]["mae"] - 0.005) < 1e-5, (name, metrics)
        (score,) = out["soc_scores"]
        assert score["count"] == rows and abs(score["max_error"] - 0.005) < 1e-5, name
