"""The operations a plan is made of: one class per kind of change (alembic's `ops` module).

`diff` creates them; each migration writer renders them by class
(generator/targets/migrations/base.py, `@renders`), so a new kind of change is a new class
here and one renderer per writer, and a writer that meets a kind it has no renderer for says
so instead of skipping it.

Every operation carries the same fields: the table (its name in the new version; the old one
for a drop), the safety label, the one-line summary the files and the CLI show, what is at risk
(destructive ones), the old and the new object (a Table, Column, Check, ForeignKey, Unique,
Index, a name, or TimescaleDB options) and the column, where there is one. `kind` names the
class in the words of the summaries (`add_column`), for tests and readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

SAFE, VALIDATE, DESTRUCTIVE = "safe", "needs-validation", "destructive"
LABELS = (SAFE, VALIDATE, DESTRUCTIVE)  # in rising order of risk


@dataclass(frozen=True)
class Op:
    """One change. `table` is the table's name in the new version (the old one for a drop)."""

    table: str
    safety: str
    summary: str
    at_risk: str | None = None  # destructive: what is lost, and the query that counts it
    old: object = None
    new: object = None
    column: str | None = None

    kind: ClassVar[str] = "op"


class Comment(Op):
    """A description changes: only the engine's comment (or nothing) changes."""


# -- tables ------------------------------------------------------------------------------
class CreateTable(Op):
    kind = "create_table"


class DropTable(Op):
    kind = "drop_table"


class RenameTable(Op):
    kind = "rename_table"  # old, new: the names


class TableComment(Comment):
    kind = "table_comment"


class PrimaryKey(Op):
    kind = "primary_key"  # old, new: the tables


class TimescaleOptions(Op):
    kind = "timescaledb"  # old, new: the tables' TimescaleDB options (None: a plain table)


# -- columns -----------------------------------------------------------------------------
class AddColumn(Op):
    kind = "add_column"


class DropColumn(Op):
    kind = "drop_column"


class RenameColumn(Op):
    kind = "rename_column"


class RenameEnumValue(Op):
    kind = "rename_enum_value"  # old: {old value: new value}


class AlterType(Op):
    kind = "alter_type"


class SetNotNull(Op):
    kind = "set_not_null"


class DropNotNull(Op):
    kind = "drop_not_null"


class SetDefault(Op):
    kind = "set_default"  # new.default None: the default goes


class ColumnComment(Comment):
    kind = "column_comment"


# -- constraints and indexes -------------------------------------------------------------
class RenameConstraint(Op):
    kind = "rename_constraint"  # old, new: the names


class AddCheck(Op):
    kind = "add_check"


class DropCheck(Op):
    kind = "drop_check"


class CheckComment(Comment):
    kind = "check_comment"


class AddForeignKey(Op):
    kind = "add_foreign_key"


class DropForeignKey(Op):
    kind = "drop_foreign_key"


class ForeignKeyComment(Comment):
    kind = "foreign_key_comment"


class AddUnique(Op):
    kind = "add_unique"


class DropUnique(Op):
    kind = "drop_unique"


class AddIndex(Op):
    kind = "add_index"


class DropIndex(Op):
    kind = "drop_index"


class RenameIndex(Op):
    kind = "rename_index"  # old, new: the names


def op_classes() -> list[type[Op]]:
    """Every concrete kind of operation, in the order they are declared."""
    out: list[type[Op]] = []
    todo = [Op]
    while todo:
        for sub in todo.pop(0).__subclasses__():
            if sub is not Comment:
                out.append(sub)
            todo.append(sub)
    return out


@dataclass(frozen=True)
class Family:
    """The operations of one kind of named constraint or index, for `diff._match`."""

    word: str  # in summaries: "drop check ck_x"
    drop: type[Op]
    add: type[Op]
    rename: type[Op]
    comment: type[Op] | None = None


CHECKS = Family("check", DropCheck, AddCheck, RenameConstraint, CheckComment)
FOREIGN_KEYS = Family(
    "foreign_key", DropForeignKey, AddForeignKey, RenameConstraint, ForeignKeyComment
)
UNIQUES = Family("unique", DropUnique, AddUnique, RenameConstraint)
INDEXES = Family("index", DropIndex, AddIndex, RenameIndex)
