"""Graphviz ER diagrams (SVG): the full ERD, one per layer, one per table.

Each diagram is a `View` (which tables are drawn in full, which as dimmed context, which foreign
keys) laid out by Graphviz's `dot` as HTML-like table labels joined by crow's-foot edges:

- parent end: two bars = exactly one; bar + circle = zero or one (some FK column is nullable);
- child end: crow + circle = zero or many (one-to-many); bar + circle = zero or one (one-to-one).

Output is deterministic: stable order everywhere, and the only run-dependent line `dot` writes
(its version comment) is removed. Coordinates still depend on the Graphviz version and the fonts
installed (labels are measured in Arial, i.e. Liberation Sans on Debian), like any SVG renderer.
Every SVG links its tables and columns to their documentation pages, for when it is opened on
its own (an <img> does not follow links).
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass

from .errors import ToolError
from .model import ONE_TO_ONE, Column, ForeignKey, Schema, Table

DIAGRAM_DIR = "docs/diagrams"
FONT = "Arial"
# Relative to an SVG in site/diagrams/: the table pages under use_directory_urls.
TABLE_URL = "../reference/tables/{table}/"

# One header colour per layer, in layer order (repeats after 8); context tables are grey.
LAYER_COLOURS = (
    "#dbeafe",
    "#dcfce7",
    "#fef3c7",
    "#fee2e2",
    "#ede9fe",
    "#cffafe",
    "#fce7f3",
    "#e5e7eb",
)
LAYER_BORDERS = (
    "#1d4ed8",
    "#15803d",
    "#b45309",
    "#b91c1c",
    "#6d28d9",
    "#0e7490",
    "#be185d",
    "#374151",
)
TEXT, MUTED, DIM_TEXT, DIM_FILL, DIM_LINE = "#111827", "#4b5563", "#6b7280", "#f3f4f6", "#9ca3af"

LEGEND = (
    "PK primary key · FK foreign key · ? nullable · crow's foot: many · bar: one · circle: optional"
)


def erd_path() -> str:
    return f"{DIAGRAM_DIR}/erd.svg"


def layer_path(layer: str) -> str:
    return f"{DIAGRAM_DIR}/layer-{layer}.svg"


def table_path(table: str) -> str:
    return f"{DIAGRAM_DIR}/table-{table}.svg"


@dataclass(frozen=True)
class View:
    """What one diagram shows."""

    name: str
    focus: tuple[str, ...]  # tables drawn in full
    context: tuple[str, ...]  # neighbours drawn dimmed, with their key columns only
    edges: tuple[ForeignKey, ...]
    cluster_focus: bool = True  # box the focus tables by layer
    legend: bool = False


# -- views ------------------------------------------------------------------------------------
def neighbourhood(schema: Schema, focus: tuple[str, ...], name: str, legend: bool = False) -> View:
    """The focus tables, every foreign key touching them, and the tables at the other end."""
    inside = set(focus)
    edges = tuple(fk for fk in schema.foreign_keys if fk.table in inside or fk.ref_table in inside)
    ends = {t for fk in edges for t in (fk.table, fk.ref_table)} - inside
    context = tuple(t.name for t in schema.tables if t.name in ends)  # schema order
    return View(name, focus, context, edges, legend=legend)


def views(schema: Schema) -> dict[str, View]:
    out = {
        erd_path(): View(
            "erd", tuple(t.name for t in schema.tables), (), schema.foreign_keys, legend=True
        )
    }
    for layer in schema.layers:
        focus = tuple(t.name for t in schema.tables_in_layer(layer.id))
        out[layer_path(layer.id)] = neighbourhood(schema, focus, f"layer_{layer.id}")
    for table in schema.tables:
        out[table_path(table.name)] = neighbourhood(schema, (table.name,), f"table_{table.name}")
    return out


# -- labels -----------------------------------------------------------------------------------
def html(text: str) -> str:
    """Escape text for a Graphviz HTML-like label or attribute, on one line.

    Graphviz decodes entities and then still expands escString sequences (\\N is the node
    name, even written as &#92;N), so a backslash is doubled as well.
    """
    text = " ".join(str(text).split()).replace("\\", "\\\\")
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def port(column: str, side: str) -> str:
    return f"{column}__{side}"


def key_marker(table: Table, column: Column) -> str:
    """'PK', 'FK', 'PK FK' or '': also the Key column of the table pages."""
    marks = []
    if column.name in table.primary_key:
        marks.append("PK")
    if table.foreign_key_of(column.name):
        marks.append("FK")
    return " ".join(marks)


def shown_columns(table: Table, view: View) -> tuple[Column, ...]:
    if table.name in view.focus:
        return table.columns
    keys = set(table.primary_key)
    for fk in view.edges:
        if fk.table == table.name:
            keys.update(fk.columns)
        if fk.ref_table == table.name:
            keys.update(fk.ref_columns)
    return tuple(c for c in table.columns if c.name in keys)


def table_label(schema: Schema, table: Table, view: View) -> str:
    full = table.name in view.focus
    index = [layer.id for layer in schema.layers].index(table.layer)
    fill = LAYER_COLOURS[index % len(LAYER_COLOURS)] if full else DIM_FILL
    text, muted = (TEXT, MUTED) if full else (DIM_TEXT, DIM_LINE)
    url = TABLE_URL.format(table=table.name)
    usage = html(table.usage_label)
    rows = [
        f'<TR><TD COLSPAN="2" ALIGN="LEFT" BGCOLOR="{fill}" HREF="{html(url)}" '
        f'TOOLTIP="{html(table.description)}">'
        f'<FONT COLOR="{text}"><B>{html(table.name)}</B></FONT></TD>'
        f'<TD ALIGN="RIGHT" BGCOLOR="{fill}"><FONT COLOR="{muted}" POINT-SIZE="9">{usage}</FONT>'
        f"</TD></TR>"
    ]
    for column in shown_columns(table, view):
        kind = column.type + ("?" if column.nullable else "")
        marker = key_marker(table, column)
        marker = f'<FONT COLOR="{muted}" POINT-SIZE="9">{marker}</FONT>' if marker else " "
        rows.append(
            f'<TR><TD PORT="{port(column.name, "l")}" ALIGN="LEFT">{marker}</TD>'
            f'<TD ALIGN="LEFT" HREF="{html(url)}#column-{html(column.name)}" '
            f'TOOLTIP="{html(column.description)}"><FONT COLOR="{text}">{html(column.name)}'
            f"</FONT></TD>"
            f'<TD PORT="{port(column.name, "r")}" ALIGN="LEFT">'
            f'<FONT COLOR="{muted}">{html(kind)}</FONT></TD></TR>'
        )
    if not full:
        rows.append(
            '<TR><TD COLSPAN="3" ALIGN="LEFT"><FONT COLOR="#9ca3af" POINT-SIZE="9">'
            "…</FONT></TD></TR>"
        )
    border = LAYER_BORDERS[index % len(LAYER_BORDERS)] if full else DIM_LINE
    return (
        f'<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" '
        f'COLOR="{border}" BGCOLOR="white" STYLE="{"rounded" if full else "dashed"}">'
        + "".join(rows)
        + "</TABLE>>"
    )


def anchor_columns(schema: Schema, fk: ForeignKey) -> tuple[str, str]:
    """(parent column, child column) an edge is drawn between: the first child column no other
    foreign key of the table uses, so composite keys sharing session_id stay apart."""
    others = {
        c
        for other in schema.table(fk.table).foreign_keys
        if other.name != fk.name
        for c in other.columns
    }
    i = next((i for i, c in enumerate(fk.columns) if c not in others), 0)
    return fk.ref_columns[i], fk.columns[i]


def edge_arrows(fk: ForeignKey) -> tuple[str, str]:
    """(parent end, child end) crow's-foot arrow shapes; the first shape touches the node."""
    parent = "teeodot" if fk.optional else "teetee"
    child = "teeodot" if fk.cardinality == ONE_TO_ONE else "crowodot"
    return parent, child


# -- drawing ----------------------------------------------------------------------------------
def to_dot(schema: Schema, view: View):
    import graphviz

    graph = graphviz.Digraph(
        view.name,
        graph_attr={
            "rankdir": "LR",
            "nodesep": "0.3",
            "ranksep": "0.8",
            "fontname": FONT,
            "fontsize": "11",
            "bgcolor": "white",
            "pad": "0.2",
            "newrank": "true",
            "labeljust": "l",
            "labelloc": "b",
        },
        node_attr={"shape": "plain", "fontname": FONT, "fontsize": "10"},
        edge_attr={
            "fontname": FONT,
            "fontsize": "9",
            "color": "#4b5563",
            "penwidth": "1.2",
            "arrowsize": "1.1",
            "dir": "both",
        },
    )
    if view.legend:
        graph.attr(label=graphviz.escape(LEGEND))
    drawn = set(view.focus) | set(view.context)
    for i, layer in enumerate(schema.layers):
        tables = [t for t in schema.tables_in_layer(layer.id) if t.name in view.focus]
        if not tables:
            continue
        with graph.subgraph(name=f"cluster_{layer.id}") as cluster:
            cluster.attr(
                label=graphviz.escape(layer.title),
                style="rounded,dashed",
                color=LAYER_BORDERS[i % len(LAYER_BORDERS)],
                fontcolor=MUTED,
                labeljust="l",
                labelloc="t",
                margin="12",
            )
            for table in tables:
                cluster.node(table.name, label=table_label(schema, table, view))
    for table in schema.tables:
        if table.name in view.context:
            graph.node(table.name, label=table_label(schema, table, view))
    for fk in view.edges:
        if fk.table not in drawn or fk.ref_table not in drawn:
            continue
        parent, child = edge_arrows(fk)
        parent_column, child_column = anchor_columns(schema, fk)
        dim = fk.table not in view.focus and fk.ref_table not in view.focus
        graph.edge(
            f"{fk.ref_table}:{port(parent_column, 'r')}:e",
            f"{fk.table}:{port(child_column, 'l')}:w",
            arrowtail=parent,
            arrowhead=child,
            style="dashed" if fk.optional else "solid",
            color=DIM_LINE if dim else "#4b5563",
            tooltip=graphviz.escape(
                f"{fk.name}: {fk.table}({', '.join(fk.columns)}) -> "
                f"{fk.ref_table}({', '.join(fk.ref_columns)}), "
                f"{fk.cardinality}, ON DELETE {fk.on_delete.upper()}. " + " ".join(fk.why.split())
            ),
        )
    return graph


_VERSION_COMMENT = re.compile(r"<!-- Generated by graphviz version [^>]*-->\n")


def run_dot(source: str, name: str) -> str:
    """dot -Tsvg; its warnings about our own source (unknown ports, bad labels) are errors."""
    try:
        proc = subprocess.run(
            ["dot", "-Tsvg"], input=source.encode("utf-8"), capture_output=True, check=False
        )
    except FileNotFoundError:
        raise ToolError(
            "Graphviz's `dot` program was not found: install Graphviz "
            "(Debian/Ubuntu package graphviz: apt-get install graphviz) to draw "
            "the diagrams"
        ) from None
    stderr = proc.stderr.decode("utf-8", errors="replace").strip()
    if proc.returncode != 0 or re.search(r"^(Error|Warning: node .* port)", stderr, re.M):
        raise ToolError(f"dot failed on diagram {name!r} (exit {proc.returncode}): {stderr}")
    if stderr:  # e.g. fontconfig notices: worth seeing, not fatal
        print(f"dot ({name}): {stderr}", file=sys.stderr)
    return proc.stdout.decode("utf-8")


def draw(schema: Schema, view: View) -> str:
    """The view as SVG, with the run-dependent version comment removed."""
    return _VERSION_COMMENT.sub("", run_dot(to_dot(schema, view).source, view.name))


def render(schema: Schema) -> dict[str, str]:
    return {path: draw(schema, view) for path, view in views(schema).items()}
