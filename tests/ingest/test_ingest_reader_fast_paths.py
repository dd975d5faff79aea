"""The vendor readers' fast paths (issue 22 item 9) read what the general path reads: number
columns parsed as numbers until a block holds a value that is not one (then as text, from
that block on, the bad value named by its own line), the month-first and ISO date shortcuts,
the per-distinct-word mappings. Reader level, no database: milliseconds."""

from __future__ import annotations

import pyarrow as pa
import pytest

from ingest import readers, staging
from ingest.errors import IngestError

HEADER = (
    "Data_Point,Date_Time,Test_Time(s),Step_Time(s),Cycle_Index,Step_Index,Current(A),"
    "Voltage(V),Charge_Capacity(Ah),Discharge_Capacity(Ah)"
)


def _arbin(tmp_path, rows: int, bad: dict[int, tuple[int, str]] | None = None):
    lines = [HEADER]
    for i in range(rows):
        fields = [
            str(i + 1),
            f"03/31/2024 {i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000",
            f"{i:.4f}",
            f"{i:.4f}",
            "1",
            "1",
            "2.500000",
            f"{3.6 + i * 1e-5:.6f}",
            f"{i * 1e-4:.6f}",
            "0.000000",
        ]
        if bad and i in bad:
            column, value = bad[i]
            fields[column] = value
        lines.append(",".join(fields))
    path = tmp_path / "arbin.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _read(path, block_size=4096):
    options = staging.ReadOptions(time_zone="UTC", started_at=1711843200.0, block_size=block_size)
    _info, chunks = readers.FORMATS["arbin"].read(path, options)
    return pa.concat_tables([t for _line, t in chunks])


@pytest.mark.parametrize(
    "value, message",
    [
        ('"3,61"', "value '3,61' is not a number"),
        ("x", "value 'x' is not a number"),
    ],
)
def test_a_bad_number_after_the_first_block_is_named_by_its_line(tmp_path, value, message):
    """The fast path has yielded blocks before the bad one; the text path takes over there."""
    path = _arbin(tmp_path, 2000, {1500: (7, value)})
    with pytest.raises(IngestError) as caught:
        _read(path)
    assert caught.value.line == 1502
    assert caught.value.column == "Voltage(V)"
    assert message in caught.value.message


def test_a_fraction_in_an_integer_column_is_named_by_its_line(tmp_path):
    path = _arbin(tmp_path, 2000, {1200: (4, "1.5")})
    with pytest.raises(IngestError) as caught:
        _read(path)
    assert (caught.value.line, caught.value.column) == (1202, "Cycle_Index")
    assert "value '1.5' is not an integer" in caught.value.message


def test_padded_numbers_read_as_the_clean_ones(tmp_path):
    """A padded or quoted value sends its block to the text path: the same numbers."""
    clean = _read(_arbin(tmp_path, 2000))
    padded = _read(_arbin(tmp_path, 2000, {1500: (7, ' "3.615000" '), 3: (2, " 3.0000")}))
    assert padded.column("voltage_volt")[1500].as_py() == 3.615
    assert padded.column("test_time_second")[3].as_py() == 3.0
    assert padded.drop_columns(["voltage_volt"]).equals(clean.drop_columns(["voltage_volt"]))


def test_month_first_dates_read_alike_by_both_paths():
    fast = pa.array(["03/31/2024 01:02:03.5", None, " 12/01/2024 00:00:00"])
    mixed = pa.array(["03/31/2024 01:02:03.5", None, " 12/01/2024 00:00:00", "3/1/2024 00:00:00"])
    assert staging._iso_from_month_first(fast).to_pylist() == [
        "2024-03-31 01:02:03.5",
        None,
        "2024-12-01 00:00:00",
    ]
    assert staging._iso_from_month_first(mixed).to_pylist()[:3] == (
        staging._iso_from_month_first(fast).to_pylist()
    )
    assert staging._iso_from_month_first(pa.array(["2024-03-31 00:00:00"])).to_pylist() == [
        "2024-03-31 00:00:00"
    ]


def test_step_types_per_distinct_word_keep_nulls_and_unknown_words():
    labels = pa.array(["Charge", None, " REST ", "CC_DCH", "Charge", "my step"])
    assert staging.step_types(labels).to_pylist() == [
        "cccv_charge",
        None,
        "rest",
        "cc_discharge",
        "cccv_charge",
        "my step",
    ]


def _stamps(count: int, seed: int) -> pa.Array:
    """Random instants to the millisecond between 1970 and 2033, as naive timestamps."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return pa.array(rng.integers(0, 2_000_000_000_000, count) * 1000, pa.timestamp("us"))


@pytest.mark.parametrize("fraction", [0, 3, 6])
@pytest.mark.parametrize("month_first", [False, True])
def test_fixed_width_date_times_read_as_the_general_path_reads_them(month_first, fraction):
    """staging.wall_clock (numpy, fixed width) against the cast the general path makes of
    the same text, after _iso_from_month_first's rewriting."""
    import pyarrow.compute as pc

    stamps = _stamps(5000, fraction)
    unit = {0: "s", 3: "ms", 6: "us"}[fraction]
    text = pc.cast(pc.cast(stamps, pa.timestamp(unit), safe=False), pa.string())
    if month_first:
        text = pc.replace_substring_regex(text, r"^(\d{4})-(\d\d)-(\d\d)", r"\2/\3/\1")
    general = staging._iso_from_month_first(text) if month_first else text
    fast = staging.wall_clock(text, month_first)
    assert fast is not None
    assert fast.equals(pc.cast(general, pa.timestamp("us")))


@pytest.mark.parametrize(
    "values",
    [
        ["2024-03-31 00:00:00", None],  # a blank
        ["2024-03-31 00:00:00", " 2024-03-31 00:00:01"],  # padded: another width
        ["2024-03-31 00:00:00", "2024-02-30 00:00:00"],  # no such day
        ["2024-03-31 00:00:00", "2024-03-31 24:00:00"],
        ["2024-03-31 00:00:00+01:00"],  # an offset
        ["2024/03/31 00:00:00"],
        ["2024-03-31_00:00:00"],
    ],
)
def test_date_times_not_written_alike_go_the_general_path(values):
    assert staging.wall_clock(pa.array(values)) is None


@pytest.mark.parametrize("digits", [0, 1, 3, 6, 13])
def test_fixed_width_durations_read_to_the_bit_as_the_general_path(digits):
    import numpy as np

    from ingest.readers import text

    rng = np.random.default_rng(digits)
    n = 5000
    parts = zip(
        rng.integers(0, 1000, n),
        rng.integers(0, 60, n),
        rng.integers(0, 60, n),
        rng.integers(0, 10**digits, n),
        strict=True,
    )
    fraction = (lambda f: f".{f:0{digits}d}") if digits else (lambda f: "")
    values = pa.array([f"{h:03d}:{m:02d}:{s:02d}{fraction(f)}" for h, m, s, f in parts])
    fast = text.fixed_clock_seconds(values)
    assert fast is not None
    assert np.array_equal(fast.to_numpy(), text._clock_seconds(values).to_numpy())


@pytest.mark.parametrize(
    "values",
    [["00:00:01.5", None], ["00:00:01.5", "0:00:01.50"], ["00:00:01.5", "00:00:0x.5"], ["1:2"]],
)
def test_durations_not_written_alike_go_the_general_path(values):
    from ingest.readers import text

    assert text.fixed_clock_seconds(pa.array(values)) is None


def test_a_maccor_clock_jump_quotes_the_date_time_alike_on_both_paths(tmp_path):
    """DPt Time read in numpy (zero-padded) or by the general path (not): a jump of the wall
    clock while the test time runs on is quoted as the same ISO text."""
    quoted = []
    for padded in (True, False):
        lines = ["Rec#\tCyc#\tStep\tTest (Sec)\tAmps\tVolts\tState\tDPt Time"]
        for i in range(6):
            hour = 1 if i < 3 else 0  # the wall clock steps back an hour after line 4
            clock = f"{hour:02d}:00:0{i}" if padded else f"{hour}:00:0{i}"
            lines.append(f"{i + 1}\t0\t1\t{i}\t1.0\t3.6\tC\t10/27/2024 {clock}")
        path = tmp_path / f"maccor-{padded}.txt"
        path.write_text("\n".join(lines) + "\n")
        options = staging.ReadOptions(time_zone="UTC", started_at=1711843200.0)
        _info, chunks = readers.FORMATS["maccor"].read(path, options)
        for _chunk in chunks:
            pass
        (jump,) = options.clock.jumps
        quoted.append((jump.line, jump.value, jump.before))
    assert quoted[0] == quoted[1] == (5, "2024-10-27T00:00:03", "2024-10-27T01:00:02")
    from ingest.readers import maccor

    assert maccor._date_time_fast(pa.array(["10/27/2024 01:00:00"])) is not None
    assert maccor._date_time_fast(pa.array(["10/27/2024 1:00:00"])) is None
