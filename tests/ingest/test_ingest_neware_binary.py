"""Neware's binary .nda and .ndax, read by `--format neware` through NewareNDA
(ingest/readers/neware_binary.py), from real files (tests/fixtures/neware/README.md: from the
library's own repository, with its reference output).

Each file loads into SQLite and PostgreSQL; the stored rows are checked against NewareNDA's
reference DataFrame (tests/fixtures/neware/reference/*.ftr, written by the library's
maintainers), converted here by hand (mA -> A, mAh -> Ah, mWh -> Wh, the local date-times of
the .nda in the zone given), never against this loader's own output. Bad input (damaged,
truncated, renamed, the wrong --format) is refused with one line naming the file, exit 1,
and no table changes."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.ingest.loading import fresh_target, ingest, sidecar, write

feather = pytest.importorskip("pyarrow.feather")
pytest.importorskip("NewareNDA")

FIXTURES = Path(__file__).parents[1] / "fixtures" / "neware"
NDA = FIXTURES / "new_nda_file.nda"
NDAX = FIXTURES / "46_1_5_60_ZZZZZZZZTEST_20250924092922.ndax"
ZONE = "Asia/Shanghai"
STEP_TYPES = {"CC_Chg": "cc_charge", "CC_DChg": "cc_discharge", "Rest": "rest"}
COLUMNS = (
    "recorded_at",
    "test_time_second",
    "step_time_second",
    "voltage_volt",
    "current_ampere",
    "charging_capacity_ah",
    "discharging_capacity_ah",
    "charging_energy_wh",
    "discharging_energy_wh",
    "record_index",
    "cycle_count",
    "step_count",
    "step_id",
    "step_type",
    "temperature_t1_celsius",
)


@pytest.fixture  # per test (params: conftest.py), not per module
def target(request, tmp_path_factory):
    """A database of the test's own: the fixtures are loaded by several tests, and the same
    bytes twice would be the loader's no-op (already loaded)."""
    yield from fresh_target(request, tmp_path_factory, "neware_binary")


def copy(tmp_path: Path, source: Path, name: str | None = None) -> Path:
    """A fixture under a path of the test's own (a source_file uri is unique per load)."""
    path = tmp_path / (name or source.name)
    shutil.copyfile(source, path)
    return path


def reference(source: Path) -> list[dict]:
    frame = feather.read_feather(FIXTURES / "reference" / f"{source.stem}.ftr")
    return frame.to_dict("records")


def stored(target, path: Path) -> list[dict]:
    select = ", ".join(target.epoch(c) if c == "recorded_at" else c for c in COLUMNS)
    rows = target.query(
        f"SELECT {select} FROM timeseries_point t JOIN source_file f"
        " ON f.session_id = t.session_id AND t.record_index BETWEEN f.record_index_first"
        " AND f.record_index_last WHERE f.uri = %s ORDER BY record_index",
        [str(path)],
    )
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows]


def source_file(target, path: Path) -> tuple:
    return target.query(
        "SELECT file_format, cycler_software, assumed_time_zone, original_units,"
        " record_index_first, record_index_last, session_id FROM source_file WHERE uri = %s",
        [str(path)],
    )[0]


def unix(stamp, zone: str) -> float:
    """A reference Timestamp as Unix seconds: an aware one as it is, a naive one in `zone`."""
    value = stamp.to_pydatetime()
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return value.timestamp()


def close(a: float, b: float, tolerance: float = 1e-6) -> bool:
    return abs(a - b) <= tolerance * max(1.0, abs(b))


def check_row(got: dict, ref: dict) -> None:
    """One stored sample against the library's reference record, converted by hand."""
    assert close(got["voltage_volt"], float(ref["Voltage"])), (got, ref)
    assert close(got["current_ampere"], float(ref["Current(mA)"]) / 1000), (got, ref)
    assert close(got["charging_capacity_ah"], float(ref["Charge_Capacity(mAh)"]) / 1000)
    assert close(got["discharging_capacity_ah"], float(ref["Discharge_Capacity(mAh)"]) / 1000)
    assert close(got["charging_energy_wh"], float(ref["Charge_Energy(mWh)"]) / 1000)
    assert close(got["discharging_energy_wh"], float(ref["Discharge_Energy(mWh)"]) / 1000)
    assert close(got["step_time_second"], float(ref["Time"]), 1e-5), (got, ref)
    assert got["step_id"] == ref["Step_Index"]
    assert got["step_count"] == ref["Step"]
    assert got["step_type"] == STEP_TYPES[ref["Status"]]
    assert close(got["recorded_at"], unix(ref["Timestamp"], ZONE)), (got, ref)
    if "T1" in ref:
        assert close(got["temperature_t1_celsius"], float(ref["T1"])), (got, ref)


CASES = {
    # file -> (file_format, versions named in cycler_software, zone recorded, records,
    #          the test time at the last record: the sum of the step times, by hand below)
    NDA: ("neware_nda", "BTS 7.6.0.1408", ZONE, 439, 721.6),
    NDAX: ("neware_ndax", "BTSServer(R3)-8.0.1.437", None, 84, 80.0),
}


@pytest.mark.parametrize("source", [NDA, NDAX], ids=["nda", "ndax"])
def test_a_neware_binary_loads_as_the_library_reads_it(target, tmp_path, capsys, source):
    path = copy(tmp_path, source)
    before = target.counts()
    code, err = ingest(
        target,
        [path],
        "--format",
        "neware",
        "--time-zone",
        ZONE,
        "--sidecar",
        str(sidecar(tmp_path)),
        capsys=capsys,
    )
    assert code == 0, err
    file_format, software, zone, records, last_test_time = CASES[source]
    ref = reference(source)
    got = stored(target, path)
    assert len(got) == len(ref) == records
    assert target.counts()["timeseries_point"] == before["timeseries_point"] + records
    for i in (0, 1, 2, len(ref) // 2, len(ref) - 1):
        check_row(got[i], ref[i])
    # every record: Neware writes discharge negative, and so does the schema
    for g, r in zip(got, ref, strict=True):
        assert g["step_type"] == STEP_TYPES[r["Status"]]
        if r["Status"] == "CC_DChg":
            assert g["current_ampere"] <= 0, g
        if r["Status"] == "CC_Chg":
            assert g["current_ampere"] >= 0, g
    assert any(g["current_ampere"] < 0 for g in got) and any(g["current_ampere"] > 0 for g in got)
    # the record index, as the file numbers it (Index 1..n), the cycler's cycle kept (1)
    assert [g["record_index"] - got[0]["record_index"] for g in got] == [
        r["Index"] - 1 for r in ref
    ]
    assert {g["cycle_count"] for g in got} == {1}
    # test time: the step times summed (each step's first record at the previous one's end);
    # by hand from the reference, 5 + 25 + 50 + 100 + 500 + 41.6 s for the .nda, 10 + 30 +
    # 30 + 10 for the .ndax; and within a second of the wall clock the files also record
    assert close(got[-1]["test_time_second"], last_test_time)
    wall = unix(ref[-1]["Timestamp"], ZONE) - unix(ref[0]["Timestamp"], ZONE)
    assert abs(got[-1]["test_time_second"] - got[0]["test_time_second"] - wall) <= 1.0
    times = [g["test_time_second"] for g in got]
    assert times == sorted(times)
    stored_format, stored_software, stored_zone, units, first, last, _ = source_file(target, path)
    assert stored_format == file_format
    assert stored_software.startswith("Neware BTS (") and software in stored_software
    assert stored_zone == zone
    assert "mA" in str(units) and "mAh" in str(units) and "mWh" in str(units)
    assert last - first == records - 1


def test_step_ends_in_the_nda_are_what_the_test_time_sums(tmp_path):
    """The hand sums above, from the reference: each step's last `Time`."""
    for source, total in ((NDA, 721.6), (NDAX, 80.0)):
        ref = reference(source)
        ends: dict[int, float] = {}
        for r in ref:
            ends[r["Step"]] = float(r["Time"])
        assert close(sum(ends.values()), total, 1e-5), (source.name, ends)


def test_a_bts7_nda_needs_the_time_zone(target, tmp_path, capsys):
    path = copy(tmp_path, NDA)
    before = target.counts()
    code, err = ingest(
        target, [path], "--format", "neware", "--sidecar", str(sidecar(tmp_path)), capsys=capsys
    )
    assert code == 1
    assert f"{path}: " in err and "--time-zone" in err and "local time" in err, err
    assert target.counts() == before


def test_an_ndax_with_unix_time_needs_no_zone(target, tmp_path, capsys):
    path = copy(tmp_path, NDAX)
    code, err = ingest(
        target, [path], "--format", "neware", "--sidecar", str(sidecar(tmp_path)), capsys=capsys
    )
    assert code == 0, err
    got = stored(target, path)
    first = dt.datetime(2025, 9, 24, 9, 29, 55, 74000, tzinfo=dt.UTC).timestamp()
    # the reference writes it 2025-09-24 05:29:55.074-04:00: the same instant
    assert close(got[0]["recorded_at"], first)
    assert close(got[0]["recorded_at"], unix(reference(NDAX)[0]["Timestamp"], "UTC"))
    assert source_file(target, path)[2] is None


def test_a_session_of_two_binaries_continues_the_record_index(target, tmp_path, capsys):
    nda, ndax = copy(tmp_path, NDA, "part1.nda"), copy(tmp_path, NDAX, "part2.ndax")
    code, err = ingest(
        target,
        [nda, ndax],
        "--format",
        "neware",
        "--time-zone",
        ZONE,
        "--sidecar",
        str(sidecar(tmp_path)),
        capsys=capsys,
    )
    assert code == 0, err
    one, two = source_file(target, nda), source_file(target, ndax)
    assert one[6] == two[6]  # one session
    assert (one[5] - one[4], two[5] - two[4]) == (438, 83)
    assert two[4] == one[5] + 1
    got = stored(target, ndax)
    assert got[0]["record_index"] == one[5] + 1 and len(got) == 84


# ------------------------------------------------------------------ bad input


def _truncated_ndax(tmp_path: Path) -> Path:
    return write(tmp_path, "cut.ndax", NDAX.read_bytes()[:5000])


def _truncated_nda(tmp_path: Path) -> Path:
    return write(tmp_path, "cut.nda", NDA.read_bytes()[:1000])


def _random_nda(tmp_path: Path) -> Path:
    return write(tmp_path, "random.nda", bytes(range(256)) * 8)


def _ndax_without_data(tmp_path: Path) -> Path:
    path = tmp_path / "nodata.ndax"
    with zipfile.ZipFile(NDAX) as src, zipfile.ZipFile(path, "w") as out:
        for name in src.namelist():
            if name != "data.ndc":
                out.writestr(name, src.read(name))
    return path


def _ndax_with_damaged_data(tmp_path: Path) -> Path:
    path = tmp_path / "damaged.ndax"
    with zipfile.ZipFile(NDAX) as src, zipfile.ZipFile(path, "w") as out:
        for name in src.namelist():
            data = src.read(name)
            out.writestr(name, data[:3000] if name == "data.ndc" else data)
    return path


BAD = {
    # case -> (make the file, --format, words the message holds)
    "truncated .ndax": (_truncated_ndax, "neware", "a damaged .ndax"),
    "an .nda cut inside its header": (_truncated_nda, "neware", "NewareNDA cannot read"),
    "random bytes named .nda": (_random_nda, "neware", "not a Neware binary file"),
    "an .ndax zip without data.ndc": (_ndax_without_data, "neware", "no 'data.ndc'"),
    "an .ndax whose data.ndc the library cannot read": (
        _ndax_with_damaged_data,
        "neware",
        "NewareNDA cannot read",
    ),
    "an .nda given as bdf": (lambda p: copy(p, NDA), "bdf", "use --format neware"),
    "an .nda given as arbin": (lambda p: copy(p, NDA), "arbin", "use --format neware"),
    "an .ndax given as bdf": (lambda p: copy(p, NDAX), "bdf", "use --format neware"),
    "an .ndax given as biologic": (lambda p: copy(p, NDAX), "biologic", "use --format neware"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_binaries_are_refused_in_one_line(target, tmp_path, capsys, case):
    make, file_format, words = BAD[case]
    path = make(tmp_path)
    before = target.counts()
    code, err = ingest(
        target,
        [path],
        "--format",
        file_format,
        "--time-zone",
        ZONE,
        "--sidecar",
        str(sidecar(tmp_path)),
        capsys=capsys,
    )
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # no traceback, no library log line
    assert lines[0].startswith(f"error: {path}: ") and words in lines[0], err
    assert target.counts() == before
