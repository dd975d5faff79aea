"""Issue 22's "done when": `python -m derive --db URL`, with no options, derives every session of
a fresh database loaded from the real files: the fixtures of tests/fixtures/{maccor,arbin,bdf,
neware,biologic} and the corpus files the manifest (tests/fixtures/corpus/MANIFEST.tsv) says
load, each file its own session (one cell declared for all: 0-5 V, 5 Ah nominal, as the
corpus tests declare it).

    python scripts/corpus/derive_check.py [--db URL] [--corpus DIR] [--seconds S] [--json F]

--db: a database with the schema (an absent SQLite file is created with it; on PostgreSQL an
empty database gets it with --create-schema). --seconds: the loads' time box, the smallest
files first (0: every file; the fixtures are always loaded). Prints the files not loaded,
derive's own line for every session with a derivation refused, and the counts: sessions,
derived completely, with a derivation skipped (and why), with one refused. Exit 0 when derive exits 0 or 3 (skipped only:
SOC labels with no full charge to anchor on) and every session got its cycles and features;
else 1.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ingest.cli import main as ingest  # noqa: E402
from ingest.db import connect  # noqa: E402

MANIFEST = ROOT / "tests" / "fixtures" / "corpus" / "MANIFEST.tsv"
FIXTURE_DIRS = ("maccor", "arbin", "bdf", "neware", "biologic")
CELL = {
    "chemistry": "NMC",
    "form_factor": "cylindrical",
    "nominal_capacity_ah": 5.0,
    "nominal_voltage_volt": 3.6,
    "voltage_min_volt": 0.0,
    "voltage_max_volt": 5.0,
}
SESSION_LINE = re.compile(r"^session (\d+): (.*)$")


def manifest() -> list[dict[str, str]]:
    with open(MANIFEST, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def files(corpus: Path | None) -> list[tuple[Path, str | None, str | None]]:
    """(path, --format, --time-zone) of the fixtures, then of the corpus files that load, each
    group smallest first. A fixture takes the zone of the corpus file it was cut from."""
    rows = manifest()
    by_name = {Path(r["local_path"]).name: r for r in rows}
    out = []
    fixtures = []
    for folder in FIXTURE_DIRS:
        for path in sorted((ROOT / "tests" / "fixtures" / folder).iterdir()):
            if path.is_file() and not path.name.startswith(("README", "LICENSE")):
                fixtures.append(path)
    for path in sorted(fixtures, key=lambda p: p.stat().st_size):
        row = by_name.get(path.name)
        out.append((path, None, "UTC" if row is None else row["time_zone"] or None))
    if corpus is not None:
        loads = [
            (corpus / r["local_path"], r["format"], r["time_zone"] or None)
            for r in rows
            if r["outcome"] == "loads" and (corpus / r["local_path"]).is_file()
        ]
        out += sorted(loads, key=lambda f: f[0].stat().st_size)
    return out


def create_schema(url: str) -> None:
    if url.startswith("postgresql://") or url.startswith("postgres://") or "=" in url:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute((ROOT / "sql" / "postgres" / "schema.sql").read_text())
        return
    path = Path(url.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as conn:
        conn.executescript((ROOT / "sql" / "sqlite" / "schema.sql").read_text())


def load(
    url: str, work: Path, path: Path, fmt: str | None, zone: str | None, mode: str = "--strict"
) -> tuple[bool, str]:
    number = len(list(work.glob("sidecar-*")))
    side = work / f"sidecar-{number}.json"
    session = {  # a session of its own per file (a sidecar's session is found again by name)
        "protocol_name": f"corpus {number} {path.name}",
        "protocol_type": "cycle_aging",
        "started_at": "2024-01-01T00:00:00Z",
    }
    side.write_text(json.dumps({"cell": CELL, "session": session}))
    args = [str(path), "--db", url, mode, "--sidecar", str(side)]
    if fmt:
        args += ["--format", fmt]
    if zone:
        args += ["--time-zone", zone]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = ingest(args)
    last = err.getvalue().strip().splitlines()
    return code == 0, (last[0] if code and last else "")


def cells_from_data(url: str) -> None:
    """Each session's cell: voltage limits from its samples (the lab's declared window, as a
    user who knows the cell would give it), nominal capacity as declared."""
    db = connect(url)
    try:
        db.begin()
        rows = db.query(
            "SELECT s.cell_id, min(t.voltage_volt), max(t.voltage_volt) FROM test_session s"
            " JOIN timeseries_point t ON t.session_id = s.session_id GROUP BY s.cell_id"
        )
        for cell, low, high in rows:
            if low is None or high is None:
                continue
            low = max(0.0, math.floor(float(low) * 100) / 100)
            high = max(low + 0.01, math.ceil(float(high) * 100) / 100)
            db.execute(
                "UPDATE battery_cell SET voltage_min_volt = %s, voltage_max_volt = %s"
                " WHERE cell_id = %s",
                [low, high, cell],
            )
        db.commit()
    finally:
        db.close()


def counts(url: str) -> dict[int, dict[str, int]]:
    """Per session with samples: its samples, cycles, features, SOC and SOH labels."""
    db = connect(url)
    try:
        out: dict[int, dict[str, int]] = {}
        for table, key in (
            ("timeseries_point", "samples"),
            ("cycle", "cycles"),
            ("cycle_feature", "features"),
            ("label_soc", "soc_labels"),
            ("label_soh", "soh_labels"),
        ):
            for session, n in db.query(
                f"SELECT session_id, count(*) FROM {table} GROUP BY session_id"
            ):
                out.setdefault(session, {})[key] = n
        return {s: c for s, c in out.items() if c.get("samples")}
    finally:
        db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    parser.add_argument("--create-schema", action="store_true")
    parser.add_argument("--corpus", type=Path, default=Path("/work/corpus/files"))
    parser.add_argument("--no-corpus", action="store_true", help="the fixtures only")
    parser.add_argument("--seconds", type=float, default=0.0, help="the loads' time box")
    parser.add_argument("--json", type=Path, help="write the numbers as JSON")
    parser.add_argument(
        "--cell-from-data",
        action="store_true",
        help="declare each session's cell voltage window as its data's (to the 10 mV "
        "around the lowest and highest sample), so that full charges anchor SOC",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = args.db or f"sqlite:///{work / 'corpus.sqlite'}"
        sqlite_path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None
        if args.create_schema or (sqlite_path and not Path(sqlite_path).exists()):
            create_schema(url)
        corpus = None if args.no_corpus or not args.corpus.is_dir() else args.corpus
        started = time.monotonic()
        loaded, refused, lenient_loads, skipped = [], [], [], 0
        for path, fmt, zone in files(corpus):
            fixture = ROOT in path.parents  # loaded whatever the time box
            if not fixture and args.seconds and time.monotonic() - started > args.seconds:
                skipped += 1
                continue
            ok, message = load(url, work, path, fmt, zone)
            if not ok and fixture:  # a fixture of recording artefacts: as a user would
                ok, lenient = load(url, work, path, fmt, zone, "--lenient")
                if ok:
                    message = f"loaded with --lenient ({message})"
                    lenient_loads.append((path, message))
            (loaded if ok else refused).append((path, message))
        load_seconds = time.monotonic() - started
        for path, message in refused:
            print(f"not loaded: {path}: {message}")
        for path, message in lenient_loads:
            print(f"{path}: {message}")
        if args.cell_from_data:
            cells_from_data(url)
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "derive", "--db", url],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        derive_seconds = time.monotonic() - started
        lines = {}
        for line in done.stderr.splitlines():
            match = SESSION_LINE.match(line)
            if match:
                lines[int(match.group(1))] = match.group(2)
        sessions = counts(url)
    refusals = {s: t for s, t in lines.items() if " refused" in t}
    skips = {s: t for s, t in lines.items() if " skipped" in t and s not in refusals}
    missing = sorted(
        s
        for s, c in sessions.items()
        if s not in lines or not c.get("cycles") or not c.get("features")
    )
    for s, text in sorted(refusals.items()):
        print(f"session {s}: {text}")
    reasons: dict[str, int] = {}
    for text in skips.values():
        for part in re.findall(r"(\w[\w/ ]*? skipped: [^(:,]*)", text):
            reasons[part.strip()] = reasons.get(part.strip(), 0) + 1
    numbers = {
        "files_loaded": len(loaded),
        "files_not_loaded": len(refused),
        "files_loaded_lenient": len(lenient_loads),
        "files_left_by_time_box": skipped,
        "load_seconds": round(load_seconds, 1),
        "sessions": len(sessions),
        "derived_completely": len(sessions) - len(refusals) - len(skips),
        "derived_with_skips": len(skips),
        "skip_reasons": reasons,
        "refused": len(refusals),
        "without_cycles_or_features": missing,
        "samples": sum(c.get("samples", 0) for c in sessions.values()),
        "cycles": sum(c.get("cycles", 0) for c in sessions.values()),
        "soc_labels": sum(c.get("soc_labels", 0) for c in sessions.values()),
        "soh_labels": sum(c.get("soh_labels", 0) for c in sessions.values()),
        "derive_exit": done.returncode,
        "derive_seconds": round(derive_seconds, 1),
    }
    print(json.dumps(numbers))
    if done.returncode not in (0, 3):
        print(done.stderr[-2000:], file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({**numbers, "lines": lines}, indent=1))
    corpus_refused = [p for p, _ in refused if ROOT not in p.parents]
    return 0 if done.returncode in (0, 3) and not missing and not corpus_refused else 1


if __name__ == "__main__":
    raise SystemExit(main())
