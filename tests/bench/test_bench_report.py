"""The performance page, the README's figures and docs/loading.md's are rendered from the
bench/*results.json files: committed together, they must match what the renderer makes of the
committed results."""

from __future__ import annotations

import json

import pytest

from bench import files, report

RESULTS = files.RESULTS


@pytest.fixture(scope="module")
def results():
    return json.loads(RESULTS.read_text(encoding="utf-8"))


# A complete earlier run (2026-11-28: TimescaleDB over its size target with the test-time
# experiments run, the warm generator timing in the main run): the advice branches that today's
# results no longer reach are tested against it, so they stay tested whatever a rerun measures.
ARCHIVED = report.ROOT / "tests" / "fixtures" / "bench-results-2026-11-28.json.gz"


@pytest.fixture(scope="module")
def archived():
    import gzip

    return json.loads(gzip.decompress(ARCHIVED.read_bytes()).decode("utf-8"))


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


def test_storage_advice_follows_the_model(monkeypatch, archived):
    """The page may only advise storing test_started_at while the schema does not yet: asked of
    the model (timescaledb: elapsed_as_start), not of the generated SQL."""
    import dataclasses

    from generator import load_schema

    done = load_schema(report.ROOT / "schema.yaml")
    todo = dataclasses.replace(
        done,
        tables=tuple(
            dataclasses.replace(
                t, timescaledb=dataclasses.replace(t.timescaledb, elapsed_as_start=None)
            )
            if t.timescaledb
            else t
            for t in done.tables
        ),
    )
    assert report.timescale_stores_test_start(done)
    assert report.timescale_stores_test_start()  # the checkout's schema.yaml: version 3
    assert not report.timescale_stores_test_start(todo)
    real = report.timescale_stores_test_start
    monkeypatch.setattr(report, "timescale_stores_test_start", lambda: real(todo))
    assert "It is not the generated DDL yet" in report.render(archived)
    monkeypatch.setattr(report, "timescale_stores_test_start", lambda: real(done))
    assert "It is not the generated DDL yet" not in report.render(archived)


# ------------------------------------------------------------------------------ the template
# The page's words are in bench/templates/; every figure and verdict comes from the results.

INGEST = files.INGEST_RESULTS
STARTUP = files.STARTUP_RESULTS


def _copy(value):
    return json.loads(json.dumps(value))


def _sections(page: str) -> dict[str, str]:
    """The page by its `## ` sections: heading -> text."""
    out, heading = {}, "intro"
    for line in page.splitlines(keepends=True):
        if line.startswith("## "):
            heading = line.strip()
        out[heading] = out.get(heading, "") + line
    return out


@pytest.fixture(scope="module")
def ingest():
    return json.loads(INGEST.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def startup_results():
    return json.loads(STARTUP.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def clickhouse():
    return json.loads(files.CLICKHOUSE_RESULTS.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def full(results, ingest, startup_results, clickhouse):
    return _sections(report.render(results, ingest, startup_results, clickhouse))


def test_clickhouse_section_follows_its_results(results, ingest, startup_results, clickhouse):
    heading = "## ClickHouse (python -m bench.clickhouse)"

    def section(ch):
        return _sections(report.render(results, ingest, startup_results, ch))[heading]

    page = section(clickhouse)
    rate = next(line for line in page.splitlines() if line.startswith("| insert, rows per second"))
    assert "**missed**" in rate
    fast = _copy(clickhouse)
    fast["targets"]["rows_per_second"][0] = fast["targets"]["rows_per_second"][1] + 1
    fast["variants"]["generated"]["load"]["rows_per_second"] = 2_345_678
    changed = section(fast)
    rate = next(
        line for line in changed.splitlines() if line.startswith("| insert, rows per second")
    )
    assert "| met |" in rate and "2,345,678" in rate
    scan = _copy(clickhouse)
    scan["variants"]["generated"]["queries"]["cycle"]["full_scan_timeseries_point"] = True
    assert "No query reads the whole" in page
    assert "No query reads the whole" not in section(scan)
    assert "FULL SCAN" in section(scan)


def _target_row(page: str, title: str) -> str:
    return next(line for line in page.splitlines() if line.startswith(f"| {title} |"))


def test_a_result_crossing_its_target_flips_met_and_missed(archived, ingest, startup_results):
    """The status is the measured figure against the target, not a word kept in the file."""
    page = report.render(archived, ingest, startup_results)
    title = archived["targets"][0]["title"]  # SQLite bytes/row, ≤ 67, missed
    assert "**missed**" in _target_row(page, title)
    crossed = _copy(archived)
    target = crossed["targets"][0]
    target["measured"] = target["target"] - 7  # stored "met" and "margin" left stale
    row = _target_row(report.render(crossed, ingest, startup_results), title)
    assert "| met |" in row and "**missed**" not in row
    assert "-7.0 B/row" in row
    # the generator's warm run against its 1 s target
    gen = _target_row(page, "`python -m generator sql` (make sql), warm")
    fast = _copy(archived)
    fast["generator"]["warm_median_seconds"] = fast["generator"]["target_seconds"] - 0.25
    gen_fast = _target_row(
        report.render(fast, ingest, startup_results), "`python -m generator sql` (make sql), warm"
    )
    assert ("**missed**" in gen) != ("**missed**" in gen_fast)
    assert "-0.25 s" in gen_fast
    section = _sections(report.render(fast, ingest, startup_results))["## `make sql`"]
    assert "within the" in section and "over the" not in section


def test_a_changed_number_changes_the_page_text(results, ingest, startup_results):
    changed = _copy(results)
    run = next(r for r in changed["runs"] if r["engine"] == "sqlite" and not r.get("variant"))
    run["load"]["rows_per_second"] = 12_345
    assert "12,345" not in report.render(results, ingest, startup_results)
    assert "12,345" in report.render(changed, ingest, startup_results)
    ingest2 = _copy(ingest)
    ingest2["engines"]["sqlite"]["rows_per_second"] = 543_210
    assert (
        "543,210"
        in _sections(report.render(results, ingest2, startup_results))[
            "## Loading BDF CSV files (python -m ingest)"
        ]
    )


@pytest.mark.parametrize(
    "missing, changed",
    [
        ("ingest", {"## Loading BDF CSV files (python -m ingest)"}),
        ("startup", {"## Generator start-up beside LinkML"}),
        ("clickhouse", {"## ClickHouse (python -m bench.clickhouse)"}),
    ],
)
def test_a_missing_result_file_is_not_measured_in_its_section_only(
    missing, changed, results, ingest, startup_results, clickhouse, full
):
    page = report.render(
        results,
        None if missing == "ingest" else ingest,
        None if missing == "startup" else startup_results,
        None if missing == "clickhouse" else clickhouse,
    )
    sections = _sections(page)
    assert sections.keys() == full.keys()
    differ = {h for h in full if sections[h] != full[h]}
    if missing == "startup":  # its target row; and the warm timing when the main run has none
        changed = (
            changed | {"## Targets"} | ({"## `make sql`"} if "generator" not in results else set())
        )
    assert differ == changed
    for heading in changed:
        assert "Not measured in this run" in sections[heading]


def test_without_results_json_every_main_section_says_not_measured(ingest, startup_results, full):
    sections = _sections(report.render({}, ingest, startup_results))
    assert sections.keys() == full.keys()  # every heading is still there
    for heading in (
        "## What was measured",
        "## Engine-level results",
        "## Targets",
        "## Why the numbers are what they are",
        "## What each constraint costs in COPY",
        "## Recommended changes",
        "## Experiments",
        "## Query plans",
    ):
        assert "*Not measured in this run*: `python -m bench" in sections[heading], heading
    # the generator timing comes from bench.startup's file, or is not measured either
    if "generator" in startup_results:
        assert "`python -m bench.startup`" in sections["## `make sql`"]
    without = {k: v for k, v in startup_results.items() if k != "generator"}
    bare = _sections(report.render({}, ingest, without))
    assert "Not measured in this run" in bare["## `make sql`"]
    # the other files' sections are as with the main results
    for heading in (
        "## Loading BDF CSV files (python -m ingest)",
        "## Generator start-up beside LinkML",
    ):
        assert sections[heading] == full[heading]


def test_no_result_file_at_all_renders(tmp_path, monkeypatch):
    """`python -m bench.report` with no result file writes a page of 'not measured' lines."""
    monkeypatch.setattr(files, "INGEST_RESULTS", tmp_path / "none-ingest.json")
    monkeypatch.setattr(files, "STARTUP_RESULTS", tmp_path / "none-startup.json")
    monkeypatch.setattr(files, "CLICKHOUSE_RESULTS", tmp_path / "none-clickhouse.json")
    out = tmp_path / "performance.md"
    argv = ["--results", str(tmp_path / "none.json"), "--out", str(out), "--readme", ""]
    assert report.main([*argv, "--loading", ""]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.count("*Not measured in this run*") >= 13
    for command in ("bench.ingest", "bench.startup", "bench.clickhouse"):
        assert f"`python -m {command}" in page
    assert "Traceback" not in page


def test_generator_timing_comes_from_startup_when_the_main_run_has_none(
    archived, ingest, startup_results
):
    """A main run made with --no-generator-timing: the `make sql` section and its target row
    come from bench/startup-archived.json, which says so."""
    gen = archived["generator"]
    without = _copy(archived)
    del without["generator"]
    startup_with = {**_copy(startup_results), "generator": {**gen, "warm_median_seconds": 0.777}}
    startup_without = {k: v for k, v in startup_results.items() if k != "generator"}
    sections = _sections(report.render(without, ingest, startup_with))
    assert "0.777 s" in sections["## `make sql`"]
    assert "`python -m bench.startup`" in sections["## `make sql`"]
    assert "0.777 s" in _target_row(
        sections["## Targets"], "`python -m generator sql` (make sql), warm"
    )
    # the main run's own timing wins when it has one
    both = _sections(report.render(archived, ingest, startup_with))
    assert "0.777" not in both["## `make sql`"]
    assert f"{gen['warm_median_seconds']} s" in both["## `make sql`"]
    # neither: that section, and the row of the targets, say so; nothing else changes
    neither = _sections(report.render(without, ingest, startup_without))
    assert "Not measured in this run" in neither["## `make sql`"]
    assert "`python -m bench.startup`" in neither["## Targets"]
    assert "(make sql), warm |" not in neither["## Targets"]
    full = _sections(report.render(archived, ingest, startup_without))
    assert {h for h in full if full[h] != neither[h]} == {"## Targets", "## `make sql`"}


def test_a_missing_engine_is_not_measured_in_its_subsection(results, ingest, startup_results):
    partial = _copy(results)
    partial["runs"] = [r for r in partial["runs"] if r["engine"] != "timescaledb"]
    why = _sections(report.render(partial, ingest, startup_results))[
        "## Why the numbers are what they are"
    ]
    assert (
        "### TimescaleDB\n\n*Not measured in this run*: `python -m bench --engines timescaledb`"
        in why
    )
    assert "### SQLite\n\n`timeseries_point` is a" in why


def test_constraint_costs_missing_is_not_measured(results, ingest, startup_results, full):
    partial = _copy(results)
    for run in partial["runs"]:
        run.pop("constraint_costs", None)
    sections = _sections(report.render(partial, ingest, startup_results))
    assert "Not measured in this run" in sections["## What each constraint costs in COPY"]
    assert {h for h in full if full[h] != sections[h]} == {"## What each constraint costs in COPY"}


def test_advice_follows_the_results(archived, ingest, startup_results):
    """A recommendation is given only while the experiment behind it supports it."""
    page = report.render(archived, ingest, startup_results)
    assert "`WITH (fillfactor = 100)`" in page
    worse = _copy(archived)
    ff = next(r for r in worse["runs"] if r.get("variant") == "pg-pk-fillfactor-100")
    base = next(r for r in worse["runs"] if r["engine"] == "postgres18" and not r.get("variant"))
    ff["size"]["bytes_per_row"] = base["size"]["bytes_per_row"] + 1
    assert "`WITH (fillfactor = 100)`" not in report.render(worse, ingest, startup_results)
    # the TimescaleDB size advice: only while the compressed table misses its target
    assert "**TimescaleDB size target" in page
    small = _copy(archived)
    ts = next(r for r in small["runs"] if r["engine"] == "timescaledb" and not r.get("variant"))
    target = next(t for t in small["targets"] if "compressed" in t["key"])
    ts["compression"]["bytes_per_row"] = target["target"] - 1
    assert "**TimescaleDB size target" not in report.render(small, ingest, startup_results)


def test_templates_type_no_ratio():
    """No 'N×' claim is typed in a template's own words: ratios come from the context."""
    import re

    for path in report.TEMPLATES.rglob("*.j2"):
        words = re.sub(
            r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.S
        )
        assert not re.search(r"\d\s*×|×\s*\d|\d+(\.\d+)?x faster", words), path


def test_make_sql_advice_follows_the_generator_code(monkeypatch, archived, ingest, startup_results):
    """Advice about `make sql` is given only while the generator still needs it."""

    def section(**code):
        base = {"run_cache": True, "self_check_opt_in": True, "quote_uses_sqlglot": False}
        monkeypatch.setattr(report, "_generator_code", lambda: {**base, **code})
        return _sections(report.render(archived, ingest, startup_results))["## `make sql`"]

    assert "memoise" not in section()
    assert "memoise" in section(quote_uses_sqlglot=True)
    assert "run cache (generator/cache.py)" in section()
    assert "a file target" not in section()
    assert "a file target" in section(run_cache=False)
    # and the real generator: quote() writes identifiers without sqlglot, the cache exists
    monkeypatch.undo()
    code = report._generator_code()
    assert code["run_cache"] and code["self_check_opt_in"] and not code["quote_uses_sqlglot"]


def test_loader_section_matches_the_loading_page_block(results, ingest, startup_results):
    """docs/loading.md carries the page's loader section: the two renderings of
    bench/ingest-results.json may not drift apart."""
    section = _sections(report.render(results, ingest, startup_results))[
        "## Loading BDF CSV files (python -m ingest)"
    ]
    assert section.rstrip("\n") == report.ingest_section(ingest).rstrip("\n")
    page = report.LOADING.read_text(encoding="utf-8")
    assert report.with_loading_block(page, ingest) == page, (
        "docs/loading.md differs from bench/ingest-results.json: run `python -m bench.report`"
    )
    assert ingest["machine"]["cpu_model"] in page
    with pytest.raises(ValueError, match="markers"):
        report.with_loading_block("# Loading without markers\n", ingest)


def test_the_page_leads_with_what_users_run(results, ingest, startup_results, clickhouse):
    """The loader's and the derivations' sections come first; the engine-level experiments
    after them, under a heading that says so, their rates never above the loader's section."""
    page = report.render(results, ingest, startup_results, clickhouse)
    headings = [h for h in _sections(page) if h.startswith("## ")]
    assert headings[:2] == [
        "## Loading BDF CSV files (python -m ingest)",
        "## Deriving cycles, features and labels (python -m derive)",
    ]
    engine_level = headings.index("## Engine-level experiments (python -m bench)")
    for heading in ("## What was measured", "## Engine-level results", "## Experiments"):
        assert headings.index(heading) > engine_level, heading
    loader = page.index("## Loading BDF CSV files")
    for name, run in ingest["engines"].items():
        assert f"{run['rows_per_second']:,}" in page[loader : page.index("## Deriving")], name
    lite = next(r for r in results["runs"] if r["engine"] == "sqlite" and not r.get("variant"))
    assert page.index(f"{lite['load']['rows_per_second']:,}") > page.index("## Engine-level")
    # the README's block too: the loader's ratio first, the engine-level figures labelled
    block = report.readme_block(results, ingest)
    sqlite_loader = f"×{ingest['engines']['sqlite']['ratio_to_baseline']:.2f}"
    assert block.index("The loader") < block.index(sqlite_loader) < block.index("Engine-level")


@pytest.mark.slow  # the page rendered once per key
def test_any_missing_key_renders_without_a_crash(results, ingest, startup_results):
    """A results file cut short (a top-level key, or a key of a main engine run, missing) gives
    'not measured' where it matters, never a traceback."""
    variants = []
    for key in results:
        variants.append({k: v for k, v in results.items() if k != key})
    for i, run in enumerate(results["runs"]):
        if run.get("variant"):
            continue
        for key in run:
            if key in ("engine", "variant"):
                continue
            cut = _copy(results)
            del cut["runs"][i][key]
            variants.append(cut)
    for cut in variants:
        page = report.render(cut, ingest, startup_results)
        assert page.startswith("# Performance\n")
        report.readme_block(cut)
    # a main run without its figures is not measured, in its own subsection
    cut = _copy(results)
    run = next(r for r in cut["runs"] if r["engine"] == "sqlite" and not r.get("variant"))
    del run["size"]
    why = _sections(report.render(cut, ingest, startup_results))[
        "## Why the numbers are what they are"
    ]
    assert "### SQLite\n\n*Not measured in this run*: `python -m bench --engines sqlite`" in why


def test_a_run_without_experiments_says_so(results, ingest, startup_results, full):
    """`python -m bench --no-experiments`: the experiments and the changes they support are
    not measured; the engines' sections are."""
    main_only = _copy(results)
    main_only["runs"] = [r for r in main_only["runs"] if not r.get("variant")]
    sections = _sections(report.render(main_only, ingest, startup_results))
    for heading in ("## Experiments", "## Recommended changes"):
        assert "*Not measured in this run*" in sections[heading]
        assert "`--no-experiments`" in sections[heading]
    assert "Not measured" not in sections["## Engine-level results"]
    assert sections["## Engine-level results"] == full["## Engine-level results"]
