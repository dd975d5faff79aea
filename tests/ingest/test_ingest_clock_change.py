"""Local wall-clock times across a daylight-saving change (issue 22, item 1): the repeated
autumn hour and the spring gap are resolved by the cycler's test time, chunk boundaries
included, so recorded_at is the instant each sample was taken (checked against zoneinfo, sample
by sample: tests/ingest/clock_files.py); a zone that does not match the file's clock is a
clock_jump finding naming the line and its own value."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest

from ingest import staging
from tests.ingest import clock_files
from tests.ingest.loading import ingest, session_of, sidecar

SMALL_BLOCKS = ("--block-size", "4096")  # a few chunks per file: boundaries in the odd hour


def _loaded(target, path) -> tuple[np.ndarray, np.ndarray]:
    session = session_of(target, path)
    rows = target.query(
        f"SELECT {target.epoch('recorded_at')}, test_time_second FROM timeseries_point "
        "WHERE session_id = %s ORDER BY record_index",
        [session],
    )
    return np.array([r[0] for r in rows], float), np.array([r[1] for r in rows], float)


def _load(target, tmp_path, capsys, name, fmt, crossing, *extra):
    rows = clock_files.samples(crossing)
    path = clock_files.write(tmp_path, name, fmt, rows)
    zone = ("--time-zone", crossing.zone)
    options = ("--sidecar", str(sidecar(tmp_path)), *zone, *SMALL_BLOCKS, *extra)
    if fmt != "bdf":
        options += ("--format", fmt)
    code, err = ingest(target, [path], *options, capsys=capsys)
    return path, rows, code, err


@pytest.mark.parametrize("fmt", sorted(clock_files.FORMATS))
@pytest.mark.parametrize("case", sorted(clock_files.CROSSINGS))
def test_local_times_across_a_clock_change_are_the_instants_they_were(
    sqlite_target, tmp_path, capsys, case, fmt
):
    crossing = clock_files.CROSSINGS[case]
    path, rows, code, err = _load(sqlite_target, tmp_path, capsys, f"{case}.csv", fmt, crossing)
    assert code == 0, err
    recorded, test_time = _loaded(sqlite_target, path)
    truth = np.array([r.instant for r in rows])
    assert np.abs(recorded - truth).max() < 1e-3  # to the millisecond the file writes
    offset = recorded - test_time
    assert offset.max() - offset.min() < 0.2  # constant within the clock's jitter
    assert (np.diff(recorded) > 0).all()  # never steps back while test time steps on
    walls = [r.wall for r in rows]
    assert any(b < a for a, b in zip(walls, walls[1:], strict=False)) or "spring" in case
    assert "clock_jump" not in err
    doubtful = sum(
        ZoneInfo(crossing.zone).utcoffset(r.wall.replace(fold=0))
        != ZoneInfo(crossing.zone).utcoffset(r.wall.replace(fold=1))
        for r in rows
    )
    assert doubtful > 0 or case == "berlin-spring"
    assert (f"{doubtful} local time(s) in a clock change's" in err) == (doubtful > 0)


def test_a_clock_change_on_every_engine(target, tmp_path, capsys):
    crossing = clock_files.CROSSINGS["berlin-autumn"]
    path, rows, code, err = _load(target, tmp_path, capsys, "autumn.csv", "bdf", crossing)
    # (the engines' own copy of the file: the same bytes in a module's database are one file)
    assert code == 0, err
    recorded, _ = _loaded(target, path)
    assert np.abs(recorded - np.array([r.instant for r in rows])).max() < 1e-3
    assert target.query(
        "SELECT assumed_time_zone FROM source_file WHERE uri = %s", [str(path)]
    ) == [("Europe/Berlin",)]


def _first_step_back(rows) -> int:
    """The file line of the first sample whose wall clock is before the one above it."""
    return next(i for i in range(1, len(rows)) if rows[i].wall < rows[i - 1].wall) + 2


@pytest.mark.parametrize("fmt", sorted(clock_files.FORMATS))
def test_utc_on_a_local_file_is_a_clock_jump(sqlite_target, tmp_path, capsys, fmt):
    rows = clock_files.samples(clock_files.CROSSINGS["berlin-autumn"])
    path = clock_files.write(tmp_path, f"utc-{fmt}.csv", fmt, rows, volts=3.8)
    options = ["--sidecar", str(sidecar(tmp_path)), "--time-zone", "UTC"]
    if fmt != "bdf":
        options += ["--format", fmt]
    before = sqlite_target.counts()
    code, err = ingest(sqlite_target, [path], *options, capsys=capsys)
    line = _first_step_back(rows)
    value = rows[line - 2].wall.strftime("%m/%d/%Y %H:%M:%S" if fmt == "arbin" else "%Y-%m-%d")
    assert code == 1  # a warning: strict mode refuses
    assert sqlite_target.counts() == before
    finding = next(x for x in err.splitlines() if "clock_jump" in x)
    assert f"[warning] clock_jump: column 'recorded_at' 1 row(s) at line(s) {line}:" in finding
    assert f"jumps back 1 h at line {line} ('{value}" in finding
    assert "where --time-zone UTC has no change; give the zone the cycler's PC kept" in finding
    code, err = ingest(sqlite_target, [path], *options, "--lenient", capsys=capsys)
    assert code == 0
    assert "clock_jump" in err
    recorded, _ = _loaded(sqlite_target, path)
    assert np.diff(recorded).min() < -3000  # as the file says, with the jump reported


def _naive(texts: list[str]) -> pa.Array:
    return pa.array([dt.datetime.fromisoformat(t) for t in texts], pa.timestamp("us"))


def test_without_test_time_the_repeated_hour_follows_the_wall_clock():
    """A file without test time (Neware BTS 7): the repeated hour reads first as summer time,
    after the wall clock steps back as winter time."""
    texts = ["2024-11-03 01:10", "2024-11-03 01:40", "2024-11-03 01:10", "2024-11-03 01:40"]
    zone = ZoneInfo("America/New_York")
    truth = [
        dt.datetime.fromisoformat(t).replace(tzinfo=zone, fold=f).timestamp()
        for t, f in zip(texts, (0, 0, 1, 1), strict=True)
    ]
    seconds = staging.local_seconds(_naive(texts), zone.key, None, staging.Clock())
    assert seconds.tolist() == truth


def test_a_chunk_that_starts_in_the_repeated_hour_keeps_the_file_offset():
    """The tie-breaker crosses chunk boundaries: the second chunk holds only doubtful times."""
    clock = staging.Clock()
    zone = "Europe/Berlin"
    first = staging.local_seconds(
        _naive(["2024-10-27 01:50", "2024-10-27 02:50"]), zone, np.array([0.0, 3600]), clock
    )
    second = staging.local_seconds(
        _naive(["2024-10-27 02:10", "2024-10-27 02:30"]), zone, np.array([4800.0, 6000]), clock
    )
    berlin = ZoneInfo(zone)
    start = dt.datetime(2024, 10, 27, 1, 50, tzinfo=berlin).timestamp()
    assert [*first, *second] == [start, start + 3600, start + 4800, start + 6000]
    assert clock.resolved == 3 and not clock.jumps


def test_an_unreadable_date_time_is_quoted_on_one_line(sqlite_target, tmp_path, capsys):
    text = clock_files.bdf_text(clock_files.samples(clock_files.CROSSINGS["berlin-autumn"], 4))
    lines = text.splitlines()
    lines[3] = "2024-10-27 25:00:00" + lines[3][lines[3].index(",") :]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    code, err = ingest(
        sqlite_target,
        [path],
        "--sidecar",
        str(sidecar(tmp_path)),
        "--time-zone",
        "Europe/Berlin",
        capsys=capsys,
    )
    assert code == 1
    assert err.splitlines()[0] == (
        f"error: {path}:4: column 'Date Time': cannot read Date Time '2024-10-27 25:00:00' as "
        "a date and time (e.g. 2024-10-27 02:30:00)"
    )


@pytest.mark.parametrize(
    "zone", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Europe/Moscow", "UTC"]
)
def test_the_readings_of_a_wall_clock_time_are_zoneinfos(zone):
    """Both readings of every wall-clock time (the same one but in a change's repeated hour or
    gap) are zoneinfo's fold=0 and fold=1, over 15 years of random times and around changes
    (Lord Howe's change is 30 minutes; Moscow changed its standard offset in 2011 and 2014)."""
    rng = np.random.default_rng(22)
    seconds = rng.integers(0, 15 * 365 * 86400, 3000)
    walls = np.datetime64("2010-01-01T00:00", "s") + seconds.astype("timedelta64[s]")
    berlin_autumn = np.datetime64("2024-10-27T02:00", "s") + np.arange(0, 3600, 97)
    newyork_spring = np.datetime64("2024-03-10T02:00", "s") + np.arange(0, 3600, 97)
    walls = np.concatenate([walls, berlin_autumn, newyork_spring])
    before, after = staging._readings(walls.astype("datetime64[us]").astype(np.int64), zone)
    tz = ZoneInfo(zone)
    for wall, b, a in zip(walls.tolist(), before, after, strict=True):
        expected = [wall.replace(tzinfo=tz, fold=fold).timestamp() for fold in (0, 1)]
        assert [b / 1e6, a / 1e6] == expected, wall


def test_an_unknown_zone_is_a_usage_error(sqlite_target, tmp_path, capsys):
    rows = clock_files.samples(clock_files.CROSSINGS["berlin-autumn"], 4)
    path = clock_files.write(tmp_path, "zone.csv", "bdf", rows)
    code, err = ingest(
        sqlite_target, [path], "--session", "1", "--time-zone", "Europe/Berlinn", capsys=capsys
    )
    assert code == 2
    assert err.startswith("error: unknown --time-zone 'Europe/Berlinn'")
