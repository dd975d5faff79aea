"""Schema evolution: the diff of two validated models, written as migration files per engine.

    plan = migrate.diff(old_model, new_model)       # operations, each labelled
    files = migrate.render(plan, "add_cell_voltage")  # {relative path: text}, dbmate format

`render` refuses a plan with destructive operations unless `allow_destructive` is set
(`MigrationRefused` names every object and the query that counts the rows at risk), and
writes a down migration only where the change loses nothing. Each engine's files come from the
writer its target gives (`Target.migration_writer()`, generator/targets/migrations/); the targets
that give none are regenerated, never migrated.
"""

from __future__ import annotations

import re

from ..plan.diff import DESTRUCTIVE, SAFE, VALIDATE, MigrationError, Op, Plan, Renames, diff
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


def check_versions(plan: Plan) -> None:
    if plan.new.version <= plan.old.version:
        raise MigrationError(
            f"schema.yaml: version is {plan.new.version} and the previous version is "
            f"{plan.old.version}; set `version: {plan.old.version + 1}` in schema.yaml for "
            "this change"
        )


def render(
    plan: Plan,
    name: str,
    *,
    allow_destructive: bool = False,
    targets: list[str] | None = None,
) -> dict[str, str]:
    """Migration files for every engine target: {relative path: text}."""
    if not NAME.match(name):
        raise MigrationError(
            f"migration name {name!r}: use lower-case letters, digits and underscores"
        )
    check_versions(plan)
    if plan.destructive and not allow_destructive:
        raise MigrationRefused(plan.destructive)
    down = None if plan.destructive else diff(plan.new, plan.old, plan.renames.inverted())
    chosen = writers()
    files: dict[str, str] = {}
    for target in targets or list(chosen):
        files.update(chosen[target].render(plan, down, name))
    return files


__all__ = [
    "DESTRUCTIVE",
    "SAFE",
    "VALIDATE",
    "MigrationError",
    "MigrationRefused",
    "Plan",
    "Renames",
    "diff",
    "file_name",
    "render",
    "version_id",
    "writers",
]
