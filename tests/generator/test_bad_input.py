"""Bad schema.yaml: every case exits 1 with `file:line:col: path: message (hint)` and leaves the
previously generated files byte-identical.

Each case edits the real schema.yaml once (`old` -> `new`, first occurrence after `after`), and
names the text that the reported line must contain, so positions are checked, not assumed.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from generator.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = (ROOT / "schema.yaml").read_text(encoding="utf-8")

# id, anchor to search from, old, new, line marker (text on the reported line), message regex
CASES = [
    (
        "yaml-syntax",
        "  battery_pack:",
        "    layer: asset",
        "    layer: [asset",
        "usage:",
        r"YAML syntax error",
    ),
    (
        "unknown-key",
        "  battery_pack:",
        "        nullable: true",
        "        nulable: true",
        "nulable:",
        r"unknown key 'nulable' \(did you mean 'nullable'\?\)",
    ),
    (
        "unknown-type",
        "  battery_pack:",
        "        type: smallint",
        "        type: smallnit",
        "type: smallnit",
        r"unknown type 'smallnit' \(did you mean 'smallint'\?\)",
    ),
    (
        "unknown-table",
        "\n  cycle:\n    layer",
        "          table: test_session",
        "          table: test_sesion",
        "table: test_sesion",
        r"tables\.cycle\.columns\.session_id\.references\.table: references unknown table "
        r"'test_sesion' \(did you mean 'test_session'\?\)",
    ),
    (
        "unknown-column",
        "\n  cycle:\n    layer",
        "    primary_key: [session_id, cycle_index]",
        "    primary_key: [session_id, cycle_idx]",
        "primary_key: [session_id, cycle_idx]",
        r"tables\.cycle\.primary_key\[1\]: unknown column 'cycle_idx' in table 'cycle' "
        r"\(did you mean 'cycle_index'\?\)",
    ),
    (
        "duplicate-column",
        "  battery_pack:",
        "      model_name:\n",
        "      manufacturer:\n        type: text\n        description: Again.\n      model_name:\n",
        "      manufacturer:\n        type: text\n        description: Again.",
        r"tables\.battery_pack\.columns\.manufacturer: duplicate key 'manufacturer' "
        r"\(it is already defined at line \d+\)",
    ),
    (
        "duplicate-table",
        "\nworkflow:",
        "\nworkflow:",
        "\n  battery_pack:\n    layer: asset\n    usage: [soc]\n    description: x\n"
        "    columns: {a: {type: text, description: x}}\n    primary_key: [a]\nworkflow:",
        "\n  battery_pack:\n    layer: asset\n    usage: [soc]",
        r"tables\.battery_pack: duplicate key 'battery_pack'",
    ),
    (
        "fk-type-mismatch",
        "\n  cycle:\n    layer",
        "      session_id:\n        type: integer",
        "      session_id:\n        type: bigint",
        "bigint",
        r"tables\.cycle\.columns\.session_id\.type: column 'session_id' is bigint but the "
        r"foreign key fk_cycle_session_id points it at 'test_session\.session_id', which is "
        r"integer \(make 'session_id' integer\)",
    ),
    (
        "fk-arity",
        "  cycle_feature:",
        "references: {table: cycle, columns: [session_id, cycle_index]}",
        "references: {table: cycle, columns: [session_id]}",
        "fk_cycle_feature_cycle:",
        r"foreign key has 2 column\(s\) but references 1",
    ),
    (
        "unsafe-identifier",
        "  battery_pack:",
        "      notes:",
        "      Notes-x:",
        "Notes-x:",
        r"'Notes-x' is not a safe SQL identifier",
    ),
    (
        "reserved-identifier",
        "  battery_pack:",
        "      notes:",
        "      order:",
        "order:",
        r"'order' is a reserved SQL word",
    ),
    (
        "identifier-too-long",
        "  battery_pack:",
        "      notes:",
        "      " + "n" * 64 + ":",
        "n" * 64 + ":",
        r"is 64 bytes long \(PostgreSQL truncates identifiers to 63 bytes\)",
    ),
    (
        "check-does-not-parse",
        "  battery_pack:",
        "expression: voltage_min_volt < voltage_max_volt",
        "expression: voltage_min_volt < AND voltage_max_volt",
        "expression: voltage_min_volt < AND",
        r"CHECK expression does not parse",
    ),
    (
        "check-not-boolean",
        "  battery_pack:",
        "expression: voltage_min_volt < voltage_max_volt",
        "expression: voltage_min_volt + voltage_max_volt",
        "expression: voltage_min_volt +",
        r"CHECK expression is not a true/false condition",
    ),
    (
        "check-unknown-column",
        "  battery_pack:",
        "expression: voltage_min_volt < voltage_max_volt",
        "expression: voltage_min_volt < voltage_maxx_volt",
        "voltage_maxx_volt",
        r"CHECK expression uses unknown column 'voltage_maxx_volt' \(did you mean "
        r"'voltage_max_volt'\?\)",
    ),
    (
        "empty-enum",
        "  form_factor:",
        "    values:\n      cylindrical: Cylindrical can (18650, "
        "21700, 4680...).\n      pouch: Laminated pouch.\n      prismatic: Prismatic hard case.\n"
        "      coin: Coin cell.",
        "    values: {}",
        "values: {}",
        r"enums\.form_factor\.values: enumeration 'form_factor' has no values",
    ),
    (
        "range-min-above-max",
        "  test_session:",
        "range: {min: -60, max: 150}",
        "range: {min: 150, max: -60}",
        "range: {min: 150, max: -60}",
        r"empty range: min 150 > max -60",
    ),
    (
        "unit-contradicts-suffix",
        "  battery_pack:",
        "        unit: Ah",
        "        unit: Wh",
        "unit: Wh",
        r"unit 'Wh' contradicts the name suffix '_ah' \(use unit: Ah\)",
    ),
    (
        "fk-without-index",
        "  test_session:",
        "      ix_test_session_cell: {columns: [cell_id]}\n",
        "",
        "references:\n          table: battery_cell",
        r"no index starts with the foreign key columns \(cell_id\)",
    ),
]


def mutate(anchor: str, old: str, new: str) -> str:
    start = SCHEMA.index(anchor)
    at = SCHEMA.index(old, start)
    return SCHEMA[:at] + new + SCHEMA[at + len(old) :]


def line_of(text: str, marker: str, after: str) -> int:
    start = text.index(after)
    return text.count("\n", 0, text.index(marker, start)) + 1 + marker.count("\n") * 0


@pytest.fixture()
def workdir(tmp_path):
    """A copy of the project's generated files, to prove a failed run leaves them alone."""
    shutil.copytree(ROOT / "sql", tmp_path / "sql")
    return tmp_path


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_reported_with_position(case, workdir, capsys):
    name, anchor, old, new, marker, message = case
    text = mutate(anchor, old, new)
    assert text != SCHEMA, f"case {name} did not change the schema"
    schema_file = workdir / "schema.yaml"
    schema_file.write_text(text, encoding="utf-8")
    before = snapshot(workdir / "sql")

    code = main(["sql", str(schema_file), "--out", str(workdir)])

    err = capsys.readouterr().err
    assert code == 1, err
    lines = [ln for ln in err.splitlines() if re.search(message, ln)]
    assert lines, f"expected /{message}/ in:\n{err}"
    m = re.match(rf"^{re.escape(str(schema_file))}:(\d+):(\d+): \S+: ", lines[0])
    assert m, f"not in file:line:col: path: form: {lines[0]}"
    expected_line = line_of(text, marker, anchor if name != "duplicate-table" else "\ntables:")
    if name == "duplicate-table":
        expected_line = text.count("\n", 0, text.rindex("\n  battery_pack:")) + 2
    assert int(m.group(1)) == expected_line, f"{lines[0]} (expected line {expected_line})"
    assert err.rstrip().endswith("nothing was written.")
    assert snapshot(workdir / "sql") == before, "a failed run changed generated files"


def test_all_problems_are_reported_in_one_run(workdir, capsys):
    text = mutate("  battery_pack:", "        type: smallint", "        type: smallnit")
    text = text.replace("          table: test_session", "          table: test_sesion", 1)
    text = text.replace("range: {min: -60, max: 150}", "range: {min: 150, max: -60}", 1)
    schema_file = workdir / "schema.yaml"
    schema_file.write_text(text, encoding="utf-8")
    assert main(["validate", str(schema_file)]) == 1
    err = capsys.readouterr().err
    assert "unknown type 'smallnit'" in err
    assert "references unknown table 'test_sesion'" in err
    assert "empty range" in err
    assert "3 problems" in err


def test_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_the_real_schema_is_valid(capsys):
    assert main(["validate", str(ROOT / "schema.yaml")]) == 0
