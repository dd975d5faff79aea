"""The rules a schema.yaml must satisfy, grouped by what they guard.

    structure    the JSON Schema of the format, layers, enums, workflow
    names        identifiers, reserved words, system columns, generated names per target
    columns      types, units, enums, ranges, identities, defaults; derived CHECKs
    expressions  CHECK and continuous-aggregate expressions (parsed, never spliced)
    keys         primary keys, column lists, foreign keys, their indexes, cycles
    timescale    the timescaledb: block (hypertable, compression, continuous aggregates)

Every place that reports a problem names it with its own code (`Context.report(code, ...)`),
listed in `CODES`; tests/generator/test_hostile_corpus.py demands a bad-input case for each code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import Problem
from ..load import Source


def suggest(word: str, options) -> str | None:
    options = [str(o) for o in options]
    same_case = [o for o in options if o.lower() == str(word).lower()]
    import difflib  # only a problem asks for a suggestion

    match = same_case or difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else None


def one_line(text: Any) -> str:
    """Titles, units and other short prose (docs/conventions.md): every run of whitespace, line
    breaks and Unicode spaces included, becomes one space, in every target alike."""
    return " ".join(str(text).split())


def as_written(text: Any) -> str:
    """Descriptions (docs/conventions.md): kept as written, line breaks and Unicode spaces
    included, for the targets whose syntax holds them (COMMENT strings); only the blank space
    around the text goes (a YAML block's last line break is not part of it). Where a syntax
    needs one line (a `--` comment, a table cell) the target or page folds it."""
    return str(text).strip()


MAX_PROBLEMS = 100  # a report longer than this is noise, and suggestions cost time


@dataclass
class Context:
    """What the rules share while one schema is checked: the source and the problems so far,
    plus the parts already built that later rules look up."""

    src: Source
    problems: list[Problem] = field(default_factory=list)
    broken_tables: set[str] = field(default_factory=set)
    units: dict[str, str] = field(default_factory=dict)
    layer_ids: list[str] = field(default_factory=list)
    enums: dict[str, Any] = field(default_factory=dict)
    raw_tables: dict[str, Any] = field(default_factory=dict)
    pending_fks: dict[str, list] = field(default_factory=dict)

    dropped: int = 0

    @property
    def full(self) -> bool:
        return len(self.problems) >= MAX_PROBLEMS

    def report(self, code: str, path, message: str, hint: str | None = None, *, at_value=False):
        assert code in CODES, f"unregistered problem code {code}"
        if self.full:
            self.dropped += 1
            return
        self.problems.append(self.src.problem(code, tuple(path), message, hint, at_value=at_value))

    def finish(self) -> list[Problem]:
        """The problems, with one more saying how many were left out."""
        if self.dropped:
            self.problems.append(
                Problem(
                    self.src.file,
                    1,
                    1,
                    "<file>",
                    f"{self.dropped} more problem(s) not shown; fix these first",
                    code="structure.too-many",
                )
            )
        return self.problems


# Every error site, by code; the bad-input tests need a case for each one.
CODES = {
    # generator/rules/hints.py: the migration hints
    "hints.rename-still-exists": "a renamed_from hint names what still exists",
    "hints.renamed-value-unknown": "a renamed_values key that is not a value of the enum",
    # load.py: reading the file
    "load.read": "the file cannot be read",
    "load.too-large": "the file is over the size cap",
    "load.encoding": "the file is not UTF-8",
    "load.utf16": "the file is UTF-16 (byte-order mark)",
    "load.control-char": "a NUL or control character in the file",
    "load.syntax": "YAML syntax error",
    "load.too-deep": "nesting deeper than the cap",
    "load.too-many-nodes": "alias expansion over the cap",
    "load.alias-loop": "an alias inside the node it refers to",
    "load.empty": "the file is empty",
    "load.tag": "a tag other than the plain YAML types",
    "load.int64": "an integer beyond 64 bits",
    "load.non-finite": "NaN, an infinity or a float beyond double precision",
    "load.bad-value": "a value its explicit tag cannot read (e.g. !!int abc)",
    "load.key": "a key that is not a plain name",
    "load.merge": "a YAML merge key",
    "load.duplicate-key": "a key given twice",
    "load.text-control-char": "a control character in a text value (through an escape)",
    # structure.py
    "structure.unknown-key": "a key the format does not know",
    "structure.missing-key": "a required key is missing",
    "structure.unknown-value": "a value outside its allowed set",
    "structure.type": "a value of the wrong type",
    "structure.invalid": "any other JSON Schema violation",
    "structure.too-many": "more problems than the report shows",
    "structure.empty-enum": "an enumeration without values",
    "structure.enum-value": "an enumeration value that is not safe text",
    "structure.unknown-layer": "a table in an unknown layer",
    "structure.workflow-table": "a workflow step writes an unknown table",
    # names.py
    "names.unsafe": "an identifier that is not lower-case snake_case",
    "names.too-long": "an identifier over the targets' limit",
    "names.reserved": "a reserved word of some target",
    "names.system-column": "a system column name of some target",
    "names.reserved-prefix": "a table or index name with a prefix an engine keeps",
    "names.target-limit": "something a target's engine cannot hold (columns, Liam chunks)",
    "names.duplicate": "a constraint or index name used twice",
    "names.table-clash": "a constraint or index named like a table",
    "names.target-collision": "two names a target creates are equal",
    # columns.py
    "columns.unknown-unit": "an undefined unit",
    "columns.no-unit": "a measured quantity without unit",
    "columns.unit-suffix": "a unit contradicting the name suffix",
    "columns.suffix-missing": "a unit whose suffix the name lacks",
    "columns.unknown-enum": "an undefined enumeration",
    "columns.enum-type": "an enumeration on a non-text column",
    "columns.range-type": "a range on a non-numeric column",
    "columns.range-empty": "a range that admits nothing",
    "columns.range-open": "a range without min and max",
    "columns.identity-type": "an identity column that is not an integer",
    "columns.identity-key": "an identity column that is not the whole primary key",
    "columns.default-type": "a default of the wrong type",
    "columns.default-range": "a default outside the column's range",
    "columns.default-enum": "a default outside the column's enumeration",
    "columns.default-width": "a default the column's type cannot hold",
    "columns.range-width": "a range bound the column's type cannot hold",
    "columns.default-timestamp": "a timestamp default that is not a timestamp",
    "columns.default-identity": "a default on an identity column",
    # keys.py
    "keys.unknown-column": "a column list names an unknown column",
    "keys.listed-twice": "a column list names a column twice",
    "keys.nullable-pk": "a nullable primary key column",
    "keys.unknown-table": "a foreign key to an unknown table",
    "keys.composite-pk": "a column reference to a composite primary key",
    "keys.arity": "a foreign key with mismatched column counts",
    "keys.unknown-ref-column": "a foreign key to an unknown column",
    "keys.type-mismatch": "a foreign key between columns of different types",
    "keys.not-a-key": "a foreign key to columns that are no key",
    "keys.set-null": "on_delete: set null on a NOT NULL column",
    "keys.no-index": "a foreign key no index starts with",
    "keys.cycle": "foreign keys forming a cycle",
    # expressions.py
    "expressions.parse": "an expression that does not parse",
    "expressions.statements": "more than one statement, or not an expression",
    "expressions.not-boolean": "a CHECK that is not a condition",
    "expressions.unknown-column": "an expression using an unknown column",
    "expressions.qualified": "a column qualified by a table",
    "expressions.forbidden": "a subquery, command or other construct not allowed",
    "expressions.function": "a function not on the allowed list",
    "expressions.too-deep": "an expression nested beyond the parser's depth",
    "expressions.ungrouped": "a continuous-aggregate column outside aggregates and group_by",
    "expressions.aggregate-in-check": "an aggregate in a CHECK",
    "expressions.nested-aggregate": "an aggregate inside an aggregate",
    "expressions.distinct": "DISTINCT inside a continuous aggregate",
    "expressions.no-aggregate": "a continuous-aggregate output without an aggregate",
    "expressions.arguments": "a function given more arguments than allowed",
    "expressions.type": "an operand of the wrong type",
    "expressions.cast": "a cast to a type not allowed",
    # timescale.py
    "timescale.time-column": "an unknown hypertable time column",
    "timescale.time-type": "a time column that is not NOT NULL timestamptz",
    "timescale.reference": "a reference into a hypertable without its time column",
    "timescale.cagg-column": "a continuous aggregate with two columns of one name",
    "timescale.compression-overlap": "a column in both segment_by and order_by",
    "timescale.elapsed-column": "an unknown elapsed_as_start column",
    "timescale.elapsed-type": "an elapsed_as_start column that is not NOT NULL double seconds",
    "timescale.elapsed-range": "an elapsed_as_start column with a range other than {min: 0}",
    "timescale.elapsed-start": "an elapsed_as_start start_column that is already a column",
    "timescale.elapsed-use": "an elapsed_as_start column in compression or an aggregate",
    "timescale.elapsed-key": "an elapsed_as_start column in a key, index or CHECK",
}
