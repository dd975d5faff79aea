"""Documentation pages (MkDocs Material Markdown) from the model: {relative path: text}.

Code prepares every row here, already escaped for Markdown; the templates under
templates/docs/ only lay the rows out. Generated pages live under docs/reference/ (the DDL
downloads are sql/<target>/schema.sql itself, published by docs_hooks.py); hand-written prose
(docs/index.md, docs/conventions.md...) is never touched. The site navigation is generated
too (docs/reference/nav.yml, which mkdocs.yml inherits), so a new table or layer needs no hand
edit anywhere.
"""

from __future__ import annotations

import re
from functools import cache

import jinja2

from . import diagrams
from .model import ONE_TO_ONE, Column, ForeignKey, Schema, Table
from .targets import TARGETS, Target

REFERENCE = "docs/reference"
DOWNLOADS = "docs/downloads"  # where the site serves sql/<target>/schema.sql (docs_hooks.py)
DOCS_ROOT = "docs/"

# Hand-written pages (kept in docs/, never generated) and where they sit in the navigation.
GUIDE_PAGES = (
    ("Home", "index.md"),
    ("Conventions", "conventions.md"),
    ("Real data (version 2)", "real-data.md"),
    ("Publishing", "publishing.md"),
    ("Use it for your own schema", "own-schema.md"),
    ("Evolving the schema", "evolving.md"),
    ("Loading cycler files", "loading.md"),
    ("Deriving cycles, features and labels", "deriving.md"),
    ("Features and labels", "features.md"),
    ("Demo data and plots", "demo.md"),
    ("From data to model", "modelling.md"),
    ("Query cookbook", "cookbook.md"),
)
TAIL_PAGES = (
    ("When one server is not enough", "scale-out.md"),
    ("Adding a target", "adding-a-target.md"),
    ("How the code is laid out", "code-layout.md"),
    ("Performance", "performance.md"),
    ("Interactive ERD", "erd/index.md"),
)


# -- Markdown escaping ------------------------------------------------------------------------
_BACKSLASH_ESCAPES = re.compile(r"([\\*\[\]])")
_LINE_START = re.compile(r"^([#+\-=]|\d+\.)")


def md_text(text: object) -> str:
    """Text that renders as itself in a Markdown paragraph or table cell, on one line.

    HTML specials and the characters that end a table cell or open a code span become
    entities; Markdown emphasis and link brackets are backslash-escaped; newlines become
    spaces.
    """
    text = " ".join(str(text).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("|", "&#124;").replace("`", "&#96;")
    text = _BACKSLASH_ESCAPES.sub(r"\\\1", text)
    # An underscore only starts emphasis at a word boundary: keep snake_case readable.
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)


def md_paragraph(text: object) -> str:
    """md_text for a whole paragraph: a leading '#', '-', '+', '=' or '1.' stays text too."""
    return _LINE_START.sub(r"\\\1", md_text(text))


def md_code(text: object) -> str:
    """An inline code span for any text: fenced by more backticks than it contains, on one line.
    Safe in a table cell as it is: Python-Markdown's tables do not split cells inside code."""
    text = " ".join(str(text).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_link(text: str, href: str, code: bool = False) -> str:
    return f"[{md_code(text) if code else md_text(text)}]({href})"


def code_block(text: str, language: str, indent: str = "") -> str:
    """A fenced block longer than any backtick run inside it, indented for a content tab."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    fence = "`" * max(3, longest + 1)
    lines = [f"{fence}{language}", *text.rstrip("\n").split("\n"), fence]
    return "\n".join(f"{indent}{line}" if line else "" for line in lines)


# -- paths and links (relative between generated pages) ---------------------------------------
def table_page(name: str) -> str:
    return f"{REFERENCE}/tables/{name}.md"


def layer_page(layer: str) -> str:
    return f"{REFERENCE}/layers/{layer}.md"


def relative(from_page: str, to_path: str) -> str:
    """A relative link from one file under docs/ to another (both given from the repo root)."""
    import posixpath

    return posixpath.relpath(to_path, posixpath.dirname(from_page))


def docs_path(path: str) -> str:
    """A repository path under docs/ as MkDocs sees it (relative to docs/)."""
    return path.removeprefix(DOCS_ROOT)


# -- rows -------------------------------------------------------------------------------------
def type_groups(table: Table) -> list[list[Target]]:
    """Targets grouped by identical column types for this table, in TARGETS order: one type
    column of the columns table per group, named after its first target."""
    groups: dict[tuple[str, ...], list[Target]] = {}
    for target in TARGETS.values():
        types = tuple(target.column_type(table, c) for c in table.columns)
        groups.setdefault(types, []).append(target)
    return list(groups.values())


def type_note(groups: list[list[Target]]) -> str:
    """E.g. 'TimescaleDB and Liam ERD use the PostgreSQL types.'"""
    notes = []
    for targets in groups:
        if len(targets) > 1:
            others = [md_text(t.title) for t in targets[1:]]
            names = " and ".join(
                [", ".join(others[:-1]), others[-1]] if len(others) > 2 else others
            )
            verb = "uses" if len(others) == 1 else "use"
            notes.append(f"{names} {verb} the {md_text(targets[0].title)} types.")
    return " ".join(notes)


def default_text(column: Column) -> str:
    if column.identity:
        return "identity"
    if column.default is None:
        return ""
    value = column.default
    if isinstance(value, bool):
        value = "true" if value else "false"
    return "default " + md_code(value)


def allowed_text(schema: Schema, page: str, column: Column) -> str:
    parts = []
    if column.range:
        parts.append(md_code(column.range.describe()))
    if column.enum:
        enum = schema.enum_map[column.enum]
        link = md_link(enum.name, f"{relative(page, f'{REFERENCE}/enums.md')}#enum-{enum.name}")
        parts.append(f"{link}: " + ", ".join(md_code(v) for v in enum.names))
    return "; ".join(parts)


def column_rows(schema: Schema, page: str, table: Table, groups) -> list[dict]:
    rows = []
    for column in table.columns:
        rows.append(
            {
                "name": f'<a id="column-{column.name}"></a>{md_code(column.name)}',
                # the line under the name: "PK FK", as in the diagrams, NULL or not, the unit
                "meta": " · ".join(
                    part
                    for part in (
                        diagrams.key_marker(table, column),
                        "nullable" if column.nullable else "not null",
                        md_text(column.unit or ""),
                    )
                    if part
                ),
                # one line per group of targets with the same types, named after the first
                "types": [
                    (md_text(targets[0].title), md_code(targets[0].column_type(table, column)))
                    for targets in groups
                ],
                "allowed": "; ".join(
                    p for p in (default_text(column), allowed_text(schema, page, column)) if p
                ),
                "description": md_text(column.description),
            }
        )
    return rows


def columns_list(columns) -> str:
    return ", ".join(md_code(c) for c in columns)


def fk_out_row(page: str, fk: ForeignKey) -> dict:
    optional = " (optional)" if fk.optional else ""
    return {
        "name": md_code(fk.name),
        "columns": columns_list(fk.columns),
        "references": md_link(fk.ref_table, relative(page, table_page(fk.ref_table)), code=True)
        + " ("
        + columns_list(fk.ref_columns)
        + ")",
        "cardinality": md_text(
            ("one-to-one" if fk.cardinality == ONE_TO_ONE else "many-to-one") + optional
        ),
        "on_delete": md_text(fk.on_delete.upper()),
        "why": md_text(fk.why),
    }


def fk_in_row(page: str, fk: ForeignKey) -> dict:
    return {
        "name": md_code(fk.name),
        "table": md_link(fk.table, relative(page, table_page(fk.table)), code=True),
        "columns": columns_list(fk.columns) + " → " + columns_list(fk.ref_columns),
        "on_delete": md_text(fk.on_delete.upper()),
        "why": md_text(fk.why),
    }


def key_notes(table: Table) -> list[str]:
    """Where a target keys the table differently from the model (e.g. TimescaleDB)."""
    notes = []
    for target in TARGETS.values():
        key = target.primary_key(table)
        if key != table.primary_key:
            notes.append(f"{md_text(target.title)}: ({columns_list(key)})")
    return notes


def ddl_tabs(schema: Schema, table: Table, blocks: dict[str, dict[str, str]]) -> list[dict]:
    return [
        {
            "title": target.title.replace('"', "'"),
            "code": code_block(blocks[name][table.name], "sql", indent="    "),
        }
        for name, target in TARGETS.items()
    ]


def table_blocks(schema: Schema) -> dict[str, dict[str, str]]:
    """Each target's rendered statements for each table: {target: {table: sql}}."""
    return {
        name: {b.table.name: target.render_block(b) for b in target.blocks(schema)}
        for name, target in TARGETS.items()
    }


def timescale_rows(table: Table) -> dict | None:
    ts = table.timescaledb
    if ts is None:
        return None
    return {
        "time_column": md_code(ts.time_column),
        "chunk_interval": md_text(ts.chunk_interval),
        "segment_by": columns_list(ts.segment_by),
        "order_by": columns_list(ts.order_by),
        "aggregates": [
            {
                "name": md_code(c.name),
                "description": md_text(c.description),
                "bucket": md_text(c.bucket_width),
                "group_by": columns_list(c.group_by),
                "outputs": ", ".join(
                    f"{md_code(out)} = {md_code(expr)}" for out, expr in c.aggregates
                ),
            }
            for c in ts.continuous_aggregates
        ],
    }


def usage_text(table: Table) -> str:
    return md_text(table.usage_label)


def writers(schema: Schema, table: str) -> list[tuple[int, str]]:
    return [(i, step.title) for i, step in enumerate(schema.workflow, 1) if table in step.writes]


def table_context(schema: Schema, table: Table, blocks) -> dict:
    page = table_page(table.name)
    groups = type_groups(table)
    columns = column_rows(schema, page, table, groups)
    layer = schema.layer_map[table.layer]
    return {
        "name": table.name,
        "title": md_text(table.name),
        "description": md_paragraph(table.description),
        "layer": md_link(layer.title, relative(page, layer_page(layer.id))),
        "usage": usage_text(table),
        "steps": [
            md_link(f"{i}. {title}", relative(page, f"{REFERENCE}/data-flow.md") + f"#step-{i}")
            for i, title in writers(schema, table.name)
        ],
        "usage_page": relative(page, f"{REFERENCE}/usage.md"),
        "type_note": type_note(groups),
        "columns": columns,
        "primary_key": columns_list(table.primary_key),
        "primary_key_name": md_code(table.primary_key_name),
        "key_notes": key_notes(table),
        "fks_out": [fk_out_row(page, fk) for fk in table.foreign_keys],
        "fks_in": [fk_in_row(page, fk) for fk in schema.references_to(table.name)],
        "uniques": [
            {"name": md_code(u.name), "columns": columns_list(u.columns)} for u in table.uniques
        ],
        "indexes": [
            {
                "name": md_code(i.name),
                "columns": columns_list(i.columns),
                "unique": "yes" if i.unique else "no",
            }
            for i in table.indexes
        ],
        # Hand-written checks first; the enum and range checks repeat the columns table.
        "checks": [
            {
                "name": md_code(c.name),
                "expression": md_code(c.expression),
                "description": md_text(c.description),
                "kind": md_text(c.kind),
            }
            for c in sorted(table.checks, key=lambda c: c.kind != "explicit")
        ],
        "timescale": timescale_rows(table),
        "diagram": relative(page, diagrams.table_path(table.name)),
        "erd": relative(page, f"{DOCS_ROOT}erd/index.md"),
        "ddl": ddl_tabs(schema, table, blocks),
        "enums_page": relative(page, f"{REFERENCE}/enums.md"),
        "downloads_page": relative(page, f"{REFERENCE}/downloads.md"),
        "units_page": relative(page, f"{REFERENCE}/units.md"),
    }


def table_summary(schema: Schema, page: str, table: Table) -> dict:
    return {
        "link": md_link(table.name, relative(page, table_page(table.name)), code=True),
        "layer": md_link(
            schema.layer_map[table.layer].title, relative(page, layer_page(table.layer))
        ),
        "usage": usage_text(table),
        "soc": "✓" if "soc" in table.usage else "",
        "soh": "✓" if "soh" in table.usage else "",
        "description": md_text(table.description),
        "columns": len(table.columns),
    }


def layer_context(schema: Schema, index: int) -> dict:
    layer = schema.layers[index]
    page = layer_page(layer.id)
    tables = schema.tables_in_layer(layer.id)
    names = {t.name for t in tables}
    steps = [(i, step) for i, step in enumerate(schema.workflow, 1) if names & set(step.writes)]
    return {
        "number": index + 1,
        "title": md_text(layer.title),
        "description": md_paragraph(layer.description),
        "diagram": relative(page, diagrams.layer_path(layer.id)),
        "tables": [table_summary(schema, page, t) for t in tables],
        "steps": [
            md_link(
                f"{i}. {step.title}", relative(page, f"{REFERENCE}/data-flow.md") + f"#step-{i}"
            )
            for i, step in steps
        ],
    }


def layers_index_context(schema: Schema) -> dict:
    page = f"{REFERENCE}/layers/index.md"
    return {
        "erd": relative(page, diagrams.erd_path()),
        "layers": [
            {
                "number": i,
                "link": md_link(layer.title, relative(page, layer_page(layer.id))),
                "description": md_text(layer.description),
                "tables": ", ".join(
                    md_link(t.name, relative(page, table_page(t.name)), code=True)
                    for t in schema.tables_in_layer(layer.id)
                ),
            }
            for i, layer in enumerate(schema.layers, 1)
        ],
    }


def tables_index_context(schema: Schema) -> dict:
    page = f"{REFERENCE}/tables/index.md"
    return {
        "sections": [
            {
                "title": md_text(layer.title),
                "link": relative(page, layer_page(layer.id)),
                "tables": [
                    table_summary(schema, page, t) for t in schema.tables_in_layer(layer.id)
                ],
            }
            for layer in schema.layers
        ],
    }


def usage_context(schema: Schema) -> dict:
    page = f"{REFERENCE}/usage.md"
    tasks = []
    for task, title in (("soc", "SOC (State of Charge)"), ("soh", "SOH (State of Health)")):
        tasks.append(
            {
                "title": md_text(title),
                "tables": ", ".join(
                    md_link(t.name, relative(page, table_page(t.name)), code=True)
                    for t in schema.tables
                    if task in t.usage
                ),
            }
        )
    return {"tables": [table_summary(schema, page, t) for t in schema.tables], "tasks": tasks}


def data_flow_context(schema: Schema) -> dict:
    page = f"{REFERENCE}/data-flow.md"
    return {
        "erd": relative(page, diagrams.erd_path()),
        "steps": [
            {
                "number": i,
                "title": md_text(step.title),
                "description": md_text(step.description),
                "writes": ", ".join(
                    md_link(t, relative(page, table_page(t)), code=True) for t in step.writes
                ),
                "layers": ", ".join(
                    dict.fromkeys(
                        md_text(schema.layer_map[schema.table(t).layer].title) for t in step.writes
                    )
                ),
            }
            for i, step in enumerate(schema.workflow, 1)
        ],
    }


def enums_context(schema: Schema) -> dict:
    page = f"{REFERENCE}/enums.md"
    used: dict[str, list[str]] = {e.name: [] for e in schema.enums}
    for table in schema.tables:
        for column in table.columns:
            if column.enum:
                used[column.enum].append(
                    md_link(
                        f"{table.name}.{column.name}",
                        f"{relative(page, table_page(table.name))}#column-{column.name}",
                        code=True,
                    )
                )
    return {
        "enums": [
            {
                "name": e.name,
                "title": md_text(e.name),
                "description": md_paragraph(e.description),
                "rows": [
                    {"value": md_code(v.value), "description": md_text(v.description)}
                    for v in e.values
                ],
                "used_by": ", ".join(used[e.name]) or "not used by any column",
            }
            for e in schema.enums
        ]
    }


def units_context(schema: Schema) -> dict:
    page = f"{REFERENCE}/units.md"
    used: dict[str, list[str]] = {symbol: [] for symbol, _ in schema.units}
    for table in schema.tables:
        for column in table.columns:
            if column.unit in used:
                used[column.unit].append(
                    md_link(
                        f"{table.name}.{column.name}",
                        f"{relative(page, table_page(table.name))}#column-{column.name}",
                        code=True,
                    )
                )
    return {
        "units": [
            {
                "symbol": md_code(symbol),
                "meaning": md_text(meaning),
                "count": len(used[symbol]),
                "used_by": ", ".join(used[symbol]),
            }
            for symbol, meaning in schema.units
        ]
    }


def download_path(target: str) -> str:
    return f"{DOWNLOADS}/{target}.sql"


def downloads_context(schema: Schema) -> dict:
    page = f"{REFERENCE}/downloads.md"
    return {
        "targets": [
            {
                "title": md_text(target.title),
                "file": md_link(f"{name}.sql", relative(page, download_path(name))),
                "source": md_code(target.path),
                "versions": md_text(target.versions),
                "load": code_block(target.load_command(f"{name}.sql"), "sh", indent="    "),
            }
            for name, target in TARGETS.items()
        ]
    }


def nav_context(schema: Schema) -> dict:
    """The site navigation as YAML-safe (title, path) pairs, paths relative to docs/."""

    def item(title: str, path: str) -> dict:
        return {"title": yaml_string(title), "path": yaml_string(path)}

    return {
        "guide": [item(t, p) for t, p in GUIDE_PAGES],
        "layers": [item(layer.title, docs_path(layer_page(layer.id))) for layer in schema.layers],
        "tables": [item(t.name, docs_path(table_page(t.name))) for t in schema.tables],
        "tail": [item(t, p) for t, p in TAIL_PAGES],
    }


def yaml_string(text: str) -> str:
    """A double-quoted YAML scalar (JSON strings are valid YAML)."""
    import json

    return json.dumps(text, ensure_ascii=False)


# -- rendering --------------------------------------------------------------------------------
class RowEnvironment(jinja2.Environment):
    """`row.values` means the row's "values" key, not dict.values: rows are plain dicts."""

    def getattr(self, obj, attribute):
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


@cache
def templates() -> jinja2.Environment:
    return RowEnvironment(
        loader=jinja2.PackageLoader("generator", "templates/docs"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # every value is escaped for Markdown while the rows are built
    )


def page(template: str, **context) -> str:
    return templates().get_template(template).render(**context)


def render(schema: Schema) -> dict[str, str]:
    blocks = table_blocks(schema)
    out = {
        f"{REFERENCE}/nav.yml": page("nav.yml.j2", **nav_context(schema)),
        f"{REFERENCE}/layers/index.md": page("layers.md.j2", **layers_index_context(schema)),
        f"{REFERENCE}/tables/index.md": page("tables.md.j2", **tables_index_context(schema)),
        f"{REFERENCE}/usage.md": page("usage.md.j2", **usage_context(schema)),
        f"{REFERENCE}/data-flow.md": page("data-flow.md.j2", **data_flow_context(schema)),
        f"{REFERENCE}/enums.md": page("enums.md.j2", **enums_context(schema)),
        f"{REFERENCE}/units.md": page("units.md.j2", **units_context(schema)),
        f"{REFERENCE}/downloads.md": page("downloads.md.j2", **downloads_context(schema)),
    }
    for i, layer in enumerate(schema.layers):
        out[layer_page(layer.id)] = page("layer.md.j2", **layer_context(schema, i))
    for table in schema.tables:
        out[table_page(table.name)] = page("table.md.j2", **table_context(schema, table, blocks))
    return out
