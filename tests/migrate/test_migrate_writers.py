"""The shape of the migration writers (issue 27): each reached from its target, operations
dispatched by class, and everything a run learns kept on its context, not on the writer.

Offline and fast; what the files do on real engines is tests/test_migrate*.py.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from generator import load_schema, load_schema_text, migrate
from generator.plan import ops
from generator.targets import TARGETS
from generator.targets.migrations import MigrationWriter, Pass
from tests.migrate.edits import BASE, CORPUS, dump
from tests.support.dbkit import ROOT

WRITERS = migrate.writers()


def schema(*edits: str, version: int):
    data = copy.deepcopy(BASE)
    for edit in edits:
        CORPUS[edit](data)
    data["version"] = version
    return load_schema_text(dump(data), f"v{version}.yaml")


def test_writers_come_from_the_targets_and_nowhere_else():
    assert list(WRITERS) == [
        "postgres",
        "sqlite",
        "timescaledb",
        "clickhouse",
        "clickhouse-cluster",
    ]
    folders = {"clickhouse-cluster": "sql/clickhouse/migrations-cluster"}
    for name, target in TARGETS.items():
        writer = target.migration_writer()
        if name in WRITERS:
            assert isinstance(writer, MigrationWriter) and writer.target is target
            assert writer.directory() == folders.get(name, f"sql/{name}/migrations")
        else:
            assert writer is None, f"{name} says it has no migrations"
    assert not hasattr(migrate, "WRITERS"), "TARGETS is the only registry"


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_kind_of_operation_is_rendered_or_deliberately_ignored(name):
    writer = WRITERS[name]
    every = set(ops.op_classes())
    rendered = writer.rendered_classes()
    ignored = set(writer.ignores)
    assert not rendered & ignored, f"{name}: both rendered and ignored: {rendered & ignored}"
    assert rendered | ignored == every, f"{name}: not accounted for: {every - rendered - ignored}"
    for step in writer.passes:
        if isinstance(step, Pass) and not step.via:
            for op_class in step.classes:
                assert op_class in writer.renderers, f"{name}: no renderer for {op_class}"
        elif isinstance(step, Pass):
            assert callable(getattr(writer, step.via))
        else:
            assert callable(getattr(writer, step.method))


def test_the_timescaledb_writer_overrides_by_method_and_inherits_the_rest():
    postgres, timescale = WRITERS["postgres"], WRITERS["timescaledb"]
    assert timescale.renderers[ops.AddColumn] == postgres.renderers[ops.AddColumn]
    assert type(timescale).add_check is not type(postgres).add_check
    assert ops.TimescaleOptions in postgres.ignores
    assert ops.TimescaleOptions in timescale.rendered_classes()


def test_an_operation_without_a_renderer_is_an_error_not_a_silent_skip():
    class Unheard(ops.Op):
        kind = "unheard"

    class Writer(type(WRITERS["postgres"])):
        passes = (Pass(Unheard),)

    old, new = schema(version=1), schema("add_nullable_column", version=2)
    plan = migrate.diff(old, new)
    plan.ops.append(Unheard("battery_cell", ops.SAFE, "something new"))
    with pytest.raises(migrate.MigrationError, match="no renderer for Unheard"):
        Writer(TARGETS["postgres"]).render(plan, None, "x")


def test_a_run_leaves_nothing_on_the_writer():
    """A failed run (TimescaleDB refuses to change the column it stores as another) and a
    good one in a row: the writer keeps only its target, and writes what a fresh one writes."""
    timescale = TARGETS["timescaledb"]
    writer = timescale.migration_writer()
    current = load_schema(ROOT / "schema.yaml")
    data = yaml.safe_load((ROOT / "schema.yaml").read_text(encoding="utf-8"))
    data["version"] = current.version + 1
    column = data["tables"]["timeseries_point"]["columns"]["test_time_second"]
    column["description"] = "Seconds since the session started, as the cycler counts them."
    refused = migrate.diff(current, load_schema_text(yaml.dump(data), "next.yaml"))
    with pytest.raises(migrate.MigrationError, match="changing test_time_second"):
        writer.render(refused, None, "x")
    column["description"] = current.table("timeseries_point").column("test_time_second").description
    data["tables"]["timeseries_point"]["description"] = "Every sample, as the cycler wrote it."
    good = migrate.diff(current, load_schema_text(yaml.dump(data), "next.yaml"))
    first = writer.render(good, None, "x")
    assert vars(writer) == {"target": timescale}
    assert first == timescale.migration_writer().render(good, None, "x")
    assert "COMMENT ON TABLE timeseries_point_store" in "".join(first.values())


def test_op_kinds_are_classes_with_their_names():
    kinds = {cls.kind for cls in ops.op_classes()}
    assert len(kinds) == len(ops.op_classes()), "one kind name per class"
    plan = migrate.diff(schema(version=1), schema("rename_column_and_table", version=2))
    assert {type(op) for op in plan.ops} >= {ops.RenameTable, ops.RenameColumn}
    assert all(type(op).kind == op.kind for op in plan.ops)
