"""The quality report: the schema's own CHECK predicates (and NOT NULLs) of timeseries_point,
evaluated over each chunk of staged rows with Arrow compute (vectorised, no row loop), plus
the file-level rules the CHECKs cannot see (duplicate or decreasing record indexes, exact
duplicate lines, time stepping backwards), carried across chunk boundaries, and the recording
artefacts that are findings, never refusals (`note`): samples outside the cell's declared
voltage window or current limits, and gaps in the logging (numpy over each chunk).

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
    # strict mode refuses the file on any "error", "refuse" or "warning" finding; lenient
    # skips rows failing an "error" rule, refuses on "refuse" rules, and only reports
    # "warning" rules; a "note" (a recording artefact: a sample outside the cell's window, a
    # logging gap) never refuses and never leaves a row out, in either mode


@dataclass
class Finding:
    rule: Rule
    rows: int
    first_lines: list[int]
    # the line each of `first_lines` repeats (duplicate lines), named beside it
    earlier: list[int] | None = None

    def describe(self) -> str:
        if self.earlier:
            pairs = zip(self.first_lines, self.earlier, strict=True)
            shown = [f"{n} (repeating line {e})" for n, e in pairs]
        else:
            shown = [str(n) for n in self.first_lines]
        lines = ", ".join(shown)
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
    # what the load did beyond the rules, said in every report: the file's columns that are
    # not stored (name -> why), derived values (cycle numbers from the data)
    dropped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def failed(self, severities: tuple[str, ...]) -> list[Finding]:
        return [f for f in self.findings if f.rule.severity in severities]

    def says_more(self) -> bool:
        """Whether the report has anything beyond "every rule passes" to print."""
        return bool(self.findings or self.dropped or self.notes)

    def text(self) -> str:
        if not self.findings:
            lines = [f"{self.file}: {self.rows} rows, every rule passes"]
        else:
            lines = [f"{self.file}: {self.rows} rows, quality report:"]
            lines += [f"  [{f.rule.severity}] {f.describe()}" for f in self.findings]
        if self.dropped:
            lines.append(
                "  not stored: "
                + "; ".join(f"'{name}' ({why})" for name, why in self.dropped.items())
            )
        lines += [f"  {note}" for note in self.notes]
        return "\n".join(printable(line) for line in lines)  # a finding may quote the file

    def record(self) -> dict:
        """The report as JSON (`--report FILE.json`)."""
        return {
            "rows": self.rows,
            "findings": [
                {
                    "rule": f.rule.name,
                    "severity": f.rule.severity,
                    "column": f.rule.column,
                    "rows": f.rows,
                    "first_lines": f.first_lines,
                    **({"repeating_lines": f.earlier} if f.earlier else {}),
                    "description": f.rule.description,
                }
                for f in self.findings
            ],
            "columns_not_stored": [{"column": n, "why": w} for n, w in self.dropped.items()],
            "notes": list(self.notes),
        }


DUPLICATE = Rule(
    "duplicate_record_index",
    "record_index appears more than once in the file, with other values: two samples claim "
    "one record",
    None,
    column="record_index",
    severity="refuse",
)
# the same line written twice in a row (a logger's retry): the same record index and every
# value the same; strict mode refuses it, lenient mode leaves the repeat out
DUPLICATE_LINE = Rule(
    "duplicate_line",
    "the line repeats the line before it exactly (same record index, same values): a "
    "recording artefact; lenient mode leaves the repeat out",
    None,
    column="record_index",
    severity="error",
)
# the same in a file without record numbers: the same test time and values as the line before,
# which a duplicated line writes but so may a clock coarser than the sampling; kept
SAME_SAMPLE = Rule(
    "repeated_sample",
    "the line repeats the line before it (same test time, same values) and the file has no "
    "record numbers to tell a duplicated line from a clock coarser than the sampling; kept",
    None,
    column="test_time_second",
    severity="note",
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


# the artefact findings' defaults (docs/loading.md, "Recording artefacts")
VOLTAGE_TOLERANCE = 0.01  # V beyond the cell's declared window before a sample is named
from .errors import GAP_MIN_SECONDS, GAP_MULTIPLE  # noqa: E402 - the CLI's defaults too


@dataclass(frozen=True)
class Limits:
    """The asset's declared window, from battery_cell (or battery_pack): None where it
    declares none. Current limits: the most negative (discharge) and the highest (charge)
    current, read from the columns `CURRENT_LIMITS` names when the schema has them."""

    voltage_min: float | None = None
    voltage_max: float | None = None
    current_min: float | None = None
    current_max: float | None = None


@dataclass(frozen=True)
class Artefacts:
    """How the artefact findings are judged (--gap-multiple, --gap-min-seconds)."""

    gap_multiple: float = GAP_MULTIPLE
    gap_min_seconds: float = GAP_MIN_SECONDS
    voltage_tolerance: float = VOLTAGE_TOLERANCE


# the asset columns the current limits would come from: schema version 3 declares none, so the
# rule applies once battery_cell (or battery_pack) has them; their magnitudes, in A
CURRENT_LIMITS = ("max_discharge_current_ampere", "max_charge_current_ampere")


def asset_limits(db, session_id: int) -> Limits:
    """The declared window of the session's cell (or pack), as the schema's columns give it."""
    names = ("voltage_min_volt", "voltage_max_volt", *CURRENT_LIMITS)
    rows = db.query(
        asset_select(names) + " WHERE s.session_id = %s",
        [session_id],
    )
    if not rows:
        return Limits()
    low, high, discharge, charge = (None if v is None else float(v) for v in rows[0])
    return Limits(
        low,
        high,
        None if discharge is None else -abs(discharge),
        None if charge is None else abs(charge),
    )


def asset_select(names: tuple[str, ...]) -> str:
    """SELECT of `names` for a session's asset, from its cell or its pack: NULL where the
    schema in force has no such column (a schema of your own may have no battery_pack)."""
    tables = model().table_map
    session = {c.name for c in tables["test_session"].columns}
    aliases = {"c": ("battery_cell", "cell_id"), "k": ("battery_pack", "pack_id")}
    have = {
        alias: {c.name for c in tables[table].columns}
        for alias, (table, key) in aliases.items()
        if table in tables and key in session
    }
    picked = []
    for name in names:
        cell, pack = (f"{a}.{name}" if name in have.get(a, ()) else "NULL" for a in ("c", "k"))
        # CASE, not COALESCE: ClickHouse's LEFT JOIN gives the type's default, not NULL
        picked.append(
            f"CASE WHEN s.cell_id IS NOT NULL THEN {cell} ELSE {pack} END" if "k" in have else cell
        )
    joins = "".join(
        f" LEFT JOIN {aliases[a][0]} {a} ON {a}.{aliases[a][1]} = s.{aliases[a][1]}" for a in have
    )
    return f"SELECT {', '.join(picked)} FROM test_session s{joins}"


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


def _null_on_empty(node: Node) -> bool:
    """Whether `node` is NULL on a row where every column it reads is NULL (SQL's three-valued
    logic, as `_node` evaluates it): false when that is not certain (IS NULL, a constant
    operand of AND or OR, a kind `_node` does not read)."""
    kind, args = node.kind, node.args
    if kind == "column":
        return True
    if kind in ("arith", "compare"):
        return any(_null_on_empty(a) for a in args)
    if kind in ("neg", "cast", "not"):
        return _null_on_empty(args[0])
    if kind in ("and", "or"):
        return all(_null_on_empty(a) for a in args)
    if kind == "between":
        return _null_on_empty(args[0]) or all(_null_on_empty(a) for a in args[1:])
    if kind == "in":
        return _null_on_empty(args[0])
    return False


@cache
def _empty_passes(tree: Node) -> tuple[str, ...] | None:
    """The columns a CHECK reads, when a chunk that leaves all of them empty passes it on
    every row (the predicate NULL there, which a CHECK accepts): such a chunk (a file without
    that channel) is not evaluated at all. None: the CHECK is evaluated on every chunk."""
    if not _null_on_empty(tree):
        return None
    return tuple(dict.fromkeys(n.value for n in tree.walk() if n.kind == "column"))


def _reject_mask(rule: Rule, table: pa.Table) -> np.ndarray:
    """`rejects` as a numpy mask; all False without evaluating a CHECK whose columns the
    chunk leaves empty (`_empty_passes`)."""
    if rule.tree is not None:
        columns = _empty_passes(rule.tree)
        n = table.num_rows
        if columns and all(table.column(c).null_count == n for c in columns):
            return np.zeros(n, dtype=bool)
    return rejects(rule, table).to_numpy(zero_copy_only=False)


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
        self.earlier: list[int] = []

    def add(self, mask: np.ndarray, lines: np.ndarray, earlier: np.ndarray | None = None) -> None:
        count = int(np.count_nonzero(mask))
        if not count:
            return
        self.rows += count
        if len(self.first) < FIRST_LINES:
            where = np.flatnonzero(mask)[: FIRST_LINES - len(self.first)]
            self.first += [int(n) for n in lines[where]]
            if earlier is not None:
                self.earlier += [int(n) for n in earlier[where]]

    def finding(self, rule: Rule | None = None) -> Finding | None:
        if not self.rows:
            return None
        return Finding(rule or self.rule, self.rows, self.first, self.earlier or None)


def _outside(name: str, column: str, what: str) -> Rule:
    return Rule(name, what, None, column=column, severity="note")


class Checker:
    """Runs every rule over each chunk as it streams past; `passing(chunk)` returns the mask
    of rows every row rule accepts. `finish()` writes the findings into the report.

    `record_indexes` re-reads the file's record indexes; it is called only when the indexes
    did not strictly increase (the file is refused then), to count the duplicates exactly.
    `use_limits` (the loader calls it once the session is known) turns on the findings of
    samples outside the asset's declared window."""

    def __init__(
        self,
        report: Report,
        target: str,
        record_indexes: Callable[[], np.ndarray],
        artefacts: Artefacts | None = None,
        own_records: bool = True,
    ):
        self.report = report
        self.own_records = own_records  # False: the reader numbered the rows by position
        self.rules = rules(target)
        self.tallies = [_Tally(r) for r in self.rules]
        self.order = _Tally(ORDER)
        self.backwards = _Tally(BACKWARDS)
        self.repeats = _Tally(DUPLICATE_LINE)
        self.same_samples = _Tally(SAME_SAMPLE)
        self.record_indexes = record_indexes
        self.not_increasing = False
        self.last_record: int | None = None
        self.last_time: float | None = None
        self.peak_time: float | None = None  # the latest test time so far
        self.last_row: pa.Table | None = None  # the previous chunk's last row, for repeats
        self.last_line = 0
        self.repeat_lines: list[np.ndarray] = []  # every repeat's line (the duplicate rule)
        self.rejects: list[tuple[int, list[str]]] = []
        self.artefacts = artefacts or Artefacts()
        self.window: list[tuple[_Tally, str, str, float]] = []  # (tally, column, op, bound)
        # the logging gaps: every positive interval in a log-spaced histogram (the median at
        # the end, in flat memory), the intervals above the floor kept with their lines
        self.intervals = np.zeros(_BIN_COUNT, dtype=np.int64)
        self.gap_lines: list[np.ndarray] = []
        self.gap_seconds: list[np.ndarray] = []

    def use_limits(self, limits: Limits) -> None:
        tolerance = self.artefacts.voltage_tolerance
        for value, column, op, name, what in (
            (
                limits.voltage_min,
                "voltage_volt",
                "<",
                "voltage_below_cell_minimum",
                "below the cell's voltage_min_volt",
            ),
            (
                limits.voltage_max,
                "voltage_volt",
                ">",
                "voltage_above_cell_maximum",
                "above the cell's voltage_max_volt",
            ),
            (
                limits.current_min,
                "current_ampere",
                "<",
                "current_below_cell_limit",
                "discharging beyond the cell's declared limit",
            ),
            (
                limits.current_max,
                "current_ampere",
                ">",
                "current_above_cell_limit",
                "charging beyond the cell's declared limit",
            ),
        ):
            if value is None:
                continue
            margin = tolerance if column == "voltage_volt" else 0.0
            bound = value - margin if op == "<" else value + margin
            unit = "V" if column == "voltage_volt" else "A"
            beyond = f" by more than {margin:g} {unit}" if margin else ""
            rule = _outside(
                name,
                column,
                f"{column} {what} ({value:g} {unit}){beyond}; kept as recorded (a "
                "disconnected lead, a sensor fault, or a sidecar that names the wrong cell)",
            )
            self.window.append((_Tally(rule), column, op, bound))

    def passing(self, table: pa.Table) -> np.ndarray:
        n = table.num_rows
        self.report.rows += n
        lines = table.column("line").to_numpy()
        masks = [_reject_mask(r, table) for r in self.rules]
        failing = np.zeros(n, dtype=bool)
        for tally, mask in zip(self.tallies, masks, strict=True):
            tally.add(mask, lines)
            failing |= mask
        records = table.column("record_index").to_numpy(zero_copy_only=False)
        previous = np.concatenate(([self.last_record], records[:-1])) if n else records
        if self.last_record is None and n:
            previous[0] = records[0] - 1
        times = table.column("test_time_second").to_numpy(zero_copy_only=False)
        before = np.concatenate(
            ([np.nan if self.last_time is None else self.last_time], times[:-1])
        )
        with np.errstate(invalid="ignore"):  # a NULL record index compares false
            self.order.add(records < previous, lines)
            same = records == previous
            # the file's own record numbers say which line repeats; without them (numbered by
            # position here), the test time does, and every other value
            candidates = same if self.own_records else times == before
        repeats = self._repeats(table, candidates)
        if not self.own_records:  # a heuristic: named, never dropped (a coarse clock repeats)
            self.same_samples.add(repeats, lines, self._earlier(lines))
            repeats = np.zeros(n, dtype=bool)
        if repeats.any():
            self.repeats.add(repeats, lines, self._earlier(lines))
            self.repeat_lines.append(lines[repeats])
            failing |= repeats
            masks.append(repeats)
        with np.errstate(invalid="ignore"):
            stepped = (records < previous) | (same & ~repeats)
        if not self.not_increasing and n and bool(stepped.any()):
            self.not_increasing = True
        if failing.any() and len(self.rejects) < MAX_REJECTS:
            names = [r.name for r in self.rules] + ([DUPLICATE_LINE.name] if repeats.any() else [])
            for i in np.flatnonzero(failing)[: MAX_REJECTS - len(self.rejects)]:
                self.rejects.append(
                    (int(lines[i]), [name for name, m in zip(names, masks, strict=True) if m[i]])
                )
        known = records[~np.isnan(records)] if records.dtype.kind == "f" else records
        # a row without a record index (an empty Data_Point) is the not-null rule's to report
        self.last_record = int(known[-1]) if len(known) else self.last_record
        if n:
            with np.errstate(invalid="ignore"):
                self.backwards.add(times < before, lines)  # NaN (NULL) compares false
            # a gap is measured from the latest time so far: the jump back up after time
            # stepped backwards (a glitch) is no gap
            peak = np.fmax.accumulate(
                np.concatenate(([np.nan if self.peak_time is None else self.peak_time], times))
            )
            self._intervals(times - peak[:-1], lines)
            self.peak_time = None if np.isnan(peak[-1]) else float(peak[-1])
            self._window(table, lines)
            self.last_time = float(times[-1])
            self.last_row = table.slice(n - 1, 1)
            self.last_line = int(lines[-1])
        return ~failing

    def _earlier(self, lines: np.ndarray) -> np.ndarray:
        """The line before each row's (the previous chunk's last for the first)."""
        return np.concatenate(([self.last_line], lines[:-1]))

    def _repeats(self, table: pa.Table, same: np.ndarray) -> np.ndarray:
        """True for each row that repeats the row before it exactly: a candidate (`same`: the
        same record index, or the same test time in a file without record numbers) whose
        every staged value is the same (NULL equal to NULL)."""
        where = np.flatnonzero(same)
        if not len(where):
            return np.zeros(table.num_rows, dtype=bool)
        head = self.last_row if self.last_row is not None else table.slice(0, 1)
        both = pa.concat_tables(
            [head, table], promote_options="permissive"
        )  # row i of the chunk is row i + 1 here
        now = both.take(pa.array(where + 1))
        before = both.take(pa.array(where))
        equal = np.ones(len(where), dtype=bool)
        for name in table.column_names:
            if name == "line" or (name == "record_index" and not self.own_records):
                continue
            a, b = now.column(name), before.column(name)
            eq = pc.fill_null(pc.equal(a, b), False)
            eq = pc.or_(eq, pc.and_(pc.is_null(a), pc.is_null(b)))
            equal &= eq.to_numpy(zero_copy_only=False)
        out = np.zeros(table.num_rows, dtype=bool)
        out[where[equal]] = True
        return out

    def _intervals(self, dt: np.ndarray, lines: np.ndarray) -> None:
        with np.errstate(invalid="ignore", divide="ignore"):
            positive = dt[dt > 0]
            where = ((np.log10(positive) - _LOG_FIRST) * _PER_DECADE).astype(np.int64)
            self.intervals += np.bincount(np.clip(where, 0, _BIN_COUNT - 1), minlength=_BIN_COUNT)
            long = dt > self.artefacts.gap_min_seconds
        if long.any():
            self.gap_lines.append(lines[long])
            self.gap_seconds.append(dt[long])

    def _window(self, table: pa.Table, lines: np.ndarray) -> None:
        for tally, column, op, bound in self.window:
            values = table.column(column).to_numpy(zero_copy_only=False)
            with np.errstate(invalid="ignore"):  # NULL (NaN) is outside nothing
                tally.add(values < bound if op == "<" else values > bound, lines)

    def _gaps(self) -> Finding | None:
        total = int(self.intervals.sum())
        if not total or not self.gap_lines:
            return None
        middle = int(np.searchsorted(np.cumsum(self.intervals), (total + 1) / 2))
        median = 10 ** (_LOG_FIRST + (middle + 1) / _PER_DECADE)  # the bin's upper edge
        limit = max(self.artefacts.gap_multiple * median, self.artefacts.gap_min_seconds)
        lines = np.concatenate(self.gap_lines)
        seconds = np.concatenate(self.gap_seconds)
        long = seconds > limit
        if not long.any():
            return None
        longest = int(np.argmax(np.where(long, seconds, -np.inf)))
        rule = Rule(
            "time_gap",
            f"test_time_second jumps by more than {limit:.4g} s before the line "
            f"({self.artefacts.gap_multiple:g} x the median sampling interval, "
            f"{median:.3g} s, and at least {self.artefacts.gap_min_seconds:g} s; the longest "
            f"{seconds[longest]:.4g} s before line {int(lines[longest])}): a logging gap, "
            "nothing recorded in between; the rows are kept",
            None,
            column="test_time_second",
            severity="note",
        )
        tally = _Tally(rule)
        tally.add(long, lines)
        return tally.finding()

    def finish(self) -> None:
        findings = [t.finding() for t in self.tallies]
        findings += [self.repeats.finding(), self.same_samples.finding()]
        if self.not_increasing:
            repeated = np.concatenate(self.repeat_lines) if self.repeat_lines else []
            findings.append(_duplicates(self.record_indexes(), {int(n) for n in repeated}))
        findings += [self.order.finding(), self.backwards.finding()]
        findings += [tally.finding() for tally, *_ in self.window]
        findings.append(self._gaps())
        self.report.findings += [f for f in findings if f is not None]


# the sampling intervals' histogram: log-spaced, 1,000 bins a decade (a median within 0.23 %)
# from 1 µs to 10^8 s (about 3 years); an interval outside falls in the first or last bin
_LOG_FIRST = -6.0
_PER_DECADE = 1000
_BIN_COUNT = 14 * _PER_DECADE


def _duplicates(records: np.ndarray, repeats: set[int]) -> Finding | None:
    """Rows (file lines) whose record index appears more than once, from the whole column;
    the exact repeats of the line before (`repeats`, file lines) are the duplicate_line
    rule's and are left out here."""
    keep = np.ones(len(records), dtype=bool)
    for line in repeats:
        if 0 <= line - 2 < len(records):
            keep[line - 2] = False
    positions = np.flatnonzero(keep)
    records = records[keep]
    order = np.argsort(records, kind="stable")
    ranked = records[order]
    same = ranked[1:] == ranked[:-1]
    marked = np.zeros(len(records), dtype=bool)
    marked[order[1:][same]] = True
    marked[order[:-1][same]] = True
    where = positions[np.flatnonzero(marked)]
    if not len(where):
        return None
    return Finding(DUPLICATE, int(len(where)), [int(n) + 2 for n in where[:FIRST_LINES]])
