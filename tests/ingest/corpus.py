"""The real-file corpus's common ground (tests/ingest/test_ingest_corpus*.py): where the real
fixtures are, a sidecar per fixture (its own session), loading a fixture once per module
database, and its samples as loaded."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ingest.loading import CELL, Target, ingest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# a window wide enough for every fixture's cell (the Na-ion cells of cellpy's files rest
# near 0.1 V): the voltage-window finding is not what these tests are about
WIDE_CELL = {**CELL, "voltage_min_volt": 0.0, "voltage_max_volt": 5.0}


def sidecar(tmp_path: Path, name: str) -> Path:
    """A sidecar of its own session for the fixture `name` (a path under tests/fixtures)."""
    day = sum(name.encode()) % 28 + 1
    path = tmp_path / f"sidecar-{Path(name).name}.json"
    session = {
        "protocol_name": f"corpus {name}",
        "protocol_type": "rpt",
        "started_at": f"2024-01-{day:02d}T00:00:00Z",
    }
    path.write_text(json.dumps({"cell": WIDE_CELL, "session": session}))
    return path


def load_once(
    target: Target, name: str, file_format: str, zone: str | None, tmp_path: Path, capsys
) -> str:
    """Load the fixture in strict mode unless the module's database has it already; the
    loader's words (empty when it was loaded before)."""
    path = FIXTURES / name
    if target.query("SELECT 1 FROM source_file WHERE uri = %s", [str(path)]):
        return ""
    options = ["--format", file_format, "--strict", "--sidecar", str(sidecar(tmp_path, name))]
    if zone:
        options += ["--time-zone", zone]
    code, err = ingest(target, [path], *options, capsys=capsys)
    assert code == 0, err
    return err


def samples(target: Target, name: str, columns: str) -> list[tuple]:
    """The fixture's samples as loaded, in record order."""
    return target.query(
        f"SELECT {columns} FROM timeseries_point t JOIN source_file f"
        " ON f.session_id = t.session_id WHERE f.uri = %s ORDER BY record_index",
        [str(FIXTURES / name)],
    )


def close(a, b, tolerance: float = 1e-6) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) <= tolerance * max(1.0, abs(float(b)))
