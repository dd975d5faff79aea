"""CHECK and continuous-aggregate expressions: PostgreSQL's own parser, a small tree (model.Node),
and the walk that prints it for a target.

`parse` hands `SELECT <expression>` to PostgreSQL's parser (libpg_query, through pglast's
`parse_sql_json`: no Python AST classes are built) and turns the one target expression into a
tree of `Node`s, once: the validator keeps the tree on the model (Check.tree). Everything
outside the allowed subset (rules/expressions.py) becomes a node of kind "forbidden",
"function" or "cast" that names what was written, for the validator to report.

`render` writes a tree for one target from the tree alone: the walk here lays it out and adds
parentheses wherever a child binds less tightly than its parent could in any of the engines;
the target writes columns (its `quote`), text literals (its `literal`), functions, cast types
and truth tests (hooks on targets/base.py's Target, tables on each target). Numbers keep
PostgreSQL's own reading of them. So the text in schema.yaml never reaches SQL as it was
written (comments, spacing and parentheses included).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Protocol

from .model import Node

MAX_DEPTH = 200  # nesting (parentheses or tree levels); schema.yaml's deepest is 4

COMPARISONS = ("=", "<>", "<", ">", "<=", ">=")
ARITHMETIC = ("+", "-", "*", "/", "%")
SCALAR_FUNCTIONS = ("abs", "length", "lower", "upper", "trim", "coalesce", "nullif", "round")
AGGREGATES = (
    "avg",
    "sum",
    "min",
    "max",
    "count",
    "stddev",
    "stddev_samp",
    "stddev_pop",
    "variance",
    "var_samp",
    "var_pop",
)
# PostgreSQL's name for a cast target (pg_catalog.<name>) -> the model's type (each target
# writes it as its type_map or cast_types says)
CAST_TYPES = {
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "float4": "real",
    "float8": "double",
    "text": "text",
    "bool": "boolean",
}
# Constructs PostgreSQL parses that the subset leaves out, as the message names them.
SPOKEN = {
    "SubLink": "a subquery",
    "CaseExpr": "CASE",
    "A_ArrayExpr": "an array",
    "A_Star": "*",
    "ParamRef": "a parameter",
    "RowExpr": "a row constructor",
    "CollateClause": "COLLATE",
    "A_Indirection": "a subscript",
    "GroupingFunc": "GROUPING",
    "XmlExpr": "an XML expression",
    "XmlSerialize": "an XML expression",
    "JsonIsPredicate": "IS JSON",
    "MergeSupportFunc": "MERGE_ACTION",
}
A_EXPR_SPOKEN = {
    "AEXPR_OP_ANY": "ANY",
    "AEXPR_OP_ALL": "ALL",
    "AEXPR_DISTINCT": "IS DISTINCT FROM",
    "AEXPR_NOT_DISTINCT": "IS NOT DISTINCT FROM",
    "AEXPR_ILIKE": "ILIKE",
    "AEXPR_SIMILAR": "SIMILAR TO",
    "AEXPR_BETWEEN_SYM": "BETWEEN SYMMETRIC",
    "AEXPR_NOT_BETWEEN_SYM": "NOT BETWEEN SYMMETRIC",
}


IS_OTHER = "IS with an operand other than NULL"


class ParseFailure(Exception):
    """The text is not one PostgreSQL expression: code (expressions.*) and message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _parser():
    from pglast.parser import ParseError, parse_sql_json

    return parse_sql_json, ParseError


def _depth_of_parentheses(text: str) -> int:
    """The deepest nesting of parentheses, from PostgreSQL's own scanner (so that those
    inside quoted text or comments do not count); only run when there could be many."""
    if text.count("(") <= MAX_DEPTH:
        return 0
    from pglast.parser import scan

    depth = deepest = 0
    for token in scan(text):
        piece = text[token.start : token.end + 1]
        if piece == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif piece == ")":
            depth -= 1
    return deepest


@lru_cache(maxsize=4096)
def parse(text: str) -> Node:
    """The one expression of `text` (PostgreSQL syntax) as a tree; ParseFailure otherwise.
    Parentheses deeper than MAX_DEPTH are refused as too deep, although PostgreSQL drops
    them: a schema has no use for them, and the limit holds whatever the parser allows."""
    parse_sql_json, ParseError = _parser()
    if _depth_of_parentheses(text) > MAX_DEPTH:
        raise too_deep()
    try:
        parse_sql_json(text)
    except ParseError:
        pass  # an expression is not a statement: the usual case
    else:
        raise _statements(text, parse_sql_json)
    prefix = "SELECT "
    try:
        tree = json.loads(parse_sql_json(prefix + text))
    except ParseError as exc:
        failure = _parse_error(exc, text, len(prefix))
        if failure == IS_OTHER:  # the validator words it as any construct left out
            return Node("forbidden", value=IS_OTHER)
        raise failure from None
    except RecursionError:
        raise too_deep() from None
    statements = tree.get("stmts", [])
    if len(statements) != 1:
        raise _statements_failure(len(statements))
    select = statements[0].get("stmt", {}).get("SelectStmt", {})
    targets = select.get("targetList", [])
    extra = set(select) - {"targetList", "limitOption", "op"}
    if len(targets) != 1 or extra or select.get("op") != "SETOP_NONE":
        raise _not_parsed("it is not one expression (a comma, AS, or a clause: FROM...)")
    target = targets[0]["ResTarget"]
    if "name" in target:
        raise _not_parsed("AS is not part of an expression")
    try:
        return _node(target["val"], 0)
    except RecursionError:
        raise too_deep() from None


def too_deep() -> ParseFailure:
    return ParseFailure(code="expressions.too-deep", message="is nested too deeply")


def _not_parsed(detail: str) -> ParseFailure:
    return ParseFailure(code="expressions.parse", message=f"does not parse: {detail}")


def _statements_failure(count: int) -> ParseFailure:
    return ParseFailure(
        code="expressions.statements",
        message="must be an expression, not a statement"
        if count == 1
        else f"must be one expression, not {count} statements",
    )


def _statements(text: str, parse_sql_json) -> ParseFailure:
    count = len(json.loads(parse_sql_json(text)).get("stmts", []))
    return _statements_failure(count)


def _parse_error(exc, text: str, offset: int) -> ParseFailure | str:
    message = " ".join((str(exc.args[0]) if exc.args else str(exc)).split())  # one line
    if "stack depth" in message or "memory exhausted" in message:
        return too_deep()
    at = exc.args[1] - offset if len(exc.args) > 1 and isinstance(exc.args[1], int) else -1
    if 0 <= at <= len(text) and re.search(r"(?i)\bIS\s+(NOT\s+)?$", text[:at]):
        # PostgreSQL reads IS only before NULL, TRUE, FALSE, UNKNOWN, DISTINCT, JSON, ...
        return IS_OTHER
    where = f" (character {at + 1})" if 0 <= at <= len(text) else ""
    return _not_parsed(f"{message}{where}")


def _name(parts) -> str:
    return ".".join(p["String"]["sval"] for p in parts if "String" in p)


def _node(j: dict, depth: int) -> Node:  # noqa: C901
    if depth > MAX_DEPTH:
        raise RecursionError
    ((tag, body),) = j.items()
    sub = depth + 1
    if tag == "ColumnRef":
        fields = body["fields"]
        if any("A_Star" in f for f in fields):
            return Node("forbidden", value="*")
        name = _name(fields)
        return Node("column", value=name, flag=len(fields) > 1)
    if tag == "A_Const":
        return _constant(body)
    if tag == "BoolExpr":
        args = [_node(a, sub) for a in body["args"]]
        kind = {"AND_EXPR": "and", "OR_EXPR": "or", "NOT_EXPR": "not"}[body["boolop"]]
        return Node(kind, args)
    if tag == "NullTest":
        negated = body["nulltesttype"] == "IS_NOT_NULL"
        return Node("isnull", [_node(body["arg"], sub)], negated=negated)
    if tag == "BooleanTest":
        test = body["booltesttype"]
        if "UNKNOWN" in test:
            return Node("forbidden", value=IS_OTHER)
        return Node(
            "istruth", [_node(body["arg"], sub)], value="TRUE" in test, negated="NOT" in test
        )
    if tag == "A_Expr":
        return _a_expr(body, sub)
    if tag == "FuncCall":
        return _function(body, sub)
    if tag == "CoalesceExpr":
        return Node("func", [_node(a, sub) for a in body["args"]], value="coalesce")
    if tag == "MinMaxExpr":
        return Node("function", value="greatest" if body["op"] == "IS_GREATEST" else "least")
    if tag == "SQLValueFunction":
        return Node("function", value=body["op"].removeprefix("SVFOP_").lower())
    if tag == "TypeCast":
        return _cast(body, sub)
    return Node("forbidden", value=SPOKEN.get(tag, repr(tag)))


def _constant(body: dict) -> Node:
    if body.get("isnull"):
        return Node("null")
    if "ival" in body:
        return Node("number", value=str(body["ival"].get("ival", 0)))
    if "fval" in body:
        text = body["fval"]["fval"]
        sign = "-" if text.startswith("-") else ""
        digits = text.lstrip("+-")
        digits = "0" + digits if digits.startswith(".") else digits
        return Node("number", value=sign + digits)
    if "boolval" in body:
        return Node("boolean", value=bool(body["boolval"].get("boolval", False)))
    if "sval" in body:
        return Node("string", value=body["sval"].get("sval", ""))
    return Node("forbidden", value="a bit string")


def _a_expr(body: dict, sub: int) -> Node:
    kind = body["kind"]
    op = _name(body["name"])
    left = _node(body["lexpr"], sub) if "lexpr" in body else None
    right = body.get("rexpr")
    if kind in A_EXPR_SPOKEN:
        return Node("forbidden", value=A_EXPR_SPOKEN[kind])
    if kind == "AEXPR_IN":
        items = [_node(i, sub) for i in right["List"]["items"]]
        return Node("in", [left, *items], negated=op == "<>")
    if kind in ("AEXPR_BETWEEN", "AEXPR_NOT_BETWEEN"):
        items = [_node(i, sub) for i in right["List"]["items"]]
        return Node("between", [left, *items], negated=kind == "AEXPR_NOT_BETWEEN")
    if kind == "AEXPR_NULLIF":
        return Node("func", [left, _node(right, sub)], value="nullif")
    if kind == "AEXPR_LIKE":
        if "FuncCall" in right:  # LIKE ... ESCAPE: pg_catalog.like_escape(pattern, escape)
            return Node("forbidden", value="LIKE ... ESCAPE")
        return Node("like", [left, _node(right, sub)], negated=op == "!~~")
    if kind != "AEXPR_OP" or len(body["name"]) != 1:
        return Node("forbidden", value=f"the operator {op}")
    operand = _node(right, sub)
    if left is None:
        if op == "-":
            return Node("neg", [operand])
        return Node("forbidden", value=f"the prefix operator {op}")
    if op in COMPARISONS:
        return Node("compare", [left, operand], op=op)
    if op in ARITHMETIC:
        return Node("arith", [left, operand], op=op)
    if op == "||":
        return Node("concat", [left, operand], op=op)
    return Node("forbidden", value=f"the operator {op}")


def _function(body: dict, sub: int) -> Node:
    parts = body["funcname"]
    name = _name(parts)
    args = [_node(a, sub) for a in body.get("args", [])]
    if body.get("over") is not None:
        return Node("forbidden", value="a window function")
    for key, spoken in (
        ("agg_filter", "FILTER"),
        ("agg_order", "ORDER BY in an aggregate"),
        ("agg_within_group", "WITHIN GROUP"),
        ("func_variadic", "VARIADIC"),
    ):
        if body.get(key):
            return Node("forbidden", value=spoken)
    if name == "pg_catalog.btrim" and body.get("funcformat") == "COERCE_SQL_SYNTAX":
        name = "trim"  # trim(x) as PostgreSQL's grammar writes it
    elif len(parts) != 1:
        return Node("function", value=name)
    if name in SCALAR_FUNCTIONS:
        return Node("func", args, value=name)
    if name in AGGREGATES:
        return Node(
            "aggregate",
            args,
            value=name,
            flag=bool(body.get("agg_star")),
            negated=bool(body.get("agg_distinct")),  # DISTINCT, refused by the validator
        )
    return Node("function", value=name)


def _cast(body: dict, sub: int) -> Node:
    type_name = body["typeName"]
    names = [p["String"]["sval"] for p in type_name["names"]]
    written = ".".join(names)
    if names[0] == "pg_catalog" and len(names) == 2:
        names = names[1:]
    target = CAST_TYPES.get(names[0]) if len(names) == 1 else None
    if type_name.get("typmods") or type_name.get("arrayBounds") or type_name.get("setof"):
        target = None
    if target is None:
        return Node("cast-refused", value=written.removeprefix("pg_catalog."))
    return Node("cast", [_node(body["arg"], sub)], value=target)


# -- printing ---------------------------------------------------------------------------------
# The tree is printed by a target (Target.expression_sql): this walk decides the layout and
# the parentheses, the same for every dialect; the target says how a name, a text literal, a
# function, a cast type and a truth test are written in its engine.


class Dialect(Protocol):
    def quote(self, name: str) -> str: ...
    def literal(self, text: str) -> str: ...
    def function_name(self, name: str) -> str: ...
    def cast_type(self, type_name: str) -> str: ...
    def truth_test(self, this: str, value: bool, negated: bool) -> str: ...


ATOMS = ("column", "number", "string", "boolean", "null", "func", "aggregate", "cast")


def render(node: Node, dialect: Dialect) -> str:
    """The tree as `dialect` writes it (a target: Target.expression_sql calls this; the model's
    own text is targets.schema_text)."""
    return _render(node, dialect)


def _render(node: Node, d: Dialect) -> str:  # noqa: C901
    kind, args = node.kind, node.args

    def r(child: Node) -> str:
        return _render(child, d)

    def operand(child: Node, *allowed: str) -> str:
        text = r(child)
        return text if child.kind in ATOMS + allowed else f"({text})"

    if kind == "column":
        return d.quote(node.value)
    if kind == "number":
        return node.value
    if kind == "string":
        return d.literal(node.value)
    if kind == "boolean":
        return "TRUE" if node.value else "FALSE"
    if kind == "null":
        return "NULL"
    if kind in ("and", "or"):
        other = "or" if kind == "and" else "and"
        return f" {kind.upper()} ".join(f"({r(a)})" if a.kind == other else r(a) for a in args)
    if kind == "not":
        return "NOT " + operand(args[0])
    if kind == "compare":
        left, right = (operand(a, "arith", "neg") for a in args)
        return f"{left} {node.op} {right}"
    if kind == "arith":
        left = operand(args[0], "neg", *(("arith",) if _level(args[0]) >= _level(node) else ()))
        right = operand(args[1], *(("arith",) if _level(args[1]) > _level(node) else ()))
        return f"{left} {node.op} {right}"
    if kind == "neg":
        inner = args[0]
        bare = inner.kind in ATOMS and not (inner.kind == "number" and inner.value[:1] == "-")
        return "-" + (r(inner) if bare else f"({r(inner)})")
    if kind == "concat":
        return f"{operand(args[0], 'concat')} || {operand(args[1])}"
    if kind == "isnull":
        return f"{operand(args[0], 'arith', 'neg')} IS {'NOT ' if node.negated else ''}NULL"
    if kind == "istruth":
        return d.truth_test(operand(args[0], "arith", "neg"), node.value, node.negated)
    if kind == "in":
        items = ", ".join(operand(a, "arith", "neg") for a in args[1:])
        return f"{operand(args[0], 'arith', 'neg')} {'NOT ' if node.negated else ''}IN ({items})"
    if kind == "between":
        this, low, high = (operand(a, "arith", "neg") for a in args)
        return f"{this} {'NOT ' if node.negated else ''}BETWEEN {low} AND {high}"
    if kind == "like":
        this, pattern = (operand(a, "arith", "neg") for a in args)
        return f"{this} {'NOT ' if node.negated else ''}LIKE {pattern}"
    if kind in ("func", "aggregate"):
        inner = "*" if node.flag else ", ".join(r(a) for a in args)
        distinct = "DISTINCT " if node.negated else ""
        return f"{d.function_name(node.value)}({distinct}{inner})"
    if kind == "cast":
        return f"CAST({r(args[0])} AS {d.cast_type(node.value)})"
    raise ValueError(f"{kind} is not part of the allowed subset")


def _level(node: Node) -> int:
    if node.kind != "arith":
        return 3
    return 2 if node.op in ("*", "/", "%") else 1
