"""CHECK and continuous-aggregate expressions: parsed by sqlglot into exactly one expression,
checked node by node against an allowed list, typed against the table's columns, and then
re-rendered from the tree; the text from schema.yaml never reaches SQL as it was written.

Allowed: the table's own (unqualified) columns, literals, NULL, TRUE/FALSE, comparisons,
AND/OR/NOT, IS [NOT] NULL, IN (...), BETWEEN, LIKE, arithmetic, || and a few functions that
every engine has (abs, length, lower, upper, trim, coalesce, nullif, one-argument round, CAST
to a plain type); in continuous aggregates also avg, sum, min, max, count, stddev, variance.
Not allowed: subqueries, other tables' columns, several statements, commands, window
functions, any other function.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import sqlglot
from sqlglot import exp

from ..model import FLOAT_TYPES, INTEGER_TYPES
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

COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)
SCALAR_FUNCTIONS = (
    exp.Abs,
    exp.Length,
    exp.Lower,
    exp.Upper,
    exp.Trim,
    exp.Coalesce,
    exp.Nullif,
    exp.Round,
)
AGGREGATES = (
    exp.Avg,
    exp.Sum,
    exp.Min,
    exp.Max,
    exp.Count,
    exp.Stddev,
    exp.StddevSamp,
    exp.StddevPop,
    exp.Variance,
    exp.VariancePop,
)
STRUCTURE = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Null,
    exp.Boolean,
    exp.Paren,
    exp.Neg,
    exp.Not,
    exp.And,
    exp.Or,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.DPipe,
    exp.Cast,
    exp.DataType,
    *COMPARISONS,
    *ARITHMETIC,
)
CAST_TYPES = {
    exp.DataType.Type.SMALLINT: NUMBER,
    exp.DataType.Type.INT: NUMBER,
    exp.DataType.Type.BIGINT: NUMBER,
    exp.DataType.Type.FLOAT: NUMBER,
    exp.DataType.Type.DOUBLE: NUMBER,
    exp.DataType.Type.TEXT: TEXT,
    exp.DataType.Type.BOOLEAN: BOOL,
}
SPOKEN = {
    exp.Select: "a subquery",
    exp.Subquery: "a subquery",
    exp.Exists: "a subquery",
    exp.Command: "a command",
    exp.Block: "a block of statements",
    exp.Window: "a window function",
    exp.Case: "CASE",
    exp.Any: "ANY",
    exp.All: "ALL",
    exp.Array: "an array",
    exp.Star: "*",
    exp.Placeholder: "a placeholder",
    exp.Parameter: "a parameter",
}


def column_kind(ctype: str) -> str:
    if ctype in INTEGER_TYPES or ctype in FLOAT_TYPES:
        return NUMBER
    return {"text": TEXT, "boolean": BOOL, "timestamptz": TIME, "json": JSON}[ctype]


def analyse(ctx: Context, text: str, where, what: str, typer: _Typer) -> exp.Expression | None:
    """Parse `text` into exactly one expression and walk it with `typer`; None after a
    located problem. sqlglot's logger is muted: its warnings are not the user's business."""
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        tree = parse(ctx, text, where, what)
        if tree is not None:
            typer.result = typer.kind(tree)
    except RecursionError:
        ctx.report("expressions.too-deep", where, f"{what} is nested too deeply", at_value=True)
        return None
    finally:
        logger.setLevel(level)
    return tree if tree is not None and typer.ok else None


@lru_cache(maxsize=1024)
def _parse(text: str):
    """sqlglot's trees for `text` with their SQL comments removed, or the parse error; cached,
    since the trees are only read afterwards."""
    try:
        trees = [t for t in sqlglot.parse(text, read="postgres") if t is not None]
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
        errors = getattr(exc, "errors", None)
        return errors[0]["description"] if errors else str(exc).splitlines()[0]
    for tree in trees:
        for node in tree.walk():
            node.comments = None  # SQL comments from the YAML never reach the output
    return tuple(trees)


def parse(ctx: Context, text: str, where, what: str) -> exp.Expression | None:
    trees = _parse(text)
    if isinstance(trees, str):
        ctx.report(
            "expressions.parse",
            where,
            f"{what} does not parse: {trees}",
            "write it in PostgreSQL syntax, e.g. a >= 0 AND a <= b",
            at_value=True,
        )
        return None
    if len(trees) != 1 or isinstance(trees[0], exp.Command | exp.Block | exp.Query):
        ctx.report(
            "expressions.statements",
            where,
            f"{what} must be one expression, not {len(trees)} statements"
            if len(trees) != 1
            else f"{what} must be an expression, not a statement",
            "no ';' and no SQL commands",
            at_value=True,
        )
        return None
    return trees[0]


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

    def kind(self, node: exp.Expression, in_aggregate: bool = False) -> str:
        if isinstance(node, exp.Column):
            return self.column_kind(node, in_aggregate)
        if isinstance(node, exp.Literal):
            return UNKNOWN if node.is_string else NUMBER
        if isinstance(node, exp.Null):
            return NULL
        if isinstance(node, exp.Boolean):
            return BOOL
        if isinstance(node, exp.Paren):
            return self.kind(node.this, in_aggregate)
        spoken = next((v for k, v in SPOKEN.items() if isinstance(node, k)), None)
        if spoken is None and not isinstance(node, STRUCTURE + SCALAR_FUNCTIONS + AGGREGATES):
            spoken = None if isinstance(node, exp.Func) else repr(node.key.upper())
        if spoken is not None or (
            isinstance(node, exp.Is) and not isinstance(node.expression, exp.Null | exp.Boolean)
        ):
            return self.fail(
                "expressions.forbidden",
                f"{self.what} holds {spoken or 'IS with an operand other than NULL'}, which is "
                "not allowed",
                "use the table's columns, literals, comparisons, AND/OR/NOT and arithmetic",
            )
        if not isinstance(node, STRUCTURE + SCALAR_FUNCTIONS + AGGREGATES):
            name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
            return self.fail(
                "expressions.function",
                f"{self.what} calls {name.lower()}(), which is not allowed",
                "allowed: abs, length, lower, upper, trim, coalesce, nullif, round, cast"
                + (", avg, sum, min, max, count, stddev, variance" if self.aggregate else ""),
            )
        if isinstance(node, AGGREGATES):
            return self.aggregate_kind(node, in_aggregate)
        return self.scalar_kind(node, in_aggregate)

    def column_kind(self, node: exp.Column, in_aggregate: bool) -> str:
        if node.table or node.args.get("db") or node.args.get("catalog"):
            return self.fail(
                "expressions.qualified",
                f"{self.what} uses '{node.sql('postgres')}', a column qualified by a table",
                "use the table's own columns, unqualified",
            )
        name = node.name
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

    def aggregate_kind(self, node, in_aggregate: bool) -> str:
        if not self.aggregate:
            return self.fail(
                "expressions.aggregate-in-check",
                f"{self.what} holds the aggregate {node.sql_name().lower()}()",
                "a CHECK sees one row: no aggregates",
            )
        if in_aggregate:
            return self.fail(
                "expressions.nested-aggregate", f"{self.what} nests one aggregate inside another"
            )
        if isinstance(node.this, exp.Distinct):
            return self.fail(
                "expressions.distinct",
                f"{self.what} uses DISTINCT, which a continuous aggregate cannot",
            )
        if isinstance(node, exp.Count) and isinstance(node.this, exp.Star):
            return NUMBER
        inner = self.kind(node.this, True)
        if isinstance(node, exp.Count):
            return NUMBER
        if isinstance(node, exp.Min | exp.Max):
            if inner in (BOOL, JSON):
                return self.type_error(node, inner)
            return inner
        if inner not in (NUMBER, NULL, UNKNOWN):
            return self.type_error(node, inner)
        return NUMBER

    def type_error(self, node, kind: str) -> str:
        return self.fail(
            "expressions.type",
            f"{self.what}: '{node.sql('postgres')}' applies to a {kind} value, which does not fit",
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

    def scalar_kind(self, node, in_aggregate: bool) -> str:  # noqa: C901
        kids = [self.kind(a, in_aggregate) for a in node.iter_expressions()]
        if isinstance(node, exp.Round) and node.args.get("decimals") is not None:
            return self.fail(
                "expressions.arguments",
                f"{self.what}: round() takes one argument here",
                "PostgreSQL has no round(double precision, integer)",
            )
        if isinstance(node, exp.And | exp.Or | exp.Not):
            for k in kids:
                self.need(node, k, BOOL)
            return BOOL
        if isinstance(node, (*COMPARISONS, exp.In, exp.Between)):
            kind = self.same(node, kids)
            if kind == BOOL and not isinstance(node, exp.EQ | exp.NEQ | exp.In):
                self.type_error(node, BOOL)
            return BOOL
        if isinstance(node, exp.Is):
            if isinstance(node.expression, exp.Boolean):
                self.need(node, kids[0], BOOL)
            return BOOL
        if isinstance(node, exp.Like | exp.DPipe | exp.Lower | exp.Upper | exp.Trim | exp.Length):
            for k in kids:
                self.need(node, k, TEXT)
            return (
                BOOL
                if isinstance(node, exp.Like)
                else NUMBER
                if isinstance(node, exp.Length)
                else TEXT
            )
        if isinstance(node, (*ARITHMETIC, exp.Neg, exp.Abs, exp.Round)):
            for k in kids:
                self.need(node, k, NUMBER)
            return NUMBER
        if isinstance(node, exp.Coalesce | exp.Nullif):
            return self.same(node, kids)
        if isinstance(node, exp.Cast):
            target = CAST_TYPES.get(node.to.this) if isinstance(node.to, exp.DataType) else None
            if target is None or node.to.expressions:
                return self.fail(
                    "expressions.cast",
                    f"{self.what} casts to {node.to.sql('postgres')}, which is not allowed",
                    "cast to smallint, integer, bigint, real, double precision, text or boolean",
                )
            inner = kids[0]
            if inner in (JSON, TIME) or (BOOL in (inner, target) and inner != target):
                self.type_error(node, inner)
            return target
        return UNKNOWN  # DataType and Identifier: parts of the nodes above


def check_condition(ctx: Context, text: str, columns: dict[str, str], where) -> str | None:
    """A CHECK: one true/false condition over the table's columns; PostgreSQL text back."""
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
    return tree.sql("postgres")


def check_aggregate(
    ctx: Context, text: str, columns: dict[str, str], group_by, where
) -> str | None:
    """One output column of a continuous aggregate; PostgreSQL text back."""
    what = "aggregate expression"
    typer = _Typer(ctx, where, what, columns, aggregate=True, group_by=group_by)
    tree = analyse(ctx, text, where, what, typer)
    if tree is None:
        return None
    if not any(isinstance(n, AGGREGATES) for n in tree.walk()):
        ctx.report(
            "expressions.no-aggregate",
            where,
            f"{what} has no aggregate",
            "e.g. avg(voltage_volt), max(current_ampere), count(*)",
            at_value=True,
        )
        return None
    return tree.sql("postgres")
