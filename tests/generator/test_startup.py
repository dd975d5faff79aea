"""Start-up: a command imports what it needs, and the run cache cannot serve a stale result.

Structural, not timed: the interpreter's own import report (`-X importtime`) of a real run
lists every module it loaded, and each command has modules it must never load. The times are
measured side by side with LinkML by `python -m bench.startup` (docs/performance.md).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bench.linkml.render import OUT as LINKML_RENDITION
from bench.linkml.render import rendition
from generator import cache, load_schema
from generator.load import MAX_BYTES

# slow: real runs under -X importtime, the fastjsonschema check against jsonschema
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_DDL = (ROOT / "sql" / "postgres" / "schema.sql").read_text(encoding="utf-8")

# Libraries and generator modules that `sql --target postgres` does not use, whatever the cache.
NOT_FOR_ONE_TARGET = (
    "graphviz",
    "mkdocs",
    "generator.migrate",
    "generator.docs",
    "generator.diagrams",
    # CHECK expressions are parsed by PostgreSQL's parser (pglast.parser, generator/sqlexpr.py)
    # and rendered by the generator: sqlglot serves only migrations, ClickHouse's --self-check
    # and `check`
    "sqlglot",
    # pglast's deparser: the expressions are rendered by generator/sqlexpr.py
    "pglast.printers",
    # the DDL is laid out in plain Python (targets/base.py layout_table, layout_file); Jinja
    # lays out the docs pages only
    "jinja2",
    # a valid document passes schema.json compiled to Python (generator/rules/schema_check.py)
    "jsonschema",
)
# What a run answered by the run cache does not load: the whole pipeline.
NOT_FOR_A_CACHED_RUN = (
    "yaml",
    "sqlglot",
    "jsonschema",
    "pglast",
    "jinja2",
    "generator.load",
    "generator.validate",
    "generator.model",
    "generator.targets",
)


def _run(args: list[str], cache_dir, cwd: Path | None = None):
    """Run the generator with the import report on: (the result, the modules it loaded)."""
    env = dict(os.environ, LIAM_ERD_SCHEMA_CACHE=str(cache_dir))
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "generator", *args],
        cwd=cwd or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert modules, "no import report: is -X importtime ignored?"
    return result, modules


def _loaded(modules: set, forbidden) -> list[str]:
    """Every loaded module that is one of `forbidden` or inside one of them."""
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden))


def _messages(result: subprocess.CompletedProcess) -> str:
    return "\n".join(
        line for line in result.stderr.splitlines() if not line.startswith("import time:")
    )


def test_one_target_imports_only_what_it_needs(tmp_path):
    result, modules = _run(["sql", "--target", "postgres", "--out", str(tmp_path)], "off")
    assert result.returncode == 0, _messages(result)
    assert _loaded(modules, NOT_FOR_ONE_TARGET) == []
    # and it did the whole run: the pipeline was loaded, the output is the committed one
    assert {"yaml", "pglast.parser", "generator.validate", "generator.targets.postgres"} <= modules
    assert (tmp_path / "sql/postgres/schema.sql").read_text(encoding="utf-8") == POSTGRES_DDL


def test_validate_imports_no_output_module(tmp_path):
    result, modules = _run(["validate"], "off")
    assert result.returncode == 0, _messages(result)
    assert _loaded(modules, (*NOT_FOR_ONE_TARGET, "generator.sql", "generator.cache")) == []


def test_cached_run_imports_no_library_and_writes_the_same_bytes(tmp_path):
    cache_dir = tmp_path / "cache"
    out = tmp_path / "out"
    first, first_modules = _run(["sql", "--target", "postgres", "--out", str(out)], cache_dir)
    assert first.returncode == 0, _messages(first)
    assert "from the run cache" not in first.stderr
    assert "generator.validate" in first_modules  # the full pipeline ran
    (out / "sql/postgres/schema.sql").unlink()
    second, modules = _run(["sql", "--target", "postgres", "--out", str(out)], cache_dir)
    assert second.returncode == 0, _messages(second)
    assert "from the run cache" in second.stderr
    assert _loaded(modules, NOT_FOR_A_CACHED_RUN + NOT_FOR_ONE_TARGET) == []
    assert (out / "sql/postgres/schema.sql").read_text(encoding="utf-8") == POSTGRES_DDL
    no_cache, modules = _run(
        ["sql", "--target", "postgres", "--no-cache", "--out", str(out)], cache_dir
    )
    assert no_cache.returncode == 0 and "from the run cache" not in no_cache.stderr
    assert "generator.validate" in modules
    # another command line is another key: every target is rendered, not the one kept
    third, _ = _run(["sql", "--target", "sqlite", "--out", str(out)], cache_dir)
    assert "from the run cache" not in third.stderr
    assert (out / "sql/sqlite/schema.sql").exists()


def test_an_edit_is_never_answered_from_the_cache(tmp_path):
    cache_dir = tmp_path / "cache"
    schema = tmp_path / "schema.yaml"
    shutil.copy(ROOT / "schema.yaml", schema)
    args = ["sql", str(schema), "--target", "postgres", "--out", str(tmp_path)]
    assert _run(args, cache_dir)[0].returncode == 0
    ddl = tmp_path / "sql/postgres/schema.sql"
    # one byte of the title: new output, not the kept one
    text = schema.read_text(encoding="utf-8")
    title = "title: Battery SOC/SOH schema\n"
    assert title in text
    schema.write_text(text.replace(title, "title: Battery SOC/SOH schema!\n", 1), "utf-8")
    result, _ = _run(args, cache_dir)
    assert result.returncode == 0 and "from the run cache" not in result.stderr
    assert "-- Battery SOC/SOH schema!:" in ddl.read_text(encoding="utf-8")
    # a broken schema after a good run: located problems and exit 1, every time
    schema.write_text(text.replace("primary_key: [pack_id]", "primary_key: [no_such]"), "utf-8")
    for _ in range(2):
        result, _ = _run(args, cache_dir)
        assert result.returncode == 1
        assert "primary_key" in _messages(result) and f"{schema}:" in _messages(result)
    # back to the first text: that run is kept, and answers
    schema.write_text(text, "utf-8")
    result, _ = _run(args, cache_dir)
    assert result.returncode == 0 and "from the run cache" in result.stderr
    assert ddl.read_text(encoding="utf-8") == POSTGRES_DDL


def test_a_damaged_entry_is_a_miss(tmp_path):
    cache_dir = tmp_path / "cache"
    args = ["sql", "--target", "postgres", "--out", str(tmp_path)]
    assert _run(args, cache_dir)[0].returncode == 0
    (entry,) = cache_dir.glob("*.json")
    entry.write_text(entry.read_text(encoding="utf-8").replace("CREATE TABLE", "CREATE TABEL"))
    result, _ = _run(args, cache_dir)
    assert result.returncode == 0 and "from the run cache" not in result.stderr
    assert (tmp_path / "sql/postgres/schema.sql").read_text(encoding="utf-8") == POSTGRES_DDL


def test_reserved_words_are_pglast_keywords():
    """The keyword lists read without importing pglast are the ones pglast itself exports."""
    from pglast import keywords

    from generator.targets.postgres import PostgresTarget, pglast_keywords

    assert pglast_keywords().RESERVED_KEYWORDS == keywords.RESERVED_KEYWORDS
    assert pglast_keywords().TYPE_FUNC_NAME_KEYWORDS == keywords.TYPE_FUNC_NAME_KEYWORDS
    assert PostgresTarget.reserved_words == keywords.RESERVED_KEYWORDS | (
        keywords.TYPE_FUNC_NAME_KEYWORDS
    )
    assert {"select", "user", "order", "collation"} <= PostgresTarget.reserved_words


def test_self_check_still_parses_with_pglast(tmp_path):
    result, modules = _run(
        ["sql", "--target", "postgres", "--self-check", "--out", str(tmp_path)], "off"
    )
    assert result.returncode == 0, _messages(result)
    assert "pglast" in modules


def test_a_change_of_the_generator_is_a_new_key(tmp_path, monkeypatch):
    raw = (ROOT / "schema.yaml").read_bytes()
    options = {"command": "sql", "targets": ["postgres"], "self_check": False}
    package = tmp_path / "generator"
    shutil.copytree(cache.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "PACKAGE", package)
    before = cache.key(raw, "schema.yaml", options)
    assert cache.key(raw, "schema.yaml", options) == before
    layout = package / "targets" / "base.py"
    layout.write_text(layout.read_text(encoding="utf-8") + " ", encoding="utf-8")
    assert cache.key(raw, "schema.yaml", options) != before
    assert cache.key(raw, "other.yaml", options) != before
    assert cache.key(raw, "schema.yaml", {**options, "self_check": True}) != before


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_directory_others_can_write_is_not_used(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    monkeypatch.setenv(cache.ENV, str(shared))
    assert cache.directory() == shared
    shared.chmod(shared.stat().st_mode | stat.S_IWOTH)
    assert cache.directory() is None
    monkeypatch.setenv(cache.ENV, "off")
    assert cache.directory() is None


def test_the_cache_reads_all_the_loader_can_refuse():
    """The run uses the bytes the key was made from: they must include every byte the loader
    looks at, so a file over the loader's limit is still refused, not cut and accepted."""
    assert cache.MAX_SCHEMA_BYTES > MAX_BYTES


def test_linkml_rendition_follows_the_schema():
    expected = rendition(load_schema(ROOT / "schema.yaml"))
    assert LINKML_RENDITION.read_text(encoding="utf-8") == expected, (
        "bench/linkml/battery.linkml.yaml is out of date: run python -m bench.linkml.render"
    )


def test_the_fast_structure_check_is_generated_from_schema_json():
    from generator.rules import schema_check_build

    assert schema_check_build.OUT.read_text(encoding="utf-8") == schema_check_build.source(), (
        "generator/rules/schema_check.py is out of date: "
        "run python -m generator.rules.schema_check_build"
    )


def test_the_fast_structure_check_is_never_looser_than_jsonschema():
    """A document the fast check passes is one jsonschema finds nothing in: else a problem
    would go unreported. The other way round costs only time (jsonschema then runs and
    reports what it finds, as before): the valid schemas must pass it, or it saves nothing."""
    from generator.errors import SchemaError
    from generator.load import load_bytes
    from generator.rules.structure import _passes_fast_check, _validator
    from tests.generator.hostile import ACCEPTED, CASES, SCHEMA

    documents = {"schema.yaml": (ROOT / "schema.yaml").read_bytes(), "v1": SCHEMA.encode()}
    documents.update({f"accepted {k}": v.encode() for k, v in ACCEPTED.items()})
    valid = set(documents)
    documents.update({c.id: c.content() for c in CASES})
    refused = 0
    for name, raw in documents.items():
        try:
            data = load_bytes(raw, "schema.yaml").data
        except SchemaError:
            continue
        errors = list(_validator().iter_errors(data))
        fast = _passes_fast_check(data)
        assert not (fast and errors), f"{name}: the fast check passes, jsonschema: {errors[0]}"
        assert fast or name not in valid, f"{name}: valid, but the fast check refuses it"
        refused += bool(errors)
    assert refused >= 15  # the corpus does reach the structure rules (19 cases today)
