"""Bad input to the export and the predictions import, on SQLite: each refusal is one line
naming the option, or the file, line (row) and column, a non-zero exit (README: exit codes),
and nothing written: no export file, no model_run, no prediction."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.csv  # noqa: F401 - pa.csv
import pyarrow.parquet as pq
import pytest

from export.cli import main as export_main
from predictions.cli import main as predictions_main
from tests.export.cells import count, load
from tests.support.dbkit import sqlite_db


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("refusals")
    path = tmp / "battery.sqlite"
    sqlite_db(path)
    url = f"sqlite:///{path}"
    ids = load(url, tmp)
    out = tmp / "soh.parquet"
    assert export_main(["training-set", "--db", url, "--out", str(out), "--seed", "7"]) == 0
    rows = pq.read_table(out).to_pylist()
    return {"url": url, "ids": ids, "export": out, "rows": rows, "tmp": tmp}


def _export(db, tmp_path, capsys, *args) -> tuple[int, str, object]:
    out = tmp_path / "set.parquet"
    code = export_main(["training-set", "--db", db["url"], "--out", str(out), *args])
    return code, capsys.readouterr().err, out


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--cell", "999"], 1, "nothing to export: no SOH label"),
        (["--chemistry", "LFP"], 1, "matches --chemistry LFP"),
        (["--feature-version", "v9"], 1, "--feature-version v9: no such feature version in "
         "the database (there is: derive-2)"),
        (["--label-version", "nope"], 1, "--label-version nope: no such label_soh.label_version"),
        (["--split", "condition"], 3, "the split leaks: cell"),
        (["--test-fraction", "0.9"], 2, "cannot give a training part"),
    ],
)  # fmt: skip
def test_an_export_that_cannot_be_made_is_refused_and_writes_nothing(
    db, tmp_path, capsys, args, code, said
):
    got, err, out = _export(db, tmp_path, capsys, *args)
    assert got == code, err
    assert said in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []  # no file, no description, no temporary


def test_a_split_by_condition_names_the_cell_its_sessions_and_conditions(db, tmp_path, capsys):
    code, err, _ = _export(db, tmp_path, capsys, "--split", "condition")
    d, d2 = db["ids"]["D"], db["ids"]["D2"]
    assert code == 3
    assert f"session {d} (45 degC, 0.5C/1C)" in err and f"session {d2} (25 degC, 0.5C/1C)" in err
    # without the second session of cell D, each cell has one condition: the split is made
    sessions = [str(db["ids"][n]) for n in ("A", "B", "C", "D")]
    args = ["--split", "condition", *(a for s in sessions for a in ("--session", s))]
    code, err, out = _export(db, tmp_path, capsys, *args)
    assert code == 0, err
    rows = pq.read_table(out).to_pylist()
    side = {}
    for r in rows:
        side.setdefault(r["ambient_temperature_celsius"], set()).add(r["split"])
    assert all(len(s) == 1 for s in side.values()) and len(side) == 2


def test_a_given_split_with_a_cell_on_two_sides_is_refused(db, tmp_path, capsys):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"by": "cell", "train": [1, 2, 3], "test": [3, 4]}))
    code, err, out = _export(db, tmp_path, capsys, "--split-spec", str(spec))
    assert code == 3 and "cell 3 is in both train and test" in err, err
    assert not out.exists()


def test_the_split_is_the_same_for_the_same_seed(db, tmp_path, capsys):
    specs = []
    for n in range(2):
        out = tmp_path / f"s{n}.parquet"
        assert (
            export_main(["training-set", "--db", db["url"], "--out", str(out), "--seed", "3"]) == 0
        )
        specs.append(json.loads((tmp_path / f"s{n}.parquet.export.json").read_text())["split"])
    assert specs[0] == specs[1] and specs[0]["test"]


def test_the_leakage_warning_goes_with_the_feature(db, tmp_path, capsys):
    code, err, _ = _export(db, tmp_path, capsys)
    assert code == 0 and "warning: discharge_capacity_ah is almost a linear function" in err
    drop = ["--drop", "discharge_capacity_ah", "--drop", "charge_capacity_ah"]
    code, err, out = _export(db, tmp_path, capsys, *drop)
    assert code == 0 and "discharge_capacity_ah" not in err
    assert "discharge_capacity_ah" not in pq.read_schema(out).names


# ---------------------------------------------------------------------- predictions import


def _good(db) -> list[dict]:
    return [
        {
            "session_id": r["session_id"],
            "cycle_index": r["cycle_index"],
            "predicted_value": r["soh"],
        }
        for r in db["rows"]
    ]


def _csv(path, rows: list[dict], columns=None) -> None:
    columns = columns or list(rows[0])
    lines = [",".join(columns)]
    lines += [",".join("" if r.get(c) is None else str(r[c]) for c in columns) for r in rows]
    path.write_text("\n".join(lines) + "\n")


def _import(db, path, capsys) -> tuple[int, str]:
    argv = [
        "import", str(path), "--db", db["url"], "--export", str(db["export"]),
        "--model-name", "m", "--model-version", "1", "--code-revision", "abc",
    ]  # fmt: skip
    code = predictions_main(argv)
    return code, capsys.readouterr().err


def _bent(db, change) -> list[dict]:
    rows = _good(db)
    change(rows)
    return rows


ORDER = ["session_id", "cycle_index", "record_index", "predicted_value", "uncertainty", "split"]
CASES = {
    "missing column": (
        lambda rows: [r.pop("predicted_value") for r in rows],
        4,
        "pred.csv:1: missing column predicted_value",
    ),
    "the other task's key": (
        lambda rows: [r.update(record_index=r.pop("cycle_index")) for r in rows],
        4,
        "column cycle_index missing, record_index given: the file predicts samples but the "
        "run's task is soh",
    ),
    "unknown key": (
        lambda rows: rows[1].update(cycle_index=999),
        4,
        "pred.csv:3: column cycle_index: session_id",
    ),
    "duplicated key": (
        lambda rows: rows.__setitem__(2, dict(rows[0])),
        4,
        "pred.csv:4: column cycle_index: session_id",
    ),
    "NaN": (
        lambda rows: rows[3].update(predicted_value="nan"),
        4,
        "pred.csv:5: column predicted_value: empty or NaN is not a number",
    ),
    "empty value": (
        lambda rows: rows[3].update(predicted_value=None),
        4,
        "pred.csv:5: column predicted_value: empty or NaN",
    ),
    "a percent": (
        lambda rows: rows[0].update(predicted_value=95),
        4,
        "pred.csv:2: column predicted_value: 95 is outside the range of label_soh.soh "
        "(> 0 and <= 3)",
    ),
    "negative uncertainty": (
        lambda rows: [r.update(uncertainty=-0.1) for r in rows],
        4,
        "pred.csv:2: column uncertainty",
    ),
    "a split that contradicts the export's": (
        lambda rows: [r.update(split="train") for r in rows],
        3,
        "a cell is on one side only",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_prediction_file_is_refused_and_writes_nothing(db, tmp_path, capsys, case):
    change, code, said = CASES[case]
    path = tmp_path / "pred.csv"
    rows = _bent(db, change)
    _csv(
        path,
        rows,
        sorted(
            {c for r in rows for c in r},
            key=[
                "session_id",
                "cycle_index",
                "record_index",
                "predicted_value",
                "uncertainty",
                "split",
            ].index,
        ),
    )
    before = count(db["url"], "model_run"), count(db["url"], "prediction")
    got, err = _import(db, path, capsys)
    assert got == code, err
    assert said in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert (count(db["url"], "model_run"), count(db["url"], "prediction")) == before


def test_a_parquet_file_is_located_by_row(db, tmp_path, capsys):
    rows = _good(db)
    rows[4]["predicted_value"] = float("nan")
    path = tmp_path / "pred.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    got, err = _import(db, path, capsys)
    assert got == 4 and "pred.parquet: row 5: column predicted_value: empty or NaN" in err, err


def test_a_good_file_writes_one_run_and_its_predictions(db, tmp_path, capsys):
    path = tmp_path / "pred.csv"
    _csv(path, _good(db))
    runs, preds = count(db["url"], "model_run"), count(db["url"], "prediction")
    got, err = _import(db, path, capsys)
    assert got == 0, err
    assert count(db["url"], "model_run") == runs + 1
    assert count(db["url"], "prediction") == preds + len(db["rows"])
    assert predictions_main(["evaluate", "--db", db["url"], "--per-cell"]) == 0
    table = capsys.readouterr().out
    assert "test" in table and "0.00000" in table


def test_bdf_of_a_session_that_does_not_exist(db, tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert export_main(["bdf", "--db", db["url"], "--session", "999", "--out", str(out)]) == 1
    assert "--session 999: no such test_session" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_bdf_parquet_holds_the_csvs_columns_and_units(db, tmp_path):
    session = str(db["ids"]["B"])
    for name in ("b.csv", "b.parquet"):
        out = tmp_path / name
        assert export_main(["bdf", "--db", db["url"], "--session", session, "--out", str(out)]) == 0
    csv_table = pa.csv.read_csv(tmp_path / "b.csv")
    table = pq.read_table(tmp_path / "b.parquet")
    assert table.column_names == csv_table.column_names
    assert table.num_rows == csv_table.num_rows > 1000
    assert table.schema.field("Voltage / V").metadata[b"unit"] == b"V"
    assert table.column("Voltage / V").to_pylist() == csv_table.column("Voltage / V").to_pylist()


def test_the_filters_narrow_the_set(db, tmp_path, capsys):
    a = str(db["ids"]["A"])
    args = ["--cycle-type", "aging", "--session", a, "--split", "none"]
    code, err, out = _export(db, tmp_path, capsys, *args)
    assert code == 0, err
    rows = pq.read_table(out).to_pylist()
    assert rows and {r["session_id"] for r in rows} == {int(a)}
    assert {r["cycle_type"] for r in rows} == {"aging"}
    # SOC per sample, no cycle of that type: refused, the file already there left as it was
    before = out.read_bytes()
    args = ["--task", "soc", "--split", "none", "--cycle-type", "reference"]
    code, err, out = _export(db, tmp_path, capsys, *args)
    assert code == 1 and "nothing to export" in err, err
    assert out.read_bytes() == before and not list(tmp_path.glob(".*tmp"))
