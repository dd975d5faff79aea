"""The quality report: the schema's own CHECK predicates (and NOT NULLs) of timeseries_point,
evaluated over each chunk of staged rows with Arrow compute (vectorised, no row loop), plus
the file-level rules the CHECKs cannot see (duplicate or decreasing record indexes, time
stepping backwards), carried across chunk boundaries.

The predicates are the model's own trees (Check.tree: each CHECK parsed once, by the
generator's validator; the type rules built here as trees), translated to Arrow compute calls
with SQL's three-valued logic: a row is rejected when a CHECK is FALSE (NULL passes, as it
does in the engine)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connection import schema
from generator.errors import printable
from generator.model import Node
from generator.targets import TARGETS, schema_text

from .bdf import STAGED_COLUMNS

TABLE = "timeseries_point"
FIRST_LINES = 5
MAX_REJECTS = 1000


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    tree: Node | None  # the CHECK's tree from the model (None for NOT NULL and file rules)
    column: str | None = None
    severity: str = "error"  # error: the row cannot be loaded | refuse: the file is refused
    # strict mode refuses the file on any failure; lenient skips rows failing an "error"
    # rule, refuses on "refuse" rules, and only reports "warning" rules


@dataclass
class Finding:
    rule: Rule
    rows: int
    first_lines: list[int]

    def describe(self) -> str:
        lines = ", ".join(str(n) for n in self.first_lines)
        more = ", ..." if self.rows > len(self.first_lines) else ""
        column = f" column '{self.rule.column}'" if self.rule.column else ""
        return (
            f"{self.rule.name}:{column} {self.rows} row(s) at line(s) {lines}{more}: "
            f"{self.rule.description}"
        )


@dataclass
class Report:
    file: str
    rows: int = 0
    findings: list[Finding] = field(default_factory=list)

    def failed(self, severities: tuple[str, ...]) -> list[Finding]:
        return [f for f in self.findings if f.rule.severity in severities]

    def text(self) -> str:
        if not self.findings:
            return printable(f"{self.file}: {self.rows} rows, every rule passes")
        lines = [f"{self.file}: {self.rows} rows, quality report:"]
        lines += [f"  [{f.rule.severity}] {f.describe()}" for f in self.findings]
        return "\n".join(printable(line) for line in lines)  # a finding may quote the file


DUPLICATE = Rule(
    "duplicate_record_index",
    "record_index appears more than once in the file",
    None,
    column="record_index",
    severity="refuse",
)
ORDER = Rule(
    "record_index_order",
    "record_index decreases: the file's rows are out of order",
    None,
    column="record_index",
    severity="refuse",
)
# a vendor reader's library left the row out (battery-data-toolkit drops a Maccor sample whose
# time, voltage and current repeat an earlier one): reported, never hidden
DUPLICATE_SAMPLE = Rule(
    "duplicate_sample",
    "the sample repeats an earlier one (test time to 0.01 s, voltage, current): a duplicated "
    "record; lenient mode leaves it out",
    None,
    severity="error",
)
BACKWARDS = Rule(
    "test_time_backwards",
    "test_time_second steps backwards (kept as recorded; derivations clamp dt at 0)",
    None,
    column="test_time_second",
    severity="warning",
)


def model():
    """The schema in force (connection/schema.py: the one the package was built with, or the
    command's --schema), loaded once per process; the row rules and the sidecar check
    (ingest/sidecar.py) both read it."""
    return schema.model()


def rules(target: str = "postgres") -> tuple[Rule, ...]:
    """The row rules of timeseries_point (NOT NULLs, then the CHECKs the target declares),
    from the model."""
    return _rules(target, schema.schema_file())


@lru_cache(maxsize=8)
def _rules(target: str, schema_file: Path) -> tuple[Rule, ...]:
    table = model().table(TABLE)
    emitter = TARGETS[target]
    out: list[Rule] = []
    staged = set(STAGED_COLUMNS)
    for column in table.columns:
        if not column.nullable and column.name in staged:
            out.append(
                Rule(
                    f"nn_{TABLE}_{column.name}",
                    f"{column.name} is required (empty or missing value)",
                    None,
                    column=column.name,
                )
            )
    for column in table.columns:  # what the column's type holds, the same on every engine
        bounds = TYPE_RANGES.get(column.type)
        if bounds and column.name in staged:
            low, high, holds = bounds
            out.append(
                Rule(
                    f"type_{TABLE}_{column.name}",
                    f"{column.name} does not fit its type, {column.type} ({holds})",
                    _between(Node("column", value=column.name), low, high),
                    column=column.name,
                )
            )
    low, high, holds = TYPE_RANGES["timestamptz"]
    out.append(  # the test's start each sample implies (TimescaleDB stores it: test_started_at)
        Rule(
            f"type_{TABLE}_test_start",
            f"recorded_at - test_time_second, the test's start, is outside {holds}",
            _between(
                Node(
                    "arith",
                    [Node("column", value="recorded_at"), Node("column", value="test_time_second")],
                    op="-",
                ),
                low,
                high,
            ),
            column="test_time_second",
        )
    )
    for check in emitter.checks(table):
        if check.tree is None:  # a target's own test in its engine's words (json)
            raise ValueError(f"the loader cannot evaluate the CHECK {check.name} in Arrow")
        _compile(check.tree)  # fails here, at start-up, on a predicate it cannot run
        out.append(Rule(check.name, check.description, check.tree, column=check.column))
    return tuple(out)


def _between(value: Node, low: int, high: int) -> Node:
    return Node("between", [value, Node("number", value=str(low)), Node("number", value=str(high))])


# What the schema's types hold on every engine: a value outside is refused everywhere, though
# SQLite's INTEGER and REAL would store it, so a file loads the same on each. Integers have
# PostgreSQL's sizes; a timestamp (Unix seconds here) the years of ClickHouse's DateTime64,
# the narrowest of the engines (PostgreSQL's runs to 294276, SQLite stores any number).
TYPE_RANGES = {
    "smallint": (-(2**15), 2**15 - 1, "-32,768 to 32,767"),
    "integer": (-(2**31), 2**31 - 1, "-2,147,483,648 to 2,147,483,647"),
    "timestamptz": (-2_208_988_800, 10_413_791_999, "the years 1900 to 2299 in UTC"),
}


# ------------------------------------------------------------- SQL predicate -> Arrow compute

_COMPARE = {
    ">=": "greater_equal",
    ">": "greater",
    "<=": "less_equal",
    "<": "less",
    "=": "equal",
    "<>": "not_equal",
}
_ARITHMETIC = {"+": "add", "-": "subtract", "*": "multiply"}
_CASTS = {"real": pa.float32(), "double": pa.float64()}
Evaluator = Callable[[pa.Table], pa.Array]


@cache
def _compile(tree: Node) -> Evaluator:
    return _node(tree)


def _constant(node: Node):
    """A literal's value: text as it is, a number as a double (what a CHECK compares with)."""
    return node.value if node.kind == "string" else float(node.value)


def _node(node: Node) -> Evaluator:  # noqa: C901, PLR0911 - one branch per node kind
    kind, args = node.kind, node.args
    if kind == "column":
        name = node.value
        return lambda t: t.column(name)
    if kind in ("number", "string"):
        value = _constant(node)
        return lambda t: pa.scalar(value)
    if kind == "arith" and node.op in _ARITHMETIC:
        left, right = _node(args[0]), _node(args[1])
        function = _ARITHMETIC[node.op]
        return lambda t: pc.call_function(function, [left(t), right(t)])
    if kind == "neg":
        inner = _node(args[0])
        return lambda t: pc.negate(inner(t))
    if kind == "cast" and node.value in _CASTS:
        inner, to = _node(args[0]), _CASTS[node.value]
        return lambda t: pc.cast(inner(t), to)
    if kind == "not":
        inner = _node(args[0])
        return lambda t: pc.invert(inner(t))
    if kind in ("and", "or"):
        operands = [_node(a) for a in args]
        kleene = pc.and_kleene if kind == "and" else pc.or_kleene

        def combined(t: pa.Table) -> pa.Array:
            out = operands[0](t)
            for operand in operands[1:]:
                out = kleene(out, operand(t))
            return out

        return combined
    if kind == "compare":
        left, right = _node(args[0]), _node(args[1])
        function = _COMPARE[node.op]
        return lambda t: pc.call_function(function, [left(t), right(t)])
    if kind == "between":
        value, low, high = (_node(a) for a in args)

        def between(t: pa.Table) -> pa.Array:
            v = value(t)
            inside = pc.and_kleene(pc.greater_equal(v, low(t)), pc.less_equal(v, high(t)))
            return pc.invert(inside) if node.negated else inside

        return between
    if kind == "in" and all(a.kind in ("number", "string") for a in args[1:]):
        value = _node(args[0])
        options = [_constant(a) for a in args[1:]]
        choices = pa.array(
            options, pa.string() if all(isinstance(o, str) for o in options) else pa.float64()
        )

        def member(t: pa.Table) -> pa.Array:
            v = value(t)
            # SQL: NULL IN (...) is NULL, which a CHECK accepts
            found = pc.if_else(pc.is_null(v), pa.scalar(None, pa.bool_()), pc.is_in(v, choices))
            return pc.invert(found) if node.negated else found

        return member
    if kind == "isnull":
        inner = _node(args[0])
        return (
            (lambda t: pc.is_valid(inner(t))) if node.negated else (lambda t: pc.is_null(inner(t)))
        )
    raise ValueError(
        f"the loader cannot evaluate this CHECK predicate in Arrow: {schema_text(node)}"
    )


def rejects(rule: Rule, table: pa.Table) -> pa.Array:
    """True for each row of `table` the rule rejects (never NULL)."""
    if rule.tree is None:  # NOT NULL
        return pc.is_null(table.column(rule.column))
    holds = _compile(rule.tree)(table)
    if isinstance(holds, pa.Scalar):
        holds = pa.array([holds.as_py()] * table.num_rows, pa.bool_())
    return pc.fill_null(pc.invert(holds), False)


# ---------------------------------------------------------------------- chunk by chunk


class _Tally:
    """A rule's count and first lines, summed over chunks."""

    def __init__(self, rule: Rule):
        self.rule = rule
        self.rows = 0
        self.first: list[int] = []

    def add(self, mask: np.ndarray, lines: np.ndarray) -> None:
        count = int(np.count_nonzero(mask))
        if not count:
            return
        self.rows += count
        if len(self.first) < FIRST_LINES:
            where = np.flatnonzero(mask)[: FIRST_LINES - len(self.first)]
            self.first += [int(n) for n in lines[where]]

    def finding(self) -> Finding | None:
        return Finding(self.rule, self.rows, self.first) if self.rows else None


class Checker:
    """Runs every rule over each chunk as it streams past; `passing(chunk)` returns the mask
    of rows every row rule accepts. `finish()` writes the findings into the report.

    `record_indexes` re-reads the file's record indexes; it is called only when the indexes
    did not strictly increase (the file is refused then), to count the duplicates exactly."""

    def __init__(self, report: Report, target: str, record_indexes: Callable[[], np.ndarray]):
        self.report = report
        self.rules = rules(target)
        self.tallies = [_Tally(r) for r in self.rules]
        self.order = _Tally(ORDER)
        self.backwards = _Tally(BACKWARDS)
        self.record_indexes = record_indexes
        self.not_increasing = False
        self.last_record: int | None = None
        self.last_time: float | None = None
        self.rejects: list[tuple[int, list[str]]] = []

    def passing(self, table: pa.Table) -> np.ndarray:
        n = table.num_rows
        self.report.rows += n
        lines = table.column("line").to_numpy()
        masks = [rejects(r, table).to_numpy(zero_copy_only=False) for r in self.rules]
        failing = np.zeros(n, dtype=bool)
        for tally, mask in zip(self.tallies, masks, strict=True):
            tally.add(mask, lines)
            failing |= mask
        if failing.any() and len(self.rejects) < MAX_REJECTS:
            for i in np.flatnonzero(failing)[: MAX_REJECTS - len(self.rejects)]:
                names = [r.name for r, m in zip(self.rules, masks, strict=True) if m[i]]
                self.rejects.append((int(lines[i]), names))
        records = table.column("record_index").to_numpy(zero_copy_only=False)
        previous = np.concatenate(([self.last_record], records[:-1])) if n else records
        if self.last_record is None and n:
            previous[0] = records[0] - 1
        with np.errstate(invalid="ignore"):  # a NULL record index compares false
            self.order.add(records < previous, lines)
            if not self.not_increasing and n and bool((records <= previous).any()):
                self.not_increasing = True
        known = records[~np.isnan(records)] if records.dtype.kind == "f" else records
        # a row without a record index (an empty Data_Point) is the not-null rule's to report
        self.last_record = int(known[-1]) if len(known) else self.last_record
        times = table.column("test_time_second").to_numpy(zero_copy_only=False)
        if n:
            before = np.concatenate(
                ([np.nan if self.last_time is None else self.last_time], times[:-1])
            )
            with np.errstate(invalid="ignore"):
                self.backwards.add(times < before, lines)  # NaN (NULL) compares false
            self.last_time = float(times[-1])
        return ~failing

    def finish(self) -> None:
        findings = [t.finding() for t in self.tallies]
        if self.not_increasing:
            findings.append(_duplicates(self.record_indexes()))
        findings += [self.order.finding(), self.backwards.finding()]
        self.report.findings += [f for f in findings if f is not None]


def _duplicates(records: np.ndarray) -> Finding | None:
    """Rows (file lines) whose record index appears more than once, from the whole column."""
    order = np.argsort(records, kind="stable")
    ranked = records[order]
    same = ranked[1:] == ranked[:-1]
    marked = np.zeros(len(records), dtype=bool)
    marked[order[1:][same]] = True
    marked[order[:-1][same]] = True
    where = np.flatnonzero(marked)
    if not len(where):
        return None
    return Finding(DUPLICATE, int(len(where)), [int(n) + 2 for n in where[:FIRST_LINES]])
