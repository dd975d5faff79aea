"""The self-check parses exactly the emitted files with each engine's own parser: a template
broken the way a careless edit breaks it must be caught before anything is written."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import jinja2
import pytest

from generator import load_schema
from generator.targets import TARGETS, GeneratorBug
from generator.targets import base as target_base

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def schema():
    return load_schema(ROOT / "schema.yaml")


def broken_templates(tmp_path: Path, name: str, old: str, new: str) -> jinja2.Environment:
    folder = tmp_path / "templates"
    shutil.copytree(Path(str(resources.files("generator") / "templates")), folder)
    text = (folder / name).read_text(encoding="utf-8")
    assert old in text, f"the template {name} no longer holds {old!r}"
    (folder / name).write_text(text.replace(old, new, 1), encoding="utf-8")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


@pytest.mark.parametrize("target", list(TARGETS))
def test_a_missing_comma_in_create_table_fails_the_self_check(
    target, schema, tmp_path, monkeypatch
):
    env = broken_templates(
        tmp_path, "create_table.sql.j2", '{{ "," if not loop.last else "" }}', ""
    )
    monkeypatch.setattr(target_base, "templates", lambda: env)
    with pytest.raises(GeneratorBug, match="cannot parse|rejects"):
        TARGETS[target].render(schema, self_check=True)


@pytest.mark.parametrize("target", ["postgres", "timescaledb", "liam"])
def test_only_the_self_check_catches_it_on_postgres_targets(target, schema, tmp_path, monkeypatch):
    """Without the self-check nothing would notice on the PostgreSQL-family targets (no engine
    runs while generating): the check is what guards them."""
    env = broken_templates(
        tmp_path, "create_table.sql.j2", '{{ "," if not loop.last else "" }}', ""
    )
    monkeypatch.setattr(target_base, "templates", lambda: env)
    TARGETS[target].render(schema, self_check=False)


@pytest.mark.parametrize("target", list(TARGETS))
def test_a_dropped_semicolon_fails_the_self_check(target, schema, tmp_path, monkeypatch):
    env = broken_templates(
        tmp_path, "create_table.sql.j2", "){{ block.suffix }};", "){{ block.suffix }}"
    )
    monkeypatch.setattr(target_base, "templates", lambda: env)
    with pytest.raises(GeneratorBug):
        TARGETS[target].render(schema, self_check=True)


# Targets that write statements after a CREATE TABLE for this schema (the single-server
# ClickHouse file keeps its indexes inside CREATE TABLE, so it has none to lose).
WITH_AFTER = [
    name
    for name, target in TARGETS.items()
    if any(block.after for block in target.blocks(load_schema(ROOT / "schema.yaml")))
]


def test_most_targets_write_statements_after_tables():
    assert {"postgres", "sqlite", "timescaledb", "liam", "clickhouse-cluster"} <= set(WITH_AFTER)


@pytest.mark.parametrize("target", WITH_AFTER)
def test_a_statement_lost_by_the_template_fails_the_count(target, schema, tmp_path, monkeypatch):
    """Every emitted statement must be in the text: a template that drops the statements
    after each table (indexes, comments, triggers) parses fine but fails the count."""
    env = broken_templates(
        tmp_path, "create_table.sql.j2", "{{ statement.sql }}", "-- {{ statement.sql[:0] }}"
    )
    monkeypatch.setattr(target_base, "templates", lambda: env)
    with pytest.raises(GeneratorBug, match="statements"):
        TARGETS[target].render(schema, self_check=True)


def test_a_broken_trigger_body_fails_the_plpgsql_parse(schema, monkeypatch):
    target = TARGETS["timescaledb"]
    original = target.trigger_foreign_key

    def broken(schema_, fk):
        statements = original(schema_, fk)
        first = statements[0]
        return [type(first)(first.sql.replace("    END IF;", "    END;", 1)), *statements[1:]]

    monkeypatch.setattr(target, "trigger_foreign_key", broken)
    with pytest.raises(GeneratorBug, match="PL/pgSQL"):
        target.render(schema, self_check=True)


@pytest.mark.parametrize("target", list(TARGETS))
def test_the_real_outputs_pass_the_self_check(target, schema):
    text = TARGETS[target].render(schema, self_check=True)
    assert text == (ROOT / TARGETS[target].path).read_text(encoding="utf-8")
