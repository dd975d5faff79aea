"""Two real layouts the loader once refused (issue 22 items 2 and 10), recognised without
--format and loaded with the values as the file writes them, on SQLite and PostgreSQL:
Neware BTSDA's layered CSV export (cellpy's nw_regular_export_ife_example.csv, cut) and an
EC-Lab export whose time/s is written as dates (PyProBE's Sample_data_biologic_timestamped.txt).
Origins and licences: tests/fixtures/neware/README.md, tests/fixtures/biologic/README.md."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.ingest.corpus import FIXTURES, WIDE_CELL, close
from tests.ingest.loading import fresh_target, ingest

CHECK = Path(__file__).resolve().parents[2] / "scripts" / "corpus" / "derive_check.py"
LAYERED = FIXTURES / "neware" / "nw_regular_export_ife_example.csv"
DATED = FIXTURES / "biologic" / "Sample_data_biologic_timestamped.txt"
COLUMNS = (
    "record_index, test_time_second, step_time_second, voltage_volt, current_ampere, "
    "cycle_count, step_id, step_type, charging_capacity_ah, discharging_capacity_ah, "
    "charging_energy_wh, discharging_energy_wh, temperature_t1_celsius"
)


def _sidecar(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"sidecar-{name}.json"
    session = {"protocol_name": f"layouts {name}", "protocol_type": "cycle_aging"}
    path.write_text(json.dumps({"cell": WIDE_CELL, "session": session}))
    return path


def _load(target, path: Path, zone: str | None, tmp_path, capsys) -> int:
    """Load once per module database, the format recognised from the content (no --format);
    the session's id."""
    found = target.query("SELECT session_id FROM source_file WHERE uri = %s", [str(path)])
    if found:
        return found[0][0]
    options = ["--strict", "--sidecar", str(_sidecar(tmp_path, path.name))]
    if zone:
        options += ["--time-zone", zone]
    code, err = ingest(target, [path], *options, capsys=capsys)
    assert code == 0, err
    return target.query("SELECT session_id FROM source_file WHERE uri = %s", [str(path)])[0][0]


def _rows(target, session: int) -> list[tuple]:
    return target.query(
        f"SELECT {COLUMNS}, {target.epoch('recorded_at')} FROM timeseries_point"
        " WHERE session_id = %s ORDER BY record_index",
        [session],
    )


def _same(got: tuple, want: tuple) -> bool:
    """Values as written: numbers within float4's precision (PostgreSQL stores voltage,
    current and temperature as real), the rest equal."""
    assert len(got) == len(want)
    return all(
        close(g, w) if isinstance(w, float) else g == w for g, w in zip(got, want, strict=True)
    )


def _unix(local: str, zone: str) -> float:
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).timestamp()


def test_neware_layered_export_loads_each_record_under_its_cycle_and_step(target, tmp_path, capsys):
    session = _load(target, LAYERED, "Europe/Oslo", tmp_path, capsys)
    rows = _rows(target, session)
    lines = LAYERED.read_text().splitlines()
    assert len(rows) == sum(line.startswith(",,") for line in lines[3:]) == 430
    # DataPoint 1 (line 5): cycle 1's rest, written under the cycle row that carries step 1
    first = rows[0]
    assert _same(first[1:8], (0.0, 0.0, 4.3185, 0.0, 1, 1, "rest")), first
    assert close(first[12], 26.61)  # T1(?): the lost ℃ read as °C
    assert close(first[13], _unix("2026-03-06 12:37:25", "Europe/Oslo"))
    # DataPoint 13 (line 18): the CC charge's second record; Capacity/Energy of the step
    r = rows[12]
    assert _same(r[1:8], (50.0, 30.0, 4.453, 0.47417, 1, 2, "cc_charge")), r
    assert _same(r[8:12], (0.003952875, 0.0, 0.01751, 0.0)), r
    # DataPoint 176 (line 183): the CC discharge, current negative as written, the counters
    # of the step on the discharge side
    r = rows[175]
    assert _same(r[1:8], (521.0, 30.0, 4.2521, -0.47417, 1, 4, "cc_discharge")), r
    assert _same(r[8:12], (0.0, 0.003952853, 0.0, 0.0169)), r
    # DataPoint 417 (line 427): cycle 2 (its row has no step of its own), step 2 again
    r = rows[416]
    assert _same(r[1:8], (3331.0, 30.0, 4.2564, 0.47417, 2, 2, "cc_charge")), r
    assert {row[5] for row in rows} == {1, 2}
    # the record numbers as written (DataPoint 1..430), recoverable from the first's
    assert [row[0] - rows[0][0] for row in rows] == list(range(430))


def test_neware_layered_bad_value_names_the_files_own_line(sqlite_target, tmp_path, capsys):
    """The record rows sit between cycle and step rows: a bad value's message names the line
    of the file, not the record's position among the records."""
    lines = LAYERED.read_bytes().split(b"\n")
    assert lines[182].startswith(b",,176,")  # line 183
    lines[182] = lines[182].replace(b",4.2521,", b",4.25x1,")
    path = tmp_path / "layered_bad.csv"
    path.write_bytes(b"\n".join(lines))
    options = ["--sidecar", str(_sidecar(tmp_path, "bad")), "--time-zone", "Europe/Oslo"]
    code, err = ingest(sqlite_target, [path], *options, capsys=capsys)
    assert code != 0
    assert f"{path}:183:" in err and "'4.25x1' is not a number" in err, err
    assert not sqlite_target.query("SELECT 1 FROM source_file WHERE uri = %s", [str(path)]), (
        "nothing half-written"
    )


def test_eclab_dated_time_loads_as_local_dates(target, tmp_path, capsys):
    session = _load(target, DATED, "Europe/London", tmp_path, capsys)
    rows = _rows(target, session)
    assert len(rows) == 8
    start = _unix("2024-11-20 11:38:41.707", "Europe/London")
    first, second = rows[0], rows[1]
    assert first[1] == 0.0 and close(first[13], start)
    assert close(first[3], 4.1465597) and first[4] == 0.0 and close(first[12], 19.379732)
    # line 100: 11:38:48.171, 449.93811 mA, Ns 1, step time 6.464000307023525 s as written
    assert second[1] == pytest.approx(6.464, abs=1e-9)
    assert close(second[13], start + 6.464)
    assert close(second[2], 6.464000307023525) and close(second[4], 0.44993811)
    assert _same(second[5:7], (0, 1)), second
    assert close(second[8], 2.499656168619792e-07)  # Q charge 2.4997e-4 mA.h
    assert [round(r[1], 3) for r in rows[1:]] == [6.464 + i for i in range(7)]


def test_eclab_dated_time_without_zone_is_refused(sqlite_target, tmp_path, capsys):
    code, err = ingest(
        sqlite_target,
        [DATED],
        "--sidecar",
        str(_sidecar(tmp_path, "nozone")),
        capsys=capsys,
    )
    assert code != 0
    assert "--time-zone" in err and "Acquisition started on" in err, err


BTS7_LAYERED = (
    b"Cycle ID,Cap_Chg(mAh),Cap_DChg(mAh),Charge/Discharge Efficiency(%)\r\n"
    b",Step ID,Step Name,Step Time(h:min:s.ms),Capacity(mAh),Energy(mWh)\r\n"
    b",,Record ID,Time(h:min:s.ms),Voltage(V),Current(mA),Realtime\r\n"
    b"1,7.3,6.9,94.5\r\n"
    b",1,CC_Chg,0:00:10.000,7.3,26.28\r\n"
    b",,1,0:00:00.000,3.5120,1000.0000,2024-03-31 08:00:00\r\n"
    b",,2,0:00:10.000,3.6010,1000.0000,2024-03-31 08:00:10\r\n"
    b",2,CC_DChg,0:00:10.000,6.9,24.1\r\n"
    b",,3,0:00:00.000,3.5900,-1000.0000,2024-03-31 08:00:10\r\n"
)


def test_neware_bts7_layered_export_loads_by_its_own_names(sqlite_target, tmp_path, capsys):
    """BTS 7.x names the layers' columns Cycle ID, Step ID, Step Name; milli units; no total
    time (test time from Realtime less the session's start)."""
    path = tmp_path / "bts7_layered.csv"
    path.write_bytes(BTS7_LAYERED)
    session = _load(sqlite_target, path, "Asia/Shanghai", tmp_path, capsys)
    rows = _rows(sqlite_target, session)
    assert [r[1] for r in rows] == [0.0, 10.0, 10.0]
    assert [r[4:8] for r in rows] == [
        (1.0, 1, 1, "cc_charge"),
        (1.0, 1, 1, "cc_charge"),
        (-1.0, 1, 2, "cc_discharge"),
    ]
    assert close(rows[0][13], _unix("2024-03-31 08:00:00", "Asia/Shanghai"))


@pytest.fixture(scope="module", params=["sqlite", "pg18"])
def fresh_database(request, tmp_path_factory):
    """A fresh database of its own for the derive check (not the module's `target`)."""
    yield from fresh_target(request, tmp_path_factory, f"layouts_derive_{request.param}")


@pytest.mark.slow
def test_derive_with_no_options_derives_every_session_of_the_real_files(fresh_database, tmp_path):
    """Issue 22's "done when": the real fixtures (tests/fixtures/{maccor,arbin,bdf,neware,
    biologic}) and, when the corpus is on this machine, its files that load (smallest first,
    a 15 s time box for the loads), each its own session, then `python -m derive --db URL`
    with no options: every session gets its cycles and features, nothing is refused (exit 0,
    or 3 when SOC labels found no full charge to anchor on). scripts/corpus/derive_check.py
    runs the same on the whole corpus (docs/deriving.md)."""
    out = tmp_path / "numbers.json"
    command = [sys.executable, str(CHECK), "--db", fresh_database.url, "--json", str(out)]
    command += ["--seconds", "15"]
    if not Path("/work/corpus/files").is_dir():
        command.append("--no-corpus")
    done = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    numbers = json.loads(out.read_text())
    # every fixture but G20M7 (its converter wrote 2π as each cycle count: refused) loads, the
    # Time_Bug file in lenient mode (its test time steps back at each step's first sample)
    assert numbers["files_loaded"] >= 20 and numbers["files_not_loaded"] == 1, numbers
    assert numbers["sessions"] >= 19 and numbers["refused"] == 0, numbers
    assert not numbers["without_cycles_or_features"], numbers
    assert numbers["derive_exit"] in (0, 3), numbers
