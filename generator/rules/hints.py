"""Read what only migrations need from schema.yaml: `version:` and the `renamed_from:` hints.

One function, `read_hints`, called once by the validator after the model is built: it returns
the model with the version and the hints filled in, plus any problem with a hint (each with
its source position). Renames are never guessed: a name that vanished is a drop, a new name an
add, unless a hint says the new name is the old one renamed.
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import Problem
from ..load import Source
from ..model import Schema


def read_hints(source: Source, schema: Schema) -> tuple[Schema, list[Problem]]:
    data = source.data if isinstance(source.data, dict) else {}
    problems: list[Problem] = []
    raw_tables = data.get("tables") or {}
    table_names = {t.name for t in schema.tables}

    def hint(path, old: object, current: set[str], what: str) -> str | None:
        if old is None:
            return None
        old = str(old)
        if old in current:
            problems.append(
                source.problem(
                    "hints.rename-still-exists",
                    path,
                    f"renamed_from '{old}' names a {what} that still exists in this version",
                    "a rename hint must name the old name only; remove the hint or the "
                    f"other {what}",
                    at_value=True,
                )
            )
            return None
        return old

    tables = []
    for table in schema.tables:
        spec = raw_tables.get(table.name) or {}
        path = ("tables", table.name)
        old_table = hint((*path, "renamed_from"), spec.get("renamed_from"), table_names, "table")
        names = {c.name for c in table.columns}
        columns = tuple(
            replace(
                column,
                renamed_from=hint(
                    (*path, "columns", column.name, "renamed_from"),
                    ((spec.get("columns") or {}).get(column.name) or {}).get("renamed_from"),
                    names,
                    "column",
                ),
            )
            for column in table.columns
        )
        tables.append(replace(table, columns=columns, renamed_from=old_table))

    enums = []
    for enum in schema.enums:
        spec = (data.get("enums") or {}).get(enum.name) or {}
        renamed = []
        for new, old in (spec.get("renamed_values") or {}).items():
            path = ("enums", enum.name, "renamed_values", new)
            if new not in enum.names:
                problems.append(
                    source.problem(
                        "hints.renamed-value-unknown",
                        path,
                        f"renamed value '{new}' is not a value of enumeration '{enum.name}'",
                        "the key is the new value, the value its previous name",
                    )
                )
            elif hint(path, old, set(enum.names), "value") is not None:
                renamed.append((new, str(old)))
        enums.append(replace(enum, renamed_values=tuple(renamed)))

    version = data.get("version", 1)
    return replace(schema, tables=tuple(tables), enums=tuple(enums), version=version), problems
