"""CHECK and continuous-aggregate expressions: parsed by PostgreSQL's own parser (libpg_query,
through pglast; generator/sqlexpr.py) into exactly one expression, checked node by node against
an allowed list, typed against the table's columns, and then re-rendered from the tree; the
text from schema.yaml never reaches SQL as it was written.

Allowed: the table's own (unqualified) columns, literals, NULL, TRUE/FALSE, comparisons,
AND/OR/NOT, IS [NOT] NULL, IS [NOT] TRUE/FALSE, IN (...), BETWEEN, LIKE, arithmetic, || and a
few functions that every engine has (abs, length, lower, upper, trim, coalesce, nullif,
one-argument round, CAST to a plain type); in continuous aggregates also avg, sum, min, max,
count, stddev, variance. Not allowed: subqueries, other tables' columns, several statements,
commands, window functions, any other function.
"""

from __future__ import annotations

from ..model import FLOAT_TYPES, INTEGER_TYPES
from ..sqlexpr import Node, ParseFailure, too_deep
from ..sqlexpr import parse as parse_tree
from ..targets import schema_text
from . import Context, suggest

NUMBER, TEXT, BOOL, TIME, JSON, NULL, UNKNOWN = (
    "number",
    "text",
    "boolean",
    "timestamp",
    "json",
    "null",
    "unknown",  # a quoted literal: PostgreSQL types it from the other operand
)
CAST_KINDS = {
    "smallint": NUMBER,
    "integer": NUMBER,
    "bigint": NUMBER,
    "real": NUMBER,
    "double": NUMBER,
    "text": TEXT,
    "boolean": BOOL,
}
ONE_ARGUMENT = ("abs", "length", "lower", "upper", "trim", "round")


def column_kind(ctype: str) -> str:
    if ctype in INTEGER_TYPES or ctype in FLOAT_TYPES:
        return NUMBER
    return {"text": TEXT, "boolean": BOOL, "timestamptz": TIME, "json": JSON}[ctype]


def analyse(ctx: Context, text: str, where, what: str, typer: _Typer) -> Node | None:
    """Parse `text` into exactly one expression and walk it with `typer`; None after a
    located problem."""
    try:
        tree = parse(ctx, text, where, what)
        if tree is not None:
            typer.result = typer.kind(tree)
    except RecursionError:
        failure = too_deep()
        ctx.report(failure.code, where, f"{what} {failure.message}", at_value=True)
        return None
    return tree if tree is not None and typer.ok else None


HINTS = {
    "expressions.parse": "write it in PostgreSQL syntax, e.g. a >= 0 AND a <= b",
    "expressions.statements": "no ';' and no SQL commands",
    "expressions.forbidden": "use the table's columns, literals, comparisons, AND/OR/NOT and "
    "arithmetic",
}


def parse(ctx: Context, text: str, where, what: str) -> Node | None:
    try:
        return parse_tree(text)
    except ParseFailure as failure:
        ctx.report(
            failure.code, where, f"{what} {failure.message}", HINTS.get(failure.code), at_value=True
        )
        return None


class _Typer:
    """Walks an expression, reporting the first thing not allowed; returns its kind."""

    def __init__(self, ctx, where, what, columns: dict[str, str], *, aggregate: bool, group_by):
        self.ctx, self.where, self.what = ctx, where, what
        self.columns = columns  # name -> kind
        self.aggregate = aggregate
        self.group_by = set(group_by)
        self.ok = True
        self.result = UNKNOWN

    def fail(self, code: str, message: str, hint: str | None = None) -> str:
        if self.ok:  # one problem per expression: the first is the one to fix
            self.ctx.report(code, self.where, message, hint, at_value=True)
        self.ok = False
        return UNKNOWN

    def kind(self, node: Node, in_aggregate: bool = False) -> str:
        k = node.kind
        if k == "column":
            return self.column_kind(node, in_aggregate)
        if k in ("string", "number", "null", "boolean"):
            return {"string": UNKNOWN, "number": NUMBER, "null": NULL, "boolean": BOOL}[k]
        if k == "forbidden":
            return self.fail(
                "expressions.forbidden",
                f"{self.what} holds {node.value}, which is not allowed",
                "use the table's columns, literals, comparisons, AND/OR/NOT and arithmetic",
            )
        if k == "function":
            return self.fail(
                "expressions.function",
                f"{self.what} calls {node.value.lower()}(), which is not allowed",
                "allowed: abs, length, lower, upper, trim, coalesce, nullif, round, cast"
                + (", avg, sum, min, max, count, stddev, variance" if self.aggregate else ""),
            )
        if k == "cast-refused":
            return self.fail(
                "expressions.cast",
                f"{self.what} casts to {node.value}, which is not allowed",
                "cast to smallint, integer, bigint, real, double precision, text or boolean",
            )
        if k == "aggregate":
            return self.aggregate_kind(node, in_aggregate)
        return self.scalar_kind(node, in_aggregate)

    def column_kind(self, node: Node, in_aggregate: bool) -> str:
        if node.flag:
            return self.fail(
                "expressions.qualified",
                f"{self.what} uses '{node.value}', a column qualified by a table",
                "use the table's own columns, unqualified",
            )
        name = node.value
        if name not in self.columns:
            return self.fail(
                "expressions.unknown-column",
                f"{self.what} uses unknown column '{name}'",
                suggest(name, self.columns),
            )
        if self.aggregate and not in_aggregate and name not in self.group_by:
            return self.fail(
                "expressions.ungrouped",
                f"{self.what} uses '{name}' outside an aggregate",
                "wrap it in avg(), min(), max()... or add it to group_by",
            )
        return self.columns[name]

    def aggregate_kind(self, node: Node, in_aggregate: bool) -> str:
        name = node.value
        if not self.aggregate:
            return self.fail(
                "expressions.aggregate-in-check",
                f"{self.what} holds the aggregate {name}()",
                "a CHECK sees one row: no aggregates",
            )
        if in_aggregate:
            return self.fail(
                "expressions.nested-aggregate", f"{self.what} nests one aggregate inside another"
            )
        if node.negated:
            return self.fail(
                "expressions.distinct",
                f"{self.what} uses DISTINCT, which a continuous aggregate cannot",
            )
        if name == "count" and node.flag:
            return NUMBER
        if len(node.args) != 1:
            return self.arguments(name, "one argument", "e.g. avg(voltage_volt), count(*)")
        inner = self.kind(node.args[0], True)
        if name == "count":
            return NUMBER
        if name in ("min", "max"):
            if inner in (BOOL, JSON):
                return self.type_error(node, inner)
            return inner
        if inner not in (NUMBER, NULL, UNKNOWN):
            return self.type_error(node, inner)
        return NUMBER

    def arguments(self, name: str, count: str, hint: str) -> str:
        return self.fail("expressions.arguments", f"{self.what}: {name}() takes {count} here", hint)

    def type_error(self, node: Node, kind: str) -> str:
        if not self.ok:  # a part of the node was refused: it may not even render
            return UNKNOWN
        return self.fail(
            "expressions.type",
            f"{self.what}: '{schema_text(node)}' applies to a {kind} value, which does not fit",
            "compare values of the same kind: numbers with unquoted numbers, text with quoted text",
        )

    def need(self, node, kind: str, *wanted: str) -> None:
        if kind not in (*wanted, NULL, UNKNOWN) and self.ok:
            self.type_error(node, kind)

    def same(self, node, kinds: list[str]) -> str:
        """Operands that must be of one kind. A quoted literal goes only with text: beside a
        number, boolean, timestamp or JSON it would be read differently by each engine (SQLite
        stores timestamps as Unix seconds) or fail when PostgreSQL loads the DDL."""
        known = [k for k in kinds if k not in (NULL, UNKNOWN)]
        if len(set(known)) > 1:
            self.type_error(node, known[1])
        elif known and known[0] != TEXT and UNKNOWN in kinds:
            self.type_error(node, known[0])
        return known[0] if known else UNKNOWN

    def scalar_kind(self, node: Node, in_aggregate: bool) -> str:  # noqa: C901
        k, name = node.kind, node.value
        if k == "func" and name in ONE_ARGUMENT and len(node.args) != 1:
            return self.arguments(
                name,
                "one argument",
                "PostgreSQL has no round(double precision, integer)"
                if name == "round"
                else f"{name}(value)",
            )
        if k == "func" and name == "nullif" and len(node.args) != 2:
            return self.arguments(name, "two arguments", "nullif(value, value)")
        kids = [self.kind(a, in_aggregate) for a in node.args]
        if k in ("and", "or", "not"):
            for kid in kids:
                self.need(node, kid, BOOL)
            return BOOL
        if k in ("compare", "in", "between"):
            kind = self.same(node, kids)
            if kind == BOOL and not (k == "in" or (k == "compare" and node.op in ("=", "<>"))):
                self.type_error(node, BOOL)
            return BOOL
        if k == "isnull":
            return BOOL
        if k == "istruth":
            self.need(node, kids[0], BOOL)
            return BOOL
        text_function = k == "func" and name in ("lower", "upper", "trim", "length")
        if k in ("like", "concat") or text_function:
            for kid in kids:
                self.need(node, kid, TEXT)
            return BOOL if k == "like" else NUMBER if name == "length" else TEXT
        if k in ("arith", "neg") or (k == "func" and name in ("abs", "round")):
            for kid in kids:
                self.need(node, kid, NUMBER)
            return NUMBER
        if k == "func":  # coalesce, nullif
            return self.same(node, kids)
        if k == "cast":
            target = CAST_KINDS[name]
            inner = kids[0]
            if inner in (JSON, TIME) or (BOOL in (inner, target) and inner != target):
                self.type_error(node, inner)
            return target
        raise AssertionError(f"unexpected node {k}")


def check_condition(ctx: Context, text: str, columns: dict[str, str], where) -> str | None:
    """A CHECK: one true/false condition over the table's columns; PostgreSQL text back."""
    tree = check_tree(ctx, text, columns, where)
    return None if tree is None else schema_text(tree)


def check_tree(ctx: Context, text: str, columns: dict[str, str], where) -> Node | None:
    """A CHECK: one true/false condition over the table's columns, parsed; None after a
    located problem."""
    typer = _Typer(ctx, where, "CHECK expression", columns, aggregate=False, group_by=())
    tree = analyse(ctx, text, where, "CHECK expression", typer)
    if tree is None:
        return None
    if typer.result not in (BOOL, NULL):
        ctx.report(
            "expressions.not-boolean",
            where,
            "CHECK expression is not a true/false condition",
            "compare columns, e.g. a >= 0 AND a <= b",
            at_value=True,
        )
        return None
    return tree


def check_aggregate(
    ctx: Context, text: str, columns: dict[str, str], group_by, where
) -> str | None:
    """One output column of a continuous aggregate; PostgreSQL text back."""
    what = "aggregate expression"
    typer = _Typer(ctx, where, what, columns, aggregate=True, group_by=group_by)
    tree = analyse(ctx, text, where, what, typer)
    if tree is None:
        return None
    if not any(n.kind == "aggregate" for n in tree.walk()):
        ctx.report(
            "expressions.no-aggregate",
            where,
            f"{what} has no aggregate",
            "e.g. avg(voltage_volt), max(current_ampere), count(*)",
            at_value=True,
        )
        return None
    return schema_text(tree)
