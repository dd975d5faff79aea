"""A property-based fuzzer (hypothesis) over mutations of real-style cycler files, bounded in time.

Each example takes a seed file (BDF CSV with human labels and units, BDF machine names, an Arbin
CSV export, Neware BTS 8 and BTS 7 CSV exports, a BioLogic EC-Lab export with its header block in
Windows-1252 and one without it, with decimal commas), mutates it as text (a line dropped,
doubled or cut, a hostile byte inserted, a cell replaced by a hostile value, a header renamed, a
column deleted, the separator or the line endings changed) and loads it with `python -m ingest`
(in process) into a fresh SQLite database, strict or lenient. Whatever the mutation, the loader
must either refuse the file with a message that names it (exit 1) and leave every table exactly
as it was, or load it, with as many samples in the table as it says it loaded. It must never
raise, exit otherwise, print a traceback or let pyarrow print one. A sample of the examples is
loaded into PostgreSQL too, which must decide the same way (same exit code, same number of
samples): the loader's verdict is the file's, not the engine's.

Bounds: INGEST_FUZZ_EXAMPLES examples (default 150) and INGEST_FUZZ_SECONDS seconds (default
45), whichever ends first; at least INGEST_FUZZ_MIN_EXAMPLES (default 20, at most
INGEST_FUZZ_EXAMPLES) must have run when the time is up: a fuzzer that ran nothing fails.
With CI=true the examples are derandomized (the same sequence every
run); elsewhere, or with FUZZ_RANDOM=1, every run explores new mutations.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ingest.cli import main
from tests.ingest.loading import CELL, SESSION
from tests.ingest.vendor_files import (
    ARBIN_HEADER,
    ARBIN_ROWS,
    BTS7_HEADER,
    BTS7_ROWS,
    BTS8_HEADER,
    BTS8_ROWS,
    mpt,
)
from tests.support.dbkit import ddl_text, load_pg_ddl, sqlite_db

# slow: a fuzzer with a time budget
pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("INGEST_FUZZ_EXAMPLES", "150"))
SECONDS = float(os.environ.get("INGEST_FUZZ_SECONDS", "45"))
DERANDOMIZE = os.environ.get("CI") == "true" and os.environ.get("FUZZ_RANDOM") != "1"
MIN_EXAMPLES = min(EXAMPLES, int(os.environ.get("INGEST_FUZZ_MIN_EXAMPLES", "20")))
PG_SAMPLE = 12  # examples also loaded into PostgreSQL
CONTROL = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
TABLES = ("battery_cell", "test_session", "timeseries_point", "source_file")

# (format, text, separator, encoding): files as cyclers and the BDF tooling write them
SEEDS = [
    (
        "bdf",
        "Date Time,Test Time / h,Voltage / mV,Current / mA,Cycle Count / 1,"
        "Charging Capacity / mAh,Surface Temperature / K,Step Type\n"
        "2024-03-31 01:30:00,0,3700,1000,0,0,298.15,cc_charge\n"
        "2024-03-31 03:30:00,0.5,3800,2000,0,500,299.15,cc_charge\n"
        "2024-03-31 04:00:00,1,3900,-1500,1,1000,300.15,cc_discharge\n"
        "2024-03-31 04:00:10,1.002,3890,-1500,1,1000,300.2,cc_discharge\n",
        ",",
        "utf-8",
    ),
    (
        "bdf",
        "record_index,test_time_second,unix_time_second,voltage_volt,current_ampere,"
        "cycle_count,step_id\n"
        "10,0,1711843200,3.6,2.5,0,1\n"
        "11,10,1711843210,3.65,2.5,0,1\n"
        "12,20,1711843220,3.7,0,0,2\n"
        "13,30,1711843230,3.69,-2.5,1,3\n",
        ",",
        "utf-8",
    ),
    ("arbin", ARBIN_HEADER + ARBIN_ROWS, ",", "utf-8"),
    ("neware", "\r\n".join([BTS8_HEADER, *BTS8_ROWS]) + "\r\n", ",", "utf-8"),
    ("neware", "\r\n".join([BTS7_HEADER, *BTS7_ROWS]) + "\r\n", ",", "utf-8"),
    ("biologic", mpt().decode("cp1252"), "\t", "cp1252"),
    ("biologic", mpt(comma=True, header=False).decode("cp1252"), "\t", "cp1252"),
]

NAMES = {"bdf": "cell.csv", "arbin": "export.csv", "neware": "bts.csv", "biologic": "cell.mpt"}
HOSTILE_CELLS = [
    "",
    " ",
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "1e400",
    "-1e400",
    "1e-400",
    "-0",
    "1,5",
    "3.7.1",
    "abc",
    "0x10",
    "1_000",
    "  3.7  ",
    '"3.7"',
    '"',
    "9" * 40,
    "-9223372036854775809",
    "9223372036854775808",
    "2024-02-30 00:00:00",
    "2024-03-31 02:30:00",  # does not exist in Europe/Berlin
    "2024-10-27 02:30:00",  # exists twice in Europe/Berlin
    "1970-01-01 00:00:00",
    "9999-12-31 23:59:59",
    "TRUE",
    "\u03a9",
    "\u00a0",
    "=cmd|' /C calc'!A0",
    "'); DROP TABLE timeseries_point; --",
    "rest",
    "cc_charge",
    "-1",
    "0",
    "1e6",
    "32768",  # past smallint (step_id)
    "2147483648",  # past integer (cycle_count)
    "1e20",  # a Unix time past every engine's timestamps
    "-1e13",
]
HOSTILE_HEADERS = [
    "",
    "Voltage / furlong",
    "Voltage / ",
    "Voltage",
    "Current / kA",
    "Current / µA",
    "Test Time / ms",
    "Test Time / min",
    "Test Time / d",
    "voltage_volt",
    "record_index",
    "Date Time",
    "Unix Time / s",
    "Cycle Count / 1",
    "Step Index / 1",
    "Voltage(V)",
    "Current(A)",
    "Test_Time(s)",
    "x" * 300,
    "Ambient Temperature / °F",
    "'); DROP TABLE x; --",
]
HOSTILE_BYTES = [
    b"\x00",
    b"\xff",
    b"\xef\xbb\xbf",
    b'"',
    b",",
    b";",
    b"\r",
    b"\n",
    b"\t",
    b" ",
    b"-",
    b"e",
    b".",
    b"9",
    b"\x1b",
]


def _split(line: str, sep: str) -> list[str]:
    return line.rstrip("\r\n").split(sep)


def _join(cells: list[str], sep: str, ending: str) -> str:
    return sep.join(cells) + ending


@st.composite
def mutated(draw) -> tuple[str, bytes, bool]:
    """(format, file bytes, strict) for one example."""
    fmt, text, sep, encoding = draw(st.sampled_from(SEEDS))
    lines = text.splitlines(keepends=True)
    first = next((k for k, line in enumerate(lines) if sep in line), 0)  # the column line
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        ending = "\r\n" if lines[i].endswith("\r\n") else "\n"
        action = draw(
            st.sampled_from(
                ["drop", "double", "cut", "cell", "header", "column", "swap", "sep", "crlf"]
            )
        )
        if action == "drop":
            del lines[i]
        elif action == "double":
            lines.insert(i, lines[i])
        elif action == "cut":
            lines[i] = lines[i][: draw(st.integers(0, max(len(lines[i]) - 1, 0)))]
            if draw(st.booleans()):
                lines[i] += ending
        elif action == "cell" and len(lines) > first + 1:
            row = draw(st.integers(first + 1, len(lines) - 1))
            cells = _split(lines[row], sep)
            cells[draw(st.integers(0, len(cells) - 1))] = draw(st.sampled_from(HOSTILE_CELLS))
            lines[row] = _join(cells, sep, ending)
        elif action == "header" and first < len(lines):
            cells = _split(lines[first], sep)
            cells[draw(st.integers(0, len(cells) - 1))] = draw(st.sampled_from(HOSTILE_HEADERS))
            lines[first] = _join(cells, sep, ending)
        elif action == "column" and first < len(lines):
            at = draw(st.integers(0, len(_split(lines[first], sep)) - 1))
            lines[first:] = [
                _join([c for k, c in enumerate(_split(line, sep)) if k != at], sep, ending)
                for line in lines[first:]
            ]
        elif action == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif action == "sep":
            other = draw(st.sampled_from([s for s in (",", ";", "\t", "|") if s != sep]))
            lines = [line.replace(sep, other) for line in lines]
        else:
            lines = [line.rstrip("\r\n") + "\r\n" for line in lines]
    raw = "".join(lines).encode(encoding, errors="replace")
    if draw(st.booleans()):
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.sampled_from(HOSTILE_BYTES)) + raw[at:]
    return fmt, raw, draw(st.booleans())


@dataclass
class Budget:
    started: float = field(default_factory=time.monotonic)
    runs: int = 0
    loaded: int = 0
    refused: int = 0
    sample: list[tuple[str, bytes, bool, int, int]] = field(default_factory=list)

    def over(self) -> bool:
        return time.monotonic() - self.started > SECONDS


@pytest.fixture(scope="module")
def budget():
    return Budget()


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """An empty database of the generated schema, copied for every example."""
    path = tmp_path_factory.mktemp("ingest-fuzz") / "template.sqlite"
    sqlite_db(path)
    return path


def sidecar(folder: Path) -> Path:
    import json

    path = folder / "sidecar.json"
    session = {**SESSION, "started_at": "2024-03-31T00:00:00Z"}
    path.write_text(json.dumps({"cell": CELL, "session": session}))
    return path


def counts(query) -> dict[str, int]:
    return {t: query(f"SELECT count(*) FROM {t}")[0][0] for t in TABLES}


def load(url: str, path: Path, fmt: str, strict: bool, capsys) -> tuple[int, str]:
    argv = [str(path), "--db", url, "--sidecar", str(sidecar(path.parent))]
    argv += ["--format", fmt, "--time-zone", "Europe/Berlin"]
    if not strict:
        argv.append("--lenient")
    code = main(argv)
    return code, capsys.readouterr().err


def verdict(path: Path, code: int, err: str, before: dict, after: dict) -> int:
    """Check one outcome; the number of samples it added."""
    assert code in (0, 1), f"exit {code}:\n{err}"
    assert "Traceback" not in err and "Exception ignored" not in err, err
    # bytes of the file reach the message only escaped: no control, format or line-separator
    # character (generator.errors.printable) in any line
    assert not [c for c in err.replace("\n", "") if unicodedata.category(c) in CONTROL], repr(err)
    if code == 1:
        assert str(path) in err, f"the refusal does not name the file:\n{err}"
        assert after == before, f"a refused file changed the tables: {before} -> {after}\n{err}"
        return 0
    added = after["timeseries_point"] - before["timeseries_point"]
    said = re.search(r"([\d,]+) rows loaded", err)
    assert said, err
    assert int(said.group(1).replace(",", "")) == added, err
    return added


def run_one(example, template: Path, budget: Budget, tmp_path_factory, capsys) -> None:
    fmt, raw, strict = example
    folder = tmp_path_factory.mktemp("ex")
    db = folder / "battery.sqlite"
    shutil.copy(template, db)
    path = folder / NAMES[fmt]
    path.write_bytes(raw)

    def query(sql: str):
        conn = sqlite3.connect(db)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    before = counts(query)
    code, err = load(f"sqlite:///{db}", path, fmt, strict, capsys)
    added = verdict(path, code, err, before, counts(query))
    budget.runs += 1
    budget.loaded += code == 0
    budget.refused += code == 1
    if len(budget.sample) < PG_SAMPLE:
        budget.sample.append((fmt, raw, strict, code, added))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=DERANDOMIZE,
    print_blob=True,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(example=mutated())
def fuzz_mutated_files(example, template, budget, tmp_path_factory, capsys):
    if budget.over():
        return  # the time budget is spent: the remaining examples pass without running
    run_one(example, template, budget, tmp_path_factory, capsys)


def test_fuzz_mutated_cycler_files_load_whole_or_not_at_all(
    template, budget, tmp_path_factory, capsys
):
    fuzz_mutated_files(
        template=template, budget=budget, tmp_path_factory=tmp_path_factory, capsys=capsys
    )
    assert budget.runs >= MIN_EXAMPLES, (
        f"the fuzzer ran {budget.runs} examples in its {SECONDS:.0f} s, fewer than "
        f"{MIN_EXAMPLES} (INGEST_FUZZ_MIN_EXAMPLES); on a slow machine raise INGEST_FUZZ_SECONDS"
    )


def test_fuzz_sample_decides_the_same_on_postgres(budget, pg_engines, tmp_path, capsys):
    """The first examples the fuzzer ran, loaded into PostgreSQL: the same exit code and the
    same number of samples as on SQLite, the same whole-or-nothing rule."""
    assert budget.sample, "the fuzzer ran no example"
    engine = pg_engines[-1]
    for n, (fmt, raw, strict, code, added) in enumerate(budget.sample):
        folder = tmp_path / f"ex{n}"
        folder.mkdir()
        path = folder / NAMES[fmt]
        path.write_bytes(raw)
        with engine.fresh_database("ingest-fuzz") as database:
            with database.connect() as raw_conn:
                load_pg_ddl(raw_conn, ddl_text("postgres"))
            url = database.conninfo()

            def query(sql: str, url=url):
                from ingest.db import connect

                db = connect(url)
                try:
                    return db.query(sql)
                finally:
                    db.close()

            before = counts(query)
            pg_code, err = load(url, path, fmt, strict, capsys)
            pg_added = verdict(path, pg_code, err, before, counts(query))
        assert (pg_code, pg_added) == (code, added), (
            f"SQLite: exit {code}, {added} samples; PostgreSQL: exit {pg_code}, {pg_added}\n"
            f"{fmt} strict={strict}\n{raw!r}\n{err}"
        )
    print(
        f"ingest fuzz: {budget.runs} runs, {budget.loaded} loaded, {budget.refused} refused, "
        f"{len(budget.sample)} also on PostgreSQL"
    )
