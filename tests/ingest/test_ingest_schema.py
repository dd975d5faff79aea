"""Which schema the loader checks rows against: the one the package was built with (the
checkout's schema.yaml here; the wheel's copy when installed: tests/generator/test_wheel.py),
or the user's own with --schema, for that command only. A --schema that cannot be used is one
line per problem and exit code 2, before the database is opened."""

from __future__ import annotations

from pathlib import Path

from connection import schema
from ingest.cli import main
from tests.ingest.loading import MACHINE_FILE, ingest, sidecar, write

ROOT = Path(__file__).resolve().parents[2]
VOLTAGE_RANGE = "range: {min: -5, max: 1500}\n        description: Terminal voltage"


def _own_schema(tmp_path: Path, old: str, new: str) -> Path:
    text = (ROOT / "schema.yaml").read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "own.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_the_built_in_schema_is_the_checkouts():
    assert schema.BUILT_WITH == ROOT / "schema.yaml"
    assert schema.schema_file() == schema.BUILT_WITH
    with schema.using(ROOT / "tests" / "fixtures" / "mini.yaml") as chosen:
        assert schema.schema_file() == chosen
    assert schema.schema_file() == schema.BUILT_WITH


def test_own_schema_rules_check_the_rows_then_the_default_is_back(sqlite_target, tmp_path, capsys):
    # the same table, its voltage capped at 3.65 V: the file's 3.7 V row breaks that CHECK
    own = _own_schema(tmp_path, VOLTAGE_RANGE, VOLTAGE_RANGE.replace("1500", "3.65"))
    path = write(tmp_path, "own.csv", MACHINE_FILE.replace("1711843", "1711845"))
    before = sqlite_target.counts()
    side = str(sidecar(tmp_path, "2024-04-02T00:00:00Z"))
    code, err = ingest(
        sqlite_target, [path], "--sidecar", side, "--schema", str(own), capsys=capsys
    )
    assert code == 1, err
    assert "ck_timeseries_point_voltage_volt_range: column 'voltage_volt' 1 row(s)" in err, err
    assert sqlite_target.counts() == before  # refused whole
    code, err = ingest(sqlite_target, [path], "--sidecar", side, capsys=capsys)
    assert code == 0, err  # the built-in schema's range holds 3.7 V
    assert sqlite_target.counts()["timeseries_point"] == before["timeseries_point"] + 3


def _refused_before_opening(tmp_path, capsys, own: Path) -> list[str]:
    missing_db = tmp_path / "absent.sqlite"  # never reached: the schema is read first
    path = write(tmp_path, "x.csv", MACHINE_FILE)
    code = main([str(path), "--db", str(missing_db), "--session", "1", "--schema", str(own)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert not missing_db.exists()
    return err.splitlines()


def test_a_schema_file_that_cannot_be_read_is_one_line(tmp_path, capsys):
    lines = _refused_before_opening(tmp_path, capsys, tmp_path / "nowhere.yaml")
    assert lines == [
        f"error: {tmp_path / 'nowhere.yaml'}: cannot read: No such file or directory;"
        " nothing was loaded"
    ], lines


def test_a_schema_with_problems_names_each_with_its_position(tmp_path, capsys):
    own = _own_schema(tmp_path, VOLTAGE_RANGE, VOLTAGE_RANGE.replace("max: 1500", "max: -9"))
    lines = _refused_before_opening(tmp_path, capsys, own)
    assert lines[-1] == f"{own}: 1 problem; nothing was loaded", lines
    assert lines[0].startswith(f"{own}:"), lines
    assert "voltage_volt" in lines[0], lines


def test_a_schema_without_the_loaders_tables_is_refused(tmp_path, capsys):
    own = ROOT / "tests" / "fixtures" / "mini.yaml"
    lines = _refused_before_opening(tmp_path, capsys, own)
    assert len(lines) == 1 and lines[0].startswith(f"error: {own}: no table "), lines


def test_a_check_skipped_on_an_empty_channel_is_one_that_passes_there():
    """quality._reject_mask leaves a CHECK unevaluated on a chunk whose columns it reads are
    all empty (a file without that channel): only where SQL's three-valued logic makes the
    predicate NULL, and so accepted, on every such row. Checked against the evaluation itself,
    on the schema's rules and on predicates that are not NULL there."""
    import numpy as np
    import pyarrow as pa

    from generator.sqlexpr import parse
    from ingest import quality
    from ingest.staging import INTEGER_COLUMNS, STAGED_COLUMNS, TEXT_COLUMNS

    def kind(name):
        return (
            pa.string()
            if name in TEXT_COLUMNS
            else pa.int64()
            if name in INTEGER_COLUMNS
            else pa.float64()
        )

    empty = pa.table({n: pa.nulls(3, kind(n)) for n in STAGED_COLUMNS})
    rules = list(quality.rules("postgres"))
    for text in (
        "temperature_t1_celsius > 0 AND 1 = 0",  # FALSE on an empty row: rejected
        "temperature_t1_celsius IS NOT NULL",
        "temperature_t1_celsius > 0 OR 1 = 1",
        "NOT (temperature_t1_celsius BETWEEN 0 AND 50)",
        "temperature_t1_celsius - temperature_t2_celsius < 5 AND temperature_t2_celsius > 0",
    ):
        rules.append(quality.Rule("own", text, parse(text), column="temperature_t1_celsius"))
    skipped = 0
    for rule in rules:
        evaluated = quality.rejects(rule, empty).to_numpy(zero_copy_only=False)
        assert np.array_equal(quality._reject_mask(rule, empty), evaluated), rule.name
        skipped += rule.tree is not None and quality._empty_passes(rule.tree) is not None
    assert skipped >= 20  # the schema's range and type rules are skipped on empty channels
    assert quality._empty_passes(parse("temperature_t1_celsius > 0 AND 1 = 0")) is None
    assert quality._empty_passes(parse("temperature_t1_celsius IS NOT NULL")) is None
