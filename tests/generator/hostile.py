"""The bad-input corpus: schema files an attacker or a clumsy user might send.

Each `Case` builds a file (an edit of the frozen version 1 of schema.yaml, a whole small
text, or raw bytes) and says which rule must catch it (`code`, see generator/rules/CODES), on
which line (the line holding `marker`, or `line`), with which words in the message
(`fragment`).
`ACCEPTED` lists hostile-looking schemas that are valid: their DDL must load unharmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A frozen schema (version 1) as the base of the edits, so the corpus does not move with
# schema.yaml; the fuzzer (test_fuzz.py) mutates the current schema.yaml.
SCHEMA = (ROOT / "tests" / "fixtures" / "schema_v1.yaml").read_text(encoding="utf-8")
WORKFLOW = "\nworkflow:"
PACK_NOTES = (
    "      notes:\n        type: text\n        nullable: true\n"
    "        description: Free text, e.g. the chemistry when it is OTHER.\n"
)


@dataclass(frozen=True)
class Case:
    id: str
    code: str
    fragment: str
    text: str | None = None  # the whole file, as text
    raw: bytes | None = None  # the whole file, as bytes
    marker: str | None = None  # the reported line holds this text (first after `after`)
    after: str = ""
    line: int | None = None

    def content(self) -> bytes:
        if self.raw is not None:
            return self.raw
        assert self.text is not None
        return self.text.encode("utf-8")

    def expected_line(self) -> int:
        if self.line is not None:
            return self.line
        text = self.text or ""
        start = text.index(self.after) + len(self.after) if self.after else 0
        at = text.index(self.marker, start)
        at += len(self.marker) - len(self.marker.lstrip("\n"))
        return text.count("\n", 0, at) + 1


def edit(anchor: str, old: str, new: str, source: str = SCHEMA) -> str:
    start = source.index(anchor)
    at = source.index(old, start)
    return source[:at] + new + source[at + len(old) :]


def probe(columns: str = "", rest: str = "", name: str = "probe") -> str:
    """The real schema plus one table `name` with a key column, `columns` (lines at indent 6)
    and `rest` (table-level lines at indent 4)."""
    block = (
        f"\n  {name}:\n    layer: asset\n    usage: [soc]\n    description: Probe.\n"
        f"    columns:\n      {name}_id: {{type: integer, description: Key.}}\n"
        f"{columns}    primary_key: [{name}_id]\n{rest}"
    )
    return SCHEMA.replace(WORKFLOW, block + WORKFLOW, 1)


def column(spec: str, name: str = "c") -> str:
    return f"      {name}: {{{spec}, description: Probe column.}}\n"


def pack_column(lines: str) -> str:
    """The real schema with extra column lines in battery_pack, after notes."""
    return edit("  battery_pack:", PACK_NOTES, PACK_NOTES + lines)


def pack_check(expression: str) -> str:
    return edit(
        "  battery_pack:",
        "expression: voltage_min_volt < voltage_max_volt",
        f"expression: {expression}",
    )


def cagg(line: str) -> str:
    return edit("  timeseries_point:", "            sample_count: count(*)\n", line + "\n")


def hyper(old: str, new: str) -> str:
    return edit("  timeseries_point:", old, new)


ORDER_BY = "        order_by: [recorded_at, record_index]\n"
ELAPSED = (
    "      elapsed_as_start:\n        column: test_time_second\n"
    "        start_column: test_started_at\n        store_table: timeseries_point_store\n"
)


def elapsed(old: str = "", new: str = "", source: str = SCHEMA) -> str:
    """The fixture with test_time_second stored as its start (elapsed_as_start), then edited."""
    text = edit("  timeseries_point:", ORDER_BY, ORDER_BY + ELAPSED, source)
    return edit("  timeseries_point:", old, new, text) if old else text


MINI = "format_version: 1\nname: x\ntitle: X\ndescription: X.\n"
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
FK_LIAM = (
    "      pack_id:\n        type: integer\n        references: {table: battery_pack, "
    "on_delete: cascade, why: Probe.}\n        description: Probe.\n"
)

C = Case
CASES: list[Case] = [
    # ---- reading the file ---------------------------------------------------------------
    C("too-large", "load.too-large", "larger than 524,288 bytes", raw=b"#" * (1 << 21), line=1),
    C("too-large-keys", "load.too-large", "512 KiB", raw=b"k: v\n" * 300_000, line=1),
    C("latin-1", "load.encoding", "not valid UTF-8", raw=b"name: x\ntitle: caf\xe9\n", line=2),
    C("utf-16-bom", "load.utf16", "UTF-16", raw=SCHEMA[:200].encode("utf-16"), line=1),
    C("utf-16-be-bom", "load.utf16", "UTF-16", raw=b"\xfe\xff\x00n\x00a", line=1),
    C("utf-16-le-no-bom", "load.control-char", "NUL", raw="name: x\n".encode("utf-16-le"), line=1),
    C("overlong-utf8", "load.encoding", "not valid UTF-8", raw=b"name: \xc0\xaf\n", line=1),
    C("lone-surrogate", "load.encoding", "UTF-8", raw=b"a: b\nname: \xed\xa0\x80\n", line=2),
    C("nul-byte", "load.control-char", "NUL", raw=SCHEMA[:300].encode() + b"\x00x", line=7),
    C("raw-escape", "load.control-char", "U+001B", raw=b"name: x\ntitle: \x1b[2J\n", line=2),
    C("raw-del", "load.control-char", "U+007F", raw=b"name: x\x7f\n", line=1),
    C("raw-c1", "load.control-char", "U+009B", raw="a: b\nb: \u009b31m\n".encode(), line=2),
    # ---- migration hints (generator/migrate/hints.py) ------------------------------------
    C(
        "rename-hint-names-a-live-column",
        "hints.rename-still-exists",
        "still exists",
        text=SCHEMA.replace(
            PACK_NOTES,
            PACK_NOTES.replace(
                "      notes:", "      notes:\n        renamed_from: manufacturer", 1
            ),
            1,
        ),
        marker="renamed_from: manufacturer",
    ),
    C(
        "renamed-value-not-in-enum",
        "hints.renamed-value-unknown",
        "is not a value of enumeration 'task'",
        text=SCHEMA.replace(
            "    description: What a model estimates.\n",
            "    description: What a model estimates.\n    renamed_values: {sox: soc_old}\n",
            1,
        ),
        marker="sox:",
    ),
    C(
        "syntax-bracket",
        "load.syntax",
        "YAML syntax error",
        text=edit("  battery_pack:", "    layer: asset", "    layer: [asset"),
        marker="usage:",
        after="  battery_pack:",
    ),
    C(
        "syntax-tab-indent",
        "load.syntax",
        "YAML syntax error",
        text=edit("  battery_pack:", "    layer: asset", "\tlayer: asset"),
        marker="\tlayer",
        after="  battery_pack:",
    ),
    C(
        "two-documents",
        "load.syntax",
        "another document",
        text=SCHEMA + "---\nname: y\n",
        marker="---\nname: y",
    ),
    C(
        "undefined-alias",
        "load.syntax",
        "undefined alias",
        text=edit("  battery_pack:", "    layer: asset", "    layer: *nowhere"),
        marker="*nowhere",
    ),
    C(
        "junk-after-quote",
        "load.syntax",
        "YAML syntax error",
        text=edit("  battery_pack:", "    layer: asset", '    layer: "asset" junk'),
        marker='"asset" junk',
    ),
    C(
        "too-deep",
        "load.too-deep",
        "nesting deeper than 32",
        text=MINI + "x: " + "[" * 40 + "]" * 40,
        line=5,
    ),
    C(
        "too-deep-maps",
        "load.too-deep",
        "nesting deeper",
        text=MINI + "".join(f"{'  ' * i}k{i}:\n" for i in range(40)) + "  " * 40 + "v: 1\n",
        marker="k32:",
    ),
    C("alias-bomb", "load.too-many-nodes", "more than 100,000", text=BOMB, marker="e: &e"),
    C("empty-file", "load.empty", "the file is empty", text="", line=1),
    C("only-comments", "load.empty", "the file is empty", text="# nothing here\n\n", line=1),
    C(
        "python-name-tag",
        "load.tag",
        "unsupported tag !!python/name:os.system",
        text=edit("  battery_pack:", "    layer: asset", "    layer: !!python/name:os.system ''"),
        marker="!!python",
    ),
    C(
        "python-apply-tag",
        "load.tag",
        "!!python/object/apply",
        text=MINI + 'layers: !!python/object/apply:os.system ["true"]\n',
        marker="layers:",
    ),
    C(
        "custom-tag",
        "load.tag",
        "unsupported tag !include",
        text=edit("  battery_pack:", "    layer: asset", "    layer: !include other.yaml"),
        marker="!include",
    ),
    C(
        "binary-tag",
        "load.tag",
        "!!binary",
        text=MINI + "title2: !!binary aGVsbG8=\n",
        marker="!!binary",
    ),
    C("set-tag", "load.tag", "!!set", text=MINI + "units: !!set {a, b}\n", marker="!!set"),
    C("omap-tag", "load.tag", "!!omap", text=MINI + "units: !!omap [a: 1]\n", marker="!!omap"),
    C(
        "huge-integer",
        "load.int64",
        "5000 digits",
        text=edit("  battery_pack:", "range: {min: 1}", "range: {min: " + "9" * 5000 + "}"),
        marker="9999999",
    ),
    C(
        "int-beyond-64-bit",
        "load.int64",
        "does not fit in 64 bits",
        text=edit("  battery_pack:", "range: {min: 1}", "range: {min: 18446744073709551616}"),
        marker="18446744073709551616",
    ),
    C(
        "nan",
        "load.non-finite",
        "not a finite number",
        text=edit("  battery_pack:", "range: {min: 1}", "range: {min: .nan}"),
        marker=".nan",
    ),
    C(
        "infinity",
        "load.non-finite",
        "not a finite number",
        text=edit("  battery_pack:", "range: {min: 1}", "range: {min: -.inf}"),
        marker="-.inf",
    ),
    C(
        "float-overflow",
        "load.non-finite",
        "'1e400' is not a finite number",
        text=edit("  battery_pack:", "range: {min: 1}", "range: {min: 1e400}"),
        marker="1e400",
    ),
    C(
        "complex-key",
        "load.key",
        "keys must be plain names",
        text=MINI + "[a, b]: 1\n",
        marker="[a, b]",
    ),
    C(
        "mapping-key",
        "load.key",
        "keys must be plain names",
        text=MINI + "? {a: 1}\n: x\n",
        marker="{a: 1}",
    ),
    C(
        "merge-key",
        "load.merge",
        "merge keys",
        text=edit("  battery_pack:", "    layer: asset", "    <<: {layer: asset}"),
        marker="<<:",
    ),
    C(
        "duplicate-column",
        "load.duplicate-key",
        "tables.battery_pack.columns.manufacturer: duplicate key 'manufacturer' "
        "(it is already defined at line ",
        text=pack_column("      manufacturer:\n        type: text\n        description: Again.\n"),
        marker="      manufacturer:\n        type: text\n        description: Again.",
    ),
    C(
        "duplicate-top-key",
        "load.duplicate-key",
        "duplicate key 'name'",
        text=SCHEMA.replace("name: battery_soc_soh\n", "name: battery_soc_soh\nname: again\n", 1),
        marker="name: again",
    ),
    C(
        "duplicate-table",
        "load.duplicate-key",
        "tables.battery_pack: duplicate key 'battery_pack'",
        text=SCHEMA.replace(
            WORKFLOW,
            "\n  battery_pack:\n    layer: asset\n    usage: [soc]\n    description: x\n"
            "    columns: {a: {type: text, description: x}}\n    primary_key: [a]" + WORKFLOW,
            1,
        ),
        marker="\n  battery_pack:\n    layer: asset\n    usage: [soc]\n",
    ),
    C(
        "escaped-terminal-sequence",
        "load.text-control-char",
        "U+001B",
        text=edit(
            "  battery_pack:",
            "        description: Who built the pack.",
            '        description: "Who built \\e[31mthe pack"',
        ),
        marker="\\e[31m",
    ),
    C(
        "escaped-nul",
        "load.text-control-char",
        "U+0000",
        text=edit(
            "  battery_pack:",
            "        description: Who built the pack.",
            '        description: "Who\\0 built"',
        ),
        marker="Who\\0",
    ),
    # ---- the format's structure -----------------------------------------------------------
    C(
        "unknown-key",
        "structure.unknown-key",
        "unknown key 'nulable' (did you mean 'nullable'?)",
        text=edit("  battery_pack:", "        nullable: true", "        nulable: true"),
        marker="nulable:",
    ),
    C(
        "unknown-top-key",
        "structure.unknown-key",
        "unknown key 'tabels'",
        text=SCHEMA.replace("\ntables:\n", "\ntabels: {}\ntables:\n", 1),
        marker="tabels:",
    ),
    C(
        "missing-description",
        "structure.missing-key",
        "missing required key 'description'",
        text=edit("  battery_pack:", "        description: Who built the pack.\n", ""),
        marker="      manufacturer:",
        after="  battery_pack:",
    ),
    C(
        "unknown-type",
        "structure.unknown-value",
        "unknown type 'smallnit' (did you mean 'smallint'?)",
        text=edit("  battery_pack:", "        type: smallint", "        type: smallnit"),
        marker="smallnit",
    ),
    C(
        "format-version-2",
        "structure.unknown-value",
        "unknown value 2",
        text=SCHEMA.replace("format_version: 1", "format_version: 2", 1),
        marker="format_version",
    ),
    C(
        "on-delete-unknown",
        "structure.unknown-value",
        "unknown value 'destroy'",
        text=edit("  timeseries_point:", "on_delete: restrict", "on_delete: destroy"),
        marker="destroy",
        after="  timeseries_point:",
    ),
    C(
        "enum-as-list",
        "structure.type",
        "expected string, got a list",
        text=edit("  battery_pack:", "        enum: chemistry", "        enum: [NMC, LFP]"),
        marker="enum: [NMC",
    ),
    C(
        "columns-as-list",
        "structure.type",
        "expected object, got a list",
        text=probe(rest="").replace(
            "    columns:\n      probe_id: {type: integer, description: Key.}",
            "    columns: [probe_id]",
        ),
        marker="columns: [probe_id]",
    ),
    C(
        "nullable-as-text",
        "structure.type",
        "expected boolean, got text",
        text=edit("  battery_pack:", "        nullable: true", '        nullable: "yes"'),
        marker='nullable: "yes"',
    ),
    C(
        "default-as-mapping",
        "structure.type",
        "got a mapping",
        text=pack_column(column("type: text, default: {a: 1}")),
        marker="default: {a: 1}",
    ),
    C(
        "chunk-interval-pattern",
        "structure.invalid",
        "does not match",
        text=hyper("chunk_interval: 7 days", "chunk_interval: 7 days'); DROP TABLE x; --"),
        marker="DROP TABLE x",
    ),
    C(
        "usage-twice",
        "structure.invalid",
        "listed twice",
        text=edit("  battery_pack:", "usage: [soc, soh]", "usage: [soc, soc]"),
        marker="usage: [soc, soc]",
    ),
    C(
        "empty-description",
        "structure.invalid",
        "must not be empty",
        text=edit(
            "  battery_pack:", "        description: Who built the pack.", '        description: ""'
        ),
        marker='description: ""',
    ),
    C(
        "no-tables",
        "structure.invalid",
        "must not be empty",
        text=SCHEMA[: SCHEMA.index("\ntables:\n")] + "\ntables: {}\n",
        marker="tables: {}",
    ),
    C(
        "empty-enum",
        "structure.empty-enum",
        "enums.task.values: enumeration 'task' has no values",
        text=edit(
            "  task:",
            "    values:\n      soc: State of charge, per sample.\n"
            "      soh: State of health, per cycle.",
            "    values: {}",
        ),
        marker="values: {}",
        after="  task:",
    ),
    C(
        "enum-value-spaces",
        "structure.enum-value",
        "printable text",
        text=edit("  task:", "      soc: State", '      " soc": State'),
        marker='" soc"',
    ),
    C(
        "enum-value-tab",
        "structure.enum-value",
        "printable",
        text=edit("  task:", "      soc: State", '      "so\\tc": State'),
        marker='"so\\tc"',
    ),
    C(
        "unknown-layer",
        "structure.unknown-layer",
        "did you mean 'asset'",
        text=edit("  battery_pack:", "    layer: asset", "    layer: assets"),
        marker="layer: assets",
    ),
    # found by the fuzzer: a workflow step without its title or description was a traceback
    C(
        "workflow-step-without-title",
        "structure.missing-key",
        "missing required key 'title'",
        text=SCHEMA.replace("  - title: Register assets\n    description:", "  - description:", 1),
        marker="  - description: Record the packs",
    ),
    C(
        "workflow-step-without-description",
        "structure.missing-key",
        "missing required key 'description'",
        text=edit(
            "workflow:", "    description: Record the packs", "    writes_too: Record the packs"
        ),
        marker="  - title: Register assets",
    ),
    C(
        "workflow-step-not-a-mapping",
        "structure.type",
        "expected object",
        text=edit(
            "workflow:", "  - title: Register assets", "  - just text\n  - title: Register assets"
        ),
        marker="  - just text",
    ),
    C(
        "workflow-unknown-table",
        "structure.workflow-table",
        "unknown table 'battery_pak'",
        text=SCHEMA.replace("writes: [battery_pack", "writes: [battery_pak", 1),
        marker="battery_pak",
    ),
    C(
        "too-many-problems",
        "structure.too-many",
        "more problem(s) not shown",
        text=pack_column("".join(column("type: tex", name=f"n{i}") for i in range(150))),
        line=1,
    ),
    # ---- names ------------------------------------------------------------------------------
    C(
        "unsafe-name",
        "names.unsafe",
        "'Notes-x' is not a safe SQL identifier",
        text=edit("  battery_pack:", "      notes:", "      Notes-x:"),
        marker="Notes-x:",
    ),
    C(
        "upper-case-name",
        "names.unsafe",
        "'Notes' is not a safe",
        text=edit("  battery_pack:", "      notes:", "      Notes:"),
        marker="Notes:",
    ),
    C(
        "injection-table-name",
        "names.unsafe",
        "not a safe SQL identifier",
        text=probe(name="probe").replace("\n  probe:\n", '\n  "x (a int); DROP TABLE y; --":\n'),
        marker="DROP TABLE y",
    ),
    C(
        "quote-in-column",
        "names.unsafe",
        "not a safe",
        text=pack_column(column("type: text", name="'a\"b'")),
        marker="'a\"b'",
    ),
    C(
        "unicode-name",
        "names.unsafe",
        "not a safe",
        text=pack_column(column("type: text", name="volt\u00e4ge")),
        marker="volt\u00e4ge",
    ),
    C(
        "newline-key-forgery",
        "names.unsafe",
        "\\n",
        text=pack_column(column("type: text", name='"a\\nschema.yaml:1:1: fake"')),
        marker="fake",
    ),
    C(
        "empty-name",
        "names.unsafe",
        "'' is not a safe",
        text=pack_column(column("type: text", name='""')),
        marker='"":',
    ),
    C(
        "index-name-unsafe",
        "names.unsafe",
        "not a safe",
        text=edit("  test_session:", "      ix_test_session_cell:", "      ix-test-session-cell:"),
        marker="ix-test-session-cell",
    ),
    C(
        "name-64-bytes",
        "names.too-long",
        "is 64 bytes long (PostgreSQL truncates identifiers to 63 bytes)",
        text=edit("  battery_pack:", "      notes:", "      " + "n" * 64 + ":"),
        marker="n" * 64,
    ),
    C(
        "index-name-64",
        "names.too-long",
        "64 bytes",
        text=edit("  test_session:", "      ix_test_session_cell:", "      ix_" + "c" * 61 + ":"),
        marker="ix_ccc",
    ),
    C(
        "reserved-column",
        "names.reserved",
        "'order' is a reserved SQL word",
        text=edit("  battery_pack:", "      notes:", "      order:"),
        marker="order:",
    ),
    C(
        "reserved-index",
        "names.reserved",
        "'select' is a reserved SQL word",
        text=edit("  test_session:", "      ix_test_session_cell:", "      select:"),
        marker="select:",
        after="  test_session:",
    ),
    C(
        "reserved-check",
        "names.reserved",
        "'check' is a reserved",
        text=edit("  battery_pack:", "      ck_battery_pack_voltage_limits:", "      check:"),
        marker="      check:",
    ),
    C(
        "reserved-unique",
        "names.reserved",
        "'user' is a reserved",
        text=edit("  battery_pack:", "      uq_battery_pack_serial:", "      user:"),
        marker="      user:",
    ),
    C(
        "reserved-table",
        "names.reserved",
        "'table' is a reserved",
        text=probe(name="table"),
        marker="\n  table:",
    ),
    C(
        "sqlite-only-reserved",
        "names.reserved",
        "in SQLite",
        text=pack_column(column("type: text", name="autoincrement")),
        marker="autoincrement",
    ),
    C(
        "reserved-fk-name",
        "names.reserved",
        "'references' is a reserved",
        text=edit("  cycle_feature:", "      fk_cycle_feature_cycle:", "      references:"),
        marker="      references:",
        after="  cycle_feature:",
    ),
    C(
        "system-column-xmin",
        "names.system-column",
        "'xmin' is a system column name in PostgreSQL",
        text=pack_column(column("type: integer", name="xmin")),
        marker="xmin",
    ),
    C(
        "system-column-ctid",
        "names.system-column",
        "system column",
        text=pack_column(column("type: text", name="ctid")),
        marker="ctid",
    ),
    C(
        "system-column-tableoid",
        "names.system-column",
        "system column",
        text=pack_column(column("type: text", name="tableoid")),
        marker="tableoid",
    ),
    C(
        "system-column-rowid",
        "names.system-column",
        "in SQLite",
        text=pack_column(column("type: integer", name="rowid")),
        marker="rowid",
    ),
    C(
        "system-column-oid",
        "names.system-column",
        "system column",
        text=pack_column(column("type: integer", name="_rowid_")),
        marker="_rowid_",
    ),
    C(
        "duplicate-constraint-name",
        "names.duplicate",
        "is used twice",
        text=edit(
            "  test_session:",
            "      ix_test_session_cell:",
            "      ck_battery_pack_voltage_limits:",
        ),
        marker="  test_session:\n",
        line=None,
    ),
    C(
        "index-named-like-table",
        "names.table-clash",
        "names both a table",
        text=edit("  test_session:", "      ix_test_session_cell:", "      cycle:"),
        marker="\n  cycle:\n",
        after="\ntables:",
    ),
    C(
        "liam-generated-collision",
        "names.target-collision",
        "Liam ERD would create",
        text=probe(
            columns=FK_LIAM.replace("pack_id", "probe_pack_id", 1).replace(
                "      probe_pack_id:", "      pack_id:"
            ),
            rest="    indexes:\n      uq_fk_probe_pack_id: {columns: [probe_id]}\n",
        ).replace("primary_key: [probe_id]\n    indexes", "primary_key: [pack_id]\n    indexes"),
        marker="\n  probe:\n",
    ),
    C(
        "sqlite-generated-collision",
        "names.target-collision",
        "SQLite would create",
        text=probe(
            columns=column("type: boolean", name="flag"),
            rest="    checks:\n      ck_probe_flag_bool: {expression: flag OR NOT flag, "
            "description: Probe.}\n",
        ),
        marker="\n  probe:\n",
    ),
    # ---- columns ----------------------------------------------------------------------------
    C(
        "unknown-unit",
        "columns.unknown-unit",
        "unknown unit 'volts'",
        text=pack_column(column("type: real, unit: volts", name="x_volt")),
        marker="unit: volts",
    ),
    C(
        "no-unit",
        "columns.no-unit",
        "has no unit",
        text=pack_column(column("type: double", name="weight")),
        marker="weight:",
    ),
    C(
        "unit-contradicts-suffix",
        "columns.unit-suffix",
        "unit 'Wh' contradicts the name suffix '_ah' (use unit: Ah)",
        text=edit("  battery_pack:", "        unit: Ah", "        unit: Wh"),
        marker="unit: Wh",
    ),
    C(  # a compound suffix decides, not the _volt it ends in (dQ/dV in Ah/V)
        "compound-unit-contradicts-suffix",
        "columns.unit-suffix",
        "unit 'V' contradicts the name suffix '_ah_per_volt' (use unit: Ah/V)",
        text=pack_column(column("type: real, unit: V", name="peak_ah_per_volt")),
        marker="unit: V",
    ),
    C(
        "suffix-missing",
        "columns.suffix-missing",
        "should end in '_volt'",
        text=pack_column(column("type: real, unit: V", name="pack_voltage")),
        marker="pack_voltage",
    ),
    C(
        "unknown-enum",
        "columns.unknown-enum",
        "did you mean 'chemistry'",
        text=edit("  battery_pack:", "        enum: chemistry", "        enum: chemistryy"),
        marker="chemistryy",
    ),
    C(
        "enum-on-integer",
        "columns.enum-type",
        "needs a text column",
        text=pack_column(column("type: integer, enum: task", name="t")),
        marker="enum: task",
    ),
    C(
        "range-on-text",
        "columns.range-type",
        "needs a numeric column, not text",
        text=pack_column(column("type: text, range: {min: 1}", name="t")),
        marker="range: {min: 1}",
    ),
    C(
        "range-min-above-max",
        "columns.range-empty",
        "empty range: min 150 > max -60",
        text=edit("  test_session:", "range: {min: -60, max: 150}", "range: {min: 150, max: -60}"),
        marker="range: {min: 150",
    ),
    C(
        "range-exclusive-point",
        "columns.range-empty",
        "empty range",
        text=pack_column(column("type: integer, range: {min: 1, max: 1, max_exclusive: true}")),
        marker="max_exclusive",
    ),
    C(
        "range-without-bounds",
        "columns.range-open",
        "needs min or max",
        text=pack_column(column("type: integer, range: {min_exclusive: true}")),
        marker="min_exclusive",
    ),
    C(
        "range-beyond-real",
        "columns.range-width",
        "does not fit a real",
        text=pack_column(column("type: real, unit: fraction, range: {max: 1e39}")),
        marker="1e39",
    ),
    C(
        "identity-on-text",
        "columns.identity-type",
        "must be an integer, not text",
        text=pack_column(column("type: text, identity: true")),
        marker="identity: true,",
    ),
    C(
        "identity-not-key",
        "columns.identity-key",
        "whole primary key",
        text=pack_column(column("type: bigint, identity: true")),
        marker="identity: true,",
    ),
    C(
        "default-wrong-type",
        "columns.default-type",
        "does not fit type integer",
        text=pack_column(column("type: integer, default: abc")),
        marker="default: abc",
    ),
    C(
        "default-bool-on-integer",
        "columns.default-type",
        "does not fit",
        text=pack_column(column("type: integer, default: true")),
        marker="default: true",
    ),
    C(
        "default-number-on-boolean",
        "columns.default-type",
        "does not fit type boolean",
        text=pack_column(column("type: boolean, default: 1")),
        marker="default: 1",
    ),
    C(
        "default-bad-json",
        "columns.default-type",
        "does not fit type json",
        text=pack_column(column("type: json, default: '{bad'")),
        marker="{bad",
    ),
    C(
        "default-json-nan",
        "columns.default-type",
        "json",
        text=pack_column(column("type: json, default: '[NaN]'")),
        marker="[NaN]",
    ),
    C(
        "default-json-deep",
        "columns.default-type",
        "json",
        text=pack_column(column("type: json, default: '" + "[" * 5000 + "]" * 5000 + "'")),
        marker="[[[[",
    ),
    C(
        "default-smallint-overflow",
        "columns.default-width",
        "does not fit in smallint",
        text=pack_column(column("type: smallint, default: 40000")),
        marker="40000",
    ),
    C(
        "default-real-overflow",
        "columns.default-width",
        "does not fit in real",
        text=pack_column(column("type: real, unit: fraction, default: 1e39")),
        marker="1e39",
    ),
    C(
        "default-outside-range",
        "columns.default-range",
        "outside the column's range",
        text=pack_column(column("type: real, unit: fraction, range: {min: 0, max: 1}, default: 2")),
        marker="default: 2",
    ),
    C(
        "default-at-exclusive-bound",
        "columns.default-range",
        "outside",
        text=pack_column(column("type: integer, range: {min: 0, min_exclusive: true}, default: 0")),
        marker="default: 0",
    ),
    C(
        "default-not-in-enum",
        "columns.default-enum",
        "not a value of enumeration 'chemistry'",
        text=pack_column(column("type: text, enum: chemistry, default: XYZ")),
        marker="XYZ",
    ),
    C(
        "default-enum-case",
        "columns.default-enum",
        "did you mean 'NMC'",
        text=pack_column(column("type: text, enum: chemistry, default: nmc")),
        marker="default: nmc",
    ),
    C(
        "default-timestamp-word",
        "columns.default-timestamp",
        "not a timestamp",
        text=pack_column(column("type: timestamptz, default: now")),
        marker="default: now",
    ),
    C(
        "default-timestamp-naive",
        "columns.default-timestamp",
        "time zone",
        text=pack_column(column("type: timestamptz, default: 2024-01-01")),
        marker="default: 2024-01-01",
    ),
    C(
        "default-on-identity",
        "columns.default-identity",
        "identity",
        text=edit(
            "  battery_pack:",
            "        identity: true\n",
            "        identity: true\n        default: 1\n",
        ),
        marker="default: 1",
    ),
    # ---- keys --------------------------------------------------------------------------------
    C(
        "pk-unknown-column",
        "keys.unknown-column",
        "tables.cycle.primary_key[1]: unknown column 'cycle_idx' in table 'cycle' "
        "(did you mean 'cycle_index'?)",
        text=edit(
            "\n  cycle:\n",
            "primary_key: [session_id, cycle_index]",
            "primary_key: [session_id, cycle_idx]",
        ),
        marker="primary_key: [session_id, cycle_idx]",
    ),
    C(
        "index-unknown-column",
        "keys.unknown-column",
        "unknown column 'cel_id'",
        text=edit(
            "  test_session:",
            "ix_test_session_cell: {columns: [cell_id]}",
            "ix_test_session_cell: {columns: [cel_id]}",
        ),
        marker="cel_id",
    ),
    C(
        "segment-by-unknown",
        "keys.unknown-column",
        "unknown column 'sesion_id'",
        text=hyper("segment_by: [session_id]", "segment_by: [sesion_id]"),
        marker="sesion_id",
    ),
    C(
        "pk-listed-twice",
        "keys.listed-twice",
        "listed twice",
        text=edit("  battery_pack:", "primary_key: [pack_id]", "primary_key: [pack_id, pack_id]"),
        marker="primary_key: [pack_id, pack_id]",
    ),
    C(
        "nullable-pk",
        "keys.nullable-pk",
        "cannot be nullable",
        text=probe(columns=column("type: integer, nullable: true", name="n")).replace(
            "primary_key: [probe_id]", "primary_key: [probe_id, n]"
        ),
        marker="      n: {",
    ),
    C(
        "fk-unknown-table",
        "keys.unknown-table",
        "tables.cycle.columns.session_id.references.table: references unknown table "
        "'test_sesion' (did you mean 'test_session'?)",
        text=edit("\n  cycle:\n", "          table: test_session", "          table: test_sesion"),
        marker="table: test_sesion",
    ),
    C(
        "fk-composite-pk",
        "keys.composite-pk",
        "has a composite primary key",
        text=probe(
            columns="      s:\n        type: integer\n        references: {table: cycle, "
            "on_delete: cascade, why: Probe.}\n        description: Probe.\n"
        ).replace("primary_key: [probe_id]", "primary_key: [s, probe_id]"),
        marker="references: {table: cycle",
        after="\n  probe:",
    ),
    C(
        "fk-arity",
        "keys.arity",
        "foreign key has 2 column(s) but references 1",
        text=edit(
            "  cycle_feature:",
            "references: {table: cycle, columns: [session_id, cycle_index]}",
            "references: {table: cycle, columns: [session_id]}",
        ),
        marker="fk_cycle_feature_cycle:",
    ),
    C(
        "fk-unknown-ref-column",
        "keys.unknown-ref-column",
        "unknown column 'battery_pack.nope'",
        text=probe(
            columns="      p:\n        type: integer\n        references: {table: battery_pack,"
            " column: nope, on_delete: cascade, why: Probe.}\n        description: P.\n"
        ).replace("primary_key: [probe_id]", "primary_key: [p, probe_id]"),
        marker="references: {table: battery_pack",
    ),
    C(
        "fk-type-mismatch",
        "keys.type-mismatch",
        "tables.cycle.columns.session_id.type: column 'session_id' is bigint but the foreign "
        "key fk_cycle_session_id points it at 'test_session.session_id', which is integer "
        "(make 'session_id' integer)",
        text=edit(
            "\n  cycle:\n    layer",
            "      session_id:\n        type: integer",
            "      session_id:\n        type: bigint",
        ),
        marker="bigint",
        after="\n  cycle:\n    layer",
    ),
    C(
        "fk-not-a-key",
        "keys.not-a-key",
        "neither its primary key nor a unique",
        text=probe(
            columns="      p:\n        type: text\n        references: {table: battery_pack,"
            " column: notes, on_delete: cascade, why: Probe.}\n        description: P.\n"
        ).replace("primary_key: [probe_id]", "primary_key: [p, probe_id]"),
        marker="references: {table: battery_pack",
    ),
    C(
        "fk-set-null-not-null",
        "keys.set-null",
        "set null needs nullable columns",
        text=edit("  timeseries_point:", "on_delete: restrict", "on_delete: set null"),
        marker="references:",
        after="  timeseries_point:",
    ),
    C(
        "fk-without-index",
        "keys.no-index",
        "no index starts with the foreign key columns (cell_id)",
        text=edit("  test_session:", "      ix_test_session_cell: {columns: [cell_id]}\n", ""),
        marker="references:\n          table: battery_cell",
        after="  test_session:",
    ),
    C(
        "fk-cycle",
        "keys.cycle",
        "foreign keys form a cycle",
        text=probe(
            name="ping",
            columns="      pong_id:\n        type: integer\n        references: "
            "{table: pong, on_delete: cascade, why: P.}\n        description: P.\n",
            rest="    indexes:\n      ix_ping_pong: {columns: [pong_id]}\n",
        ).replace(
            WORKFLOW,
            "\n  pong:\n    layer: asset\n    usage: [soc]\n    description: P.\n"
            "    columns:\n      pong_id:\n        type: integer\n"
            "        references: {table: ping, "
            "on_delete: cascade, why: P.}\n        description: P.\n    primary_key: [pong_id]\n"
            + WORKFLOW,
            1,
        ),
        marker="\n  ping:\n",
    ),
    # ---- expressions -------------------------------------------------------------------------
    C(
        "check-does-not-parse",
        "expressions.parse",
        "CHECK expression does not parse",
        text=pack_check("voltage_min_volt < AND voltage_max_volt"),
        marker="< AND",
    ),
    C(
        "check-unbalanced",
        "expressions.parse",
        "does not parse",
        text=pack_check("(voltage_min_volt < voltage_max_volt"),
        marker="(voltage_min_volt",
    ),
    C(
        "check-two-statements",
        "expressions.statements",
        "not 2 statements",
        text=pack_check("voltage_min_volt < voltage_max_volt; DROP TABLE battery_cell"),
        marker="DROP TABLE",
    ),
    C(
        "check-a-select",
        "expressions.statements",
        "not a statement",
        text=pack_check("SELECT 1"),
        marker="SELECT 1",
    ),
    C(
        "check-not-boolean",
        "expressions.not-boolean",
        "CHECK expression is not a true/false condition",
        text=pack_check("voltage_min_volt + voltage_max_volt"),
        marker="voltage_min_volt +",
    ),
    C(
        "check-unknown-column",
        "expressions.unknown-column",
        "CHECK expression uses unknown column 'voltage_maxx_volt' (did you mean "
        "'voltage_max_volt'?)",
        text=pack_check("voltage_min_volt < voltage_maxx_volt"),
        marker="voltage_maxx_volt",
    ),
    C(
        "check-other-table",
        "expressions.qualified",
        "qualified by a table",
        text=pack_check("battery_cell.voltage_min_volt > 0"),
        marker="battery_cell.voltage",
    ),
    C(
        "check-subquery",
        "expressions.forbidden",
        "a subquery",
        text=pack_check("voltage_min_volt < (SELECT max(voltage_max_volt) FROM battery_cell)"),
        marker="(SELECT",
    ),
    C(
        "check-exists",
        "expressions.forbidden",
        "a subquery",
        text=pack_check("EXISTS (SELECT 1 FROM battery_cell)"),
        marker="EXISTS",
    ),
    C(
        "check-any-array",
        "expressions.forbidden",
        "not allowed",
        text=pack_check("voltage_min_volt = ANY(ARRAY[1, 2])"),
        marker="ANY(ARRAY",
    ),
    C(
        "check-case",
        "expressions.forbidden",
        "not allowed",
        text=pack_check("CASE WHEN notes IS NULL THEN TRUE ELSE FALSE END"),
        marker="CASE WHEN",
    ),
    C(
        "check-pg-sleep",
        "expressions.function",
        "pg_sleep()",
        text=pack_check("pg_sleep(10) IS NULL"),
        marker="pg_sleep",
    ),
    C(
        "check-now",
        "expressions.function",
        "not allowed",
        text=pack_check("now() IS NOT NULL"),
        marker="now()",
    ),
    C(
        "check-lo-import",
        "expressions.function",
        "lo_import()",
        text=pack_check("lo_import('/etc/passwd') > 0"),
        marker="lo_import",
    ),
    C(
        "check-aggregate",
        "expressions.aggregate-in-check",
        "the aggregate max()",
        text=pack_check("max(voltage_min_volt) > 0"),
        marker="max(voltage_min_volt)",
    ),
    C(
        "check-text-vs-number",
        "expressions.type",
        "does not fit",
        text=pack_check("manufacturer > 5"),
        marker="manufacturer > 5",
    ),
    C(
        "check-and-on-number",
        "expressions.type",
        "does not fit",
        text=pack_check("series_count AND voltage_min_volt > 0"),
        marker="series_count AND",
    ),
    C(
        "check-cast-regclass",
        "expressions.cast",
        "casts to",
        text=pack_check("notes::regclass IS NULL"),
        marker="::regclass",
    ),
    C(
        "cagg-drop-table",
        "expressions.statements",
        "statements",
        text=cagg("            sample_count: count(*); DROP TABLE battery_cell;"),
        marker="DROP TABLE",
    ),
    C(
        "cagg-bare-column",
        "expressions.ungrouped",
        "outside an aggregate",
        text=cagg("            sample_count: voltage_volt"),
        marker="sample_count: voltage_volt",
    ),
    C(
        "cagg-nested-aggregate",
        "expressions.nested-aggregate",
        "nests one aggregate",
        text=cagg("            sample_count: avg(max(voltage_volt))"),
        marker="avg(max",
    ),
    C(
        "cagg-no-aggregate",
        "expressions.no-aggregate",
        "has no aggregate",
        text=cagg("            sample_count: session_id + 1"),
        marker="session_id + 1",
    ),
    C(
        "cagg-subquery",
        "expressions.forbidden",
        "a subquery",
        text=cagg("            sample_count: count(*) + (SELECT count(*) FROM battery_cell)"),
        marker="(SELECT count",
    ),
    C(
        "cagg-window",
        "expressions.forbidden",
        "window",
        text=cagg("            sample_count: avg(voltage_volt) OVER ()"),
        marker="OVER ()",
    ),
    C(
        "cagg-unknown-function",
        "expressions.function",
        "not allowed",
        text=cagg("            sample_count: percentile_cont(voltage_volt)"),
        marker="percentile_cont",
    ),
    C(
        "cagg-avg-of-time",
        "expressions.type",
        "does not fit",
        text=cagg("            sample_count: avg(recorded_at)"),
        marker="avg(recorded_at)",
    ),
    C(
        "cagg-unknown-column",
        "expressions.unknown-column",
        "unknown column 'voltage'",
        text=cagg("            sample_count: avg(voltage)"),
        marker="avg(voltage)",
    ),
    C(
        "cagg-does-not-parse",
        "expressions.parse",
        "does not parse",
        text=cagg("            sample_count: avg(voltage_volt"),
        marker="avg(voltage_volt\n",
    ),
    C(
        "check-is-number",
        "expressions.forbidden",
        "IS with an operand",
        text=pack_check("notes IS 5"),
        marker="notes IS 5",
    ),
    C(
        "check-round-decimals",
        "expressions.arguments",
        "round() takes one argument",
        text=pack_check("round(voltage_min_volt, 2) > 0"),
        marker="round(voltage_min_volt, 2)",
    ),
    C(
        "check-deeply-nested",
        "expressions.too-deep",
        "nested too deeply",
        text=pack_check("(" * 3000 + "voltage_min_volt > 0" + ")" * 3000),
        marker="(((((",
    ),
    C(
        "cagg-distinct",
        "expressions.distinct",
        "DISTINCT",
        text=cagg("            sample_count: count(DISTINCT session_id)"),
        marker="DISTINCT",
    ),
    C(
        "cagg-stddev-of-text",
        "expressions.type",
        "does not fit",
        text=edit(
            "  timeseries_point:",
            "            cycle_index_max: max(cycle_index)",
            "            cycle_index_max: max(recorded_at > recorded_at)",
        ),
        marker="max(recorded_at >",
    ),
    C(
        "explicit-int-tag",
        "load.bad-value",
        "cannot read this value",
        text=edit("  battery_pack:", "range: {min: 1}", "range: {min: !!int one}"),
        marker="!!int one",
    ),
    C(
        "recursive-alias",
        "load.alias-loop",
        "contains it",
        text=MINI + "units: &loop\n  a: *loop\n",
        marker="units: &loop",
    ),
    C(
        "surrogate-escape",
        "load.syntax",
        "invalid Unicode character escape",
        text=edit(
            "  battery_pack:",
            "        description: Who built the pack.",
            '        description: "half \\ud800 pair"',
        ),
        marker="half",
    ),
    C(
        "check-number-vs-quoted",
        "expressions.type",
        "does not fit",
        text=pack_check("voltage_min_volt > 'abc'"),
        marker="voltage_min_volt > 'abc'",
    ),
    C(
        "check-in-mixed-kinds",
        "expressions.type",
        "does not fit",
        text=pack_check("series_count IN (1, 'a')"),
        marker="series_count IN",
    ),
    C(
        "check-time-vs-quoted",
        "expressions.type",
        "timestamp",
        text=edit(
            "  model_run:",
            "expression: training_finished_at IS NULL OR training_finished_at >= "
            "training_started_at",
            "expression: training_started_at > '2020-01-01'",
        ),
        marker="training_started_at > '2020-01-01'",
    ),
    C(
        "table-named-pg-class",
        "names.reserved-prefix",
        "PostgreSQL",
        text=probe(name="pg_class"),
        marker="\n  pg_class:",
    ),
    C(
        "index-named-sqlite-autoindex",
        "names.reserved-prefix",
        "SQLite",
        text=probe(rest="    indexes:\n      sqlite_autoindex_x: {columns: [probe_id]}\n"),
        marker="sqlite_autoindex_x",
    ),
    C(
        "too-many-columns-for-postgres",
        "names.target-limit",
        "PostgreSQL allows at most 1600",
        text=probe(columns="".join(column("type: integer", name=f"c{i}") for i in range(1601))),
        marker="    columns:\n      probe_id",
        after="\n  probe:",
    ),
    C(
        "table-too-long-for-liam",
        "names.target-limit",
        "Liam ERD reads 500-line chunks",
        text=probe(columns="".join(column("type: integer", name=f"c{i}") for i in range(520))),
        marker="\n  probe:",
    ),
    # ---- timescale ---------------------------------------------------------------------------
    C(
        "time-column-unknown",
        "timescale.time-column",
        "unknown column 'recorded'",
        text=hyper("time_column: recorded_at", "time_column: recorded"),
        marker="time_column: rec",
    ),
    C(
        "time-column-not-time",
        "timescale.time-type",
        "NOT NULL timestamptz",
        text=hyper("time_column: recorded_at", "time_column: session_id"),
        marker="time_column: session_id",
    ),
    C(
        "hypertable-reference-without-time",
        "timescale.reference",
        "has no 'recorded_at'",
        text=probe(
            columns="      session_id: {type: integer, description: P.}\n"
            "      record_index: {type: integer, description: P.}\n",
            rest="    foreign_keys:\n      fk_probe_sample:\n        columns: [session_id, "
            "record_index]\n        references: {table: timeseries_point, columns: "
            "[session_id, record_index]}\n        on_delete: cascade\n        why: P.\n"
            "    indexes:\n      ix_probe_sample: {columns: [session_id, record_index]}\n",
        ),
        marker="fk_probe_sample:",
    ),
    C(
        "cagg-output-clash",
        "timescale.cagg-column",
        "two columns named 'session_id'",
        text=cagg("            session_id: count(*)"),
        marker="        timeseries_point_1min:",
    ),
    C(
        "cagg-group-by-bucket",
        "timescale.cagg-column",
        "two columns named 'bucket'",
        text=cagg("            bucket: count(*)"),
        marker="        timeseries_point_1min:",
    ),
    C(
        "compression-overlap",
        "timescale.compression-overlap",
        "in both segment_by and order_by",
        text=hyper("order_by: [recorded_at, record_index]", "order_by: [session_id, recorded_at]"),
        marker="      compression:",
        after="  timeseries_point:",
    ),
    C(
        "elapsed-unknown-column",
        "timescale.elapsed-column",
        "unknown column 'test_time_secnd'",
        text=elapsed("column: test_time_second\n", "column: test_time_secnd\n"),
        marker="test_time_secnd",
    ),
    C(
        "elapsed-not-seconds",
        "timescale.elapsed-type",
        "NOT NULL double column in seconds",
        text=elapsed("column: test_time_second\n", "column: session_id\n"),
        marker="column: session_id",
    ),
    C(
        "elapsed-range-max",
        "timescale.elapsed-range",
        "may only have range {min: 0}",
        text=elapsed(
            "        range: {min: 0}\n        description: Seconds since the session",
            "        range: {min: 0, max: 9}\n        description: Seconds since the session",
        ),
        marker="column: test_time_second",
        after="elapsed_as_start:",
    ),
    C(
        "elapsed-start-is-a-column",
        "timescale.elapsed-start",
        "'voltage_volt' is already a column",
        text=elapsed("start_column: test_started_at", "start_column: voltage_volt"),
        marker="start_column: voltage_volt",
    ),
    C(
        "elapsed-in-compression",
        "timescale.elapsed-use",
        "used by the compression settings",
        text=elapsed().replace(
            "order_by: [recorded_at, record_index]", "order_by: [recorded_at, test_time_second]"
        ),
        marker="column: test_time_second",
        after="elapsed_as_start:",
    ),
    C(
        "elapsed-in-index",
        "timescale.elapsed-key",
        "is used by ix_point_time",
        text=elapsed(
            "    timescaledb:\n",
            "    indexes:\n      ix_point_time: {columns: [session_id, test_time_second]}\n"
            "    timescaledb:\n",
        ),
        marker="column: test_time_second",
        after="elapsed_as_start:",
    ),
    C(
        "chunk-interval-overflow",
        "structure.invalid",
        "does not match",
        text=hyper("chunk_interval: 7 days", "chunk_interval: 99999999999999999999 days"),
        marker="99999999999999999999",
    ),
    C(
        "range-underflows-real",
        "columns.range-width",
        "does not fit a real",
        text=pack_column(column("type: real, unit: fraction, range: {min: 1.0e-50}")),
        marker="1.0e-50",
    ),
    C(
        "default-underflows-real",
        "columns.default-width",
        "does not fit in real",
        text=pack_column(column("type: real, unit: fraction, default: 1.0e-45")),
        marker="1.0e-45",
    ),
]

# Columns added to battery_pack: their markers are searched after the notes column.
CASES = [
    Case(**{**c.__dict__, "after": PACK_NOTES})
    if c.text and not c.after and PACK_NOTES + "      " in c.text
    else c
    for c in CASES
]

# Valid schemas that look hostile: the generator must accept them and every target's DDL must
# load unharmed (no injected column, no broken comment).
INJECT = "x\n    injected_column INTEGER,\n-- "
ACCEPTED: dict[str, str] = {
    "check-with-comments": pack_check(
        "voltage_min_volt < voltage_max_volt -- x */ DROP TABLE battery_cell; /*"
    ),
    "unique-index-on-hypertable": edit(
        "  timeseries_point:",
        "    primary_key: [session_id, record_index]\n",
        "    primary_key: [session_id, record_index]\n    indexes:\n"
        "      ix_timeseries_point_step: {columns: [session_id, step_index], unique: true}\n",
    ),
    "description-newline-injection": edit(
        "  battery_pack:",
        "        description: Who built the pack.",
        "        description: " + repr(INJECT).replace("'", '"'),
    ),
    "unit-newline-injection": SCHEMA.replace(
        "  fraction: dimensionless ratio (1.0 = 100 %)",
        '  fraction: dimensionless ratio (1.0 = 100 %)\n  "V\\n, evil INTEGER": bad unit',
        1,
    ).replace(
        PACK_NOTES,
        PACK_NOTES.replace("      notes:", '      notes:\n        unit: "V\\n, evil INTEGER"', 1),
        1,
    ),
    "quotes-everywhere": edit(
        "  battery_pack:",
        "        description: Who built the pack.",
        "        description: \"O'Brien's pack'); DROP TABLE battery_cell; -- \\\\ $fn$ */\"",
    ),
    "unicode-separators": edit(
        "  battery_pack:",
        "        description: Who built the pack.",
        '        description: "line\\u2028sep\\u2029para\\x85nel\\u00a0nbsp\\ttab\\rcr"',
    ),
    "bidi-and-zero-width": edit(
        "  battery_pack:",
        "        description: Who built the pack.",
        '        description: "\\u202eevil\\u202c and \\u200bzero width"',
    ),
    "enum-value-with-quote": SCHEMA.replace(
        "      OTHER: Any other chemistry", '      "O\'THER": Any other chemistry', 1
    ),
    "default-quote-and-comment": pack_column(
        column('type: text, default: "x\'); DROP TABLE y; --"', name="tag")
    ),
    "defaults-of-every-kind": pack_column(
        column("type: timestamptz, default: '2024-01-01T00:00:00Z'", name="seen_at")
        + column("type: json, default: '{\"a\": [1, 2.5, null]}'", name="meta")
        + column("type: boolean, default: false", name="flag")
        + column("type: smallint, default: -32768", name="small")
        + column("type: real, unit: fraction, range: {min: 0, max: 1}, default: 1", name="ratio")
    ),
    "long-generated-names": probe(
        name="t" * 60,
        columns=column("type: integer, range: {min: 0}", name="c" * 60)
        + column("type: text, enum: task", name="e" * 60)
        + column("type: boolean", name="b" * 60),
    ),
    "check-with-allowed-functions": pack_check(
        "length(trim(manufacturer)) > 0 AND lower(serial_number) <> '' "
        "AND abs(voltage_min_volt) <= coalesce(voltage_max_volt, 0) + 1"
    ),
    "yaml-anchors-used-sanely": SCHEMA.replace(
        "    description: >-\n      A battery pack: cells",
        "    description: &pack_text >-\n      A battery pack: cells",
        1,
    ).replace("        description: Who built the pack.", "        description: *pack_text", 1),
}
