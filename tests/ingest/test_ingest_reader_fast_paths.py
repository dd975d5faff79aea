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
