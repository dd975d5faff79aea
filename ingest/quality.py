"""The quality report: the schema's own CHECK predicates (and NOT NULLs) of timeseries_point,
run over the staged rows, plus the file-level rules the CHECKs cannot see (duplicate or
decreasing record indexes, time stepping backwards)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from generator import load_schema
from generator.targets import TARGETS
from generator.targets.base import transpile

from .bdf import STAGED_COLUMNS
from .db import Database

ROOT = Path(__file__).resolve().parents[1]
TABLE = "timeseries_point"
FIRST_LINES = 5


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    rejects: str  # SQL over ingest_stage: true for a row the rule rejects, never NULL
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
            return f"{self.file}: {self.rows} rows, every rule passes"
        lines = [f"{self.file}: {self.rows} rows, quality report:"]
        lines += [f"  [{f.rule.severity}] {f.describe()}" for f in self.findings]
        return "\n".join(lines)


@lru_cache(maxsize=4)
def rules(target: str) -> tuple[Rule, ...]:
    """The row rules of timeseries_point in the dialect of `target`, from the model."""
    schema = load_schema(ROOT / "schema.yaml")
    table = schema.table(TABLE)
    emitter = TARGETS[target]
    out: list[Rule] = []
    staged = set(STAGED_COLUMNS)
    for column in table.columns:
        if not column.nullable and column.name in staged:
            out.append(
                Rule(
                    f"nn_{TABLE}_{column.name}",
                    f"{column.name} is required (empty or missing value)",
                    f"{column.name} IS NULL",
                    column=column.name,
                )
            )
    for check in emitter.checks(table):
        expression = transpile(check.expression, emitter.dialect)
        out.append(
            Rule(
                check.name,
                check.description,
                f"COALESCE(NOT ({expression}), FALSE)",
                column=check.column,
            )
        )
    return tuple(out)


def run(db: Database, report: Report) -> None:
    """Evaluate every rule over ingest_stage and add what fails to the report."""
    row_rules = rules(db.target)
    # one scan counts every row rule; only failing rules are scanned again for their lines
    sums = ", ".join(f"sum(CASE WHEN {r.rejects} THEN 1 ELSE 0 END)" for r in row_rules)
    counts = db.query(f"SELECT {sums} FROM ingest_stage")[0]
    for rule, count in zip(row_rules, counts, strict=True):
        if count:
            _measure(db, report, rule, f"SELECT line FROM ingest_stage WHERE {rule.rejects}")
    _measure(
        db,
        report,
        Rule(
            "duplicate_record_index",
            "record_index appears more than once in the file",
            "",
            column="record_index",
            severity="refuse",
        ),
        "SELECT line FROM (SELECT line, count(*) OVER (PARTITION BY record_index) AS n "
        "FROM ingest_stage) AS s WHERE n > 1",
    )
    _measure(
        db,
        report,
        Rule(
            "record_index_order",
            "record_index decreases: the file's rows are out of order",
            "",
            column="record_index",
            severity="refuse",
        ),
        "SELECT line FROM (SELECT line, record_index, "
        "LAG(record_index) OVER (ORDER BY line) AS previous FROM ingest_stage) AS s "
        "WHERE record_index < previous",
    )
    _measure(
        db,
        report,
        Rule(
            "test_time_backwards",
            "test_time_second steps backwards (kept as recorded; derivations clamp dt at 0)",
            "",
            column="test_time_second",
            severity="warning",
        ),
        "SELECT line FROM (SELECT line, test_time_second, "
        "LAG(test_time_second) OVER (ORDER BY line) AS previous FROM ingest_stage) AS s "
        "WHERE test_time_second < previous",
    )


def _measure(db: Database, report: Report, rule: Rule, lines_sql: str) -> None:
    count = db.query(f"SELECT count(*) FROM ({lines_sql}) AS f")[0][0]
    if count:
        first = [r[0] for r in db.query(f"{lines_sql} ORDER BY line LIMIT {FIRST_LINES}")]
        report.findings.append(Finding(rule, int(count), [int(n) for n in first]))


def passing_condition(target: str) -> str:
    """SQL true for a staged row that every row rule accepts."""
    return " AND ".join(f"NOT ({r.rejects})" for r in rules(target)) or "TRUE"


def rejected_rows(db: Database, limit: int = 1000) -> list[tuple[int, list[str]]]:
    """(line, names of the rules it fails) for rows lenient mode leaves out."""
    cases = ", ".join(
        f"CASE WHEN {r.rejects} THEN '{r.name}' ELSE '' END" for r in rules(db.target)
    )
    rows = db.query(
        f"SELECT line, {cases} FROM ingest_stage WHERE NOT ({passing_condition(db.target)}) "
        f"ORDER BY line LIMIT {limit}"
    )
    return [(int(r[0]), [n for n in r[1:] if n]) for r in rows]
