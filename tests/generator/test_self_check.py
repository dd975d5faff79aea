"""The self-check parses exactly the emitted files with each engine's own parser: a layout
broken the way a careless edit breaks it must be caught before anything is written."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from generator import load_schema
from generator.targets import TARGETS, GeneratorBug
from generator.targets import base as target_base

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def schema():
    return load_schema(ROOT / "schema.yaml")


def layout(block, name, *, comma=",", semicolon=";", after=True) -> str:
    """targets.base.layout_table, with the edit a test breaks it by (the test below checks the
    unbroken copy writes what the generator writes)."""
    out = [f"-- {line}\n" for line in block.comments]
    out.append(f"CREATE TABLE {name} (\n")
    last = len(block.items) - 1
    for i, (sql, comment) in enumerate(block.items):
        out.append(f"    {sql}{'' if i == last else comma}{f'  -- {comment}' if comment else ''}\n")
    out.append(f"){block.suffix}{semicolon}\n")
    out += [f"{statement.sql}\n" if after else "--\n" for statement in block.after]
    return "".join(out)


def broken_layout(monkeypatch, **edit) -> None:
    monkeypatch.setattr(target_base, "layout_table", functools.partial(layout, **edit))


@pytest.mark.parametrize("target", list(TARGETS))
def test_the_unbroken_copy_writes_what_the_generator_writes(target, schema, monkeypatch):
    real = TARGETS[target].render(schema, self_check=False)
    broken_layout(monkeypatch)
    assert TARGETS[target].render(schema, self_check=False) == real


@pytest.mark.parametrize("target", list(TARGETS))
def test_a_missing_comma_in_create_table_fails_the_self_check(target, schema, monkeypatch):
    broken_layout(monkeypatch, comma="")
    with pytest.raises(GeneratorBug, match="cannot parse|rejects"):
        TARGETS[target].render(schema, self_check=True)


@pytest.mark.parametrize("target", ["postgres", "timescaledb", "liam"])
def test_only_the_self_check_catches_it_on_postgres_targets(target, schema, monkeypatch):
    """Without the self-check nothing would notice on the PostgreSQL-family targets (no engine
    runs while generating): the check is what guards them."""
    broken_layout(monkeypatch, comma="")
    TARGETS[target].render(schema, self_check=False)


@pytest.mark.parametrize("target", list(TARGETS))
def test_a_dropped_semicolon_fails_the_self_check(target, schema, monkeypatch):
    broken_layout(monkeypatch, semicolon="")
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
def test_a_statement_lost_by_the_layout_fails_the_count(target, schema, monkeypatch):
    """Every emitted statement must be in the text: a layout that drops the statements after
    each table (indexes, comments, triggers) parses fine but fails the count."""
    broken_layout(monkeypatch, after=False)
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
