"""CHECK expressions: PostgreSQL's parser and our renderer (generator/sqlexpr.py), with sqlglot
as an independent oracle.

sqlglot is no longer on the generate path; here it checks that what we write means what the
schema says: random allowed expressions (hypothesis) are written fully parenthesised, then
- sqlglot reads our PostgreSQL and ClickHouse text as the same tree as the original (the
  parentheses we leave out were not needed: sqlglot knows each dialect's precedence);
- our SQLite text and sqlglot's transpilation of the original give the same values on random
  rows in SQLite (NULLs included);
and hostile texts are refused with their code.
"""

from __future__ import annotations

import sqlite3

import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from generator.load import Source
from generator.rules import Context
from generator.rules.expressions import check_aggregate, check_condition
from generator.sqlexpr import parse
from generator.targets import TARGETS, schema_text

COLUMNS = {"n1": "number", "n2": "number", "x": "number", "t": "text", "u": "text", "b": "boolean"}
SQLITE_TYPES = {"n1": "INTEGER", "n2": "INTEGER", "x": "REAL", "t": "TEXT", "u": "TEXT"}
SQLITE_TYPES["b"] = "INTEGER"


def _context() -> Context:
    return Context(src=Source(file="schema.yaml", data={}))


def _problems(text: str, *, aggregate: bool = False):
    ctx = _context()
    if aggregate:
        out = check_aggregate(ctx, text, COLUMNS, ["n1"], ("tables", "t", "aggregates", "a"))
    else:
        out = check_condition(ctx, text, COLUMNS, ("tables", "t", "checks", "c"))
    return out, ctx.problems


# -- random allowed expressions, fully parenthesised ------------------------------------------
integers = st.integers(min_value=-1000, max_value=1000).map(str)
decimals = st.sampled_from(["0.5", "1.25", "-0.05", "3.0", "1e3", "2.5e-2", ".5"])
texts = st.text(alphabet="ab'\\% _", max_size=4).map(lambda s: "'" + s.replace("'", "''") + "'")


def _number(depth: int):
    leaf = st.one_of(st.sampled_from(["n1", "n2", "x"]), integers, decimals)
    if depth <= 0:
        return leaf
    sub = _number(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["+", "-", "*"]), sub).map(
            lambda p: f"({p[0]} {p[1]} {p[2]})"
        ),
        sub.map(lambda a: f"(-({a}))"),
        sub.map(lambda a: f"abs({a})"),
        sub.map(lambda a: f"round({a})"),
        st.tuples(sub, sub).map(lambda p: f"coalesce({p[0]}, {p[1]})"),
        st.tuples(sub, sub).map(lambda p: f"nullif({p[0]}, {p[1]})"),
        st.sampled_from(["t", "u"]).map(lambda c: f"length({c})"),
        st.tuples(sub, st.sampled_from(["real", "double precision", "integer", "bigint"])).map(
            lambda p: f"CAST({p[0]} AS {p[1]})"
        ),
    )


def _text(depth: int):
    leaf = st.one_of(st.sampled_from(["t", "u"]), texts)
    if depth <= 0:
        return leaf
    sub = _text(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, sub).map(lambda p: f"({p[0]} || {p[1]})"),
        sub.map(lambda a: f"lower({a})"),
        sub.map(lambda a: f"upper({a})"),
        sub.map(lambda a: f"trim({a})"),
    )


NUMBERS, TEXTS = _number(2), _text(1)


def _condition(depth: int):
    num, txt = NUMBERS, TEXTS
    leaf = st.one_of(
        st.just("b"),
        st.sampled_from(["TRUE", "FALSE"]),
        st.tuples(num, st.sampled_from(["=", "<>", "<", ">", "<=", ">=", "!="]), num).map(
            lambda p: f"({p[0]} {p[1]} {p[2]})"
        ),
        st.tuples(txt, st.sampled_from(["=", "<>", "<"]), txt).map(
            lambda p: f"({p[0]} {p[1]} {p[2]})"
        ),
        st.tuples(st.sampled_from(["n1", "x", "t", "b"]), st.booleans()).map(
            lambda p: f"({p[0]} IS {'NOT ' if p[1] else ''}NULL)"
        ),
        st.tuples(num, st.booleans(), st.lists(integers, min_size=1, max_size=3)).map(
            lambda p: f"({p[0]} {'NOT ' if p[1] else ''}IN ({', '.join(p[2])}))"
        ),
        st.tuples(num, st.booleans(), num, num).map(
            lambda p: f"({p[0]} {'NOT ' if p[1] else ''}BETWEEN {p[2]} AND {p[3]})"
        ),
        st.tuples(txt, st.booleans(), texts).map(
            lambda p: f"({p[0]} {'NOT ' if p[1] else ''}LIKE {p[2]})"
        ),
        st.tuples(st.booleans(), st.booleans()).map(
            lambda p: f"(b IS {'NOT ' if p[0] else ''}{'TRUE' if p[1] else 'FALSE'})"
        ),
    )
    if depth <= 0:
        return leaf
    sub = _condition(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["AND", "OR"]), sub).map(
            lambda p: f"({p[0]} {p[1]} {p[2]})"
        ),
        sub.map(lambda a: f"(NOT {a})"),
        st.tuples(sub, st.sampled_from(["=", "<>"]), sub).map(lambda p: f"({p[0]} {p[1]} {p[2]})"),
    )


def _unparenthesised(tree: exp.Expression) -> exp.Expression:
    while isinstance(tree, exp.Paren):
        tree = tree.this
    for paren in reversed(list(tree.find_all(exp.Paren, bfs=False))):  # innermost first
        paren.replace(paren.this)
    # PostgreSQL folds the sign into a number (-(-(5)) is the constant 5): so does the oracle
    for neg in reversed(list(tree.find_all(exp.Neg, bfs=False))):
        if isinstance(neg.this, exp.Literal) and not neg.this.is_string:
            digits = neg.this.this
            text = digits[1:] if digits.startswith("-") else "-" + digits
            text = "0" if text == "-0" else text  # an integer zero has no sign
            folded = exp.Literal(this=text, is_string=False)
            if neg is tree:
                return folded
            neg.replace(folded)
    return tree


def _same_tree(ours: str, original: str, dialect: str) -> None:
    mine = _unparenthesised(sqlglot.parse_one(ours, read=dialect))
    theirs = _unparenthesised(
        sqlglot.parse_one(sqlglot.transpile(original, read="postgres", write=dialect)[0], dialect)
    )
    for data_type in [*mine.find_all(exp.DataType), *theirs.find_all(exp.DataType)]:
        data_type.set("nullable", False)  # ClickHouse casts keep the column's non-Nullable type
    assert _canonical(mine) == _canonical(theirs), f"{dialect}: {ours!r} is not {original!r}"


def _canonical(node):
    """A comparable form of a sqlglot tree in which AND and OR take any number of operands:
    PostgreSQL reads a AND (b AND c) as one AND of three, as it means the same."""
    if isinstance(node, exp.And | exp.Or):
        operands, stack = [], [node]
        while stack:
            item = stack.pop()
            if type(item) is type(node):
                stack += [item.expression, item.this]
            else:
                operands.append(item)
        return (type(node).__name__, tuple(_canonical(o) for o in operands))
    if isinstance(node, exp.Expression):
        args = sorted((k, _canonical(v)) for k, v in node.args.items() if v not in (None, []))
        return (type(node).__name__, tuple(args))
    if isinstance(node, list):
        return tuple(_canonical(v) for v in node)
    return node


ROWS = [
    (1, 2, 0.5, "a", "b'", 1),
    (None, 0, -1.25, "", None, 0),
    (-3, None, None, "ab%", "a", None),
    (1000, -1000, 2.0, None, "", 1),
]


@pytest.fixture(scope="module")
def rows():
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE r ({', '.join(f'{c} {t}' for c, t in SQLITE_TYPES.items())})")
    db.executemany(f"INSERT INTO r VALUES ({', '.join('?' * len(SQLITE_TYPES))})", ROWS)
    yield db
    db.close()


@pytest.mark.slow  # 300 hypothesis examples
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_condition(2))
def test_renderings_mean_what_sqlglot_reads(rows, text):
    out, problems = _problems(text)
    assert problems == [] and out is not None, [p.message for p in problems]
    assert out == schema_text(parse(text))
    _same_tree(out, text, "postgres")
    if (
        " IS TRUE" not in text.upper()
        and " IS FALSE" not in text.upper()
        and "NOT TRUE" not in (text.upper())
        and "NOT FALSE" not in text.upper()
    ):
        # ClickHouse has no IS TRUE: we spell it out with IS NULL, so the trees differ
        _same_tree(render_text(out, "clickhouse"), text, "clickhouse")
    ours = render_text(out, "sqlite")
    theirs = sqlglot.transpile(text, read="postgres", write="sqlite")[0]
    got = rows.execute(f"SELECT ({ours}), ({theirs}) FROM r").fetchall()
    assert all(a == b or (a != a and b != b) for a, b in got), (ours, theirs, got)


@pytest.mark.parametrize(
    "flag, value, expected",
    [
        ("b IS TRUE", None, 0),
        ("b IS TRUE", 1, 1),
        ("b IS FALSE", 0, 1),
        ("b IS NOT TRUE", None, 1),
        ("b IS NOT FALSE", None, 1),
        ("b IS NOT FALSE", 0, 0),
    ],
)
def test_truth_tests_spelled_out_for_clickhouse_keep_their_meaning(flag, value, expected):
    """ClickHouse's spelling of IS [NOT] TRUE/FALSE, evaluated by SQLite (same three-valued
    logic for IS NULL, AND, OR, NOT)."""
    spelled = render_text(flag, "clickhouse")
    assert "IS TRUE" not in spelled and "IS FALSE" not in spelled
    got = sqlite3.connect(":memory:").execute(f"SELECT {spelled} FROM (SELECT ? AS b)", (value,))
    assert got.fetchone()[0] == expected


# -- what the text never does: reach SQL as written, or pass when not allowed ----------------
@pytest.mark.parametrize(
    "text, code",
    [
        ("n1 < (SELECT max(n2) FROM battery_cell)", "expressions.forbidden"),
        ("EXISTS (SELECT 1)", "expressions.forbidden"),
        ("n1 IN (SELECT n2 FROM other)", "expressions.forbidden"),
        ("n1 = ANY(ARRAY[1, 2])", "expressions.forbidden"),
        ("CASE WHEN b THEN TRUE ELSE FALSE END", "expressions.forbidden"),
        ("n1 > 0; DROP TABLE battery_cell", "expressions.statements"),
        ("SELECT 1", "expressions.statements"),
        ("DROP TABLE battery_cell", "expressions.statements"),
        ("n1 > 0 AS ok", "expressions.parse"),
        ("n1 > 0 FROM battery_cell", "expressions.parse"),
        ("n1 > 0, n2 > 0", "expressions.parse"),
        ("n1 > 0 /* unterminated", "expressions.parse"),
        ("n1 > ", "expressions.parse"),
        ("pg_sleep(10) IS NULL", "expressions.function"),
        ("now() IS NOT NULL", "expressions.function"),
        ("pg_catalog.abs(n1) > 0", "expressions.function"),
        ("greatest(n1, n2) > 0", "expressions.function"),
        ("current_timestamp IS NOT NULL", "expressions.function"),
        ("battery_cell.n1 > 0", "expressions.qualified"),
        ("public.battery_cell.n1 > 0", "expressions.qualified"),
        ("nope > 0", "expressions.unknown-column"),
        ("t::regclass IS NULL", "expressions.cast"),
        ("CAST(t AS varchar(10)) = 'a'", "expressions.cast"),
        ("CAST(n1 AS numeric(10, 2)) > 0", "expressions.cast"),
        ("n1::int[] IS NULL", "expressions.cast"),
        ("t IS 5", "expressions.forbidden"),
        ("b IS UNKNOWN", "expressions.forbidden"),
        ("n1 IS DISTINCT FROM n2", "expressions.forbidden"),
        ("t ILIKE 'a'", "expressions.forbidden"),
        ("t SIMILAR TO 'a'", "expressions.forbidden"),
        ("t LIKE 'a' ESCAPE '!'", "expressions.forbidden"),
        ("t COLLATE \"C\" = 'a'", "expressions.forbidden"),
        ("$1 > 0", "expressions.forbidden"),
        ("n1 ^ 2 > 0", "expressions.forbidden"),
        ("n1 & 2 > 0", "expressions.forbidden"),
        ("max(n1) > 0", "expressions.aggregate-in-check"),
        ("round(x, 2) > 0", "expressions.arguments"),
        ("t > 5", "expressions.type"),
        ("n1 AND n2 > 0", "expressions.type"),
        ("CAST(b AS integer) > 0", "expressions.type"),
        ("n1 + n2", "expressions.not-boolean"),
        ("(" * 3000 + "n1 > 0" + ")" * 3000, "expressions.too-deep"),
        ("NOT " * 3000 + "b", "expressions.too-deep"),
        ("n1" + " + n1" * 3000 + " > 0", "expressions.too-deep"),
    ],
)
def test_hostile_checks_are_refused_with_their_code(text, code):
    out, problems = _problems(text)
    assert out is None and [p.code for p in problems] == [code], [p.message for p in problems]
    assert problems[0].line >= 1 and problems[0].column >= 1


@pytest.mark.parametrize(
    "text, code",
    [
        ("count(*); DROP TABLE battery_cell;", "expressions.statements"),
        ("n2", "expressions.ungrouped"),
        ("avg(max(n2))", "expressions.nested-aggregate"),
        ("count(DISTINCT n2)", "expressions.distinct"),
        ("n1 + 1", "expressions.no-aggregate"),
        ("avg(n2) OVER ()", "expressions.forbidden"),
        ("percentile_cont(n2)", "expressions.function"),
        ("avg(t)", "expressions.type"),
        ("avg(n2) FILTER (WHERE n2 > 0)", "expressions.forbidden"),
    ],
)
def test_hostile_aggregates_are_refused_with_their_code(text, code):
    out, problems = _problems(text, aggregate=True)
    assert out is None and [p.code for p in problems] == [code], [p.message for p in problems]


def test_comments_and_spelling_never_reach_sql():
    out, problems = _problems("n1 > 0 /* ); DROP TABLE x; -- */ AND  t = 'it''s' -- trailing")
    assert problems == [] and out == "n1 > 0 AND t = 'it''s'"
    assert render_text(out, "clickhouse") == "n1 > 0 AND t = 'it''s'"
    out, _ = _problems("T = 'a\\b' AND \"n1\" > 0")
    assert out == "t = 'a\\b' AND n1 > 0"
    assert render_text(out, "clickhouse") == "t = 'a\\\\b' AND n1 > 0"


def test_aggregates_render_as_before():
    assert _problems("variance(n2) + count(*)", aggregate=True)[0] == "VAR_SAMP(n2) + COUNT(*)"
    assert _problems("max(n2)", aggregate=True)[0] == "MAX(n2)"


def render_text(text: str, target: str) -> str:
    """An expression the validator accepted (the schema's PostgreSQL text) as `target` writes it."""
    return TARGETS[target].expression_sql(parse(text))
