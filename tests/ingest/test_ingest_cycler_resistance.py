"""The cycler's own resistance readings (schema version 5: timeseries_point.internal_resistance_ohm,
issue 23 item 4) are kept where the file carries them, on SQLite and PostgreSQL: Arbin's
`Internal_Resistance` / `Internal Resistance (Ohm)` (real exports: battery-data-toolkit's, with
a reading; BEEP's and PyProBE's, with 0 and empty fields), Maccor's `DCIR/Ohms` (cellpy's
export, 0 throughout), BDF's `internal_resistance` and `dc_internal_resistance` in any unit the
loader knows. Values as the file writes them: 0 stays 0 (the cycler's "no measurement"), an
empty field is NULL; a reading outside the schema's range is refused by its CHECK rule; AC
impedance columns (Arbin ACR, BDF ac_internal_resistance) are not taken for it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.ingest.corpus import FIXTURES, load_once, samples
from tests.ingest.loading import Target, ingest, session_of, sidecar, write

# fixture -> (format, --time-zone, its resistance column as the file names it)
FILES = {
    "arbin/arbin_example.csv": ("arbin", None, "Internal_Resistance"),
    "arbin/FastCharge_000025_CH8.csv": ("arbin", None, "Internal_Resistance"),
    "arbin/sample_data_arbin.csv": ("arbin", "Europe/London", "Internal Resistance (Ohm)"),
}


def written(name: str, column: str) -> list[float | None]:
    """The file's own values of `column`, row by row, read with the csv module."""
    with open(FIXTURES / name, encoding="utf-8-sig", newline="") as handle:
        return [float(v) if (v := row[column].strip()) else None for row in csv.DictReader(handle)]


def maccor_written(name: str) -> list[float]:
    lines = (FIXTURES / name).read_text(encoding="latin-1").splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Rec#"))
    position = lines[header].split("\t").index("DCIR/Ohms")
    return [float(line.split("\t")[position]) for line in lines[header + 1 :] if line.strip()]


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-7 * max(abs(b), 1e-3)  # PostgreSQL's real is float4


@pytest.mark.parametrize("name", sorted(FILES))
def test_arbins_reading_is_kept_as_written(target: Target, name, tmp_path, capsys):
    file_format, zone, column = FILES[name]
    err = load_once(target, name, file_format, zone, tmp_path, capsys)
    assert column not in err  # not in the report's "not stored" list
    stored = [r[0] for r in samples(target, name, "internal_resistance_ohm")]
    expected = written(name, column)
    assert len(stored) == len(expected) > 0
    assert all(_close(a, b) for a, b in zip(stored, expected, strict=True)), (stored[:5], name)


def test_the_fixtures_hold_a_reading_a_zero_and_empty_fields():
    """What the test above covers: the three kinds of value a real export writes."""
    values = {n: set(written(n, FILES[n][2])) for n in FILES}
    assert values["arbin/arbin_example.csv"] == {0.017097674}
    assert values["arbin/FastCharge_000025_CH8.csv"] == {0.0}
    assert None in values["arbin/sample_data_arbin.csv"]


def test_maccors_dcir_is_kept_and_its_ac_impedance_is_not(target: Target, tmp_path, capsys):
    name = "maccor/maccor_001.txt"
    err = load_once(target, name, "maccor", None, tmp_path, capsys)
    assert "'DCIR/Ohms'" not in err and ("'ACImp/Ohms'" in err or err == "")
    stored = [r[0] for r in samples(target, name, "internal_resistance_ohm")]
    assert stored == maccor_written(name) and set(stored) == {0.0}


BDF = (
    "Test Time / s,Voltage / V,Current / A,Cycle Count / 1,{name} / {unit}\n"
    "0,3.6,0,1,{a}\n1,3.7,1,1,{b}\n2,3.7,1,1,\n"
)


@pytest.mark.parametrize(
    ("name", "unit", "a", "b", "expected"),
    [
        ("Internal Resistance", "mOhm", "21.5", "0", [0.0215, 0.0, None]),
        ("Internal Resistance", "ohm", "0.0215", "0.0216", [0.0215, 0.0216, None]),
        ("DC Internal Resistance", "ohm", "0.03", "0.031", [0.03, 0.031, None]),
    ],
)
def test_bdf_resistance_columns_in_their_units(
    target: Target, tmp_path, capsys, name, unit, a, b, expected
):
    text = BDF.format(name=name, unit=unit, a=a, b=b)
    path = write(tmp_path, f"ir-{name.replace(' ', '')}-{unit}-{a}.csv", text)
    code, err = ingest(target, [path], "--sidecar", str(sidecar(tmp_path)), capsys=capsys)
    assert code == 0, err
    rows = target.query(
        "SELECT internal_resistance_ohm FROM timeseries_point WHERE session_id = %s "
        "ORDER BY record_index",
        [session_of(target, path)],
    )
    assert all(_close(r[0], e) for r, e in zip(rows, expected, strict=True)), rows


def test_an_ac_impedance_is_not_taken_for_the_reading(target: Target, tmp_path, capsys):
    text = BDF.format(name="AC Internal Resistance", unit="ohm", a="0.01", b="0.01")
    path = write(tmp_path, "ac.csv", text)
    code, err = ingest(target, [path], "--sidecar", str(sidecar(tmp_path)), capsys=capsys)
    assert code == 0, err
    assert "'AC Internal Resistance / ohm' (a BDF quantity that timeseries_point has no " in err
    rows = target.query(
        "SELECT count(internal_resistance_ohm) FROM timeseries_point WHERE session_id = %s",
        [session_of(target, path)],
    )
    assert rows[0][0] == 0


def test_both_bdf_names_in_one_file_are_refused(target: Target, tmp_path, capsys):
    text = (
        "Test Time / s,Voltage / V,Current / A,Internal Resistance / ohm,"
        "DC Internal Resistance / ohm\n0,3.6,0,0.02,0.02\n"
    )
    path = write(tmp_path, "both.csv", text)
    code, err = ingest(target, [path], "--sidecar", str(sidecar(tmp_path)), capsys=capsys)
    assert code == 1, err
    assert (
        f"error: {path}:1: column 'DC Internal Resistance / ohm': internal_resistance appears "
        "twice (also as 'Internal Resistance / ohm')"
    ) in err


def test_a_reading_outside_the_range_is_refused_by_its_rule(target: Target, tmp_path, capsys):
    """schema.yaml: 0 <= internal_resistance_ohm <= 1000 (a negative or a kilo-ohm reading is
    a column mix-up, not a cell); --strict refuses the file, naming the rule and the line."""
    text = BDF.format(name="Internal Resistance", unit="ohm", a="0.02", b="-0.5")
    path = write(tmp_path, "negative.csv", text)
    report = tmp_path / "report.json"
    code, err = ingest(
        target,
        [path],
        "--strict",
        "--report",
        str(report),
        "--sidecar",
        str(sidecar(tmp_path)),
        capsys=capsys,
    )
    assert code == 1, err
    assert "ck_timeseries_point_internal_resistance_ohm_range" in err, err
    assert "line(s) 3" in err, err
    found = json.loads(Path(report).read_text())
    assert "ck_timeseries_point_internal_resistance_ohm_range" in json.dumps(found)
    assert not target.query("SELECT 1 FROM source_file WHERE uri = %s", [str(path)])
