"""The performance page and the README's figures are rendered from bench/results.json:
committed together, they must match what the renderer makes of the committed results."""

from __future__ import annotations

import json

import pytest

from bench import report

RESULTS = report.ROOT / "bench" / "results.json"


@pytest.fixture(scope="module")
def results():
    return json.loads(RESULTS.read_text(encoding="utf-8"))


def test_performance_page_is_rendered_from_the_results(results):
    page = (report.ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    assert page == report.render(results), (
        "docs/performance.md differs from bench/results.json: run `python -m bench.report`"
    )


def test_readme_figures_come_from_the_same_results(results):
    readme = report.README.read_text(encoding="utf-8")
    assert readme == report.with_readme_block(readme, results), (
        "README.md's performance figures differ from bench/results.json: run "
        "`python -m bench.report`"
    )


def test_readme_block_names_the_machine_and_states_ratios(results):
    block = report.readme_block(results)
    assert results["machine"]["cpu_model"] in block
    assert "×" in block
    assert "k samples/s" not in block  # no absolute rate without its machine


def test_missing_markers_are_an_error(results):
    with pytest.raises(ValueError, match="markers"):
        report.with_readme_block("# README without markers\n", results)


def test_page_follows_a_changed_result(results):
    """A number on the page comes from the results: change one and the text changes."""
    changed = json.loads(json.dumps(results))
    run = next(r for r in changed["runs"] if r["engine"] == "sqlite" and not r.get("variant"))
    run["load"]["rows_per_second"] = 12_345
    run["load"]["seconds"] *= 3
    assert report.render(changed) != report.render(results)


def test_page_without_runs_renders(results):
    """A section whose results are missing must not crash the page."""
    empty = json.loads(json.dumps(results))
    empty["runs"] = []
    page = report.render(empty)
    assert page.startswith("#")


def test_storage_advice_follows_the_generated_ddl(tmp_path, monkeypatch, results):
    """The page may only advise storing test_started_at while the DDL does not yet."""
    done, todo = tmp_path / "done.sql", tmp_path / "todo.sql"
    done.write_text("CREATE TABLE t (test_started_at timestamptz);\n")
    todo.write_text("CREATE TABLE t (test_time_second double precision);\n")
    assert report.timescale_ddl_stores_started_at(done)
    assert not report.timescale_ddl_stores_started_at(todo)
    real = report.timescale_ddl_stores_started_at
    monkeypatch.setattr(report, "timescale_ddl_stores_started_at", lambda: real(todo))
    assert "It is not the generated DDL yet" in report.render(results)
    monkeypatch.setattr(report, "timescale_ddl_stores_started_at", lambda: real(done))
    assert "It is not the generated DDL yet" not in report.render(results)
