"""BDF as the standard says (issue 22, item 5): the Battery Data Format's own reference files
(tests/fixtures/bdf/, from its repository) load in strict mode; Cycle Count is only
recommended, so a file without it loads with cycles numbered from the current (a cycle begins
at each charge that follows a discharge) and the report says so; the deprecated `step_index`
is read as `step_id`; every column the file has that is not stored (`power_watt`, a column of
no BDF quantity) is listed in every load's report."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import pytest

from tests.ingest.loading import ingest, session_of, write
from tests.ingest.vendor_files import ARBIN_HEADER, ARBIN_ROWS
from tests.support.dbkit import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "bdf"
LANDT = FIXTURES / "SINTEF__LiGrR2032__2024-04-30__25degC__Landt.bdf.csv.gz"
POCV_LNMO = FIXTURES / "DLR__LiLNMOHydra0b__20221125__POCV__25degC__Basytec.head3000.bdf.csv.gz"
POCV_GR = FIXTURES / "DLR__LiGrHydra0b__20230131__POCV__25degC__Basytec.head3000.bdf.csv.gz"
TIME_BUG = (
    FIXTURES
    / "SINTEF__SLPBA842124HV__2024-10-23__Rate_25degC__Neware__Time_Bug.head2000.bdf.csv.gz"
)
G20M7 = FIXTURES / "SINTEF__G20M7-202512-Gru6mV__20251228__C30__25degC__Neware.head100.bdf.csv"
SAMPLE = FIXTURES / "sample.bdf.csv"

# cells as their files describe them (half cells against lithium, a pouch cell)
HALF_CELL = {
    "chemistry": "OTHER",
    "form_factor": "coin",
    "nominal_capacity_ah": 0.004,
    "nominal_voltage_volt": 1.0,
    "voltage_min_volt": 0.005,
    "voltage_max_volt": 5.0,
}
POUCH = {
    "chemistry": "NMC",
    "form_factor": "pouch",
    "nominal_capacity_ah": 20.0,
    "nominal_voltage_volt": 3.7,
    "voltage_min_volt": 3.0,
    "voltage_max_volt": 4.35,
}
REST = 1 / 200  # the rest band, C/200 (ingest/cycles.py)


def sidecar_for(tmp_path: Path, cell: dict, name: str = "sidecar.json") -> Path:
    path = tmp_path / name
    session = {"protocol_name": "BDF reference", "protocol_type": "rpt"}
    path.write_text(
        json.dumps({"cell": cell, "session": {**session, "started_at": "2024-01-01T00:00:00Z"}})
    )
    return path


def table(path: Path) -> list[dict[str, str]]:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def expected_cycles(currents: list[float], rest: float) -> list[int]:
    """The rule, written out sample by sample: a charge after a discharge opens a cycle."""
    cycle, discharged, out = 1, False, []
    for current in currents:
        if current > rest and discharged:
            cycle, discharged = cycle + 1, False
        elif current < -rest:
            discharged = True
        out.append(cycle)
    return out


def report_of(path: Path) -> dict:
    (record,) = json.loads(path.read_text())
    return record


# ------------------------------------------------------------- the reference files load


@pytest.mark.parametrize(
    "path", [LANDT, POCV_LNMO, POCV_GR, SAMPLE], ids=["landt", "pocv-lnmo", "pocv-gr", "sample"]
)
def test_reference_files_without_cycle_count_load_strict(sqlite_target, tmp_path, capsys, path):
    rows = table(path)
    report = tmp_path / "report.json"
    code, err = ingest(
        sqlite_target,
        [path],
        "--sidecar",
        str(sidecar_for(tmp_path, HALF_CELL)),
        "--report",
        str(report),
        capsys=capsys,
    )
    assert code == 0, err
    record = report_of(report)
    assert record["rows_loaded"] == len(rows) and record["rows_rejected"] == 0
    (note,) = [n for n in record["notes"] if n.startswith("cycle_count:")]
    assert (
        "the file has none" in note
        and "a cycle beginning at each charge that follows a discharge" in note
    )
    assert "cycle_count: the file has none" in err  # said on the terminal too
    session = session_of(sqlite_target, path)
    stored = sqlite_target.query(
        "SELECT cycle_count, current_ampere FROM timeseries_point WHERE session_id = %s "
        "ORDER BY record_index",
        [session],
    )
    currents = [
        float(r["current_ampere"] if "current_ampere" in r else r["Current / A"]) for r in rows
    ]
    assert [r[0] for r in stored] == expected_cycles(
        currents, HALF_CELL["nominal_capacity_ah"] * REST
    )
    assert [r[1] for r in stored] == pytest.approx(currents)


def test_step_index_is_read_as_step_id(sqlite_target, tmp_path, capsys):
    """Landt's `step_index` holds the program step (1, 2, 3, 2), as every reference file writes
    it (BDF 1.3.0 deprecated the name): stored as step_id, run by run."""
    code, err = ingest(
        sqlite_target,
        [LANDT],
        "--sidecar",
        str(sidecar_for(tmp_path, HALF_CELL)),
        capsys=capsys,
    )
    assert code == 0 or "already loaded" in err, err
    session = session_of(sqlite_target, LANDT)
    stored = [
        r[0]
        for r in sqlite_target.query(
            "SELECT step_id FROM timeseries_point WHERE session_id = %s ORDER BY record_index",
            [session],
        )
    ]
    assert stored == [int(r["step_index"]) for r in table(LANDT)]
    runs = [stored[0], *(b for a, b in zip(stored, stored[1:], strict=False) if a != b)]
    assert runs == [1, 2, 3, 2]


def test_the_time_bug_file_is_refused_strict_and_loads_lenient(sqlite_target, tmp_path, capsys):
    """Neware's export bug (each step's first sample has test time 0) is the BDF file's own
    subject: strict mode refuses time stepping back, naming the lines; lenient keeps them.
    power_watt is named as not stored, T1..T3 are stored; the jump back up is no gap."""
    side = str(sidecar_for(tmp_path, POUCH))
    code, err = ingest(sqlite_target, [TIME_BUG], "--sidecar", side, capsys=capsys)
    assert code == 1, err
    assert (
        "test_time_backwards: column 'test_time_second' 3 row(s) at line(s) 724, 1467, 1649:" in err
    )
    assert "'power_watt' (a BDF quantity that timeseries_point has no column for)" in err
    report = tmp_path / "report.json"
    code, err = ingest(
        sqlite_target,
        [TIME_BUG],
        "--sidecar",
        side,
        "--lenient",
        "--report",
        str(report),
        capsys=capsys,
    )
    assert code == 0, err
    record = report_of(report)
    assert record["rows_loaded"] == 2000
    assert record["columns_not_stored"] == [
        {
            "column": "power_watt",
            "why": "a BDF quantity that timeseries_point has no column for",
        }
    ]
    assert not [n for n in record["notes"] if n.startswith("cycle_count:")]  # the file has it
    assert "time_gap" not in {f["rule"] for f in record["findings"]}
    session = session_of(sqlite_target, TIME_BUG)
    t1, t3, steps = sqlite_target.query(
        "SELECT avg(temperature_t1_celsius), avg(temperature_t3_celsius), count(DISTINCT step_id) "
        "FROM timeseries_point WHERE session_id = %s",
        [session],
    )[0]
    assert 20 < t1 < 40 and 20 < t3 < 40 and steps > 1


def test_a_cycle_count_of_two_pi_is_refused(sqlite_target, tmp_path, capsys):
    """G20M7's converter wrote 2π as every cycle count: a broken file, refused at its first
    row with the value quoted."""
    before = sqlite_target.counts()
    code, err = ingest(
        sqlite_target, [G20M7], "--sidecar", str(sidecar_for(tmp_path, POUCH)), capsys=capsys
    )
    assert code == 1, err
    assert (
        f"error: {G20M7}:2: column 'cycle_count': value '6.283185307179586' is not an integer"
        in err
    )
    assert sqlite_target.counts() == before


# --------------------------------------------------------------------------- the rules

CYCLING = """\
test_time_second,voltage_volt,current_ampere,power_watt,Comment
0,3.6,0,0,a
1,3.5,-2.5,-8.75,b
2,3.3,-2.5,-8.25,c
3,3.3,0.01,0.033,d
4,3.5,2.5,8.75,e
5,4.1,2.5,10.25,f
6,4.0,0,0,g
7,3.8,-2.5,-9.5,h
8,3.9,2.5,9.75,i
"""


def test_cycles_from_the_current_continue_across_a_sessions_files(target, tmp_path, capsys):
    """Rest, discharge, a trickle inside the rest band, charge, rest, discharge, charge:
    cycles 1, 1, 1, 1, 2, 2, 2, 2, 3; a second file starts in the session's last cycle and
    opens the next only at a charge after a discharge."""
    first = write(tmp_path, "first.csv", CYCLING)
    report = tmp_path / "report.json"
    code, err = ingest(
        target,
        [first],
        "--sidecar",
        str(sidecar_for(tmp_path, POUCH | {"nominal_capacity_ah": 5.0})),
        "--report",
        str(report),
        capsys=capsys,
    )
    assert code == 0, err
    record = report_of(report)
    assert record["notes"] == [
        "cycle_count: the file has none (BDF only recommends it); numbered from the current, a "
        "cycle beginning at each charge that follows a discharge (rest band |I| <= 0.025 A, "
        "C/200): cycles 1..3 (3)"
    ]
    assert record["columns_not_stored"] == [
        {
            "column": "power_watt",
            "why": "a BDF quantity that timeseries_point has no column for",
        },
        {"column": "Comment", "why": "not a quantity the loader reads"},
    ]
    session = session_of(target, first)
    second = write(
        tmp_path,
        "second.csv",
        "test_time_second,voltage_volt,current_ampere\n9,3.9,-1\n10,3.9,0\n11,3.9,1\n",
    )
    code, err = ingest(target, [second], "--session", str(session), capsys=capsys)
    assert code == 0, err
    assert "cycles 3..4 (2)" in err, err
    stored = target.query(
        "SELECT cycle_count FROM timeseries_point WHERE session_id = %s ORDER BY record_index",
        [session],
    )
    assert [r[0] for r in stored] == [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4]


def test_every_load_lists_what_it_does_not_store(sqlite_target, tmp_path, capsys):
    """A file every rule passes still names its columns that are not stored."""
    text = (
        "Test Time / s,Voltage / V,Current / A,Cycle Count / 1,Power / W,Step Record Index / 1,"
        "Internal Resistance / ohm,Operator\n0,3.6,1,1,3.6,1,0.02,me\n1,3.6,1,1,3.6,2,0.02,me\n"
    )
    path = write(tmp_path, "extra.csv", text)
    code, err = ingest(
        sqlite_target, [path], "--sidecar", str(sidecar_for(tmp_path, POUCH)), capsys=capsys
    )
    assert code == 0, err
    assert "every rule passes" in err
    assert (
        "not stored: 'Power / W' (a BDF quantity that timeseries_point has no column for); "
        "'Step Record Index / 1' (a BDF quantity that timeseries_point has no column for); "
        "'Operator' (not a quantity the loader reads)"
    ) in err
    # the cycler's resistance reading is stored since schema version 5 (internal_resistance_ohm)
    assert "Internal Resistance" not in err


def test_step_index_beside_step_id_is_refused(sqlite_target, tmp_path, capsys):
    text = "test_time_second,voltage_volt,current_ampere,step_id,step_index\n0,3.6,1,1,1\n"
    path = write(tmp_path, "both-steps.csv", text)
    code, err = ingest(
        sqlite_target, [path], "--sidecar", str(sidecar_for(tmp_path, POUCH)), capsys=capsys
    )
    assert code == 1, err
    assert f"error: {path}:1: column 'step_index': step_id appears twice (also as 'step_id')" in err


def test_an_arbin_export_names_what_it_does_not_store(sqlite_target, tmp_path, capsys):
    """The report's list is every reader's: Arbin's Power(W) is a BDF quantity without a
    column, dV/dt(V/s) none the loader reads; Internal Resistance(Ohm) is stored
    (internal_resistance_ohm, schema version 5)."""
    path = write(tmp_path, "arbin.csv", ARBIN_HEADER + ARBIN_ROWS)
    report = tmp_path / "report.json"
    code, err = ingest(
        sqlite_target,
        [path],
        "--format",
        "arbin",
        "--time-zone",
        "Europe/Berlin",
        "--sidecar",
        str(sidecar_for(tmp_path, POUCH)),
        "--report",
        str(report),
        capsys=capsys,
    )
    assert code == 0, err
    dropped = {d["column"]: d["why"] for d in report_of(report)["columns_not_stored"]}
    bdf_quantity = "a BDF quantity that timeseries_point has no column for"
    assert dropped == {
        "Power(W)": bdf_quantity,
        "ACR(Ohm)": "not a quantity the loader reads",
        "dV/dt(V/s)": "not a quantity the loader reads",
        "dQ/dV(Ah/V)": "not a quantity the loader reads",
        "dV/dQ(V/Ah)": "not a quantity the loader reads",
    }
