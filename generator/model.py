"""The in-memory schema model: frozen dataclasses, declared order kept, derived facts computed once.

Every output (DDL, diagrams, docs) is a pure function of a `Schema`. Nothing here knows about
YAML or about any SQL dialect.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

ONE_TO_ONE = "one-to-one"
ONE_TO_MANY = "one-to-many"

INTEGER_TYPES = ("smallint", "integer", "bigint")
FLOAT_TYPES = ("real", "double")


def fit_name(name: str, limit: int | None) -> str:
    """A generated name that fits `limit` bytes, deterministically (docs/conventions.md): a
    longer one keeps its first limit-9 bytes and gains '_' and the first 8 hex digits of the
    SHA-256 of the whole name, so two long names that share a prefix still differ."""
    if limit is None or len(name.encode()) <= limit:
        return name
    import hashlib  # only names longer than the limit need it

    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    head = name.encode()[: limit - 9].decode("utf-8", "ignore")
    return f"{head}_{digest}"


@dataclass(frozen=True)
class Layer:
    id: str
    title: str
    description: str


@dataclass(frozen=True)
class EnumValue:
    value: str
    description: str


@dataclass(frozen=True)
class Enum:
    name: str
    description: str
    values: tuple[EnumValue, ...]
    # migration hint: (new value, its value in the previous version), from renamed_values:
    renamed_values: tuple[tuple[str, str], ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.value for v in self.values)


@dataclass(frozen=True)
class Range:
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False

    def contains(self, other: Range | None) -> bool:
        """Does this range allow every value `other` allowed (None: any value)? Widening a
        range keeps every stored row valid; narrowing it may not."""
        if self.min is not None:
            if other is None or other.min is None or other.min < self.min:
                return False
            if other.min == self.min and self.min_exclusive and not other.min_exclusive:
                return False
        if self.max is not None:
            if other is None or other.max is None or other.max > self.max:
                return False
            if other.max == self.max and self.max_exclusive and not other.max_exclusive:
                return False
        return True

    def describe(self) -> str:
        """Interval notation, e.g. `(0, 1.2]` or `>= 0`."""
        if self.min is not None and self.max is not None:
            left = "(" if self.min_exclusive else "["
            right = ")" if self.max_exclusive else "]"
            return f"{left}{_num(self.min)}, {_num(self.max)}{right}"
        if self.min is not None:
            return f"{'>' if self.min_exclusive else '>='} {_num(self.min)}"
        return f"{'<' if self.max_exclusive else '<='} {_num(self.max)}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    nullable: bool = False
    identity: bool = False
    unit: str | None = None
    enum: str | None = None
    range: Range | None = None
    default: str | int | float | bool | None = None
    renamed_from: str | None = None  # migration hint: this column's name in the previous version


class Node:
    """One node of an expression tree (a CHECK, parsed once by generator/sqlexpr.py or built
    from a column's range or enumeration); each target prints it in its own dialect
    (Target.expression_sql). kind: column, number, string, boolean, null, and, or, not,
    compare, arith, neg, concat, isnull, istruth, in, between, like, func, aggregate, cast;
    or forbidden / function / cast-refused, naming (value) what the subset leaves out, for the
    validator to report. A number keeps PostgreSQL's reading of its digits (value, text); a
    cast's value is the model's type name (real, double, ...). Equal trees mean the same
    expression (an expression's canonical form), so trees compare and hash by value."""

    __slots__ = ("kind", "op", "args", "value", "negated", "flag")

    def __init__(
        self, kind: str, args=(), *, op=None, value: Any = None, negated=False, flag=False
    ):
        self.kind, self.op, self.args, self.value = kind, op, tuple(args), value
        self.negated, self.flag = negated, flag  # flag: count(*) / DISTINCT / a qualified name

    def walk(self):
        yield self
        for arg in self.args:
            yield from arg.walk()

    def _key(self) -> tuple:
        return (self.kind, self.op, self.args, self.value, self.negated, self.flag)

    def __eq__(self, other) -> bool:
        return isinstance(other, Node) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    @property
    def columns(self) -> frozenset[str]:
        """The column names the expression uses."""
        return frozenset(n.value for n in self.walk() if n.kind == "column")

    def renamed(self, mapping: dict[str, str]) -> Node:
        """The same expression with columns renamed (old name -> new name)."""
        if self.kind == "column":
            return Node("column", value=mapping.get(self.value, self.value), flag=self.flag)
        if not self.args:
            return self
        return Node(
            self.kind,
            [a.renamed(mapping) for a in self.args],
            op=self.op,
            value=self.value,
            negated=self.negated,
            flag=self.flag,
        )

    def __repr__(self) -> str:
        return f"Node({self.kind!r}, {self.args!r}, op={self.op!r}, value={self.value!r})"


@dataclass(frozen=True)
class Check:
    """A named CHECK. `tree` is the expression, parsed once (every target prints it in its own
    dialect); `expression` is the same tree in the schema's own language, PostgreSQL syntax,
    as docs and migration files show it. A target's own CHECK in its engine's words (a json
    test) has no tree: its `expression` is written as it is. `kind` says where it came from."""

    name: str
    expression: str
    description: str
    kind: str = "explicit"  # explicit | enum | range | boolean | json
    column: str | None = None
    tree: Node | None = None

    @property
    def columns(self) -> frozenset[str]:
        """The columns the CHECK reads."""
        if self.tree is not None:
            return self.tree.columns
        return frozenset({self.column}) if self.column else frozenset()

    @property
    def values(self) -> tuple[str, ...]:
        """An enumeration CHECK's allowed values (the items of its IN list), else ()."""
        if self.kind != "enum" or self.tree is None or self.tree.kind != "in":
            return ()
        return tuple(a.value for a in self.tree.args[1:] if a.kind == "string")


def json_check(name: str, column: str, expression: str) -> Check:
    """The CHECK that stands in for a json type where the engine stores text: `expression` is
    the engine's own JSON test of the (quoted) column, e.g. json_valid("c")."""
    return Check(
        name,
        expression,
        f"{column} is valid JSON.",
        kind="json",
        column=column,
    )


@dataclass(frozen=True)
class Unique:
    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class ForeignKey:
    name: str
    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str  # restrict | cascade | set null | no action
    why: str
    cardinality: str = ONE_TO_MANY  # derived by the validator from the child's keys
    optional: bool = False  # some FK column is nullable: the child may reference nothing


@dataclass(frozen=True)
class ContinuousAggregate:
    name: str
    description: str
    bucket_width: str
    group_by: tuple[str, ...]
    aggregates: tuple[tuple[str, str], ...]  # (output column, expression)


@dataclass(frozen=True)
class ElapsedAsStart:
    """Store an elapsed-seconds column (e.g. test_time_second) as the instant it counts from
    (time_column - column), which is constant while a session runs and so compresses to
    almost nothing; users read the column back, by its name, through a view."""

    column: str  # the double seconds column users query
    start_column: str  # the timestamptz stored instead
    store_table: str  # the hypertable's name; the table's own name becomes the view


@dataclass(frozen=True)
class TimescaleOptions:
    time_column: str
    chunk_interval: str
    segment_by: tuple[str, ...] = ()
    order_by: tuple[str, ...] = ()
    continuous_aggregates: tuple[ContinuousAggregate, ...] = ()
    elapsed_as_start: ElapsedAsStart | None = None


@dataclass(frozen=True)
class Table:
    name: str
    layer: str
    usage: tuple[str, ...]  # subset of ("soc", "soh"), in that order
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    uniques: tuple[Unique, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[Check, ...] = ()
    indexes: tuple[Index, ...] = ()
    timescaledb: TimescaleOptions | None = None
    primary_key_name: str = ""  # pk_<table>, fitted to the identifier limit by the validator
    renamed_from: str | None = None  # migration hint: this table's name in the previous version

    @cached_property
    def column_map(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}

    def column(self, name: str) -> Column:
        return self.column_map[name]

    @property
    def usage_label(self) -> str:
        return " + ".join(u.upper() for u in self.usage)

    def foreign_key_of(self, column: str) -> ForeignKey | None:
        """The first foreign key a column takes part in, if any."""
        return next((fk for fk in self.foreign_keys if column in fk.columns), None)


def derive_cardinality(child_keys, fk_columns) -> str:
    """One-to-one when some key of the child (primary, unique) lies within the FK's columns:
    then at most one child row can point at a parent row."""
    return ONE_TO_ONE if any(set(k) <= set(fk_columns) for k in child_keys) else ONE_TO_MANY


def dependency_order(tables: dict[str, Table]) -> tuple[tuple[Table, ...], list[list[str]]]:
    """Declared order, except that a table always follows the tables it references; also
    the foreign-key cycles met on the way (each as the chain of table names)."""
    ordered: list[Table] = []
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(name: str, chain: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycles.append([*chain, name])
            return
        state[name] = "visiting"
        for fk in tables[name].foreign_keys:
            if fk.ref_table in tables and fk.ref_table != name:
                visit(fk.ref_table, [*chain, name])
        state[name] = "done"
        ordered.append(tables[name])

    for name in tables:
        visit(name, [])
    return tuple(ordered), cycles


@dataclass(frozen=True)
class WorkflowStep:
    title: str
    description: str
    writes: tuple[str, ...]


@dataclass(frozen=True)
class Schema:
    name: str
    title: str
    description: str
    units: tuple[tuple[str, str], ...]
    layers: tuple[Layer, ...]
    enums: tuple[Enum, ...]
    tables: tuple[Table, ...]  # in dependency order: a table comes after every table it references
    workflow: tuple[WorkflowStep, ...] = ()
    version: int = 1  # the schema's own version (version:), recorded in outputs and databases

    @cached_property
    def table_map(self) -> dict[str, Table]:
        return {t.name: t for t in self.tables}

    def table(self, name: str) -> Table:
        return self.table_map[name]

    @cached_property
    def enum_map(self) -> dict[str, Enum]:
        return {e.name: e for e in self.enums}

    @cached_property
    def layer_map(self) -> dict[str, Layer]:
        return {layer.id: layer for layer in self.layers}

    def tables_in_layer(self, layer: str) -> tuple[Table, ...]:
        return tuple(t for t in self.tables if t.layer == layer)

    @cached_property
    def foreign_keys(self) -> tuple[ForeignKey, ...]:
        return tuple(fk for t in self.tables for fk in t.foreign_keys)

    def references_to(self, table: str) -> tuple[ForeignKey, ...]:
        """Foreign keys in other tables that point at `table`."""
        return tuple(fk for fk in self.foreign_keys if fk.ref_table == table)

    @cached_property
    def hypertables(self) -> tuple[Table, ...]:
        return tuple(t for t in self.tables if t.timescaledb is not None)

    @cached_property
    def time_copies(self) -> tuple[tuple[ForeignKey, str], ...]:
        """(foreign key, column): a referencing table's copy of the time column of the
        time-series table it references, where the key itself leaves that column out."""
        out = []
        for fk in self.foreign_keys:
            ts = self.table(fk.ref_table).timescaledb
            if (
                ts is not None
                and ts.time_column not in fk.columns
                and ts.time_column in self.table(fk.table).column_map
            ):
                out.append((fk, ts.time_column))
        return tuple(out)
