"""Names: every identifier from schema.yaml, and every name a target generates from them.

The per-target facts (identifier limit, reserved words, system columns, the names a target
creates) live on the target classes in generator/targets; this module only asks them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import cache

from ..model import Schema
from . import Context

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


@cache
def _targets():
    from ..targets import TARGETS

    return tuple(TARGETS.values())


def name_limit() -> int:
    """The smallest identifier limit of any target: names the model derives fit everywhere."""
    return min(t.max_identifier_bytes for t in _targets() if t.max_identifier_bytes)


def identifier(ctx: Context, name: str, path, *, column: bool = False) -> None:
    """A name from schema.yaml that reaches SQL: safe to write unquoted in every target."""
    if not IDENTIFIER.match(name):
        ctx.report(
            "names.unsafe",
            path,
            f"'{name}' is not a safe SQL identifier",
            "use lower-case letters, digits and underscores, starting with a letter",
        )
    else:
        reserved_in = [t.title for t in _targets() if name in t.reserved_words]
        if reserved_in:
            ctx.report(
                "names.reserved",
                path,
                f"'{name}' is a reserved SQL word in {', '.join(dict.fromkeys(reserved_in))}",
                "choose another name",
            )
        prefixed_in = [
            t.title
            for t in _targets()
            if not column and any(name.startswith(p) for p in t.reserved_prefixes)
        ]
        if prefixed_in:
            ctx.report(
                "names.reserved-prefix",
                path,
                f"'{name}' starts with a prefix {', '.join(dict.fromkeys(prefixed_in))} "
                "keeps for itself",
                "choose another name",
            )
        system_in = [t.title for t in _targets() if column and name in t.system_columns]
        if system_in:
            ctx.report(
                "names.system-column",
                path,
                f"'{name}' is a system column name in {', '.join(dict.fromkeys(system_in))}",
                "choose another name",
            )
    limit = name_limit()
    if len(name.encode()) > limit:
        ctx.report(
            "names.too-long",
            path,
            f"'{name}' is {len(name.encode())} bytes long",
            f"PostgreSQL truncates identifiers to {limit} bytes",
        )


def check_schema_names(ctx: Context, tables: dict) -> None:
    """Constraint and index names are one namespace per schema in PostgreSQL."""
    seen: dict[str, str] = {}
    for table in tables.values():
        names = [
            table.primary_key_name,
            *(u.name for u in table.uniques),
            *(fk.name for fk in table.foreign_keys),
            *(c.name for c in table.checks),
            *(i.name for i in table.indexes),
        ]
        if table.timescaledb:
            names += [c.name for c in table.timescaledb.continuous_aggregates]
        for n in names:
            if n in seen:
                ctx.report(
                    "names.duplicate",
                    ("tables", table.name),
                    f"name '{n}' is used twice (also in table '{seen[n]}')",
                    "constraint and index names must be unique across the schema",
                )
            seen[n] = table.name
    for n in seen:
        if n in tables:
            ctx.report(
                "names.table-clash",
                ("tables", n),
                f"'{n}' names both a table and a constraint or index",
            )


def check_target_limits(ctx: Context, schema: Schema) -> None:
    """What an engine cannot take although the schema is valid (e.g. PostgreSQL's 1,600
    columns per table), as each target states it."""
    for target in _targets():
        for path, message, hint in target.refusals(schema):
            ctx.report("names.target-limit", path, f"{target.title}: {message}", hint)


def check_target_names(ctx: Context, schema: Schema) -> None:
    """Every name each target creates (including the ones it derives, such as trigger
    functions), per namespace of that engine: none twice."""
    for target in _targets():
        by_name: dict[tuple[str, str], list[str]] = defaultdict(list)
        for namespace, name, table in target.engine_names(schema):
            by_name[(namespace, name)].append(table)
        for (namespace, name), owners in by_name.items():
            if len(owners) > 1:
                ctx.report(
                    "names.target-collision",
                    ("tables", owners[-1]),
                    f"{target.title} would create the {namespace} name '{name}' twice "
                    f"(tables {', '.join(dict.fromkeys(owners))})",
                    "rename the constraint, index or key so the generated names differ",
                )
