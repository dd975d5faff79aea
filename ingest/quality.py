"""The quality report: the schema's own CHECK predicates (and NOT NULLs) of timeseries_point,
evaluated over each chunk of staged rows with Arrow compute (vectorised, no row loop), plus
the file-level rules the CHECKs cannot see (duplicate or decreasing record indexes, time
stepping backwards), carried across chunk boundaries.

The predicates come from the model (schema.yaml), parsed with sqlglot and translated to Arrow
compute calls with SQL's three-valued logic: a row is rejected when a CHECK is FALSE (NULL
passes, as it does in the engine)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import expressions as exp

from generator import load_schema
from generator.errors import printable
from generator.targets import TARGETS

from .bdf import STAGED_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
TABLE = "timeseries_point"
FIRST_LINES = 5
MAX_REJECTS = 1000


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    expression: str  # the CHECK as written in the model ("" for NOT NULL and file rules)
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
    "",
    column="record_index",
    severity="refuse",
)
ORDER = Rule(
    "record_index_order",
    "record_index decreases: the file's rows are out of order",
    "",
    column="record_index",
    severity="refuse",
)
# a vendor reader's library left the row out (battery-data-toolkit drops a Maccor sample whose
# time, voltage and current repeat an earlier one): reported, never hidden
DUPLICATE_SAMPLE = Rule(
    "duplicate_sample",
    "the sample repeats an earlier one (test time to 0.01 s, voltage, current): a duplicated "
    "record; lenient mode leaves it out",
    "",
    severity="error",
)
BACKWARDS = Rule(
    "test_time_backwards",
    "test_time_second steps backwards (kept as recorded; derivations clamp dt at 0)",
    "",
    column="test_time_second",
    severity="warning",
)


@cache
def model():
    """The checkout's schema.yaml, loaded and validated once per process (the row rules and
    the sidecar check, ingest/sidecar.py, both read it)."""
    return load_schema(ROOT / "schema.yaml")


@lru_cache(maxsize=4)
def rules(target: str = "postgres") -> tuple[Rule, ...]:
    """The row rules of timeseries_point (NOT NULLs, then the CHECKs the target declares),
    from the model."""
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
                    "",
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
                    f"{column.name} BETWEEN {low} AND {high}",
                    column=column.name,
                )
            )
    low, high, holds = TYPE_RANGES["timestamptz"]
    out.append(  # the test's start each sample implies (TimescaleDB stores it: test_started_at)
        Rule(
            f"type_{TABLE}_test_start",
            f"recorded_at - test_time_second, the test's start, is outside {holds}",
            f"recorded_at - test_time_second BETWEEN {low} AND {high}",
            column="test_time_second",
        )
    )
    for check in emitter.checks(table):
        _compile(check.expression)  # fails here, at start-up, on a predicate it cannot run
        out.append(Rule(check.name, check.description, check.expression, column=check.column))
    return tuple(out)


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
    exp.GTE: "greater_equal",
    exp.GT: "greater",
    exp.LTE: "less_equal",
    exp.LT: "less",
    exp.EQ: "equal",
    exp.NEQ: "not_equal",
}
Evaluator = Callable[[pa.Table], pa.Array]


@cache
def _compile(sql: str) -> Evaluator:
    return _node(sqlglot.parse_one(sql))


def _node(node: exp.Expression) -> Evaluator:  # noqa: PLR0911 - one branch per node kind
    if isinstance(node, exp.Paren):
        return _node(node.this)
    if isinstance(node, exp.Column):
        name = node.name
        return lambda t: t.column(name)
    if isinstance(node, exp.Literal):
        value = node.this if node.is_string else float(node.this)
        return lambda t: pa.scalar(value)
    if isinstance(node, exp.Sub):
        left, right = _node(node.this), _node(node.expression)
        return lambda t: pc.subtract(left(t), right(t))
    if isinstance(node, exp.Neg):
        inner = _node(node.this)
        return lambda t: pc.negate(inner(t))
    if isinstance(node, exp.Not):
        inner = _node(node.this)
        return lambda t: pc.invert(inner(t))
    if isinstance(node, exp.And | exp.Or):
        left, right = _node(node.this), _node(node.expression)
        kleene = pc.and_kleene if isinstance(node, exp.And) else pc.or_kleene
        return lambda t: kleene(left(t), right(t))
    if type(node) in _COMPARE:
        left, right = _node(node.this), _node(node.expression)
        function = _COMPARE[type(node)]
        return lambda t: pc.call_function(function, [left(t), right(t)])
    if isinstance(node, exp.Between):
        value, low, high = _node(node.this), _node(node.args["low"]), _node(node.args["high"])
        return lambda t: pc.and_kleene(
            pc.greater_equal(value(t), low(t)), pc.less_equal(value(t), high(t))
        )
    if isinstance(node, exp.In) and node.expressions:
        value = _node(node.this)
        options = [e.this if e.is_string else float(e.this) for e in node.expressions]
        kind = pa.string() if all(isinstance(o, str) for o in options) else pa.float64()
        choices = pa.array(options, kind)

        def member(t: pa.Table) -> pa.Array:
            v = value(t)
            # SQL: NULL IN (...) is NULL, which a CHECK accepts
            return pc.if_else(pc.is_null(v), pa.scalar(None, pa.bool_()), pc.is_in(v, choices))

        return member
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        inner = _node(node.this)
        return lambda t: pc.is_null(inner(t))
    raise ValueError(f"the loader cannot evaluate this CHECK predicate in Arrow: {node.sql()}")


def rejects(rule: Rule, table: pa.Table) -> pa.Array:
    """True for each row of `table` the rule rejects (never NULL)."""
    if not rule.expression:  # NOT NULL
        return pc.is_null(table.column(rule.column))
    holds = _compile(rule.expression)(table)
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
