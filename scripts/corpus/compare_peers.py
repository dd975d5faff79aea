"""The loader's samples against the field's own parsers, on the real-file corpus (issue 22
item 10): every corpus file the manifest (tests/fixtures/corpus/MANIFEST.tsv) says loads and
whose repository ships a frame its library parsed from it (BEEP's MaccorDatapath CSVs,
cellpy's loader goldens, NewareNDA's Feather references, fastnda's Parquet outputs), loaded in
strict mode into a fresh SQLite database and compared row by row: test time (or step time
where the peer has no test time), absolute time where the peer has one with its zone,
voltage, current with its sign, cycle and temperature T1.

    python scripts/corpus/compare_peers.py [--corpus /work/corpus/files] [--json out.json]

Rows are paired by the cycler's own record number where the peer keeps it (our
record_index - record_index_first + native_record_first against its data_point / Index),
else by position. A value agrees when |ours - peer| <= the absolute tolerance of its quantity
(TOLERANCE) plus one unit in the last place of the peer's own type (float32 frames: NewareNDA,
fastnda, cellpy's Neware golden). A cycle offset that is the same for every row (a library
that numbers cycles from 1 where the file counts from 0) is reported as such, not as a
disagreement. The results are in docs/real-data.md.

Reads the peer frames with pyarrow only (no peer library is imported); the yadg pickles
(xarray DataTrees) are not read here.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ingest.cli import main as ingest  # noqa: E402

MANIFEST = ROOT / "tests" / "fixtures" / "corpus" / "MANIFEST.tsv"
# absolute tolerance per quantity, in SI units (plus the peer type's ulp)
TOLERANCE = {
    "time": 1e-3,  # s
    "step_time": 1e-3,  # s
    "unix": 1e-3,  # s
    "voltage": 1e-6,  # V
    "current": 1e-6,  # A
    "temperature": 1e-4,  # degC
}
CELL = {
    "chemistry": "NMC",
    "form_factor": "cylindrical",
    "nominal_capacity_ah": 5.0,
    "nominal_voltage_volt": 3.6,
    "voltage_min_volt": 0.0,
    "voltage_max_volt": 5.0,
}

NDA = "d-cogswell+NewareNDA"
FASTNDA = "g-kimbell+fastnda/tests/test_data"
# corpus file -> (peer frame, its kind); the kinds are read by PEERS below
PAIRS: list[tuple[str, str, str] | tuple[str, str, str, tuple[str, ...]]] = [
    (
        "TRI-AMDD+beep/beep/tests/test_files/PredictionDiagnostics_000151_paused.052",
        "TRI-AMDD+beep/beep/tests/test_files/BEEPDatapath_maccor_paused_memloaded.csv",
        "beep",
    ),
    (
        "TRI-AMDD+beep/beep/tests/test_files/PredictionDiagnostics_000109_tztest.010",
        "TRI-AMDD+beep/beep/tests/test_files/BEEPDatapath_maccor_parameterized_memloaded.csv",
        "beep",
    ),
    (
        "TRI-AMDD+beep/beep/tests/test_files/PreDiag_000412_00008Fshort.022",
        "TRI-AMDD+beep/beep/tests/test_files/BEEPDatapath_maccor_diagnostic_misplaced_memloaded.csv",
        "beep",
    ),
    (
        "jepegit+cellpy/testdata/data/maccor_001.txt",
        "jepegit+cellpy/tests/data/goldens/loader_maccor_txt/raw.parquet",
        "cellpy",
    ),
    (
        "jepegit+cellpy/examples/data/neware_uio.csv",  # the golden's testdata/data copy
        "jepegit+cellpy/tests/data/goldens/loader_neware_txt/raw.parquet",
        "cellpy",
    ),
    # BattMo writes discharge current positive (its Step Type says discharge), against BDF's
    # sign; cellpy's batmo_bdf loader negates it; the loader refuses it without the flag
    # (the manifest's reason: sign), so it is loaded with --discharge-positive
    (
        "jepegit+cellpy/testdata/data/batmo_bdf.csv",
        "jepegit+cellpy/tests/data/goldens/loader_batmo_bdf/raw.parquet",
        "cellpy",
        ("--discharge-positive",),
    ),
    *(
        (f"{NDA}/tests/nda/{path}", f"{NDA}/tests/reference/{ref}", "nda")
        for path, ref in (
            (
                "github/Issue27_2/46_1_5_60_ZZZZZZZZTEST_20250924092922.ndax",
                "46_1_5_60_ZZZZZZZZTEST_20250924092922.ftr",
            ),
            ("github/Issue27_2/ZZZZZZZZTEST.ndax", "ZZZZZZZZTEST.ftr"),
            ("github/Issue5/test_2.ndax", "test_2.ftr"),
            ("github/Issue72/TestFile.nda", "TestFile.ftr"),
            (
                "github/Issue94/123456789012_Unit27_Example_Data_File.ndax",
                "123456789012_Unit27_Example_Data_File.ftr",
            ),
            (
                "github/PR28/TESTCELL0001-B2-2025-M50T_NewareNDA_Investigation.ndax",
                "TESTCELL0001-B2-2025-M50T_NewareNDA_Investigation.ftr",
            ),
            (
                "github/PR28/TESTCELL0001-Test_Data_Collection_Ndc17.ndax",
                "TESTCELL0001-Test_Data_Collection_Ndc17.ftr",
            ),
            ("mediafire/2-1-6_61[07005012].nda", "2-1-6_61[07005012].ftr"),
            ("neware_reader/new_nda_file.nda", "new_nda_file.ftr"),
        )
    ),
    *(
        (f"{FASTNDA}/{path}", f"{FASTNDA}/{ref}", "fastnda")
        for path, ref in (
            ("21_10_7_85.ndax", "21_10_7_85.parquet"),
            ("Unit27_Example_Corrupt.ndax", "Unit27_Example_Corrupt.parquet"),
            ("interp-test.ndax", "interp-test.parquet"),
            ("nw4-120-1-6-53.ndax", "nw4-120-1-6-53.parquet"),
            ("unzipped/2-1-6_61_07005012.nda", "2-1-6_61_07005012.parquet"),
            ("unzipped/SIM.nda", "SIM.parquet"),
            ("unzipped/TestFile.nda", "TestFile.parquet"),
        )
    ),
]


def _col(table: pa.Table, name: str, scale: float = 1.0, float32: bool = False):
    """A column as float64 in SI units; a float32 column (or one the peer kept as float32
    before writing it as text: `float32`) with the ulp of its values beside them."""
    if name not in table.column_names:
        return None
    column = table.column(name)
    values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    if not (float32 or pa.types.is_float32(column.type)):
        return values * scale
    ulp = np.spacing(np.abs(values).astype(np.float32)).astype(np.float64) * abs(scale)
    return np.rec.fromarrays([values * scale, ulp])


def _unix(table: pa.Table, name: str) -> np.ndarray | None:
    """A zoned timestamp column as Unix seconds (a naive one is not comparable: None)."""
    if name not in table.column_names or table.schema.field(name).type.tz is None:
        return None
    micros = pc.cast(pc.cast(table.column(name), pa.timestamp("us", "UTC")), pa.int64())
    return micros.to_numpy(zero_copy_only=False) / 1e6


def _beep(path: Path) -> dict:
    t = pacsv.read_csv(path)
    return {
        "native": _col(t, "data_point"),
        # BEEP keeps test time and current as float32 (its MaccorDatapath), then wrote the CSV
        "time": _col(t, "test_time", float32=True),
        "voltage": _col(t, "voltage"),
        "current": _col(t, "current", float32=True),
        "cycle": _col(t, "cycle_index"),
        "temperature": _col(t, "temperature"),
    }


def _cellpy(path: Path) -> dict:
    t = pq.read_table(path)
    return {
        "native": _col(t, "data_point"),
        "time": _col(t, "test_time"),
        "voltage": _col(t, "voltage"),
        "current": _col(t, "current"),
        "cycle": _col(t, "cycle_index"),
        "temperature": _col(t, "temperature"),
    }


def _nda(path: Path) -> dict:
    t = feather.read_table(path)
    return {
        "native": _col(t, "Index"),
        "step_time": _col(t, "Time"),
        "unix": _unix(t, "Timestamp"),
        "voltage": _col(t, "Voltage"),
        "current": _col(t, "Current(mA)", 1e-3),
        "cycle": _col(t, "Cycle"),
        "temperature": _col(t, "T1"),
    }


def _fastnda(path: Path) -> dict:
    t = pq.read_table(path)
    return {
        "time": _col(t, "Total Time"),
        "step_time": _col(t, "Time"),
        "voltage": _col(t, "Voltage(mV)", 1e-3),
        "current": _col(t, "Current(uA)", 1e-6),
        "cycle": _col(t, "Cycle Index"),
        "temperature": _col(t, "T1"),
    }


PEERS = {"beep": _beep, "cellpy": _cellpy, "nda": _nda, "fastnda": _fastnda}
# the loader reads .nda/.ndax through NewareNDA, which keeps time, voltage and current as
# float32: our values carry float32's rounding (their ulp is added to the tolerance)
OURS_FLOAT32 = {"nda", "fastnda"}
# half the resolution a peer rounds its values to: fastnda writes voltage in 0.1 mV and
# current in 0.01 mA steps (its Voltage(mV), Current(uA) columns)
RESOLUTION = {"fastnda": {"voltage": 5e-5, "current": 5e-6}}
OURS = {
    "time": "test_time_second",
    "step_time": "step_time_second",
    "unix": "recorded_at",
    "voltage": "voltage_volt",
    "current": "current_ampere",
    "cycle": "cycle_count",
    "temperature": "temperature_t1_celsius",
}


@dataclass
class Result:
    file: str
    peer: str
    options: str = ""
    rows_ours: int = 0
    rows_peer: int = 0
    paired: int = 0
    paired_by: str = ""
    quantities: dict = field(default_factory=dict)  # name -> {max_diff, disagree, tolerance}
    cycle_offset: int | None = None
    error: str = ""


def _manifest() -> dict[str, dict[str, str]]:
    with open(MANIFEST, newline="", encoding="utf-8") as handle:
        return {r["local_path"]: r for r in csv.DictReader(handle, delimiter="\t")}


def _load(
    corpus: Path, row: dict[str, str], work: Path, extra: tuple[str, ...]
) -> tuple[sqlite3.Connection | None, str]:
    db = work / f"{len(list(work.glob('*.sqlite')))}.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript((ROOT / "sql" / "sqlite" / "schema.sql").read_text())
    side = work / "sidecar.json"
    session = {"protocol_name": "peers", "protocol_type": "rpt"}
    session["started_at"] = "2024-01-01T00:00:00Z"
    side.write_text(json.dumps({"cell": CELL, "session": session}))
    args = [str(corpus / row["local_path"]), "--db", str(db), "--strict"]
    args += ["--format", row["format"], "--sidecar", str(side)]
    if row["time_zone"]:
        args += ["--time-zone", row["time_zone"]]
    args += list(extra)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = ingest(args)
    if code != 0:
        return None, err.getvalue().strip().splitlines()[-1] if err.getvalue() else f"exit {code}"
    return sqlite3.connect(db), ""


def _ours(conn: sqlite3.Connection) -> dict[str, np.ndarray]:
    first, native = conn.execute(
        "SELECT record_index_first, native_record_first FROM source_file"
    ).fetchone()
    names = ["record_index", *OURS.values()]
    rows = conn.execute(
        f"SELECT {', '.join(names)} FROM timeseries_point ORDER BY record_index"
    ).fetchall()
    data = {
        n: np.array([r[i] if r[i] is not None else np.nan for r in rows], dtype=np.float64)
        for i, n in enumerate(names)
    }
    out = {k: data[v] for k, v in OURS.items()}
    out["native"] = (
        data["record_index"] - first + native if native is not None else np.full(len(rows), np.nan)
    )
    return out


def _split(values):
    """(values, ulp) of a peer column (float32 columns carry their ulp)."""
    if isinstance(values, np.recarray):
        return np.asarray(values.f0, dtype=np.float64), np.asarray(values.f1, dtype=np.float64)
    return np.asarray(values, dtype=np.float64), np.zeros(len(values))


def compare(
    corpus: Path, file: str, peer: str, kind: str, work: Path, extra: tuple[str, ...] = ()
) -> Result:
    result = Result(file, peer, options=" ".join(extra))
    rows = _manifest()
    row = rows.get(file)
    loads = row is not None and (
        row["outcome"] == "loads" or (row["reason"] == "sign" and "--discharge-positive" in extra)
    )
    if not loads:
        result.error = "the manifest does not say it loads"
        return result
    if not (corpus / peer).is_file():
        result.error = "the peer frame is not in the corpus"
        return result
    conn, message = _load(corpus, row, work, extra)
    if conn is None:
        result.error = f"not loaded: {message}"
        return result
    ours = _ours(conn)
    conn.close()
    theirs = PEERS[kind](corpus / peer)
    result.rows_ours = len(ours["voltage"])
    result.rows_peer = len(_split(theirs["voltage"])[0])
    # pair the rows: by the cycler's record number when both have it, else by position
    peer_native = theirs.get("native")
    if peer_native is not None and not np.isnan(ours["native"]).all():
        native, _ = _split(peer_native)
        _, ours_at, peer_at = np.intersect1d(ours["native"], native, return_indices=True)
        result.paired_by = "record number"
    else:
        n = min(result.rows_ours, result.rows_peer)
        ours_at = peer_at = np.arange(n)
        result.paired_by = "position"
    result.paired = len(ours_at)
    for name, values in theirs.items():
        if name == "native" or values is None:
            continue
        peer_values, ulp = _split(values)
        peer_values, ulp = peer_values[peer_at], ulp[peer_at]
        mine = ours[name][ours_at]
        both = ~(np.isnan(mine) | np.isnan(peer_values))
        if name == "cycle":
            offsets = np.unique(mine[both] - peer_values[both])
            if len(offsets) == 1:
                result.cycle_offset = int(offsets[0])
                result.quantities[name] = {"compared": int(both.sum()), "disagree": 0}
            else:
                bad = int((mine[both] != peer_values[both]).sum())
                result.quantities[name] = {"compared": int(both.sum()), "disagree": bad}
            continue
        diff = np.abs(mine - peer_values)
        tolerance = TOLERANCE[name] + ulp + RESOLUTION.get(kind, {}).get(name, 0.0)
        if kind in OURS_FLOAT32 and name != "unix":
            tolerance = tolerance + np.spacing(np.abs(mine).astype(np.float32)).astype(np.float64)
        bad = both & (diff > tolerance)
        result.quantities[name] = {
            "compared": int(both.sum()),
            "only_ours": int((~np.isnan(mine) & np.isnan(peer_values)).sum()),
            "only_peer": int((np.isnan(mine) & ~np.isnan(peer_values)).sum()),
            "max_diff": float(diff[both].max()) if both.any() else None,
            "disagree": int(bad.sum()),
            "first_disagreement": (
                None
                if not bad.any()
                else {
                    "row": int(np.flatnonzero(bad)[0]),
                    "ours": float(mine[bad][0]),
                    "peer": float(peer_values[bad][0]),
                }
            ),
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="/work/corpus/files", type=Path)
    parser.add_argument("--json", type=Path, help="write the results as JSON")
    args = parser.parse_args(argv)
    results = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for file, peer, kind, *extra in PAIRS:
            result = compare(args.corpus, file, peer, kind, Path(tmp), *extra)
            results.append(result)
            print(_line(result), flush=True)
    compared = [r for r in results if not r.error]
    agree = [r for r in compared if all(q["disagree"] == 0 for q in r.quantities.values())]
    print(
        f"{len(compared)} pairs compared ({len(results) - len(compared)} not), "
        f"{len(agree)} agree on every quantity, {time.monotonic() - started:.0f} s"
    )
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=1))
    return 0


def _line(r: Result) -> str:
    name = Path(r.file).name + (f" ({r.options})" if r.options else "")
    if r.error:
        return f"{name}: {r.error}"
    parts = []
    for q, v in r.quantities.items():
        if q == "cycle":
            offset = f" (offset {r.cycle_offset:+d})" if r.cycle_offset else ""
            parts.append(f"cycle {v['compared'] - v['disagree']}/{v['compared']}{offset}")
        else:
            parts.append(
                f"{q} {v['compared'] - v['disagree']}/{v['compared']} (max {v['max_diff']:.3g})"
                if v["max_diff"] is not None
                else f"{q} none to compare"
            )
    return (
        f"{name}: ours {r.rows_ours}, peer {r.rows_peer}, paired {r.paired} by {r.paired_by}; "
        + "; ".join(parts)
    )


if __name__ == "__main__":
    raise SystemExit(main())
