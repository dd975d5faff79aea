"""Schema evolution: the diff of two validated models, written as migration files per engine.

    plan = migrate.diff(old_model, new_model)       # operations, each labelled
    files = migrate.render(plan, "add_cell_voltage")  # {relative path: text}, dbmate format

`render` refuses a plan with destructive operations unless `allow_destructive` is set
(`MigrationRefused` names every object and the query that counts the rows at risk) and a
version that was not raised (`VersionNotRaised`). It writes a down migration wherever the change
loses no data (a narrowed rule is undone by widening it again); where it loses data, the down
migration fails on purpose, saying why, instead of reporting a rollback that did not happen.
With `two_step`, PostgreSQL and TimescaleDB add new constraints NOT VALID and validate them in a
second file; by default the change and its validation are one transaction.

Each engine's files come from the writer its target gives (`Target.migration_writer()`,
generator/targets/migrations/); the targets that give none are regenerated, never migrated.
"""

from __future__ import annotations

import re

from ..plan.diff import DESTRUCTIVE, SAFE, VALIDATE, MigrationError, Op, Plan, Renames, diff
from ..plan.ops import AlterType, DropColumn, DropTable
from ..targets import TARGETS
from ..targets.migrations import MigrationWriter, file_name, version_id

NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")


class MigrationRefused(MigrationError):
    """Destructive operations without permission; `.ops` lists them."""

    def __init__(self, ops: list[Op]):
        self.ops = ops
        lines = [
            f"refused: {len(ops)} destructive operation{'s' if len(ops) != 1 else ''} "
            "(data can be lost); pass --allow-destructive (make migration ... "
            "ALLOW_DESTRUCTIVE=1) once you have checked what is at risk:"
        ]
        lines += [f"  - {op.summary}; at risk: {op.at_risk}" for op in ops]
        super().__init__("\n".join(lines))


def writers() -> dict[str, MigrationWriter]:
    """The migration writer of every target that has one, by target name (in TARGETS order)."""
    out = {}
    for name, target in TARGETS.items():
        writer = target.migration_writer()
        if writer is not None:
            out[name] = writer
    return out


class VersionNotRaised(MigrationError):
    """The new schema's `version:` is not above the previous one."""


def check_versions(plan: Plan, schema_file: str = "schema.yaml") -> None:
    if plan.new.version <= plan.old.version:
        raise VersionNotRaised(
            f"{schema_file}: version is {plan.new.version} and the previous version is "
            f"{plan.old.version}; set `version: {plan.old.version + 1}` in {schema_file} for "
            "this change"
        )


# Operations whose data a down migration cannot bring back.
LOSSES = (DropTable, DropColumn, AlterType)


def irreversible(plan: Plan) -> list[Op]:
    """The destructive operations that lose data (a narrowed CHECK loses none)."""
    return [op for op in plan.destructive if isinstance(op, LOSSES)]


def render(
    plan: Plan,
    name: str,
    *,
    allow_destructive: bool = False,
    targets: list[str] | None = None,
    two_step: bool = False,
    schema_file: str = "schema.yaml",
) -> dict[str, str]:
    """Migration files for every engine target: {relative path: text}."""
    if not NAME.match(name):
        raise MigrationError(
            f"migration name {name!r}: use lower-case letters, digits and underscores"
        )
    check_versions(plan, schema_file)
    if plan.destructive and not allow_destructive:
        raise MigrationRefused(plan.destructive)
    lost = irreversible(plan)
    down = None if lost else diff(plan.new, plan.old, plan.renames.inverted())
    why = "; ".join(op.summary for op in lost)
    chosen = writers()
    files: dict[str, str] = {}
    for target in targets or list(chosen):
        files.update(chosen[target].render(plan, down, name, two_step=two_step, irreversible=why))
    return files


__all__ = [
    "DESTRUCTIVE",
    "SAFE",
    "VALIDATE",
    "MigrationError",
    "MigrationRefused",
    "Plan",
    "Renames",
    "VersionNotRaised",
    "diff",
    "file_name",
    "irreversible",
    "render",
    "version_id",
    "writers",
]
